//! The background service worker: the extension's single link to the host.
//!
//! Pages send a `shared::native::Request` with `chrome.runtime.sendMessage`;
//! the worker numbers it, sends it over the native port and answers the page
//! with the host's `Reply`. The port is opened on first use and `hello` is
//! exchanged before anything else, as the protocol requires; requests that
//! arrive meanwhile wait for it.

use std::cell::RefCell;
use std::collections::HashMap;

use shared::native::{HelloResult, HostMessage, Reply, Request, RequestFrame, PROTOCOL_VERSION};
use shared::product::HOST_NAME;
use shared::two_factor::{AccountRequest, SessionView};
use shared::{ErrorBody, ErrorCode};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::chrome::{self, Port};

/// Id of the `hello` request on every port; page requests count from 1.
const HELLO_ID: u64 = 0;

struct Link {
    port: Port,
    next_id: u64,
    /// Set once the host answered `hello`.
    ready: bool,
    /// Requests waiting for `hello`'s answer.
    waiting: Vec<(Request, js_sys::Function)>,
    /// Requests sent to the host, by id, with the page's callback.
    pending: HashMap<u64, js_sys::Function>,
    // The listeners live as long as the port.
    _on_message: Closure<dyn FnMut(JsValue)>,
    _on_disconnect: Closure<dyn FnMut(JsValue)>,
}

thread_local! {
    static LINK: RefCell<Option<Link>> = RefCell::new(None);
}

pub fn on_message(message: JsValue, send_response: js_sys::Function) {
    let request: Request = match chrome::from_js(&message) {
        Ok(request) => request,
        Err(e) => {
            respond(
                &send_response,
                &Reply::failure(
                    None,
                    ErrorBody::new(ErrorCode::InvalidRequest, format!("not a request: {}", e)),
                ),
            );
            return;
        }
    };
    LINK.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(connect());
        }
        if let Some(link) = slot.as_mut() {
            if link.ready {
                send(link, request, send_response);
            } else {
                link.waiting.push((request, send_response));
            }
        }
    });
}

/// Opens the port to the host (and so starts the host) if it is not open
/// yet. Called by `sw.js` each time the worker starts, which includes the
/// browser's start: the host's start-up then happens before anyone opens the
/// popup, not while the popup waits for its first answer (issue 12, goal 5).
/// An open port also keeps the worker alive, so it stays warm.
pub fn warm() {
    LINK.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(connect());
        }
    });
}

/// Sets the toolbar badge from the host's view of the session, when the
/// browser starts or the extension is installed: the badge must warn of a
/// required setup or of few recovery codes before anyone opens the popup.
pub fn refresh_badge() {
    let request = chrome::to_js(&Request::Account(AccountRequest::Session));
    let callback = Closure::once_into_js(move |reply: JsValue| {
        let session = chrome::from_js::<Reply>(&reply)
            .ok()
            .and_then(|r| r.into_result::<SessionView>().ok());
        // No host, no API, no session: nothing to warn about yet.
        if let Some(session) = session {
            chrome::set_badge(&crate::popup_state::badge(&session));
        }
    });
    on_message(request, callback.unchecked_into());
}

fn connect() -> Link {
    let port = chrome::connect_native(HOST_NAME);
    let on_message = Closure::wrap(Box::new(on_host_message) as Box<dyn FnMut(JsValue)>);
    let on_disconnect = Closure::wrap(Box::new(on_host_disconnect) as Box<dyn FnMut(JsValue)>);
    port.on_message()
        .add_listener(on_message.as_ref().unchecked_ref());
    port.on_disconnect()
        .add_listener(on_disconnect.as_ref().unchecked_ref());
    let hello = RequestFrame {
        id: HELLO_ID,
        request: Request::Hello {
            protocol: PROTOCOL_VERSION,
        },
    };
    port.post_message(&chrome::to_js(&hello));
    Link {
        port,
        next_id: HELLO_ID + 1,
        ready: false,
        waiting: Vec::new(),
        pending: HashMap::new(),
        _on_message: on_message,
        _on_disconnect: on_disconnect,
    }
}

fn send(link: &mut Link, request: Request, send_response: js_sys::Function) {
    let id = link.next_id;
    link.next_id += 1;
    link.pending.insert(id, send_response);
    link.port
        .post_message(&chrome::to_js(&RequestFrame { id, request }));
}

fn on_host_message(message: JsValue) {
    let reply = match chrome::from_js::<HostMessage>(&message) {
        Ok(HostMessage::Reply(reply)) => reply,
        // Events are for pages that listen; none does yet.
        Ok(HostMessage::Event(_)) => return,
        Err(e) => {
            web_sys::console::warn_1(&JsValue::from_str(&format!(
                "dialer-2fa: unreadable message from the host: {}",
                e
            )));
            return;
        }
    };
    LINK.with(|cell| {
        let mut slot = cell.borrow_mut();
        let link = match slot.as_mut() {
            Some(link) => link,
            None => return,
        };
        if reply.id == Some(HELLO_ID) && !link.ready {
            let refused = match reply.into_result::<HelloResult>() {
                Ok(hello) if hello.protocol == PROTOCOL_VERSION => None,
                Ok(hello) => Some(ErrorBody::new(
                    ErrorCode::InvalidRequest,
                    format!(
                        "the installed helper speaks protocol {} but this extension speaks {}; install the same release of both",
                        hello.protocol, PROTOCOL_VERSION
                    ),
                )),
                Err(error) => Some(error),
            };
            match refused {
                None => {
                    link.ready = true;
                    for (request, callback) in std::mem::take(&mut link.waiting) {
                        send(link, request, callback);
                    }
                }
                Some(error) => {
                    // Forget this port: the next request tries a fresh one.
                    fail_all(link, error);
                    *slot = None;
                }
            }
            return;
        }
        if let Some(callback) = reply.id.and_then(|id| link.pending.remove(&id)) {
            respond(&callback, &reply);
        }
    });
}

fn on_host_disconnect(_port: JsValue) {
    let reason = chrome::last_error().unwrap_or_else(|| "the helper closed the connection".into());
    let code = if reason.contains("not found") || reason.contains("forbidden") {
        ErrorCode::HostNotInstalled
    } else {
        ErrorCode::HostDisconnected
    };
    let message = match code {
        ErrorCode::HostNotInstalled => format!(
            "The dialer-2fa helper is not installed for this browser ({}).",
            reason
        ),
        _ => format!("The dialer-2fa helper stopped: {}", reason),
    };
    LINK.with(|cell| {
        if let Some(mut link) = cell.borrow_mut().take() {
            fail_all(&mut link, ErrorBody::new(code, message));
        }
    });
}

fn fail_all(link: &mut Link, error: ErrorBody) {
    for (_, callback) in std::mem::take(&mut link.waiting) {
        respond(&callback, &Reply::failure(None, error.clone()));
    }
    for (id, callback) in std::mem::take(&mut link.pending) {
        respond(&callback, &Reply::failure(Some(id), error.clone()));
    }
}

fn respond(callback: &js_sys::Function, reply: &Reply) {
    if callback
        .call1(&JsValue::NULL, &chrome::to_js(reply))
        .is_err()
    {
        web_sys::console::warn_1(&JsValue::from_str(
            "dialer-2fa: the page that asked is gone",
        ));
    }
}
