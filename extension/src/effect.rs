//! What a state machine asks the browser layer to do. The machines never
//! touch the browser: they return effects, and every effect that has an
//! outcome comes back as `(key, Answer)`, so a reply, a clipboard write and a
//! timer all re-enter the machine the same way.

use serde::de::DeserializeOwned;
use shared::native::Request;
use shared::{ErrorBody, ErrorCode};

/// The outcome of an effect: the host's `result` (still JSON: the machine
/// decodes it into the type it expects) or the error.
pub type Answer = Result<Json, ErrorBody>;

/// A host result as JSON text, decoded once, straight into the type the
/// machine expects. Text rather than `serde_json::Value`: decoding through a
/// `Value` compiles every result type's deserializer a second time (for the
/// `Value` deserializer) and pulls `Value`'s own parser into the wasm, which
/// is most of the bytes the popup's size budget cannot afford (issue 12).
#[derive(Debug, Clone, PartialEq)]
pub struct Json(pub String);

impl Json {
    /// The answer of an effect with no result (a clipboard write, a timer).
    pub fn null() -> Json {
        Json("null".into())
    }
}

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Json {
        Json(value.to_string())
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
pub fn decode<T: DeserializeOwned>(answer: Answer) -> Result<T, ErrorBody> {
    let json = answer?;
    serde_json::from_str(&json.0).map_err(|e| {
        ErrorBody::new(
            ErrorCode::InvalidRequest,
            format!("The helper answered in a way this extension does not understand ({}). Install the same release of both.", e),
        )
    })
}
