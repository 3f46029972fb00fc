//! What the host does for each request, once it is known to be well formed
//! and the port has said `hello`.
//!
//! State that outlives one request lives here: the config, the API client,
//! the cached status and the lazily opened keyring and vault. The keyring
//! and the vault are opened on first use, not at start, so that `hello` and
//! `status` work (and say so) on a machine whose keyring is locked.

use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use shared::native::{
    Event, HelloResult, HostMessage, Request, StatusResult, VaultDeleteResult, VaultListResult,
    VaultRevealResult, VaultSaveResult, PROTOCOL_VERSION,
};
use shared::{ErrorBody, ErrorCode};
use tokio::sync::{mpsc, Mutex};

use crate::api_client::ApiClient;
use crate::config::HostConfig;
use crate::secrets::{Secrets, SecretsError};
use crate::vault::{Vault, VaultError, VAULT_FILE};

/// The host's version, reported by `hello` and `status`.
pub const HOST_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How long a health check answers `status` before the API is asked again:
/// the popup asks on every open, and several popups may ask at once.
pub const STATUS_TTL: Duration = Duration::from_secs(5);

/// How long opening the vault may wait on the keyring. A locked keyring on
/// a desktop shows an unlock prompt, which a person needs time to answer;
/// one left unanswered must still end in an error the extension can show.
pub const KEYRING_WAIT: Duration = Duration::from_secs(30);

/// A request's outcome: a JSON result or a typed error for the extension.
pub type Outcome = Result<serde_json::Value, ErrorBody>;

/// How long an "unreachable" answer is reused: short, so an API that comes
/// back is seen at the next popup, yet a burst of requests asks only once.
pub const UNREACHABLE_TTL: Duration = Duration::from_secs(1);

struct CachedStatus {
    at: Instant,
    status: StatusResult,
    /// When the API last answered, and with which version, so that an
    /// outage can say since when.
    last_ok: Option<(Instant, String)>,
}

/// Everything one host process serves its port with.
pub struct Dispatcher {
    api: ApiClient,
    /// Sign-in and the person's 2FA, proxied to the API with the tokens
    /// from the keyring.
    account: crate::account::Account,
    data_dir: PathBuf,
    status: Mutex<Option<CachedStatus>>,
    secrets: Arc<StdMutex<Option<Arc<Secrets>>>>,
    vault: Mutex<Option<Arc<StdMutex<Vault>>>>,
    /// Weak so that the port's writer ends when the port's own senders are
    /// gone, whatever still holds the dispatcher.
    events: mpsc::WeakSender<HostMessage>,
}

impl Dispatcher {
    /// `events` carries host-initiated messages (`status_changed`) to the
    /// port's writer.
    pub fn new(
        config: &HostConfig,
        data_dir: PathBuf,
        events: &mpsc::Sender<HostMessage>,
    ) -> Result<Dispatcher, crate::api_client::ApiClientError> {
        Ok(Dispatcher {
            api: ApiClient::new(&config.api_url)?,
            account: crate::account::Account::new(&config.api_url, data_dir.clone())?,
            data_dir,
            status: Mutex::new(None),
            secrets: Arc::new(StdMutex::new(None)),
            vault: Mutex::new(None),
            events: events.downgrade(),
        })
    }

    /// Answers `hello`: the versions, or an error when the extension speaks
    /// another protocol (the popup then tells the user to update).
    pub fn hello(&self, protocol: u32) -> Outcome {
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
        to_value(&HelloResult {
            protocol: PROTOCOL_VERSION,
            host_version: HOST_VERSION.to_string(),
        })
    }

    /// Handles any request after `hello`.
    pub async fn handle(&self, request: Request) -> Outcome {
        match request {
            Request::Hello { protocol } => self.hello(protocol),
            Request::Status => to_value(&self.status().await),
            Request::VaultSave { account, codes } => {
                let saved = self
                    .with_vault(move |v| v.save(&account, &codes).map(|n| (account, n)))
                    .await?;
                to_value(&VaultSaveResult {
                    account: saved.0,
                    saved: saved.1,
                })
            }
            Request::VaultList { account } => {
                let entries = self.with_vault(move |v| v.list(account.as_deref())).await?;
                to_value(&VaultListResult { entries })
            }
            Request::VaultReveal { code_id } => {
                let (account, code) = self.with_vault(move |v| v.reveal(code_id)).await?;
                to_value(&VaultRevealResult {
                    id: code_id,
                    account,
                    code,
                })
            }
            Request::VaultDelete { account } => {
                let deleted = self.with_vault(move |v| v.delete(&account)).await?;
                to_value(&VaultDeleteResult { deleted })
            }
            Request::Account(request) => self.account.handle(request).await,
        }
    }

    /// The API's health, from the cache while it is fresh. The lock makes
    /// concurrent requests share one health check. A change of reachability
    /// is also announced as a `status_changed` event.
    pub async fn status(&self) -> StatusResult {
        let mut cached = self.status.lock().await;
        if let Some(c) = cached.as_ref() {
            let ttl = if c.status.api.reachable {
                STATUS_TTL
            } else {
                UNREACHABLE_TTL
            };
            if c.at.elapsed() < ttl {
                return c.status.clone();
            }
        }
        let mut api = self.api.health().await;
        let previous_ok = cached.as_ref().and_then(|c| c.last_ok.clone());
        let last_ok = match (&api.version, previous_ok) {
            (Some(version), _) if api.reachable => Some((Instant::now(), version.clone())),
            (_, previous) => previous,
        };
        if let (false, Some((at, version)), Some(problem)) =
            (api.reachable, last_ok.as_ref(), api.problem.as_mut())
        {
            problem.push_str(&format!(
                " It last answered {} s ago (version {}).",
                at.elapsed().as_secs(),
                version
            ));
        }
        let status = StatusResult {
            host_version: HOST_VERSION.to_string(),
            api,
        };
        let changed = cached
            .as_ref()
            .map(|c| c.status.api.reachable != status.api.reachable)
            .unwrap_or(false);
        *cached = Some(CachedStatus {
            at: Instant::now(),
            status: status.clone(),
            last_ok,
        });
        drop(cached);
        if changed {
            let event = HostMessage::Event(Event::StatusChanged {
                status: status.clone(),
            });
            // The port may be closing; an undelivered event is harmless.
            if let Some(events) = self.events.upgrade() {
                let _ = events.try_send(event);
            }
        }
        status
    }

    /// Runs `op` on the vault on a blocking thread, opening it first if
    /// needed (which may create the vault key in the keyring).
    async fn with_vault<T, F>(&self, op: F) -> Result<T, ErrorBody>
    where
        T: Send + 'static,
        F: FnOnce(&mut Vault) -> Result<T, VaultError> + Send + 'static,
    {
        let vault = {
            let mut vault_slot = self.vault.lock().await;
            match vault_slot.as_ref() {
                Some(vault) => vault.clone(),
                None => {
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
                    vault
                }
            }
        };
        blocking(move || {
            let mut guard = vault
                .lock()
                .map_err(|_| VaultError::Invalid("an earlier vault call crashed".into()))?;
            op(&mut guard)
        })
        .await?
        .map_err(vault_error)
    }
}

/// The keyring, connected on first use and kept; a failure is not kept, so
/// unlocking the keyring fixes the next request. Blocking.
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

/// Runs blocking work (keyring D-Bus calls, SQLite) off the async threads.
async fn blocking<T, F>(f: F) -> Result<T, ErrorBody>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ErrorBody::new(ErrorCode::Internal, "the host's worker thread crashed"))
}

fn to_value<T: serde::Serialize>(value: &T) -> Outcome {
    serde_json::to_value(value).map_err(|e| {
        ErrorBody::new(
            ErrorCode::Internal,
            format!("could not encode the reply: {}", e),
        )
    })
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
