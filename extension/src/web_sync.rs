//! The service worker's answers to the web app's pages (R7): one
//! verification signs in both clients on this computer.
//!
//! A page may offer a handoff code (the web app verified: the extension
//! redeems it through the host) or ask for one (the web app has no session:
//! the host mints one if this computer is signed in). Nothing else is
//! answered, and only for the web app's own origins; the codes are one-time
//! and short-lived, and no token ever reaches a page.

use shared::api::HandoffCode;
use shared::native::{Reply, Request};
use shared::two_factor::AccountRequest;
use shared::web_sync::{is_web_app_origin, ExternalReply, ExternalRequest};
use shared::{ErrorBody, ErrorCode};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::{chrome, service_worker};

/// Handles one message from a page. Returns false, without answering, when
/// the sender is not the web app: such a page learns nothing, not even that
/// the extension is here.
pub fn on_external_message(
    message: JsValue,
    origin: &str,
    send_response: js_sys::Function,
) -> bool {
    if !is_web_app_origin(origin) {
        return false;
    }
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
            Request::Account(AccountRequest::RedeemHandoff { code }),
            false,
        ),
        ExternalRequest::HandoffRequest => (Request::Account(AccountRequest::CreateHandoff), true),
    };
    let callback = Closure::once_into_js(move |reply: JsValue| {
        let reply = match chrome::from_js::<Reply>(&reply) {
            Ok(reply) => reply,
            Err(e) => {
                return answer(
                    &send_response,
                    &failure(ErrorBody::new(ErrorCode::Internal, e)),
                )
            }
        };
        let external = if wants_code {
            match reply.into_result::<HandoffCode>() {
                Ok(handoff) => ExternalReply {
                    ok: true,
                    code: Some(handoff.code),
                    error: None,
                },
                Err(error) => failure(error),
            }
        } else if reply.ok {
            ExternalReply {
                ok: true,
                code: None,
                error: None,
            }
        } else {
            failure(reply.error.unwrap_or_else(|| {
                ErrorBody::new(ErrorCode::Unknown, "the helper failed without saying why")
            }))
        };
        answer(&send_response, &external);
    });
    service_worker::on_message(chrome::to_js(&host_request), callback.unchecked_into());
    true
}

fn failure(error: ErrorBody) -> ExternalReply {
    ExternalReply {
        ok: false,
        code: None,
        error: Some(error),
    }
}

fn answer(send_response: &js_sys::Function, reply: &ExternalReply) {
    let _ = send_response.call1(&JsValue::NULL, &chrome::to_js(reply));
}
