#![allow(dead_code)] // each page module uses a different part of these bindings
//! The few Chrome extension APIs the module calls. web-sys covers the web
//! platform only, so these are declared by hand.

use wasm_bindgen::prelude::*;

use crate::wire::Decode;

#[wasm_bindgen]
extern "C" {
    /// `chrome.runtime.Port`
    pub type Port;

    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = connectNative)]
    pub fn connect_native(application: &str) -> Port;

    #[wasm_bindgen(method, js_name = postMessage)]
    pub fn post_message(this: &Port, message: &JsValue);

    #[wasm_bindgen(method, getter, js_name = onMessage)]
    pub fn on_message(this: &Port) -> ChromeEvent;

    #[wasm_bindgen(method, getter, js_name = onDisconnect)]
    pub fn on_disconnect(this: &Port) -> ChromeEvent;

    /// Any `chrome.events.Event`.
    pub type ChromeEvent;

    #[wasm_bindgen(method, js_name = addListener)]
    pub fn add_listener(this: &ChromeEvent, callback: &js_sys::Function);

    /// `chrome.runtime.sendMessage(message, callback)`
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = sendMessage)]
    pub fn send_message(message: &JsValue, callback: &js_sys::Function);

    /// `chrome.action.setBadgeText({text})`
    #[wasm_bindgen(js_namespace = ["chrome", "action"], js_name = setBadgeText)]
    fn set_badge_text(details: &JsValue);

    /// `chrome.action.setBadgeBackgroundColor({color})`
    #[wasm_bindgen(js_namespace = ["chrome", "action"], js_name = setBadgeBackgroundColor)]
    fn set_badge_background_color(details: &JsValue);

    /// `chrome.action.setIcon({path})`: a promise, rejected when an image
    /// cannot be loaded.
    #[wasm_bindgen(js_namespace = ["chrome", "action"], js_name = setIcon)]
    fn set_icon(details: &JsValue) -> IconSet;

    /// What `setIcon` returns: a promise, of which only `catch` is used.
    type IconSet;

    #[wasm_bindgen(method, js_name = catch)]
    fn catch(this: &IconSet, on_error: &JsValue) -> JsValue;

    /// `chrome.action.setTitle({title})`
    #[wasm_bindgen(js_namespace = ["chrome", "action"], js_name = setTitle)]
    fn set_title(details: &JsValue);

    /// `chrome.runtime.openOptionsPage()`
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = openOptionsPage)]
    pub fn open_options_page();
}

/// The message of `chrome.runtime.lastError`, if one is set. Reading it also
/// tells Chrome the error was handled, so it is not logged as unchecked.
pub fn last_error() -> Option<String> {
    // A property read each time: it changes from callback to callback, so it
    // cannot be a cached wasm-bindgen static.
    let value = ["chrome", "runtime", "lastError"]
        .iter()
        .try_fold(JsValue::from(js_sys::global()), |object, key| {
            js_sys::Reflect::get(&object, &JsValue::from_str(key)).ok()
        })
        .unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return None;
    }
    let message = js_sys::Reflect::get(&value, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| "unknown browser error".to_string());
    Some(message)
}

/// Serde value -> JS object, through JSON text: the only conversion the
/// module needs, and it keeps serde_wasm_bindgen out of the 1.63 build.
pub fn to_js<T: serde::Serialize>(value: &T) -> JsValue {
    match serde_json::to_string(value) {
        Ok(text) => js_sys::JSON::parse(&text).unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    }
}

/// JS object -> a `shared` type, read field by field (`crate::wire`: not
/// serde, whose deserializers the size budget cannot afford).
pub fn from_js<T: Decode>(value: &JsValue) -> Result<T, String> {
    T::decode(value).map_err(|problem| problem.describe())
}

/// A property of a JS object, `undefined` when absent.
pub fn field(object: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// A host reply (`{"id", "ok", "result" | "error"}`) as its `result` (a JS
/// value, `null` when absent) or its error, read field by field.
///
/// Not through `shared::native::Reply`: its `result` is a
/// `serde_json::Value`, and decoding through a `Value` compiles every result
/// type's deserializer a second time and `Value`'s own parser into the wasm,
/// bytes the extension's size budget cannot afford (issue 12). The result is
/// decoded once, straight into the type the caller expects.
pub fn reply_parts(reply: &JsValue) -> Result<JsValue, shared::ErrorBody> {
    use shared::{ErrorBody, ErrorCode};
    match field(reply, "ok").as_bool() {
        Some(true) => {
            let result = field(reply, "result");
            Ok(if result.is_undefined() {
                JsValue::NULL
            } else {
                result
            })
        }
        Some(false) => {
            let error = field(reply, "error");
            if error.is_undefined() || error.is_null() {
                return Err(ErrorBody::new(
                    ErrorCode::Unknown,
                    "The helper failed without saying why.",
                ));
            }
            Err(from_js::<ErrorBody>(&error).unwrap_or_else(|e| {
                ErrorBody::new(
                    ErrorCode::InvalidRequest,
                    format!("Unexpected reply: {}", e),
                )
            }))
        }
        None => Err(ErrorBody::new(
            ErrorCode::InvalidRequest,
            "Unexpected reply: it says neither ok nor failed.",
        )),
    }
}

/// A host reply's result as `T`, or its error.
pub fn reply_result<T: Decode>(reply: &JsValue) -> Result<T, shared::ErrorBody> {
    let result = reply_parts(reply)?;
    from_js::<T>(&result).map_err(|e| {
        shared::ErrorBody::new(
            shared::ErrorCode::InvalidRequest,
            format!("the host's reply had an unexpected shape: {}", e),
        )
    })
}

/// Sets the toolbar badge ("" clears it), in the colour of a warning, and
/// the icon and title of the state it stands for (`toolbar`), so the state
/// does not rest on the badge's few pixels of colour alone.
#[allow(dead_code)]
pub fn set_badge(text: &str) {
    let state = crate::toolbar::ToolbarState::from_badge(text);
    let paths = js_sys::Object::new();
    for (size, path) in state.icon_paths() {
        let _ = js_sys::Reflect::set(
            &paths,
            &JsValue::from_str(&size.to_string()),
            &JsValue::from_str(&path),
        );
    }
    let icon = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&icon, &JsValue::from_str("path"), &paths);
    // A missing image is a packaging fault: said in the console, where the
    // browser suite looks for it, never thrown into the page.
    let failed = Closure::once_into_js(|e: JsValue| {
        web_sys::console::error_2(&JsValue::from_str("dialer-2fa: toolbar icon failed"), &e);
    });
    set_icon(&icon).catch(&failed);
    let title = js_sys::Object::new();
    let _ = js_sys::Reflect::set(
        &title,
        &JsValue::from_str("title"),
        &JsValue::from_str(&state.title()),
    );
    set_title(&title);
    let details = js_sys::Object::new();
    let _ = js_sys::Reflect::set(
        &details,
        &JsValue::from_str("text"),
        &JsValue::from_str(text),
    );
    set_badge_text(&details);
    let colour = js_sys::Object::new();
    let _ = js_sys::Reflect::set(
        &colour,
        &JsValue::from_str("color"),
        &JsValue::from_str("#a3261b"),
    );
    set_badge_background_color(&colour);
}
