//! Names and identities that several processes must agree on.

/// The product's name, used as the TOTP issuer and in user-facing text.
pub const PRODUCT: &str = "dialer-2fa";

/// Native messaging host name: the file name of the host manifest and the
/// argument of `chrome.runtime.connectNative`.
pub const HOST_NAME: &str = "com.dialer2fa.host";

/// Service name under which the host keeps its secrets in the OS keyring.
pub const KEYRING_SERVICE: &str = "dialer-2fa";

/// The extension id pinned by the `key` in `manifest/manifest.json`.
///
/// The host only answers this origin and the web app only talks to this id;
/// a test in the native host recomputes it from the manifest's key, so the
/// two cannot drift apart.
pub const EXTENSION_ID: &str = "bhhbdjkcpnaokfnpkidgmommfgopepmo";

/// Where `make run` serves the account API; the default the host installer
/// writes into the host's config when no `--api-url` is given.
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8787";

/// The web app's origin when nothing else is configured: where `make run`
/// serves it. `make build WEB_APP_ORIGIN=...` builds the extension for
/// another one, and the API takes the same value as `--public-origin`.
/// Plain http on loopback is for development only.
pub const DEFAULT_WEB_APP_ORIGIN: &str = "http://127.0.0.1:8787";

/// The origin Chrome passes to the host as argv[1] for an extension id.
pub fn extension_origin(extension_id: &str) -> String {
    format!("chrome-extension://{}/", extension_id)
}

/// The command a person runs to register the host, shown by the extension
/// when it cannot reach the host.
pub fn install_command(browser: &str) -> String {
    format!(
        "dialer-2fa-host install --browser {} --api-url {}",
        browser, DEFAULT_API_URL
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_has_chrome_shape() {
        assert_eq!(
            extension_origin(EXTENSION_ID),
            "chrome-extension://bhhbdjkcpnaokfnpkidgmommfgopepmo/"
        );
    }

    #[test]
    fn extension_id_uses_chrome_alphabet() {
        assert_eq!(EXTENSION_ID.len(), 32);
        assert!(EXTENSION_ID.bytes().all(|b| (b'a'..=b'p').contains(&b)));
    }
}
