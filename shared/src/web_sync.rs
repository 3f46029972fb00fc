//! Messages between the web app's pages and the extension (R7): how one
//! verification signs in both clients on one computer.
//!
//! A page reaches the extension through `externally_connectable`; what it
//! can ask is deliberately small. It never receives or sends a session or
//! trusted-device token, only a one-time handoff code the account API minted
//! for the same person, valid about a minute.

use serde::{Deserialize, Serialize};

use crate::error::ErrorBody;

/// The web app origins the extension answers: the account API serves the web
/// app on loopback, under either name, on whatever port it was given. The
/// manifest's `externally_connectable.matches` says the same to Chrome; this
/// check keeps the service worker honest if the manifest ever widens.
pub const WEB_APP_HOSTS: [&str; 2] = ["127.0.0.1", "localhost"];

/// What a page can ask the extension.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExternalRequest {
    /// The web app verified; sign the extension in with this handoff code.
    HandoffOffer { code: String },
    /// The web app has no session; if the extension is signed in, mint a
    /// handoff code the page redeems for its own session.
    HandoffRequest,
}

/// The extension's answer to a page.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ExternalReply {
    pub ok: bool,
    /// For `handoff_request`: the one-time code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// Whether `origin` (as Chrome reports `sender.origin`) is the web app.
pub fn is_web_app_origin(origin: &str) -> bool {
    let rest = match origin.strip_prefix("http://") {
        Some(rest) => rest,
        None => return false,
    };
    let (host, port) = match rest.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    let port_ok = match port {
        None => true,
        Some(p) => !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()),
    };
    port_ok && WEB_APP_HOSTS.contains(&host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_web_app_origins_are_accepted() {
        assert!(is_web_app_origin("http://127.0.0.1:8787"));
        assert!(is_web_app_origin("http://localhost:40123"));
        assert!(is_web_app_origin("http://localhost"));
    }

    #[test]
    fn other_origins_are_refused() {
        for origin in [
            "https://127.0.0.1:8787",
            "http://127.0.0.2:8787",
            "http://localhost.evil.test",
            "http://localhost:80/",
            "http://evil.test:8787",
            "chrome-extension://abc/",
            "http://127.0.0.1:",
            "",
        ] {
            assert!(!is_web_app_origin(origin), "{}", origin);
        }
    }

    #[test]
    fn requests_are_tagged() {
        let r: ExternalRequest =
            serde_json::from_str(r#"{"type":"handoff_offer","code":"c"}"#).unwrap();
        assert_eq!(r, ExternalRequest::HandoffOffer { code: "c".into() });
    }
}
