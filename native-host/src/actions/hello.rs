//! `hello`: the first request on every port.

use shared::native::{HelloResult, PROTOCOL_VERSION};
use shared::{ErrorBody, ErrorCode};

/// The host's version, reported by `hello` and `status`.
pub const HOST_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The versions, or an error when the extension speaks another protocol
/// (the popup then tells the user to update).
pub fn hello(protocol: u32) -> Result<HelloResult, ErrorBody> {
    if protocol != PROTOCOL_VERSION {
        return Err(ErrorBody::new(
            ErrorCode::InvalidRequest,
            format!(
                "the extension speaks protocol {} but this host (version {}) speaks {}; \
                 update the one that is older",
                protocol, HOST_VERSION, PROTOCOL_VERSION
            ),
        ));
    }
    Ok(HelloResult {
        protocol: PROTOCOL_VERSION,
        host_version: HOST_VERSION.to_string(),
    })
}
