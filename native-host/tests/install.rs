//! `install`, `uninstall` and `doctor` as a person runs them, into temp
//! profile and XDG dirs; and the pinned extension id against the manifest.

mod host_support;

use std::path::Path;

use base64::Engine as _;
use host_support::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const MANIFEST_NAME: &str = "com.dialer2fa.host.json";

fn run(sandbox: &Sandbox, args: &[&str]) -> (bool, String, String) {
    let output = sandbox.command().args(args).output().expect("run host");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn install_into_a_custom_profile_then_uninstall() {
    let sandbox = Sandbox::new("install");
    let profile = sandbox.path("profile");
    let (ok, stdout, stderr) = run(
        &sandbox,
        &[
            "install",
            "--browser",
            "chromium",
            "--user-data-dir",
            profile.to_str().unwrap(),
            "--api-url",
            "http://127.0.0.1:9999",
        ],
    );
    assert!(ok, "{}", stderr);
    let manifest_path = profile.join("NativeMessagingHosts").join(MANIFEST_NAME);
    assert!(
        stdout.contains(manifest_path.to_str().unwrap()),
        "{}",
        stdout
    );

    let manifest = read_json(&manifest_path);
    assert_eq!(manifest["name"], "com.dialer2fa.host");
    assert_eq!(manifest["type"], "stdio");
    assert_eq!(manifest["allowed_origins"], serde_json::json!([ORIGIN]));
    let host_path = Path::new(manifest["path"].as_str().unwrap());
    assert!(host_path.is_absolute());
    assert_eq!(host_path, Path::new(HOST_BIN).canonicalize().unwrap());

    // The config the browser-started host will read.
    let config = read_json(&sandbox.config_file());
    assert_eq!(config["api_url"], "http://127.0.0.1:9999");
    assert_eq!(config["allowed_origins"], serde_json::json!([ORIGIN]));
    assert!(
        stdout.contains(sandbox.config_file().to_str().unwrap()),
        "{}",
        stdout
    );

    // The installed host serves the installed origin.
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    drop(host);

    let (ok, stdout, stderr) = run(
        &sandbox,
        &[
            "uninstall",
            "--browser",
            "chromium",
            "--user-data-dir",
            profile.to_str().unwrap(),
        ],
    );
    assert!(ok, "{}", stderr);
    assert!(stdout.contains("removed host manifest"), "{}", stdout);
    assert!(!manifest_path.exists());
    assert!(
        sandbox.config_file().exists(),
        "uninstall must keep the config"
    );

    // Uninstalling twice is not an error.
    let (ok, stdout, _) = run(
        &sandbox,
        &[
            "uninstall",
            "--browser",
            "chromium",
            "--user-data-dir",
            profile.to_str().unwrap(),
        ],
    );
    assert!(ok);
    assert!(stdout.contains("nothing to remove"), "{}", stdout);
}

#[test]
fn install_into_each_browsers_per_user_dir() {
    let sandbox = Sandbox::new("perbrowser");
    let config_home = sandbox.path("config");
    let expect = [
        ("chrome", "google-chrome"),
        ("chromium", "chromium"),
        ("edge", "microsoft-edge"),
        ("brave", "BraveSoftware/Brave-Browser"),
    ];
    for (browser, dir) in expect {
        let (ok, _, stderr) = run(
            &sandbox,
            &[
                "install",
                "--browser",
                browser,
                "--api-url",
                "http://127.0.0.1:8787/",
            ],
        );
        assert!(ok, "{}: {}", browser, stderr);
        let path = config_home
            .join(dir)
            .join("NativeMessagingHosts")
            .join(MANIFEST_NAME);
        assert!(path.exists(), "{} missing", path.display());
    }
    // The trailing slash is trimmed, and the origin listed once.
    let config = read_json(&sandbox.config_file());
    assert_eq!(config["api_url"], "http://127.0.0.1:8787");
    assert_eq!(config["allowed_origins"].as_array().unwrap().len(), 1);

    let (ok, stdout, _) = run(&sandbox, &["doctor"]);
    assert!(ok);
    for (browser, _) in expect {
        assert!(
            stdout.contains(&format!("{}: {}", browser, config_home.display())),
            "{}",
            stdout
        );
    }
    assert!(stdout.contains("keyring"), "{}", stdout);
    assert!(stdout.contains("account API"), "{}", stdout);

    for (browser, dir) in expect {
        let (ok, _, _) = run(&sandbox, &["uninstall", "--browser", browser]);
        assert!(ok);
        assert!(!config_home
            .join(dir)
            .join("NativeMessagingHosts")
            .join(MANIFEST_NAME)
            .exists());
    }
}

#[test]
fn config_defaults_to_xdg_config_home() {
    let sandbox = Sandbox::new("xdg");
    let mut cmd = sandbox.command();
    cmd.env_remove("DIALER_2FA_HOST_CONFIG").args([
        "install",
        "--browser",
        "chrome",
        "--api-url",
        "http://127.0.0.1:1234",
    ]);
    let output = cmd.output().unwrap();
    assert!(output.status.success());
    let config = read_json(&sandbox.path("config").join("dialer-2fa").join("host.json"));
    assert_eq!(config["api_url"], "http://127.0.0.1:1234");
}

#[test]
fn a_second_extension_id_is_added_not_swapped() {
    let sandbox = Sandbox::new("twoids");
    let profile = sandbox.path("profile");
    let other = "abcdefghijklmnopabcdefghijklmnop";
    for id in [shared::product::EXTENSION_ID, other] {
        let (ok, _, stderr) = run(
            &sandbox,
            &[
                "install",
                "--browser",
                "chrome",
                "--user-data-dir",
                profile.to_str().unwrap(),
                "--extension-id",
                id,
            ],
        );
        assert!(ok, "{}", stderr);
    }
    let config = read_json(&sandbox.config_file());
    let origins = config["allowed_origins"].as_array().unwrap();
    assert_eq!(origins.len(), 2);
    assert_eq!(config["api_url"], shared::product::DEFAULT_API_URL);
}

#[test]
fn bad_install_arguments_are_refused() {
    let sandbox = Sandbox::new("badargs");
    let (ok, _, stderr) = run(
        &sandbox,
        &["install", "--browser", "chrome", "--extension-id", "xyz"],
    );
    assert!(!ok);
    assert!(stderr.contains("extension id"), "{}", stderr);
    let (ok, _, stderr) = run(
        &sandbox,
        &["install", "--browser", "chrome", "--api-url", "localhost"],
    );
    assert!(!ok);
    assert!(stderr.contains("API address"), "{}", stderr);
    let (ok, _, _) = run(&sandbox, &["install", "--browser", "netscape"]);
    assert!(!ok);
    assert!(!sandbox.config_file().exists());
}

/// Chrome derives an unpacked extension's id from its manifest `key`: the
/// first 16 bytes of SHA-256 over the DER public key, each nibble written
/// as a letter from `a` (0) to `p` (15).
#[test]
fn extension_id_is_derived_from_the_manifest_key() {
    let manifest: Value =
        serde_json::from_str(include_str!("../../manifest/manifest.json")).unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(manifest["key"].as_str().unwrap())
        .unwrap();
    let digest = Sha256::digest(&der);
    let id: String = digest[..16]
        .iter()
        .flat_map(|b| [b >> 4, b & 0x0f])
        .map(|nibble| (b'a' + nibble) as char)
        .collect();
    assert_eq!(id, shared::product::EXTENSION_ID);
}

#[test]
fn doctor_says_how_to_register_a_browser_that_has_no_manifest() {
    let sandbox = Sandbox::new("doctor-fix");
    let (ok, stdout, _) = run(&sandbox, &["doctor", "--browser", "brave"]);
    assert!(ok);
    assert!(stdout.contains("  brave: not installed (no "), "{}", stdout);
    assert!(
        stdout.contains(
            "    fix: brave cannot start the host: run `dialer-2fa-host install --browser brave \
             --api-url http://127.0.0.1:8787`\n"
        ),
        "{}",
        stdout
    );

    let (ok, _, stderr) = run(&sandbox, &["install", "--browser", "brave"]);
    assert!(ok, "{}", stderr);
    let (_, stdout, _) = run(&sandbox, &["doctor", "--browser", "brave"]);
    assert!(!stdout.contains("fix: brave"), "{}", stdout);
}

#[test]
fn doctor_says_how_to_get_a_keyring_when_none_answers() {
    let sandbox = Sandbox::new("doctor-keyring");
    let output = sandbox
        .command()
        .args(["doctor", "--browser", "chrome"])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", sandbox.path("state"))
        .output()
        .expect("run host");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let keyring = stdout
        .split("\nkeyring")
        .nth(1)
        .unwrap_or_else(|| panic!("{}", stdout));
    assert!(keyring.contains("\n  PROBLEM: "), "{}", stdout);
    assert!(
        keyring.contains("\n    fix: sign in to the desktop session so that its keyring"),
        "{}",
        stdout
    );
}
