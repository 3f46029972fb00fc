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
        // The system package's manifest (all users); a custom profile
        // (--user-data-dir) reads only its own folder.
        let system = user_data_dir
            .is_none()
            .then(|| system_manifest_path(*browser))
            .flatten();
        if let Some(path) = &system {
            let label = format!("{} (all users)", browser.name());
            let _ = writeln!(out, "  {}", describe_manifest(&label, path, own.as_deref()));
        }
        let per_user = install::manifest_path(*browser, user_data_dir).map(|p| p.exists());
        if !per_user.unwrap_or(false) && !system.is_some_and(|p| p.exists()) {
            let _ = writeln!(out, "    fix: {}", not_registered_fix(*browser));
        }
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
            let _ = writeln!(out, "    fix: {}", KEYRING_FIX);
        }
        Err(_) => {
            let _ = writeln!(out, "  PROBLEM: the keyring check crashed");
            let _ = writeln!(out, "    fix: {}", KEYRING_FIX);
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
    out.push_str(&certificate_chain(&api_url).await);
    if let Some(log) = crate::logging::log_path() {
        let _ = write!(out, "\nlog of browser-started hosts: {}", log.display());
    }
    out
}

/// The chain of an `https` API and whether the OS store trusts it; a plain
/// `http` address has none to show.
async fn certificate_chain(api_url: &str) -> String {
    let url = match reqwest::Url::parse(api_url) {
        Ok(url) => url,
        Err(_) => return String::new(),
    };
    if url.scheme() != "https" {
        return "  certificate chain: none (plain http: for development on this computer only)\n"
            .to_string();
    }
    match crate::tls_chain::inspect(&url).await {
        Ok(report) => crate::tls_chain::describe(&report),
        Err(e) => format!("  certificate chain: PROBLEM: {}\n", e),
    }
}

fn manifest_line(browser: Browser, user_data_dir: Option<&Path>, own: Option<&Path>) -> String {
    match install::manifest_path(browser, user_data_dir) {
        Ok(path) => describe_manifest(browser.name(), &path, own),
        Err(e) => format!("{}: PROBLEM: {}", browser.name(), e),
    }
}

/// What to do when the host keeps no secrets because no keyring answers.
const KEYRING_FIX: &str = "sign in to the desktop session so that its keyring (GNOME Keyring, \
     KWallet) is unlocked; over SSH, start one inside a D-Bus session (dbus-run-session, then \
     gnome-keyring-daemon --unlock --components=secrets)";

/// What to do when a browser has no manifest for the host anywhere.
fn not_registered_fix(browser: Browser) -> String {
    let package = match system_manifest_path(browser) {
        Some(_) if matches!(browser, Browser::Chrome | Browser::Chromium) => {
            " or install the dialer-2fa-host package (all users)"
        }
        _ => "",
    };
    format!(
        "{} cannot start the host: run `{}`{}",
        browser.name(),
        product::install_command(browser.name()),
        package
    )
}

/// [`install::system_manifest_dir`]'s manifest file on this machine.
fn system_manifest_path(browser: Browser) -> Option<std::path::PathBuf> {
    let dir = install::system_manifest_dir(browser, install::Os::current()?)?;
    Some(Path::new(dir).join(format!("{}.json", product::HOST_NAME)))
}

/// One manifest as a support person needs it: where, which program, which
/// extension, and what is wrong with it.
fn describe_manifest(label: &str, path: &Path, own: Option<&Path>) -> String {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(_) => return format!("{}: not installed (no {})", label, path.display()),
    };
    let manifest: HostManifest = match serde_json::from_str(&text) {
        Ok(m) => m,
        Err(e) => {
            return format!(
                "{}: PROBLEM: {} is not a manifest: {}",
                label,
                path.display(),
                e
            )
        }
    };
    let target = Path::new(&manifest.path);
    let ours = product::extension_origin(product::EXTENSION_ID);
    let note = if !target.exists() {
        "PROBLEM: that program does not exist".to_string()
    } else if !manifest.allowed_origins.contains(&ours) {
        format!(
            "PROBLEM: it does not allow the dialer-2fa extension {}",
            ours
        )
    } else if own.is_some_and(|own| own != target) {
        "note: a different binary than this one".to_string()
    } else {
        "ok".to_string()
    };
    format!(
        "{}: {} -> {} [{}] ({})",
        label,
        path.display(),
        manifest.path,
        manifest.allowed_origins.join(", "),
        note
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_manifest(dir: &Path, host: &Path, origin: &str) -> std::path::PathBuf {
        let path = dir.join("com.dialer2fa.host.json");
        let manifest = HostManifest::new(host, vec![origin.to_string()]);
        std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
        path
    }

    #[test]
    fn a_manifest_is_described_with_its_problem() {
        let dir = tempfile::tempdir().unwrap();
        let host = dir.path().join("dialer-2fa-host");
        std::fs::write(&host, b"").unwrap();
        let ours = product::extension_origin(product::EXTENSION_ID);

        let path = write_manifest(dir.path(), &host, &ours);
        let line = describe_manifest("chrome (all users)", &path, Some(&host));
        assert!(line.starts_with("chrome (all users): "), "{}", line);
        assert!(line.ends_with("(ok)"), "{}", line);

        let other = "chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/";
        let path = write_manifest(dir.path(), &host, other);
        let line = describe_manifest("chrome", &path, Some(&host));
        assert!(
            line.contains("PROBLEM: it does not allow the dialer-2fa extension"),
            "{}",
            line
        );

        let path = write_manifest(dir.path(), &dir.path().join("gone"), &ours);
        let line = describe_manifest("chrome", &path, Some(&host));
        assert!(
            line.ends_with("(PROBLEM: that program does not exist)"),
            "{}",
            line
        );

        let missing = dir.path().join("nothing.json");
        assert_eq!(
            describe_manifest("chromium (all users)", &missing, None),
            format!(
                "chromium (all users): not installed (no {})",
                missing.display()
            )
        );
    }
}
