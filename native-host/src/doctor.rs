//! `doctor`: what a person (or a support script) needs to see when the
//! extension says the host is missing or broken: where the manifests are and
//! whether they point at this binary, the config, the keyring, the API.

use std::fmt::Write as _;
use std::path::Path;

use shared::product;

use crate::api_client::ApiClient;
use crate::config::{self, HostConfig};
use crate::install::{self, Browser, HostManifest};
use crate::secrets::Secrets;
use crate::vault::VAULT_FILE;

/// Builds the report. Every check runs, whatever failed before it.
pub async fn run(browsers: &[Browser], user_data_dir: Option<&Path>) -> String {
    let mut out = String::new();
    let own = install::own_path().ok();
    let _ = writeln!(out, "dialer-2fa-host {}", env!("CARGO_PKG_VERSION"));
    if let Some(own) = &own {
        let _ = writeln!(out, "this binary: {}", own.display());
    }

    let _ = writeln!(out, "\nbrowser registrations:");
    for browser in browsers {
        let _ = writeln!(
            out,
            "  {}",
            manifest_line(*browser, user_data_dir, own.as_deref())
        );
    }

    let _ = writeln!(out, "\nconfig:");
    let config = match config::config_path() {
        Ok(path) => {
            let exists = path.exists();
            match HostConfig::load(&path) {
                Ok(config) => {
                    let _ = writeln!(
                        out,
                        "  {} ({})",
                        path.display(),
                        if exists {
                            "found"
                        } else {
                            "missing: using defaults"
                        }
                    );
                    let _ = writeln!(out, "  api_url: {}", config.api_url);
                    let _ = writeln!(
                        out,
                        "  allowed_origins: {}",
                        config.allowed_origins.join(", ")
                    );
                    Some(config)
                }
                Err(e) => {
                    let _ = writeln!(out, "  PROBLEM: {}", e);
                    None
                }
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  PROBLEM: {}", e);
            None
        }
    };

    let _ = writeln!(
        out,
        "\nkeyring (service {:?}):",
        crate::secrets::service_name()
    );
    let keyring = tokio::task::spawn_blocking(|| Secrets::connect().and_then(|s| s.probe())).await;
    match keyring {
        Ok(Ok(())) => {
            let _ = writeln!(out, "  answers");
        }
        Ok(Err(e)) => {
            let _ = writeln!(out, "  PROBLEM: {}", e);
        }
        Err(_) => {
            let _ = writeln!(out, "  PROBLEM: the keyring check crashed");
        }
    }

    let _ = writeln!(out, "\nvault:");
    match config::data_dir() {
        Ok(dir) => {
            let path = dir.join(VAULT_FILE);
            match std::fs::metadata(&path) {
                Ok(meta) => {
                    let _ = writeln!(out, "  {} ({} bytes)", path.display(), meta.len());
                }
                Err(_) => {
                    let _ = writeln!(out, "  {} (not created yet)", path.display());
                }
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  PROBLEM: {}", e);
        }
    }

    let _ = writeln!(out, "\naccount API:");
    let api_url = config
        .map(|c| c.api_url)
        .unwrap_or_else(|| product::DEFAULT_API_URL.to_string());
    match ApiClient::new(&api_url) {
        Ok(client) => {
            let health = client.health().await;
            if health.reachable {
                let _ = writeln!(
                    out,
                    "  {} answers: version {}, {} ms",
                    api_url,
                    health.version.unwrap_or_default(),
                    health.latency_ms.unwrap_or_default()
                );
            } else {
                let _ = writeln!(out, "  PROBLEM: {}", health.problem.unwrap_or_default());
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  PROBLEM: {}", e);
        }
    }
    if let Some(log) = crate::logging::log_path() {
        let _ = write!(out, "\nlog of browser-started hosts: {}", log.display());
    }
    out
}

fn manifest_line(browser: Browser, user_data_dir: Option<&Path>, own: Option<&Path>) -> String {
    let path = match install::manifest_path(browser, user_data_dir) {
        Ok(path) => path,
        Err(e) => return format!("{}: PROBLEM: {}", browser.name(), e),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(_) => return format!("{}: not installed (no {})", browser.name(), path.display()),
    };
    let manifest: HostManifest = match serde_json::from_str(&text) {
        Ok(m) => m,
        Err(e) => {
            return format!(
                "{}: PROBLEM: {} is not a manifest: {}",
                browser.name(),
                path.display(),
                e
            )
        }
    };
    let target = Path::new(&manifest.path);
    let note = if !target.exists() {
        "PROBLEM: that program does not exist"
    } else if own.is_some_and(|own| own != target) {
        "note: a different binary than this one"
    } else {
        "ok"
    };
    format!(
        "{}: {} -> {} [{}] ({})",
        browser.name(),
        path.display(),
        manifest.path,
        manifest.allowed_origins.join(", "),
        note
    )
}
