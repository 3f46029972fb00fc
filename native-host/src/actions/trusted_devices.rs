//! `list_trusted_devices`, `revoke_trusted_device`, and this computer's own
//! trusted-device token.
//!
//! The **trusted-device token** lives in the OS keyring and nowhere else. A
//! non-secret file records whose it is, so a handoff never replaces one
//! person's token with another's.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use shared::api::TrustedDeviceList;
use shared::two_factor::Done;
use shared::ErrorBody;

use super::forward::Forward;
use crate::files::write_json_private;
use crate::secrets::SecretKind;
use crate::services::{blocking, Services};

/// File name, under the data dir, of whose trusted-device token the keyring
/// holds (an email, not secret).
pub const DEVICE_OWNER_FILE: &str = "trusted-device-owner.json";

pub fn list() -> Forward<TrustedDeviceList> {
    Forward::get("/trusted-devices")
}

pub fn revoke(id: i64) -> Forward<Done> {
    Forward::without_reply(Method::DELETE, format!("/trusted-devices/{}", id))
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
struct DeviceOwner {
    #[serde(default)]
    email: Option<String>,
}

/// Stores the trusted-device token and records whose it is.
pub(crate) async fn store_device_token(
    s: &Services,
    token: String,
    email: Option<&str>,
) -> Result<(), ErrorBody> {
    s.secret_set(SecretKind::TrustedDeviceToken, token).await?;
    let path = s.file(DEVICE_OWNER_FILE);
    let owner = DeviceOwner {
        email: email.map(|e| e.trim().to_ascii_lowercase()),
    };
    let result = blocking(move || write_json_private(&path, &owner)).await?;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not record whose trusted-device token this is");
    }
    Ok(())
}

/// Whose trusted-device token the keyring holds, when recorded.
pub(crate) async fn device_owner(s: &Services) -> Option<String> {
    let path = s.file(DEVICE_OWNER_FILE);
    blocking(move || {
        std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<DeviceOwner>(&b).ok())
            .and_then(|o| o.email)
    })
    .await
    .ok()
    .flatten()
}
