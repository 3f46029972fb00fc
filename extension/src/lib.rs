//! The dialer-2fa Chrome extension, compiled to WebAssembly.
//!
//! One module serves two pages: the background service worker, which owns the
//! native messaging port to the host, and the toolbar popup, which only talks
//! to the service worker. The popup never sees a secret: the host keeps them,
//! and what crosses into the extension is status and UI data.
//!
//! `popup_state` is plain Rust (no browser types) so the UI's behaviour is
//! unit-tested on the build machine; the other modules are the thin layer that
//! binds it to the browser.

pub mod popup_state;

#[cfg(target_arch = "wasm32")]
mod chrome;
#[cfg(target_arch = "wasm32")]
mod popup;
#[cfg(target_arch = "wasm32")]
mod service_worker;

#[cfg(target_arch = "wasm32")]
pub use entry::*;

#[cfg(target_arch = "wasm32")]
mod entry {
    use wasm_bindgen::prelude::*;

    /// Called by `popup.js` once the module is instantiated.
    #[wasm_bindgen]
    pub fn start_popup() -> Result<(), JsValue> {
        crate::popup::start()
    }

    /// Called by `sw.js` for each message from an extension page. The
    /// listener itself is registered in JS on the worker's first turn, as
    /// Chrome requires; it forwards here once the module is ready.
    #[wasm_bindgen]
    pub fn sw_on_message(message: JsValue, send_response: js_sys::Function) {
        crate::service_worker::on_message(message, send_response)
    }
}
