//! What a state machine asks the browser layer to do. The machines never
//! touch the browser: they return effects, and every effect that has an
//! outcome comes back as `(key, Answer)`, so a reply, a clipboard write and a
//! timer all re-enter the machine the same way.

use shared::native::Request;
use shared::{ErrorBody, ErrorCode};

use crate::wire::Decode;

/// The outcome of an effect: the host's `result` (still undecoded: the
/// machine decodes it into the type it expects) or the error.
pub type Answer = Result<Json, ErrorBody>;

/// A host result as it arrived: a JS value in the browser, decoded once,
/// field by field, straight into the type the machine expects
/// (`crate::wire`). Not serde: its derived deserializers, the tagged enums'
/// buffering and serde_json's parser were most of the bytes the popup's size
/// budget cannot afford (issue 12). On the build machine, where the machines
/// are unit-tested, it is a `serde_json::Value` written by serde, as the
/// host writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Json(pub Raw);

#[cfg(target_arch = "wasm32")]
pub type Raw = wasm_bindgen::JsValue;
#[cfg(not(target_arch = "wasm32"))]
pub type Raw = serde_json::Value;

impl Json {
    /// The answer of an effect with no result (a clipboard write, a timer).
    pub fn null() -> Json {
        #[cfg(target_arch = "wasm32")]
        let null = wasm_bindgen::JsValue::NULL;
        #[cfg(not(target_arch = "wasm32"))]
        let null = serde_json::Value::Null;
        Json(null)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Json {
        Json(value)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect<K> {
    /// Send a request to the host through the service worker.
    Send(Request, K),
    /// Write text to the clipboard; answered with `Ok(null)` or the reason.
    Copy(String, K),
    /// Offer a text file for download.
    Download { file_name: String, text: String },
    /// Set the toolbar badge ("" clears it).
    Badge(String),
    /// Open the extension's settings page.
    OpenSettings,
    /// Answer `Ok(null)` after this many milliseconds (cooldown countdowns).
    After(u32, K),
}

impl<K> Effect<K> {
    /// The same effect for an enclosing machine, whose key wraps this one's.
    pub fn map<L>(self, f: impl Fn(K) -> L) -> Effect<L> {
        match self {
            Effect::Send(r, k) => Effect::Send(r, f(k)),
            Effect::Copy(t, k) => Effect::Copy(t, f(k)),
            Effect::Download { file_name, text } => Effect::Download { file_name, text },
            Effect::Badge(b) => Effect::Badge(b),
            Effect::OpenSettings => Effect::OpenSettings,
            Effect::After(ms, k) => Effect::After(ms, f(k)),
        }
    }
}

/// A host result as the type its request is answered with.
pub fn decode<T: Decode>(answer: Answer) -> Result<T, ErrorBody> {
    let json = answer?;
    T::decode(&json.0).map_err(|problem| {
        ErrorBody::new(
            ErrorCode::InvalidRequest,
            format!("The helper answered in a way this extension does not understand ({}). Install the same release of both.", problem.describe()),
        )
    })
}
