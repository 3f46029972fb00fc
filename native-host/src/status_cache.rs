//! The non-secret status cache: the signed-in email and the last 2FA state
//! the API reported, in a small JSON file in the data dir, so `session` can
//! answer, marked stale, while the API is down. The API has no route that
//! returns the email, so it comes from the sign-in the person typed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shared::api::TwoFactorState;
use tokio::sync::Mutex;

use crate::files::write_json_private;
use crate::services::blocking;

/// File name of the status cache under the data dir.
pub const STATUS_FILE: &str = "account-status.json";

/// What the status cache file holds: nothing secret.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CachedStatus {
    #[serde(default)]
    pub(crate) email: Option<String>,
    #[serde(default)]
    pub(crate) two_factor: Option<TwoFactorState>,
}

/// The cache file of one data dir.
pub(crate) struct StatusCache {
    dir: PathBuf,
    /// Serialises writers within this process.
    lock: Mutex<()>,
}

impl StatusCache {
    pub(crate) fn new(dir: PathBuf) -> StatusCache {
        StatusCache {
            dir,
            lock: Mutex::new(()),
        }
    }

    pub(crate) async fn read(&self) -> Option<CachedStatus> {
        let path = self.dir.join(STATUS_FILE);
        blocking(move || read_cache_file(&path)).await.ok()?
    }

    /// The signed-in person's email, when known.
    pub(crate) async fn email(&self) -> Option<String> {
        self.read().await.and_then(|c| c.email)
    }

    /// Writes (or with `None` removes) the cache. Failures are logged, not
    /// returned: the cache only makes a down API less of a blank.
    pub(crate) async fn write(&self, status: Option<CachedStatus>) {
        let _guard = self.lock.lock().await;
        let dir = self.dir.clone();
        let result = blocking(move || write_cache_file(&dir, status.as_ref())).await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not update the status cache"),
            Err(_) => tracing::warn!("could not update the status cache"),
        }
    }

    /// Keeps the email and replaces the 2FA state.
    pub(crate) async fn set_two_factor(&self, two_factor: TwoFactorState) -> Option<String> {
        let mut cached = self.read().await.unwrap_or_default();
        cached.two_factor = Some(two_factor);
        let email = cached.email.clone();
        self.write(Some(cached)).await;
        email
    }
}

fn read_cache_file(path: &Path) -> Option<CachedStatus> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

fn write_cache_file(dir: &Path, status: Option<&CachedStatus>) -> std::io::Result<()> {
    let path = dir.join(STATUS_FILE);
    match status {
        Some(status) => write_json_private(&path, status),
        None => match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_file_round_trips_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let status = CachedStatus {
            email: Some("a@example.com".into()),
            two_factor: None,
        };
        write_cache_file(dir.path(), Some(&status)).unwrap();
        assert_eq!(read_cache_file(&dir.path().join(STATUS_FILE)), Some(status));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(STATUS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        write_cache_file(dir.path(), None).unwrap();
        write_cache_file(dir.path(), None).unwrap();
        assert_eq!(read_cache_file(&dir.path().join(STATUS_FILE)), None);
    }
}
