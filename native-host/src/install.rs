//! Registering the host with a browser: the manifest Chrome reads to find
//! and start `dialer-2fa-host`, and the host's own config.
//!
//! Chrome-family browsers look for `<name>.json` in a per-user
//! `NativeMessagingHosts` folder inside their user-data dir on Linux and
//! macOS, and in `<user-data-dir>/NativeMessagingHosts` for a custom profile
//! (`--user-data-dir`). On Windows they read a registry key under HKCU whose
//! default value is the manifest's path.

use std::path::{Path, PathBuf};

use serde::Serialize;
use shared::product;

use crate::config::{self, ConfigError, HostConfig};

/// The browsers the host can register with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Browser {
    Chrome,
    Chromium,
    Edge,
    Brave,
}

impl Browser {
    pub const ALL: [Browser; 4] = [
        Browser::Chrome,
        Browser::Chromium,
        Browser::Edge,
        Browser::Brave,
    ];

    /// The name a person types after `--browser`.
    pub fn name(self) -> &'static str {
        match self {
            Browser::Chrome => "chrome",
            Browser::Chromium => "chromium",
            Browser::Edge => "edge",
            Browser::Brave => "brave",
        }
    }
}

/// Operating systems with per-user manifest folders; a parameter rather than
/// `cfg!` so the paths of each are tested everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
}

impl Os {
    /// The OS this build runs on, when it uses manifest folders.
    pub fn current() -> Option<Os> {
        if cfg!(target_os = "macos") {
            Some(Os::MacOs)
        } else if cfg!(windows) {
            None
        } else {
            Some(Os::Linux)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0:?} is not an extension id (32 letters a to p)")]
    BadExtensionId(String),
    #[error("the API address {url:?} is not usable: {why}")]
    BadApiUrl { url: String, why: String },
    #[error("could not find this program's own path: {0}")]
    OwnPath(std::io::Error),
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not remove {path}: {source}")]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("registering with {browser} on this operating system is not supported: {why}")]
    Unsupported { browser: &'static str, why: String },
}

/// The browser's user-data dir, relative to the platform's config dir
/// (`$XDG_CONFIG_HOME` or `~/.config` on Linux, `~/Library/Application
/// Support` on macOS).
pub fn browser_dir_name(browser: Browser, os: Os) -> &'static str {
    match (os, browser) {
        (Os::Linux, Browser::Chrome) => "google-chrome",
        (Os::Linux, Browser::Chromium) => "chromium",
        (Os::Linux, Browser::Edge) => "microsoft-edge",
        (Os::Linux, Browser::Brave) => "BraveSoftware/Brave-Browser",
        (Os::MacOs, Browser::Chrome) => "Google/Chrome",
        (Os::MacOs, Browser::Chromium) => "Chromium",
        (Os::MacOs, Browser::Edge) => "Microsoft Edge",
        (Os::MacOs, Browser::Brave) => "BraveSoftware/Brave-Browser",
    }
}

/// The folder the manifest goes into: `DIR/NativeMessagingHosts` for a
/// custom profile, else the browser's per-user folder under `config_dir`.
pub fn manifest_dir_in(
    browser: Browser,
    os: Os,
    config_dir: &Path,
    user_data_dir: Option<&Path>,
) -> PathBuf {
    let root = match user_data_dir {
        Some(dir) => dir.to_path_buf(),
        None => config_dir.join(browser_dir_name(browser, os)),
    };
    root.join("NativeMessagingHosts")
}

/// [`manifest_dir_in`] for this machine and user.
pub fn manifest_dir(
    browser: Browser,
    user_data_dir: Option<&Path>,
) -> Result<PathBuf, InstallError> {
    if let Some(dir) = user_data_dir {
        return Ok(manifest_dir_in(
            browser,
            Os::Linux,
            Path::new(""),
            Some(dir),
        ));
    }
    match Os::current() {
        Some(os) => {
            let base = dirs::config_dir().ok_or(ConfigError::NoHome("browser manifests"))?;
            Ok(manifest_dir_in(browser, os, &base, None))
        }
        None => {
            // Windows: the manifest file lives with the host's data and the
            // registry points at it.
            Ok(config::data_dir()?
                .join("NativeMessagingHosts")
                .join(browser.name()))
        }
    }
}

/// The manifest's full path for a browser.
pub fn manifest_path(
    browser: Browser,
    user_data_dir: Option<&Path>,
) -> Result<PathBuf, InstallError> {
    Ok(manifest_dir(browser, user_data_dir)?.join(format!("{}.json", product::HOST_NAME)))
}

/// Where a system package puts the manifest for every user (`None`: not
/// confirmed). Chrome reads the per-user folder first, so a person's own
/// `install` wins. On Windows: [`windows_registry_key`] under HKLM.
pub fn system_manifest_dir(browser: Browser, os: Os) -> Option<&'static str> {
    match (os, browser) {
        (Os::Linux, Browser::Chrome) => Some("/etc/opt/chrome/native-messaging-hosts"),
        (Os::Linux, Browser::Chromium) => Some("/etc/chromium/native-messaging-hosts"),
        (Os::Linux, Browser::Edge) => Some("/etc/opt/edge/native-messaging-hosts"),
        (Os::MacOs, Browser::Chrome) => Some("/Library/Google/Chrome/NativeMessagingHosts"),
        (Os::MacOs, Browser::Chromium) => {
            Some("/Library/Application Support/Chromium/NativeMessagingHosts")
        }
        (Os::MacOs, Browser::Edge) => Some("/Library/Microsoft/Edge/NativeMessagingHosts"),
        (_, Browser::Brave) => None,
    }
}

/// `HKCU\<this>` holds the manifest's path on Windows (default value).
pub fn windows_registry_key(browser: Browser) -> String {
    let vendor = match browser {
        Browser::Chrome => r"Software\Google\Chrome",
        Browser::Chromium => r"Software\Chromium",
        Browser::Edge => r"Software\Microsoft\Edge",
        Browser::Brave => r"Software\BraveSoftware\Brave-Browser",
    };
    format!(r"{}\NativeMessagingHosts\{}", vendor, product::HOST_NAME)
}

/// The host manifest, the same shape as `manifest/host-manifest.template.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct HostManifest {
    pub name: String,
    pub description: String,
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub allowed_origins: Vec<String>,
}

impl HostManifest {
    pub fn new(host_path: &Path, origins: Vec<String>) -> HostManifest {
        HostManifest {
            name: product::HOST_NAME.to_string(),
            description:
                "dialer-2fa native host: keeps the 2FA secrets and talks to the account API"
                    .to_string(),
            path: host_path.display().to_string(),
            kind: "stdio".to_string(),
            allowed_origins: origins,
        }
    }
}

/// Checks Chrome's id alphabet, so a typo is caught here and not as a silent
/// "host not found" in the browser.
pub fn validate_extension_id(id: &str) -> Result<(), InstallError> {
    if id.len() == 32 && id.bytes().all(|b| (b'a'..=b'p').contains(&b)) {
        Ok(())
    } else {
        Err(InstallError::BadExtensionId(id.to_string()))
    }
}

/// What `install` needs.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    pub browser: Browser,
    pub user_data_dir: Option<PathBuf>,
    pub api_url: String,
    pub extension_id: String,
}

/// What `install` did, for printing.
#[derive(Debug, Clone)]
pub struct InstallReport {
    pub manifest_path: PathBuf,
    pub manifest: HostManifest,
    pub config_path: PathBuf,
    pub config: HostConfig,
    pub registry_key: Option<String>,
}

impl std::fmt::Display for InstallReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "wrote host manifest {}", self.manifest_path.display())?;
        writeln!(f, "  host path:       {}", self.manifest.path)?;
        writeln!(
            f,
            "  allowed origins: {}",
            self.manifest.allowed_origins.join(", ")
        )?;
        if let Some(key) = &self.registry_key {
            writeln!(f, "wrote registry key HKCU\\{}", key)?;
        }
        writeln!(f, "wrote host config {}", self.config_path.display())?;
        writeln!(f, "  api_url:         {}", self.config.api_url)?;
        write!(
            f,
            "  allowed_origins: {}",
            self.config.allowed_origins.join(", ")
        )
    }
}

/// The running program's canonical path, which the manifest must name
/// absolutely.
pub fn own_path() -> Result<PathBuf, InstallError> {
    let exe = std::env::current_exe().map_err(InstallError::OwnPath)?;
    exe.canonicalize().map_err(InstallError::OwnPath)
}

/// Writes the manifest for one browser and the host's config.
///
/// The config keeps origins installed for other ids (so installing for a
/// second extension id does not lock out the first) and takes the new API
/// address.
pub fn install(options: &InstallOptions) -> Result<InstallReport, InstallError> {
    validate_extension_id(&options.extension_id)?;
    config::validate_api_url(&options.api_url).map_err(|why| InstallError::BadApiUrl {
        url: options.api_url.clone(),
        why,
    })?;
    let origin = product::extension_origin(&options.extension_id);
    let host_path = own_path()?;

    let manifest = HostManifest::new(&host_path, vec![origin.clone()]);
    let manifest_path = manifest_path(options.browser, options.user_data_dir.as_deref())?;
    let mut json = serde_json::to_vec_pretty(&manifest).map_err(|e| InstallError::Write {
        path: manifest_path.clone(),
        source: e.into(),
    })?;
    json.push(b'\n');
    write_file(&manifest_path, &json)?;

    let registry_key = if cfg!(windows) && options.user_data_dir.is_none() {
        register_windows(options.browser, &manifest_path)?;
        Some(windows_registry_key(options.browser))
    } else {
        None
    };

    let config_path = config::config_path()?;
    let mut config = match HostConfig::load(&config_path) {
        Ok(existing) if config_path.exists() => existing,
        _ => HostConfig {
            api_url: options.api_url.clone(),
            allowed_origins: Vec::new(),
        },
    };
    config.api_url = options.api_url.trim_end_matches('/').to_string();
    if !config.allowed_origins.contains(&origin) {
        config.allowed_origins.push(origin);
    }
    config.save(&config_path)?;

    Ok(InstallReport {
        manifest_path,
        manifest,
        config_path,
        config,
        registry_key,
    })
}

/// Removes one browser's manifest (and registry key); config and vault stay,
/// so reinstalling keeps the user's data. Returns what was removed.
pub fn uninstall(
    browser: Browser,
    user_data_dir: Option<&Path>,
) -> Result<Vec<String>, InstallError> {
    let mut removed = Vec::new();
    let path = manifest_path(browser, user_data_dir)?;
    match std::fs::remove_file(&path) {
        Ok(()) => removed.push(format!("removed host manifest {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(InstallError::Remove { path, source }),
    }
    if cfg!(windows) && user_data_dir.is_none() && unregister_windows(browser)? {
        removed.push(format!(
            "removed registry key HKCU\\{}",
            windows_registry_key(browser)
        ));
    }
    Ok(removed)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), InstallError> {
    let write_err = |source| InstallError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(write_err)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).map_err(write_err)?;
    std::fs::rename(&tmp, path).map_err(write_err)
}

#[cfg(windows)]
fn register_windows(browser: Browser, manifest: &Path) -> Result<(), InstallError> {
    use winreg::enums::HKEY_CURRENT_USER;
    let key = windows_registry_key(browser);
    let (entry, _) = winreg::RegKey::predef(HKEY_CURRENT_USER)
        .create_subkey(&key)
        .map_err(|source| InstallError::Write {
            path: PathBuf::from(format!("HKCU\\{}", key)),
            source,
        })?;
    entry
        .set_value("", &manifest.display().to_string())
        .map_err(|source| InstallError::Write {
            path: PathBuf::from(format!("HKCU\\{}", key)),
            source,
        })
}

#[cfg(not(windows))]
fn register_windows(browser: Browser, _manifest: &Path) -> Result<(), InstallError> {
    Err(InstallError::Unsupported {
        browser: browser.name(),
        why: "the registry exists only on Windows".to_string(),
    })
}

#[cfg(windows)]
fn unregister_windows(browser: Browser) -> Result<bool, InstallError> {
    use winreg::enums::HKEY_CURRENT_USER;
    let key = windows_registry_key(browser);
    match winreg::RegKey::predef(HKEY_CURRENT_USER).delete_subkey_all(&key) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(InstallError::Remove {
            path: PathBuf::from(format!("HKCU\\{}", key)),
            source,
        }),
    }
}

#[cfg(not(windows))]
fn unregister_windows(_browser: Browser) -> Result<bool, InstallError> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_manifest_dirs() {
        let config = Path::new("/home/u/.config");
        let expect = [
            (
                Browser::Chrome,
                "/home/u/.config/google-chrome/NativeMessagingHosts",
            ),
            (
                Browser::Chromium,
                "/home/u/.config/chromium/NativeMessagingHosts",
            ),
            (
                Browser::Edge,
                "/home/u/.config/microsoft-edge/NativeMessagingHosts",
            ),
            (
                Browser::Brave,
                "/home/u/.config/BraveSoftware/Brave-Browser/NativeMessagingHosts",
            ),
        ];
        for (browser, dir) in expect {
            assert_eq!(
                manifest_dir_in(browser, Os::Linux, config, None),
                PathBuf::from(dir)
            );
        }
    }

    #[test]
    fn macos_manifest_dirs() {
        let config = Path::new("/Users/u/Library/Application Support");
        let base = "/Users/u/Library/Application Support";
        let expect = [
            (Browser::Chrome, "Google/Chrome"),
            (Browser::Chromium, "Chromium"),
            (Browser::Edge, "Microsoft Edge"),
            (Browser::Brave, "BraveSoftware/Brave-Browser"),
        ];
        for (browser, dir) in expect {
            assert_eq!(
                manifest_dir_in(browser, Os::MacOs, config, None),
                PathBuf::from(format!("{}/{}/NativeMessagingHosts", base, dir))
            );
        }
    }

    #[test]
    fn custom_profile_dir_wins() {
        let dir = manifest_dir_in(
            Browser::Chrome,
            Os::Linux,
            Path::new("/home/u/.config"),
            Some(Path::new("/tmp/profile")),
        );
        assert_eq!(dir, PathBuf::from("/tmp/profile/NativeMessagingHosts"));
    }

    #[test]
    fn windows_registry_keys() {
        assert_eq!(
            windows_registry_key(Browser::Chrome),
            r"Software\Google\Chrome\NativeMessagingHosts\com.dialer2fa.host"
        );
        assert_eq!(
            windows_registry_key(Browser::Chromium),
            r"Software\Chromium\NativeMessagingHosts\com.dialer2fa.host"
        );
        assert_eq!(
            windows_registry_key(Browser::Edge),
            r"Software\Microsoft\Edge\NativeMessagingHosts\com.dialer2fa.host"
        );
        assert_eq!(
            windows_registry_key(Browser::Brave),
            r"Software\BraveSoftware\Brave-Browser\NativeMessagingHosts\com.dialer2fa.host"
        );
    }

    #[test]
    fn manifest_matches_the_template_shape() {
        let template: serde_json::Value =
            serde_json::from_str(include_str!("../../manifest/host-manifest.template.json"))
                .unwrap();
        let manifest = HostManifest::new(Path::new("/opt/dialer-2fa-host"), vec!["o".into()]);
        let ours = serde_json::to_value(&manifest).unwrap();
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&ours), keys(&template));
        assert_eq!(ours["name"], template["name"]);
        assert_eq!(ours["type"], template["type"]);
        assert_eq!(ours["description"], template["description"]);
        assert_eq!(ours["path"], "/opt/dialer-2fa-host");
    }

    #[test]
    fn system_wide_manifest_dirs() {
        assert_eq!(
            system_manifest_dir(Browser::Chrome, Os::Linux),
            Some("/etc/opt/chrome/native-messaging-hosts")
        );
        assert_eq!(
            system_manifest_dir(Browser::Chromium, Os::Linux),
            Some("/etc/chromium/native-messaging-hosts")
        );
        assert_eq!(
            system_manifest_dir(Browser::Chrome, Os::MacOs),
            Some("/Library/Google/Chrome/NativeMessagingHosts")
        );
        assert_eq!(system_manifest_dir(Browser::Brave, Os::Linux), None);
    }

    /// The .deb's assets put the packaged manifest exactly where
    /// [`system_manifest_dir`] says Chrome and Chromium look.
    #[test]
    fn the_deb_installs_into_the_system_wide_dirs() {
        let cargo_toml = include_str!("../Cargo.toml");
        for browser in [Browser::Chrome, Browser::Chromium] {
            let dir = system_manifest_dir(browser, Os::Linux).unwrap();
            let asset = format!(
                "[\"packaging/{name}.json\", \"{dir}/{name}.json\", \"644\"]",
                name = product::HOST_NAME,
                dir = dir.trim_start_matches('/'),
            );
            assert!(cargo_toml.contains(&asset), "no asset {}", asset);
        }
    }

    /// The untested macOS and Windows installers name the same folders,
    /// registry keys and extension as this module.
    #[test]
    fn the_macos_and_windows_installers_agree_with_this_module() {
        let pkg = include_str!("../packaging/macos/build-pkg.sh");
        for browser in [Browser::Chrome, Browser::Chromium] {
            let dir = system_manifest_dir(browser, Os::MacOs).unwrap();
            assert!(pkg.contains(dir.trim_start_matches('/')), "{}", dir);
        }
        let ps1 = include_str!("../packaging/windows/install-host.ps1");
        assert!(ps1.contains(&format!(
            "$Origin = '{}'",
            product::extension_origin(product::EXTENSION_ID)
        )));
        assert!(ps1.contains(&format!("$HostName = '{}'", product::HOST_NAME)));
        for browser in [Browser::Chrome, Browser::Chromium] {
            let key = windows_registry_key(browser).replace(product::HOST_NAME, "$HostName");
            assert!(ps1.contains(&format!("\"$Hive\\{}\"", key)), "{}", key);
        }
    }

    /// The manifest the .deb installs system-wide (native-host/packaging/,
    /// `make package`) is the one `install` would write for the installed
    /// binary and the pinned extension, so the package cannot drift from
    /// the host's own idea of its name and origin.
    #[test]
    fn the_packaged_system_manifest_is_the_installed_hosts() {
        let packaged: HostManifest =
            serde_json::from_str(include_str!("../packaging/com.dialer2fa.host.json")).unwrap();
        let expected = HostManifest::new(
            Path::new("/usr/bin/dialer-2fa-host"),
            vec![product::extension_origin(product::EXTENSION_ID)],
        );
        assert_eq!(packaged, expected);
    }

    #[test]
    fn extension_ids_are_checked() {
        assert!(validate_extension_id(product::EXTENSION_ID).is_ok());
        assert!(validate_extension_id("bhhbdjkcpnaokfnpkidgmommfgopepmz").is_err());
        assert!(validate_extension_id("short").is_err());
    }
}
