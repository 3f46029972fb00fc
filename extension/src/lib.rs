//! The dialer-2fa Chrome extension, compiled to WebAssembly.
//!
//! Three pages (cargo features `popup`, `options`, `sw`), built by default
//! into two wasm modules, the popup's own and one the settings page and the
//! worker share (see README.md for why and the figures): the background
//! service worker owns the native messaging port to the host; the toolbar
//! popup and the settings page only talk to the service worker. The pages never see a
//! secret: the host keeps them, and what crosses into the extension is
//! status and UI data.
//!
//! The state machines (`popup_state`, `settings_state`, `wizard`) and the
//! words (`text`) are plain Rust with no browser types, so the UI's
//! behaviour is unit-tested on the build machine; `dom`, `popup`, `settings`
//! and `service_worker` are the thin layer that binds them to the browser.

// First: its `word!` and `fill!` macros are for every module after it.
#[macro_use]
pub mod text;
pub mod effect;
pub mod popup_state;
pub mod settings_state;
pub mod toolbar;
pub mod wire;
pub mod wizard;

#[cfg(target_arch = "wasm32")]
mod chrome;
#[cfg(all(target_arch = "wasm32", any(feature = "popup", feature = "options")))]
mod dom;
#[cfg(all(target_arch = "wasm32", feature = "popup"))]
mod popup;
#[cfg(all(target_arch = "wasm32", feature = "sw"))]
mod service_worker;
#[cfg(all(target_arch = "wasm32", feature = "options"))]
mod settings;
#[cfg(all(target_arch = "wasm32", feature = "sw"))]
mod web_sync;
#[cfg(all(target_arch = "wasm32", any(feature = "popup", feature = "options")))]
mod wizard_view;

#[cfg(target_arch = "wasm32")]
pub use entry::*;

#[cfg(target_arch = "wasm32")]
mod entry {
    #[allow(unused_imports)]
    use wasm_bindgen::prelude::*;

    /// Called by `popup.js` once the module is instantiated.
    #[cfg(feature = "popup")]
    #[wasm_bindgen]
    pub fn start_popup() -> Result<(), JsValue> {
        crate::popup::start()
    }

    /// Called by `options.js` once the module is instantiated.
    #[cfg(feature = "options")]
    #[wasm_bindgen]
    pub fn start_settings() -> Result<(), JsValue> {
        crate::settings::start()
    }

    /// Called by `sw.js` for each message from an extension page. The
    /// listener itself is registered in JS on the worker's first turn, as
    /// Chrome requires; it forwards here once the module is ready.
    #[cfg(feature = "sw")]
    #[wasm_bindgen]
    pub fn sw_on_message(message: JsValue, send_response: js_sys::Function) {
        crate::service_worker::on_message(message, send_response)
    }

    /// Called by `sw.js` each time the worker starts: opens the host's port
    /// ahead of the first request.
    #[cfg(feature = "sw")]
    #[wasm_bindgen]
    pub fn sw_warm() {
        crate::service_worker::warm()
    }

    /// Called by `sw.js` when the browser starts or the extension is
    /// installed.
    #[cfg(feature = "sw")]
    #[wasm_bindgen]
    pub fn sw_refresh_badge() {
        crate::service_worker::refresh_badge()
    }

    /// Called by `sw.js` once, with the build's `web_app.json` (or null):
    /// the one web app origin that may talk to the extension.
    #[cfg(feature = "sw")]
    #[wasm_bindgen]
    pub fn sw_configure_web_app(config: JsValue) {
        crate::web_sync::configure(config)
    }

    /// Called by `sw.js` for each message from a web page (R7 sync). Returns
    /// whether an answer will follow.
    #[cfg(feature = "sw")]
    #[wasm_bindgen]
    pub fn sw_on_external_message(
        message: JsValue,
        origin: String,
        send_response: js_sys::Function,
    ) -> bool {
        crate::web_sync::on_external_message(message, &origin, send_response)
    }
}
