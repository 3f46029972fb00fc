//! The background service worker: the extension's single link to the host.
//!
//! Pages send a `shared::native::Request` with `chrome.runtime.sendMessage`;
//! the worker numbers it, sends it over the native port and answers the page
//! with the host's `Reply`. The port is opened on first use and `hello` is
//! exchanged before anything else, as the protocol requires; requests that
//! arrive meanwhile wait for it.
//!
//! The worker forwards requests and replies as the JS objects they are,
//! checking only what it needs (a request's `type`, a reply's `id`): the
//! host is the one that reads and checks every request (it is the trust
//! boundary, and refuses what it does not know), and the page decodes its
//! reply. Decoding them here too would compile every request and reply type's
//! deserializer into this module a second time, most of its bytes (issue 12).

use std::cell::RefCell;
use std::collections::HashMap;

use shared::native::{HelloResult, Reply, Request, RequestFrame, PROTOCOL_VERSION};
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
    waiting: Vec<(js_sys::Object, js_sys::Function)>,
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
    let request = match page_request(&message) {
        Ok(request) => request,
        Err(why) => {
            respond(
                &send_response,
                &Reply::failure(
                    None,
                    ErrorBody::new(ErrorCode::InvalidRequest, format!("not a request: {}", why)),
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

/// A page's request as a fresh object to number and forward: a JS object
/// with a string `type`, not `hello` (the worker's own, once per port). The
/// rest is the host's to check.
fn page_request(message: &JsValue) -> Result<js_sys::Object, String> {
    if !message.is_object() || js_sys::Array::is_array(message) {
        return Err("not an object".into());
    }
    match chrome::field(message, "type").as_string() {
        Some(kind) if kind == "hello" => Err("hello is the worker's own".into()),
        Some(_) => Ok(js_sys::Object::assign(
            &js_sys::Object::new(),
            message.unchecked_ref(),
        )),
        None => Err("no type".into()),
    }
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
        let session = chrome::reply_result::<SessionView>(&reply).ok();
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

fn send(link: &mut Link, request: js_sys::Object, send_response: js_sys::Function) {
    let id = link.next_id;
    link.next_id += 1;
    link.pending.insert(id, send_response);
    // Ours, not the page's: the id the reply is matched by.
    let _ = js_sys::Reflect::set(
        &request,
        &JsValue::from_str("id"),
        &JsValue::from_f64(id as f64),
    );
    link.port.post_message(&request);
}

fn on_host_message(message: JsValue) {
    // A reply carries its request's id; host events carry none, and are for
    // pages that listen (none does yet).
    let id = match chrome::field(&message, "id").as_f64() {
        Some(id) if id >= 0.0 && id.fract() == 0.0 => id as u64,
        _ => return,
    };
    LINK.with(|cell| {
        let mut slot = cell.borrow_mut();
        let link = match slot.as_mut() {
            Some(link) => link,
            None => return,
        };
        if id == HELLO_ID && !link.ready {
            let refused = match chrome::reply_result::<HelloResult>(&message) {
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
        if let Some(callback) = link.pending.remove(&id) {
            if callback.call1(&JsValue::NULL, &message).is_err() {
                web_sys::console::warn_1(&JsValue::from_str(
                    "dialer-2fa: the page that asked is gone",
                ));
            }
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
