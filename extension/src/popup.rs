//! The popup's DOM layer: renders `popup_state::Screen` and turns clicks and
//! service-worker replies into `popup_state::Msg`s. No decisions live here.

use std::cell::RefCell;

use shared::native::{Reply, Request, StatusResult};
use shared::{ErrorBody, ErrorCode};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element};

use crate::chrome;
use crate::popup_state::{self, api_summary, Effect, Msg, Screen};

thread_local! {
    static SCREEN: RefCell<Screen> = RefCell::new(Screen::Checking);
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["navigator", "clipboard"], js_name = writeText)]
    fn clipboard_write_text(text: &str) -> js_sys::Promise;
}

pub fn start() -> Result<(), JsValue> {
    let (screen, effect) = popup_state::init();
    show(screen, effect)
}

fn dispatch(msg: Msg) {
    let current = SCREEN.with(|s| s.borrow().clone());
    let (screen, effect) = popup_state::update(&current, msg);
    if let Err(e) = show(screen, effect) {
        web_sys::console::error_2(&JsValue::from_str("dialer-2fa: could not draw the popup"), &e);
    }
}

fn show(screen: Screen, effect: Effect) -> Result<(), JsValue> {
    render(&screen)?;
    SCREEN.with(|s| *s.borrow_mut() = screen);
    match effect {
        Effect::None => {}
        Effect::RequestStatus => request_status(),
    }
    Ok(())
}

fn request_status() {
    let callback = Closure::once_into_js(move |reply: JsValue| {
        dispatch(Msg::StatusReplied(read_reply::<StatusResult>(reply)));
    });
    chrome::send_message(&chrome::to_js(&Request::Status), callback.unchecked_ref());
}

/// A service-worker reply, or why there is none.
fn read_reply<T: serde::de::DeserializeOwned>(reply: JsValue) -> Result<T, ErrorBody> {
    if let Some(problem) = chrome::last_error() {
        return Err(ErrorBody::new(
            ErrorCode::HostDisconnected,
            format!("The extension's background worker did not answer: {}", problem),
        ));
    }
    if reply.is_undefined() || reply.is_null() {
        return Err(ErrorBody::new(
            ErrorCode::HostDisconnected,
            "The extension's background worker did not answer.",
        ));
    }
    chrome::from_js::<Reply>(&reply)
        .map_err(|e| ErrorBody::new(ErrorCode::InvalidRequest, format!("Unexpected reply: {}", e)))?
        .into_result()
}

fn document() -> Result<Document, JsValue> {
    web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("no document"))
}

fn el(doc: &Document, tag: &str, class: &str, text: &str) -> Result<Element, JsValue> {
    let e = doc.create_element(tag)?;
    if !class.is_empty() {
        e.set_class_name(class);
    }
    if !text.is_empty() {
        e.set_text_content(Some(text));
    }
    Ok(e)
}

fn add(parent: &Element, child: Element) -> Result<(), JsValue> {
    parent.append_child(&child)?;
    Ok(())
}

fn button(doc: &Document, id: &str, label: &str, on_click: impl FnMut() + 'static) -> Result<Element, JsValue> {
    let b = el(doc, "button", "", label)?;
    b.set_id(id);
    b.set_attribute("type", "button")?;
    let mut on_click = on_click;
    let handler = Closure::wrap(Box::new(move |_e: web_sys::Event| on_click()) as Box<dyn FnMut(_)>);
    b.add_event_listener_with_callback("click", handler.as_ref().unchecked_ref())?;
    // The button lives until the next render replaces it; the handler must
    // outlive this call, and the leak is one small closure per render.
    handler.forget();
    Ok(b)
}

fn render(screen: &Screen) -> Result<(), JsValue> {
    let doc = document()?;
    let app = doc
        .get_element_by_id("app")
        .ok_or_else(|| JsValue::from_str("popup.html has no #app"))?;
    app.set_inner_html("");
    let name = match screen {
        Screen::Checking => "checking",
        Screen::Ready(_) => "ready",
        Screen::HostMissing { .. } => "host-missing",
        Screen::HostFailed { .. } => "host-failed",
    };
    app.set_attribute("data-screen", name)?;
    match screen {
        Screen::Checking => {
            add(&app, el(&doc, "h1", "", "dialer-2fa")?)?;
            add(&app, el(&doc, "p", "muted", "Checking the dialer-2fa helper…")?)?;
        }
        Screen::Ready(status) => {
            add(&app, el(&doc, "h1", "", "dialer-2fa")?)?;
            let host = el(&doc, "p", "ok", &format!("Helper {} connected", status.host_version))?;
            host.set_id("host-status");
            add(&app, host)?;
            let class = if status.api.reachable { "ok" } else { "problem" };
            let api = el(&doc, "p", class, &api_summary(status))?;
            api.set_id("api-status");
            api.set_attribute("data-reachable", if status.api.reachable { "true" } else { "false" })?;
            add(&app, api)?;
            add(&app, button(&doc, "retry", "Check again", || dispatch(Msg::Retry))?)?;
        }
        Screen::HostMissing { command, detail } => {
            add(&app, el(&doc, "h1", "", "Install the dialer-2fa helper")?)?;
            add(
                &app,
                el(
                    &doc,
                    "p",
                    "",
                    "The extension keeps your 2FA secrets in a small helper program on this computer. It is not installed for this browser yet. Run this command in a terminal, then press Check again:",
                )?,
            )?;
            let code = el(&doc, "code", "command", command)?;
            code.set_id("install-command");
            add(&app, code)?;
            let text = command.clone();
            let copy = button(&doc, "copy-command", "Copy command", move || {
                let _ = clipboard_write_text(&text);
            })?;
            add(&app, copy)?;
            add(&app, button(&doc, "retry", "Check again", || dispatch(Msg::Retry))?)?;
            add(&app, el(&doc, "p", "muted", detail)?)?;
        }
        Screen::HostFailed { message } => {
            add(&app, el(&doc, "h1", "", "The helper did not answer")?)?;
            let p = el(&doc, "p", "problem", message)?;
            p.set_id("host-problem");
            add(&app, p)?;
            add(&app, button(&doc, "retry", "Check again", || dispatch(Msg::Retry))?)?;
        }
    }
    Ok(())
}
