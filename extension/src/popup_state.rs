//! What the popup shows, as a state machine with no browser types in it.
//!
//! Every screen the popup can be on is a `Screen`; every thing that can happen
//! is a `Msg`; `update` is the only way from one to the next. The DOM layer
//! renders a `Screen` and turns clicks and replies into `Msg`s, so this file
//! holds the behaviour and its tests run on the build machine.

use shared::native::StatusResult;
use shared::product::install_command;
use shared::{ErrorBody, ErrorCode};

/// The browser the install hint names when the popup cannot tell.
pub const DEFAULT_BROWSER: &str = "chrome";

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    /// Waiting for the host's answer to `status`.
    Checking,
    /// The host answered; the API may or may not be reachable from it.
    Ready(StatusResult),
    /// The browser has no host registered: show how to install it.
    HostMissing { command: String, detail: String },
    /// The host is installed but failed; show what it said.
    HostFailed { message: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// The host answered `status` (or the link to it failed).
    StatusReplied(Result<StatusResult, ErrorBody>),
    /// The person pressed "Check again".
    Retry,
}

/// What the DOM layer must do after an update, beyond re-rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Send `status` to the host through the service worker.
    RequestStatus,
}

/// The first screen and the request that fills it.
pub fn init() -> (Screen, Effect) {
    (Screen::Checking, Effect::RequestStatus)
}

pub fn update(_screen: &Screen, msg: Msg) -> (Screen, Effect) {
    match msg {
        Msg::Retry => (Screen::Checking, Effect::RequestStatus),
        Msg::StatusReplied(Ok(status)) => (Screen::Ready(status), Effect::None),
        Msg::StatusReplied(Err(error)) => (screen_for_error(error), Effect::None),
    }
}

fn screen_for_error(error: ErrorBody) -> Screen {
    match error.code {
        ErrorCode::HostNotInstalled => Screen::HostMissing {
            command: install_command(DEFAULT_BROWSER),
            detail: error.message,
        },
        _ => Screen::HostFailed {
            message: error.message,
        },
    }
}

/// One line about the API, written for a person.
pub fn api_summary(status: &StatusResult) -> String {
    let api = &status.api;
    if api.reachable {
        let version = api.version.as_deref().unwrap_or("unknown version");
        match api.latency_ms {
            Some(ms) => format!("Account API reachable at {} (version {}, {} ms)", api.url, version, ms),
            None => format!("Account API reachable at {} (version {})", api.url, version),
        }
    } else {
        let why = api.problem.as_deref().unwrap_or("no answer");
        format!("Account API not reachable at {}: {}", api.url, why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::native::ApiReachability;

    fn status(reachable: bool) -> StatusResult {
        StatusResult {
            host_version: "0.1.0".into(),
            api: ApiReachability {
                url: "http://127.0.0.1:9".into(),
                reachable,
                version: if reachable { Some("0.1.0".into()) } else { None },
                latency_ms: if reachable { Some(3) } else { None },
                problem: if reachable { None } else { Some("connection refused".into()) },
            },
        }
    }

    #[test]
    fn starts_by_asking_for_status() {
        assert_eq!(init(), (Screen::Checking, Effect::RequestStatus));
    }

    #[test]
    fn status_reply_shows_ready() {
        let (screen, effect) = update(&Screen::Checking, Msg::StatusReplied(Ok(status(true))));
        assert_eq!(screen, Screen::Ready(status(true)));
        assert_eq!(effect, Effect::None);
    }

    #[test]
    fn missing_host_shows_the_install_command() {
        let error = ErrorBody::new(ErrorCode::HostNotInstalled, "Specified native messaging host not found.");
        let (screen, _) = update(&Screen::Checking, Msg::StatusReplied(Err(error)));
        match screen {
            Screen::HostMissing { command, .. } => {
                assert!(command.starts_with("dialer-2fa-host install --browser chrome --api-url http"));
            }
            other => panic!("expected the install screen, got {:?}", other),
        }
    }

    #[test]
    fn other_host_errors_are_shown_as_failures() {
        let error = ErrorBody::new(ErrorCode::HostDisconnected, "The helper stopped");
        let (screen, _) = update(&Screen::Checking, Msg::StatusReplied(Err(error)));
        assert_eq!(screen, Screen::HostFailed { message: "The helper stopped".into() });
    }

    #[test]
    fn retry_checks_again_from_any_screen() {
        let (screen, effect) = update(&Screen::HostFailed { message: "x".into() }, Msg::Retry);
        assert_eq!((screen, effect), (Screen::Checking, Effect::RequestStatus));
    }

    #[test]
    fn summary_names_url_version_and_latency() {
        assert_eq!(
            api_summary(&status(true)),
            "Account API reachable at http://127.0.0.1:9 (version 0.1.0, 3 ms)"
        );
        assert_eq!(
            api_summary(&status(false)),
            "Account API not reachable at http://127.0.0.1:9: connection refused"
        );
    }
}
