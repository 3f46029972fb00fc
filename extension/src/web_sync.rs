//! The service worker's answers to the web app's pages (R7): one
//! verification signs in both clients on this computer.
//!
//! A page may offer a handoff code (the web app verified: the extension
//! redeems it through the host) or ask for one (the web app has no session:
//! the host mints one if this computer is signed in, and the person allowed
//! this web app in the popup once), or hand over new recovery codes the
//! person chose to keep here (the host keeps them only if they are the
//! API's current batch for the signed-in person; nothing is read back).
//! Nothing else is answered, and only for the one configured web app
//! origin; the codes are one-time and short-lived, and no token ever
//! reaches a page.

use std::cell::RefCell;

use shared::api::HandoffCode;
use shared::native::Request;
use shared::two_factor::AccountRequest;
use shared::web_sync::{ExternalReply, ExternalRequest, WebAppConfig, WebAppOrigin};
use shared::{ErrorBody, ErrorCode};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::{chrome, service_worker};

thread_local! {
    /// The web app's origin from `web_app.json`, read at start. `None`
    /// (missing or invalid file) answers no page at all.
    static WEB_APP: RefCell<Option<WebAppOrigin>> = RefCell::new(None);
}

/// Takes the build's `web_app.json` (as `sw.js` fetched it). Whatever is
/// wrong with it leaves every page unanswered, and says why in the console.
pub fn configure(config: JsValue) {
    let origin =
        chrome::from_js::<WebAppConfig>(&config).and_then(|c| WebAppOrigin::parse(&c.origin));
    match origin {
        Ok(origin) => WEB_APP.with(|w| *w.borrow_mut() = Some(origin)),
        Err(why) => web_sys::console::warn_1(&JsValue::from_str(&format!(
            "dialer-2fa: no web app may talk to this extension: its web_app.json is unusable: {}",
            why
        ))),
    }
}

/// Handles one message from a page. A sender that is not exactly the
/// configured web app origin (another port, another host name, another
/// scheme) gets an empty answer, carrying nothing, and nothing is asked of
/// the host. Chrome's `externally_connectable` filter says the same; this
/// check holds even if the manifest ever widens.
pub fn on_external_message(
    message: JsValue,
    origin: &str,
    send_response: js_sys::Function,
) -> bool {
    let allowed = WEB_APP.with(|w| w.borrow().as_ref().map(|o| o.matches(origin)) == Some(true));
    if !allowed {
        let _ = send_response.call0(&JsValue::NULL);
        return false;
    }
    let origin = origin.to_string();
    let request: ExternalRequest = match chrome::from_js(&message) {
        Ok(request) => request,
        Err(e) => {
            answer(
                &send_response,
                &failure(ErrorBody::new(
                    ErrorCode::InvalidRequest,
                    format!("not a request the extension knows: {}", e),
                )),
            );
            return true;
        }
    };
    let (host_request, wants_code) = match request {
        ExternalRequest::HandoffOffer { code } => (
            Request::Account(AccountRequest::RedeemHandoff {
                code,
                origin: Some(origin),
            }),
            false,
        ),
        ExternalRequest::HandoffRequest => (
            Request::Account(AccountRequest::CreateHandoff { origin }),
            true,
        ),
        // Only ever the checked request: the host keeps them only if they
        // are the signed-in person's current batch, under that person.
        ExternalRequest::KeepRecoveryCodes { codes } => {
            (Request::VaultKeepCurrent { codes }, false)
        }
    };
    let callback = Closure::once_into_js(move |reply: JsValue| {
        let external = if wants_code {
            match chrome::reply_result::<HandoffCode>(&reply) {
                Ok(handoff) => ExternalReply {
                    ok: true,
                    code: Some(handoff.code),
                    error: None,
                },
                Err(error) => failure(error),
            }
        } else {
            match chrome::reply_parts(&reply) {
                Ok(_) => ExternalReply {
                    ok: true,
                    code: None,
                    error: None,
                },
                Err(error) => failure(error),
            }
        };
        answer(&send_response, &external);
    });
    service_worker::on_message(chrome::to_js(&host_request), callback.unchecked_into());
    true
}

fn failure(error: ErrorBody) -> ExternalReply {
    if error.code == ErrorCode::ConsentRequired {
        // The person's answer is in the popup: point at the toolbar button.
        chrome::set_badge("?");
    }
    ExternalReply {
        ok: false,
        code: None,
        error: Some(error),
    }
}

fn answer(send_response: &js_sys::Function, reply: &ExternalReply) {
    let _ = send_response.call1(&JsValue::NULL, &chrome::to_js(reply));
}
