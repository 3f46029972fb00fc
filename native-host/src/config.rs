//! The host's own configuration and where its files live.
//!
//! The API address and the allowed extension origins come only from this
//! file, written by `install`: no message from the extension can change them,
//! so a compromised page cannot point the host (and its tokens) elsewhere.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shared::product;

/// Overrides the config file's location (tests, unusual installs).
pub const CONFIG_ENV: &str = "DIALER_2FA_HOST_CONFIG";

/// Folder name under the XDG config, data and state dirs.
const APP_DIR: &str = "dialer-2fa";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read the host config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the host config {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the host config {path} has an unusable api_url {url:?}: {why}")]
    BadUrl {
        path: PathBuf,
        url: String,
        why: String,
    },
    #[error("could not write the host config {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no home directory is known for this user, so the host has no place for its {0}")]
    NoHome(&'static str),
}

/// `host.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostConfig {
    /// Base address of the account API, without `/v1`.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// Origins (`chrome-extension://<id>/`) the host serves.
    #[serde(default = "default_origins")]
    pub allowed_origins: Vec<String>,
}

fn default_api_url() -> String {
    product::DEFAULT_API_URL.to_string()
}

fn default_origins() -> Vec<String> {
    vec![product::extension_origin(product::EXTENSION_ID)]
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            api_url: default_api_url(),
            allowed_origins: default_origins(),
        }
    }
}

impl HostConfig {
    /// Reads the config at `path`. A missing file means the defaults (the
    /// pinned extension and the local development API), so a host registered
    /// by hand still works; a broken file is an error, never silently ignored.
    pub fn load(path: &Path) -> Result<HostConfig, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HostConfig::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let config: HostConfig =
            serde_json::from_str(&text).map_err(|source| ConfigError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        validate_api_url(&config.api_url).map_err(|why| ConfigError::BadUrl {
            path: path.to_path_buf(),
            url: config.api_url.clone(),
            why,
        })?;
        Ok(config)
    }

    /// Writes the config atomically (temp file, then rename), so a host
    /// starting at the same moment reads the old or the new file, never half.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let write_err = |source| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(write_err)?;
        }
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| write_err(e.into()))?;
        json.push(b'\n');
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(write_err)?;
        std::fs::rename(&tmp, path).map_err(write_err)
    }

    /// Whether Chrome's argv[1] names an extension this host was installed for.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == origin)
    }
}

/// Checks that `url` is an absolute http(s) address, so a typo is caught at
/// install time rather than as "unreachable" later.
pub fn validate_api_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    match parsed.scheme() {
        "http" | "https" => {}
        other => return Err(format!("scheme {:?} is not http or https", other)),
    }
    if parsed.host_str().is_none() {
        return Err("it names no host".to_string());
    }
    Ok(())
}

/// `$DIALER_2FA_HOST_CONFIG`, else `$XDG_CONFIG_HOME/dialer-2fa/host.json`,
/// else `~/.config/dialer-2fa/host.json` (the platform's config dir on macOS
/// and Windows).
pub fn config_path() -> Result<PathBuf, ConfigError> {
    if let Some(path) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let base = dirs::config_dir().ok_or(ConfigError::NoHome("config"))?;
    Ok(base.join(APP_DIR).join("host.json"))
}

/// Where the vault and the status cache live: `$XDG_DATA_HOME/dialer-2fa/`.
pub fn data_dir() -> Result<PathBuf, ConfigError> {
    let base = dirs::data_dir().ok_or(ConfigError::NoHome("data"))?;
    Ok(base.join(APP_DIR))
}

/// Where the log file goes: `$XDG_STATE_HOME/dialer-2fa/` on Linux; the data
/// dir where the platform has no state dir.
pub fn state_dir() -> Result<PathBuf, ConfigError> {
    let base = dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .ok_or(ConfigError::NoHome("log"))?;
    Ok(base.join(APP_DIR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_gives_defaults_with_the_pinned_extension() {
        let dir = tempfile::tempdir().unwrap();
        let config = HostConfig::load(&dir.path().join("nope.json")).unwrap();
        assert_eq!(config, HostConfig::default());
        assert!(config.allows_origin("chrome-extension://bhhbdjkcpnaokfnpkidgmommfgopepmo/"));
        assert!(!config.allows_origin("chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"));
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/host.json");
        let config = HostConfig {
            api_url: "https://api.example.com".into(),
            allowed_origins: vec!["chrome-extension://abc/".into()],
        };
        config.save(&path).unwrap();
        assert_eq!(HostConfig::load(&path).unwrap(), config);
    }

    #[test]
    fn broken_file_and_bad_url_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.json");
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            HostConfig::load(&path),
            Err(ConfigError::Parse { .. })
        ));
        std::fs::write(&path, r#"{"api_url":"ftp://x"}"#).unwrap();
        assert!(matches!(
            HostConfig::load(&path),
            Err(ConfigError::BadUrl { .. })
        ));
    }

    #[test]
    fn api_url_validation() {
        assert!(validate_api_url("http://127.0.0.1:8787").is_ok());
        assert!(validate_api_url("https://api.example.com/base").is_ok());
        assert!(validate_api_url("127.0.0.1:8787").is_err());
        assert!(validate_api_url("file:///etc/passwd").is_err());
    }
}
