//! Messages between the web app's pages and the extension (R7): how one
//! verification signs in both clients on one computer.
//!
//! A page reaches the extension through `externally_connectable`; what it
//! can ask is deliberately small. It never receives or sends a session or
//! trusted-device token, only a one-time handoff code the account API minted
//! for the same person, valid about a minute.
//!
//! Exactly one origin may ask: the web app's, fixed when the extension is
//! built (`make build WEB_APP_ORIGIN=...`) and given to the API as
//! `--public-origin`. [`WebAppOrigin`] is the one parser of that value, so the
//! build, the API and the service worker agree on what it may look like.

use serde::{Deserialize, Serialize};

use crate::error::ErrorBody;

/// The file, at the root of the built extension, that tells the service
/// worker the web app's origin (a [`WebAppConfig`]). Written by
/// `scripts/web-app-origin.mjs` together with the manifest's
/// `externally_connectable.matches`, so the two cannot disagree.
pub const WEB_APP_CONFIG_FILE: &str = "web_app.json";

/// The contents of [`WEB_APP_CONFIG_FILE`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct WebAppConfig {
    pub origin: String,
}

/// The web app's origin: scheme, host and port, written exactly as a browser
/// reports an origin (`sender.origin`, the `Origin` header), so comparing it
/// is string equality and nothing else.
///
/// Why so strict: every loopback port is a different program, and a
/// "looks like the web app" rule (any port, any loopback name) let any local
/// page take a session. A value a browser would never send (a default port,
/// capitals, a path, a trailing slash) is refused here, when it is
/// configured, rather than silently never matching later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebAppOrigin {
    origin: String,
    https: bool,
}

impl WebAppOrigin {
    /// Parses a configured origin such as `https://app.example.com` or
    /// `http://127.0.0.1:8787`. The error is a sentence for the person who
    /// configured it.
    pub fn parse(text: &str) -> Result<WebAppOrigin, String> {
        let refuse = |why: &str| {
            Err(format!(
                "{:?} is not a web app origin ({}); write it as scheme://host[:port], \
                 e.g. https://app.example.com or http://127.0.0.1:8787",
                text, why
            ))
        };
        let (https, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else {
            return refuse("the scheme must be http:// or https://");
        };
        if rest.is_empty() {
            return refuse("it names no host");
        }
        if rest.contains(&['/', '?', '#', '@', '\\', ' '][..]) {
            return refuse("an origin has no path, query, user or trailing slash");
        }
        // Only the port is needed after this: the host is checked, then
        // the origin is kept exactly as written.
        let port = if let Some(v6) = rest.strip_prefix('[') {
            let end = match v6.find(']') {
                Some(end) => end,
                None => return refuse("an IPv6 address needs its closing ]"),
            };
            let (addr, after) = (&v6[..end], &v6[end + 1..]);
            if addr.is_empty()
                || !addr
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b':')
            {
                return refuse("the IPv6 address is not lower-case hex and colons");
            }
            let port = match after {
                "" => None,
                p => match p.strip_prefix(':') {
                    Some(p) => Some(p),
                    None => return refuse("only a :port may follow the host"),
                },
            };
            port
        } else {
            let (host, port) = match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            };
            let host_ok = !host.is_empty()
                && !host.starts_with('.')
                && !host.ends_with('.')
                && !host.contains("..")
                && host.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !host_ok {
                return refuse("the host must be a lower-case name or IP address");
            }
            port
        };
        if let Some(port) = port {
            // Digits only and no leading zero, as browsers write it (Rust's
            // parse would take "+80" and "08787"); empty or too long fails
            // the parse or the range.
            let number = if port.starts_with('0') || !port.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                port.parse::<u32>().ok().filter(|p| (1..=65535).contains(p))
            };
            let number = match number {
                Some(n) => n,
                None => return refuse("the port must be a number from 1 to 65535"),
            };
            if (https && number == 443) || (!https && number == 80) {
                return refuse("leave out the scheme's default port: browsers do");
            }
        }
        Ok(WebAppOrigin {
            origin: text.to_string(),
            https,
        })
    }

    /// The origin as browsers write it.
    pub fn as_str(&self) -> &str {
        &self.origin
    }

    /// Whether the web app is served over https (its cookies are then
    /// `__Host-` prefixed and `Secure`).
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Whether a browser-reported origin (`sender.origin`, `Origin`) is this
    /// one: exact string equality, no other rule.
    pub fn matches(&self, origin: &str) -> bool {
        self.origin == origin
    }

    /// The manifest's `externally_connectable.matches` entry.
    pub fn match_pattern(&self) -> String {
        format!("{}/*", self.origin)
    }
}

/// The development default, [`crate::product::DEFAULT_WEB_APP_ORIGIN`]:
/// plain http on loopback, which is for development only.
impl Default for WebAppOrigin {
    fn default() -> Self {
        WebAppOrigin {
            origin: crate::product::DEFAULT_WEB_APP_ORIGIN.to_string(),
            https: false,
        }
    }
}

/// What a page can ask the extension.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExternalRequest {
    /// The web app verified; sign the extension in with this handoff code.
    HandoffOffer { code: String },
    /// The web app has no session; if the extension is signed in, mint a
    /// handoff code the page redeems for its own session.
    HandoffRequest,
    /// The person pressed "Keep them in the dialer-2fa extension" on the
    /// web app's new recovery codes: keep them on this computer, replacing
    /// the kept ones, if they are the signed-in person's current batch at
    /// the API (the host checks). Answered with `ok` only; nothing is read
    /// back.
    KeepRecoveryCodes { codes: Vec<String> },
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

/// Something the web app asked that waits for the person's answer in the
/// extension's popup. A page can cause one but never answer it: the answer
/// travels only from the popup (an extension page) to the host.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WebAppPrompt {
    /// The web app asks to sign in as the extension's person, the first
    /// time on this computer.
    SignIn {
        origin: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
    },
    /// The web app offered a session of another person than the one signed
    /// in here.
    Switch {
        origin: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
}

/// The answer to `web_app_prompt`: what is waiting, if anything.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct PendingPrompt {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<WebAppPrompt>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_origins_are_accepted_as_written() {
        for origin in [
            "http://127.0.0.1:8787",
            "https://app.example.com",
            "https://app.example.com:8443",
            "http://localhost:40123",
            "http://[::1]:8787",
        ] {
            let parsed = WebAppOrigin::parse(origin).unwrap();
            assert_eq!(parsed.as_str(), origin);
            assert!(parsed.matches(origin));
            assert_eq!(parsed.match_pattern(), format!("{}/*", origin));
        }
        assert!(WebAppOrigin::parse("https://app.example.com")
            .unwrap()
            .is_https());
        assert!(!WebAppOrigin::parse("http://127.0.0.1:8787")
            .unwrap()
            .is_https());
    }

    #[test]
    fn the_default_is_the_make_run_address_and_parses() {
        assert_eq!(
            WebAppOrigin::parse(crate::product::DEFAULT_WEB_APP_ORIGIN).unwrap(),
            WebAppOrigin::default()
        );
    }

    #[test]
    fn values_a_browser_never_reports_are_refused() {
        for origin in [
            "127.0.0.1:8787",
            "ftp://127.0.0.1:8787",
            "http://",
            "http://127.0.0.1:8787/",
            "http://127.0.0.1:8787/app",
            "http://App.example.com",
            "https://app.example.com:443",
            "http://app.example.com:80",
            "http://127.0.0.1:",
            "http://127.0.0.1:08787",
            "http://127.0.0.1:65536",
            "http://user@127.0.0.1:8787",
            "http://[::1",
            "http://[::1]x",
            "http://[]:8787",
            "http://[::g]:8787",
            "http://[::1]:",
            "http://127.0.0.1:123456",
            "http://127.0.0.1:+8787",
            "http://127.0.0.1:0",
            "http://.example.com",
            "chrome-extension://abc",
            "",
        ] {
            assert!(WebAppOrigin::parse(origin).is_err(), "{}", origin);
        }
    }

    #[test]
    fn only_the_exact_origin_matches() {
        let web_app = WebAppOrigin::parse("http://127.0.0.1:8787").unwrap();
        for other in [
            "http://127.0.0.1:8788",
            "http://localhost:8787",
            "http://127.0.0.1",
            "https://127.0.0.1:8787",
            "http://127.0.0.1:8787/",
            "http://127.0.0.2:8787",
            "",
        ] {
            assert!(!web_app.matches(other), "{}", other);
        }
    }

    #[test]
    fn requests_are_tagged() {
        let r: ExternalRequest =
            serde_json::from_str(r#"{"type":"handoff_offer","code":"c"}"#).unwrap();
        assert_eq!(r, ExternalRequest::HandoffOffer { code: "c".into() });
        let r: ExternalRequest =
            serde_json::from_str(r#"{"type":"keep_recovery_codes","codes":["a","b"]}"#).unwrap();
        assert_eq!(
            r,
            ExternalRequest::KeepRecoveryCodes {
                codes: vec!["a".into(), "b".into()]
            }
        );
    }

    #[test]
    fn prompts_are_tagged_by_kind() {
        let p = PendingPrompt {
            prompt: Some(WebAppPrompt::SignIn {
                origin: "http://127.0.0.1:8787".into(),
                email: Some("a@example.com".into()),
            }),
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"prompt": {"kind": "sign_in", "origin": "http://127.0.0.1:8787", "email": "a@example.com"}})
        );
        let none: PendingPrompt = serde_json::from_str("{}").unwrap();
        assert_eq!(none.prompt, None);
    }
}
