//! The one set of things every action uses: the API client, the keyring,
//! the vault and the status cache. Built once per host process; actions
//! receive it and never build their own, so there is one keyring
//! connection, one HTTP client and one open vault per port.
//!
//! The keyring and the vault are opened on first use, not at start, so
//! that `hello` and `status` work (and say so) on a machine whose keyring
//! is locked. A failure to open is not kept: unlocking the keyring fixes
//! the next request.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use shared::{ErrorBody, ErrorCode};
use tokio::sync::Mutex;

use crate::api_client::{ApiClient, ApiClientError};
use crate::config::HostConfig;
use crate::secrets::{SecretKind, Secrets, SecretsError};
use crate::status_cache::StatusCache;
use crate::vault::{Vault, VaultError, VAULT_FILE};

/// How long opening the vault may wait on the keyring. A locked keyring on
/// a desktop shows an unlock prompt, which a person needs time to answer;
/// one left unanswered must still end in an error the extension can show.
pub const KEYRING_WAIT: Duration = Duration::from_secs(30);

/// The host's shared state; see the module comment.
pub struct Services {
    api: ApiClient,
    data_dir: PathBuf,
    secrets: Arc<StdMutex<Option<Arc<Secrets>>>>,
    vault: Mutex<Option<Arc<StdMutex<Vault>>>>,
    status_cache: StatusCache,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("api", &self.api.base_url())
            .finish_non_exhaustive()
    }
}

impl Services {
    /// The API address comes from the host's config only; `data_dir` holds
    /// the vault and the small non-secret files.
    pub fn new(config: &HostConfig, data_dir: PathBuf) -> Result<Services, ApiClientError> {
        Ok(Services {
            api: ApiClient::new(&config.api_url)?,
            status_cache: StatusCache::new(data_dir.clone()),
            data_dir,
            secrets: Arc::new(StdMutex::new(None)),
            vault: Mutex::new(None),
        })
    }

    pub(crate) fn api(&self) -> &ApiClient {
        &self.api
    }

    pub(crate) fn status_cache(&self) -> &StatusCache {
        &self.status_cache
    }

    /// A file under the data dir.
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.data_dir.join(name)
    }

    /// The keyring, connected on first use and kept.
    pub(crate) async fn secrets(&self) -> Result<Arc<Secrets>, ErrorBody> {
        let slot = self.secrets.clone();
        blocking(move || connect_secrets(&slot))
            .await?
            .map_err(keyring_error)
    }

    pub(crate) async fn secret_get(&self, kind: SecretKind) -> Result<Option<String>, ErrorBody> {
        let secrets = self.secrets().await?;
        let bytes = blocking(move || secrets.get(kind))
            .await?
            .map_err(keyring_error)?;
        // A value that is not UTF-8 was not written by this host: treat it
        // as absent rather than send garbage to the API.
        Ok(bytes.and_then(|b| String::from_utf8(b).ok()))
    }

    pub(crate) async fn secret_set(
        &self,
        kind: SecretKind,
        value: String,
    ) -> Result<(), ErrorBody> {
        let secrets = self.secrets().await?;
        blocking(move || secrets.set(kind, value.as_bytes()))
            .await?
            .map_err(keyring_error)
    }

    pub(crate) async fn secret_delete(&self, kind: SecretKind) -> Result<(), ErrorBody> {
        let secrets = self.secrets().await?;
        blocking(move || secrets.delete(kind))
            .await?
            .map(|_| ())
            .map_err(keyring_error)
    }

    /// Whether this computer has a vault file at all; syncing must not
    /// create one.
    pub(crate) fn vault_exists(&self) -> bool {
        self.data_dir.join(VAULT_FILE).exists()
    }

    /// Runs `op` on the vault on a blocking thread, opening it first if
    /// needed (which may create the vault key in the keyring).
    pub(crate) async fn with_vault<T, F>(&self, op: F) -> Result<T, ErrorBody>
    where
        T: Send + 'static,
        F: FnOnce(&mut Vault) -> Result<T, VaultError> + Send + 'static,
    {
        let vault = self.open_vault().await?;
        blocking(move || {
            let mut guard = vault
                .lock()
                .map_err(|_| VaultError::Invalid("an earlier vault call crashed".into()))?;
            op(&mut guard)
        })
        .await?
        .map_err(vault_error)
    }

    async fn open_vault(&self) -> Result<Arc<StdMutex<Vault>>, ErrorBody> {
        let mut vault_slot = self.vault.lock().await;
        if let Some(vault) = vault_slot.as_ref() {
            return Ok(vault.clone());
        }
        let slot = self.secrets.clone();
        let path = self.data_dir.join(VAULT_FILE);
        let opening = blocking(move || {
            let secrets = connect_secrets(&slot).map_err(VaultError::Keyring)?;
            Vault::open(&path, secrets.as_ref())
        });
        let vault = tokio::time::timeout(KEYRING_WAIT, opening)
            .await
            .map_err(|_| {
                ErrorBody::new(
                    ErrorCode::KeyringUnavailable,
                    format!(
                        "the OS keyring did not answer within {} s; it may be \
                         locked and waiting for its password",
                        KEYRING_WAIT.as_secs()
                    ),
                )
            })??
            .map_err(vault_error)?;
        let vault = Arc::new(StdMutex::new(vault));
        *vault_slot = Some(vault.clone());
        Ok(vault)
    }

    /// The data dir, for tests and diagnostics.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

/// The keyring, connected on first use and kept; a failure is not kept.
/// Blocking.
fn connect_secrets(slot: &StdMutex<Option<Arc<Secrets>>>) -> Result<Arc<Secrets>, SecretsError> {
    let mut guard = slot
        .lock()
        .map_err(|_| SecretsError::Failed("an earlier keyring call crashed".into()))?;
    if let Some(secrets) = guard.as_ref() {
        return Ok(secrets.clone());
    }
    let secrets = Arc::new(Secrets::connect()?);
    *guard = Some(secrets.clone());
    Ok(secrets)
}

/// Runs blocking work (keyring D-Bus calls, SQLite, files) off the async
/// threads.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ErrorBody>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ErrorBody::new(ErrorCode::Internal, "the host's worker thread crashed"))
}

/// A keyring failure as the extension sees it: no fallback, so say so.
fn keyring_error(e: SecretsError) -> ErrorBody {
    tracing::warn!(error = %e, "keyring failed");
    ErrorBody::new(
        ErrorCode::KeyringUnavailable,
        format!(
            "{}. The helper keeps your sign-in only in the OS keyring, so it cannot sign you in \
             until the keyring answers.",
            e
        ),
    )
}

/// Vault and keyring failures as the extension sees them.
fn vault_error(e: VaultError) -> ErrorBody {
    let code = match &e {
        VaultError::Keyring(_) | VaultError::KeyMismatch | VaultError::KeyLost(_) => {
            ErrorCode::KeyringUnavailable
        }
        VaultError::Invalid(_) => ErrorCode::BadRequest,
        VaultError::NotFound(_) => ErrorCode::NotFound,
        VaultError::Database(_)
        | VaultError::Folder { .. }
        | VaultError::Corrupt
        | VaultError::TooNew(_) => ErrorCode::Internal,
    };
    if code == ErrorCode::Internal || code == ErrorCode::KeyringUnavailable {
        tracing::warn!(error = %e, "vault request failed");
    }
    ErrorBody::new(code, e.to_string())
}
