//! The host's secrets in the OS keyring: Secret Service on Linux, Keychain on
//! macOS, Credential Manager on Windows, through keyring-core.
//!
//! There is deliberately no fallback: if the keyring cannot be reached or is
//! locked, the caller gets [`SecretsError::Unavailable`] and the extension a
//! `keyring_unavailable` error. A plaintext file would defeat the point of
//! the host.
//!
//! All calls block (the stores talk D-Bus or call OS APIs synchronously);
//! async code runs them under `tokio::task::spawn_blocking`.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error as KeyringError};

/// Lets tests keep their secrets apart from a real installation's (and from
/// each other) in the same Secret Service. Production leaves it unset and
/// uses [`shared::product::KEYRING_SERVICE`].
pub const SERVICE_ENV: &str = "DIALER_2FA_KEYRING_SERVICE";

/// The service name the host stores under: [`SERVICE_ENV`] or the product's.
pub fn service_name() -> String {
    std::env::var(SERVICE_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| shared::product::KEYRING_SERVICE.to_string())
}

/// What the host keeps in the keyring, one entry each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// The API session of the signed-in user.
    SessionToken,
    /// The 60-day "remember this device" token (R8).
    TrustedDeviceToken,
    /// The 256-bit key the vault's recovery codes are encrypted under.
    VaultKey,
}

impl SecretKind {
    /// The keyring entry's user name under the service.
    pub fn user(self) -> &'static str {
        match self {
            SecretKind::SessionToken => "session-token",
            SecretKind::TrustedDeviceToken => "trusted-device-token",
            SecretKind::VaultKey => "vault-key",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// No keyring answered, or it is locked.
    #[error("the OS keyring is not available: {0}")]
    Unavailable(String),
    /// The keyring answered but refused or failed the operation.
    #[error("the OS keyring failed: {0}")]
    Failed(String),
}

/// A connection to the platform's keyring under one service name.
pub struct Secrets {
    /// Always `Some` until dropped (see the `Drop` impl).
    store: Option<Arc<CredentialStore>>,
    service: String,
}

impl Drop for Secrets {
    /// The Secret Service store closes its D-Bus connection with a blocking
    /// call that panics on a thread driving a tokio runtime ("cannot start
    /// a runtime from within a runtime"), which is where a port's state is
    /// dropped at exit. So there the store is let go on a thread of its own.
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::spawn(move || drop(store)).join();
            }
        }
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("service", &self.service)
            .finish()
    }
}

impl Secrets {
    /// Connects to the platform's keyring, under the service from
    /// [`SERVICE_ENV`] or the product's.
    pub fn connect() -> Result<Secrets, SecretsError> {
        Secrets::connect_service(&service_name())
    }

    /// Connects under an explicit service name.
    pub fn connect_service(service: &str) -> Result<Secrets, SecretsError> {
        let store = platform_store()?;
        Ok(Secrets {
            store: Some(store),
            service: service.to_string(),
        })
    }

    /// The service name entries are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }

    fn entry(&self, kind: SecretKind) -> Result<Entry, SecretsError> {
        let store = self
            .store
            .as_ref()
            .ok_or_else(|| SecretsError::Failed("the keyring connection was closed".into()))?;
        Entry::new_in_store(store, &self.service, kind.user()).map_err(classify)
    }

    /// The stored secret, or `None` when there is none.
    pub fn get(&self, kind: SecretKind) -> Result<Option<Vec<u8>>, SecretsError> {
        match self.entry(kind)?.get_secret() {
            Ok(secret) => Ok(Some(secret)),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    /// Stores (or replaces) a secret.
    pub fn set(&self, kind: SecretKind, secret: &[u8]) -> Result<(), SecretsError> {
        self.entry(kind)?.set_secret(secret).map_err(classify)
    }

    /// Removes a secret; `false` when there was none.
    pub fn delete(&self, kind: SecretKind) -> Result<bool, SecretsError> {
        match self.entry(kind)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(KeyringError::NoEntry) => Ok(false),
            Err(e) => Err(classify(e)),
        }
    }

    /// Proves the keyring answers by reading an entry (without creating one),
    /// for `doctor`.
    pub fn probe(&self) -> Result<(), SecretsError> {
        self.get(SecretKind::VaultKey).map(|_| ())
    }
}

/// Locked or unreachable stores are "unavailable"; everything else failed.
fn classify(e: KeyringError) -> SecretsError {
    match e {
        KeyringError::NoStorageAccess(inner) => {
            SecretsError::Unavailable(format!("it is locked or access was refused ({})", inner))
        }
        KeyringError::NoDefaultStore => {
            SecretsError::Unavailable("no keyring store is configured".to_string())
        }
        other => SecretsError::Failed(other.to_string()),
    }
}

#[cfg(target_os = "linux")]
fn platform_store() -> Result<Arc<CredentialStore>, SecretsError> {
    let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| {
        SecretsError::Unavailable(format!(
            "no Secret Service answered on the D-Bus session bus ({}). Run the browser in a \
             desktop session with GNOME Keyring or KWallet unlocked",
            e
        ))
    })?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn platform_store() -> Result<Arc<CredentialStore>, SecretsError> {
    let store = apple_native_keyring_store::keychain::Store::new()
        .map_err(|e| SecretsError::Unavailable(format!("the login Keychain: {}", e)))?;
    Ok(store)
}

#[cfg(windows)]
fn platform_store() -> Result<Arc<CredentialStore>, SecretsError> {
    let store = windows_native_keyring_store::Store::new()
        .map_err(|e| SecretsError::Unavailable(format!("the Credential Manager: {}", e)))?;
    Ok(store)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn platform_store() -> Result<Arc<CredentialStore>, SecretsError> {
    Err(SecretsError::Unavailable(
        "this operating system has no supported keyring".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_stable() {
        // Renaming one would orphan what earlier versions stored.
        assert_eq!(SecretKind::SessionToken.user(), "session-token");
        assert_eq!(
            SecretKind::TrustedDeviceToken.user(),
            "trusted-device-token"
        );
        assert_eq!(SecretKind::VaultKey.user(), "vault-key");
    }
}
