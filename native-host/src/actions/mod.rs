//! What the host does for each request, one file per area. Each action
//! receives the one [`Services`](crate::services::Services) value and
//! answers the request's reply type from `shared`; [`crate::dispatch`]
//! picks the action.
//!
//! Every API error reaches the extension as the API's own `ErrorCode` and
//! message; an API that does not answer is `api_unreachable` within the
//! client's timeouts (well under 5 s); a keyring that does not answer is
//! `keyring_unavailable`, with no fallback.

pub mod accounts;
pub mod forward;
pub mod handoff;
pub mod hello;
pub mod session;
pub mod sign_in;
pub mod status;
pub mod trusted_devices;
pub mod two_factor;
pub mod vault;

use serde::Serialize;
use shared::{ErrorBody, ErrorCode};

/// A request body for the API as JSON.
pub(crate) fn json<T: Serialize>(value: &T) -> Result<serde_json::Value, ErrorBody> {
    serde_json::to_value(value).map_err(|e| {
        ErrorBody::new(
            ErrorCode::Internal,
            format!("could not encode the request: {}", e),
        )
    })
}
