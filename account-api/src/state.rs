//! What every handler shares, and what can stop the server from starting.
//!
//! Kept apart from the router so that rules and extractors can take the
//! state without importing the module that imports every handler.

use std::sync::{Arc, OnceLock};

use crate::clock::Clock;
use crate::config::{ServerConfig, Store};
use crate::rules::sms::SmsSender;
use crate::secret_box::{KeyFileError, SecretBox, ServerKey};
use crate::store::db::{self, Db};

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Arc<Clock>,
    pub secrets: SecretBox,
    pub config: Arc<ServerConfig>,
    pub sms: Arc<SmsSender>,
    openapi_json: Arc<OnceLock<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database {0}: {1}")]
    Db(String, db::DbOpenError),
    #[error(transparent)]
    Key(#[from] crate::secret_box::KeyFileError),
    #[error("{0}")]
    Sms(String),
    #[error("cannot listen: {0}")]
    Listen(std::io::Error),
}

impl AppState {
    /// Opens and migrates the database and loads (or creates) the server key.
    pub fn open(config: ServerConfig) -> Result<AppState, StartError> {
        let db = match &config.store {
            Store::Sqlite(path) => Db::serve_sqlite(path),
            Store::Postgres { url, pool_size } => {
                // Refused before connecting: a node without the shared key
                // must not even migrate the database others use.
                if matches!(config.server_key, ServerKey::BesideDatabase) {
                    return Err(KeyFileError::SharedStoreNeedsKey.into());
                }
                db::open_postgres(url, *pool_size)
            }
        }
        .map_err(|e| StartError::Db(config.store.describe(), e))?;
        // After the database, whose folder the default key file shares.
        let secrets = config.server_key.load(config.store.sqlite_path())?;
        let sms =
            SmsSender::from_config(&config.sms).map_err(|e| StartError::Sms(e.to_string()))?;
        Ok(AppState {
            db,
            clock: Arc::new(Clock::new()),
            secrets,
            config: Arc::new(config),
            sms: Arc::new(sms),
            openapi_json: Arc::new(OnceLock::new()),
        })
    }

    /// The OpenAPI document as `/v1/openapi.json` serves it: written once,
    /// by the router that the document describes.
    pub fn openapi_json(&self) -> String {
        self.openapi_json.get().cloned().unwrap_or_default()
    }

    pub(crate) fn set_openapi_json(&self, json: String) {
        let _ = self.openapi_json.set(json);
    }
}
