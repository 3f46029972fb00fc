//! The keyring and the vault against a real Secret Service and real host
//! processes: secrets round-trip, codes never in the file in clear, two
//! hosts writing at once, a host killed mid-write.
//!
//! Needs an unlocked Secret Service (`make test` provides one); without it
//! these tests fail and say how to run them.

mod host_support;

use dialer_2fa_host::secrets::{SecretKind, Secrets};
use host_support::*;
use serde_json::{json, Value};

fn codes(prefix: &str) -> Vec<String> {
    (0..10).map(|i| format!("{}{:02}-7QX", prefix, i)).collect()
}

fn save(host: &mut Host, id: u64, account: &str, codes: &[String]) -> Value {
    host.call(json!({"id": id, "type": "vault_save", "account": account, "codes": codes}))
}

fn reveal_all(host: &mut Host, account: &str) -> Vec<String> {
    let list = host.call(json!({"id": 900, "type": "vault_list", "account": account}));
    assert_eq!(list["ok"], true, "{}", list);
    let ids: Vec<u64> = list["result"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    ids.iter()
        .map(|id| {
            let reply = host.call(json!({"id": 901, "type": "vault_reveal", "code_id": id}));
            assert_eq!(reply["ok"], true, "{}", reply);
            reply["result"]["code"].as_str().unwrap().to_string()
        })
        .collect()
}

fn integrity(path: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn secrets_round_trip_in_the_real_keyring() {
    require_keyring();
    let service = unique_service("secrets");
    let secrets = Secrets::connect_service(&service).unwrap();
    for (kind, value) in [
        (SecretKind::SessionToken, b"session-abc".to_vec()),
        (SecretKind::TrustedDeviceToken, b"device-xyz".to_vec()),
        (SecretKind::VaultKey, vec![0u8, 1, 2, 255, 254]),
    ] {
        assert_eq!(secrets.get(kind).unwrap(), None);
        secrets.set(kind, &value).unwrap();
        assert_eq!(secrets.get(kind).unwrap(), Some(value.clone()));
        // Another connection (another host process) sees the same secret.
        let other = Secrets::connect_service(&service).unwrap();
        assert_eq!(other.get(kind).unwrap(), Some(value));
        assert!(secrets.delete(kind).unwrap());
        assert!(!secrets.delete(kind).unwrap());
        assert_eq!(secrets.get(kind).unwrap(), None);
    }
}

#[test]
fn vault_keeps_codes_encrypted_and_reveals_them() {
    require_keyring();
    let sandbox = Sandbox::new("vault");
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    let mine = codes("PLAINMARK");
    let reply = save(&mut host, 1, "alice@example.com", &mine);
    assert_eq!(
        reply["result"],
        json!({"account": "alice@example.com", "saved": 10}),
        "{}",
        reply
    );
    save(&mut host, 2, "bob@example.com", &codes("BOBCODE"));

    let list = host.call(json!({"id": 3, "type": "vault_list"}));
    let entries = list["result"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 20);
    assert!(entries
        .iter()
        .all(|e| e["used"] == false && e.get("code").is_none()));
    assert!(!list.to_string().contains("PLAINMARK"));

    assert_eq!(reveal_all(&mut host, "alice@example.com"), mine);
    let missing = host.call(json!({"id": 4, "type": "vault_reveal", "code_id": 99999}));
    assert_eq!(missing["error"]["code"], "not_found", "{}", missing);
    let bad = save(&mut host, 5, "alice@example.com", &[]);
    assert_eq!(bad["error"]["code"], "bad_request", "{}", bad);
    let (status, _) = host.finish();
    assert!(status.success());

    // Neither the database, its WAL nor the log holds a code in clear.
    let dir = sandbox.vault_file().parent().unwrap().to_path_buf();
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        assert!(
            !file_contains(&path, b"PLAINMARK"),
            "{} holds a code",
            path.display()
        );
    }
    assert!(!file_contains(&sandbox.log_file(), b"PLAINMARK"));
    assert!(sandbox.log_file().exists());

    // The vault key is in the keyring, not beside the vault.
    let secrets = Secrets::connect_service(&sandbox.service).unwrap();
    let key = secrets
        .get(SecretKind::VaultKey)
        .unwrap()
        .expect("vault key in keyring");
    assert_eq!(key.len(), 32);
    for file in std::fs::read_dir(&dir).unwrap() {
        assert!(!file_contains(&file.unwrap().path(), &key));
    }

    // A new host reads them back; delete forgets them.
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    assert_eq!(reveal_all(&mut host, "alice@example.com"), mine);
    let deleted =
        host.call(json!({"id": 6, "type": "vault_delete", "account": "alice@example.com"}));
    assert_eq!(deleted["result"]["deleted"], 10);
    let list = host.call(json!({"id": 7, "type": "vault_list", "account": "alice@example.com"}));
    assert_eq!(list["result"]["entries"], json!([]));
    drop(host);
    sandbox.forget_secrets();
}

#[test]
fn two_hosts_saving_at_once_do_not_corrupt_the_vault() {
    require_keyring();
    let sandbox = Sandbox::new("twohosts");
    let rounds = 40u64;
    // Both start with an empty vault and no key: they must agree on one.
    let workers: Vec<_> = ["left", "right"]
        .into_iter()
        .map(|side| {
            let mut host = sandbox.spawn_host(&[]);
            std::thread::spawn(move || {
                host.hello();
                // Pipeline every save, then collect: maximal overlap.
                for round in 0..rounds {
                    let account = if round % 2 == 0 { "shared@example.com".to_string() } else { format!("{}@example.com", side) };
                    host.send(&json!({"id": round + 1, "type": "vault_save", "account": account, "codes": codes(&format!("{}{}R", side.to_uppercase(), round))}));
                }
                for _ in 0..rounds {
                    let reply = host.reply();
                    assert_eq!(reply["ok"], true, "{}: {}", side, reply);
                }
                let (status, stderr) = host.finish();
                assert!(status.success(), "{}", stderr);
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a host failed");
    }
    assert_eq!(integrity(&sandbox.vault_file()), "ok");

    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    // Requests on one port run concurrently, so which save of an account
    // lands last is not fixed; what is fixed is that each account holds one
    // complete set of 10, all from the same save.
    for account in [
        "left@example.com",
        "right@example.com",
        "shared@example.com",
    ] {
        let kept = reveal_all(&mut host, account);
        assert_eq!(kept.len(), 10, "{}: {:?}", account, kept);
        let prefix = &kept[0][..kept[0].len() - 6];
        assert_eq!(kept, codes(prefix), "{} mixes saves", account);
    }
    drop(host);
    sandbox.forget_secrets();
}

#[test]
fn a_host_killed_mid_write_leaves_a_consistent_vault() {
    require_keyring();
    let sandbox = Sandbox::new("sigkill");
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    let keep = codes("KEEP");
    assert_eq!(save(&mut host, 1, "keep@example.com", &keep)["ok"], true);

    // A stream of writes, killed (SIGKILL) while they are going on.
    let mut burst = Vec::new();
    for round in 0..400u64 {
        let request = json!({"id": 100 + round, "type": "vault_save", "account": "churn@example.com", "codes": codes(&format!("C{}R", round))});
        burst.extend(frame(request.to_string().as_bytes()));
    }
    host.write_raw(&burst);
    for _ in 0..5 {
        assert_eq!(host.reply()["ok"], true);
    }
    host.child.kill().expect("SIGKILL the host");
    host.child.wait().unwrap();
    drop(host);

    assert_eq!(integrity(&sandbox.vault_file()), "ok");
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    assert_eq!(reveal_all(&mut host, "keep@example.com"), keep);
    let churn = reveal_all(&mut host, "churn@example.com");
    assert_eq!(
        churn.len(),
        10,
        "a half-written save is visible: {:?}",
        churn
    );
    let prefix = churn[0][..churn[0].len() - 6].to_string();
    assert!(churn.iter().all(|c| c.starts_with(&prefix)), "{:?}", churn);
    drop(host);
    sandbox.forget_secrets();
}

#[test]
fn vault_without_a_keyring_is_a_clear_error() {
    let sandbox = Sandbox::new("nokeyring");
    let mut cmd = sandbox.command();
    cmd.env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/dialer-2fa-test-bus",
    )
    .arg(ORIGIN);
    let mut host = Host::spawn(cmd);
    host.hello();
    let reply = host.call(json!({"id": 2, "type": "vault_save", "account": "a", "codes": ["X1"]}));
    assert_eq!(reply["error"]["code"], "keyring_unavailable", "{}", reply);
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(message.contains("Secret Service"), "{}", message);
    // No plaintext fallback: nothing was written.
    assert!(!sandbox.vault_file().exists());
    let (status, stderr) = host.finish();
    assert!(status.success(), "{}", stderr);
}

/// A host in a D-Bus session of its own with gnome-keyring, its keyring
/// files under the sandbox's data dir; `unlock` says whether the login
/// keyring is unlocked (with a password) or left locked.
///
/// Before the host starts, the session asks the keyring itself whether the
/// login collection is locked and writes the answer to `probe` (a file
/// the test reads): a test of the locked case must know the keyring ran
/// and was locked, not merely that the host failed.
fn host_in_own_keyring_session(sandbox: &Sandbox, unlock: bool, probe: &std::path::Path) -> Host {
    let start = if unlock {
        "echo -n test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null"
    } else {
        "gnome-keyring-daemon --start --components=secrets >/dev/null 2>&1"
    };
    // Polls (up to 10 s) until the daemon owns its name and answers.
    let ask_locked = "i=0; until gdbus call --session --dest org.freedesktop.secrets \
         --object-path /org/freedesktop/secrets/collection/login \
         --method org.freedesktop.DBus.Properties.Get org.freedesktop.Secret.Collection Locked \
         >\"$2\" 2>&1; do i=$((i+1)); [ $i -ge 100 ] && break; sleep 0.1; done";
    // gnome-keyring finds a running daemon through $XDG_RUNTIME_DIR/keyring:
    // a private runtime dir keeps it from joining the outer session's.
    let runtime = sandbox.path("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let mut session = sandbox.command_for(std::path::Path::new("dbus-run-session"));
    session
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", &runtime)
        .args(["--", "sh", "-c"])
        .arg(format!("{}; {}; exec \"$0\" \"$1\"", start, ask_locked))
        .arg(HOST_BIN)
        .arg(ORIGIN)
        .arg(probe);
    Host::spawn(session)
}

/// What the keyring answered about `Locked` (written before the host ran).
fn login_locked(probe: &std::path::Path) -> Option<bool> {
    let answer = std::fs::read_to_string(probe).unwrap_or_default();
    match answer.trim() {
        "(<true>,)" => Some(true),
        "(<false>,)" => Some(false),
        _ => None,
    }
}

#[test]
fn a_locked_keyring_is_a_clear_error() {
    let sandbox = Sandbox::new("locked");
    // First session: the login keyring is created (with a password) and the
    // vault key stored in it.
    let probe = sandbox.path("locked-first.txt");
    let mut host = host_in_own_keyring_session(&sandbox, true, &probe);
    host.hello();
    let saved = save(&mut host, 1, "a@example.com", &codes("LOCKED"));
    assert_eq!(saved["ok"], true, "{}", saved);
    let (status, stderr) = host.finish();
    assert!(status.success(), "{}", stderr);
    assert!(sandbox.path("data").join("keyrings").exists());
    assert_eq!(
        login_locked(&probe),
        Some(false),
        "the first session's keyring: {:?}",
        std::fs::read_to_string(&probe)
    );

    // Second session: the same keyring, locked, and nobody to type its
    // password (the unlock prompt cannot open headless).
    let probe = sandbox.path("locked-second.txt");
    let mut host = host_in_own_keyring_session(&sandbox, false, &probe);
    host.hello();
    // The keyring is up and says it is locked: the error below is about a
    // locked keyring, not a missing one.
    assert_eq!(
        login_locked(&probe),
        Some(true),
        "the second session's keyring must run and be locked: {:?}",
        std::fs::read_to_string(&probe)
    );
    let reply = host.call(json!({"id": 2, "type": "vault_list"}));
    assert_eq!(reply["error"]["code"], "keyring_unavailable", "{}", reply);
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("keyring"),
        "{}",
        reply
    );
    let (status, stderr) = host.finish();
    assert!(status.success(), "{}", stderr);
}

#[test]
fn a_lost_vault_key_is_reported_and_reset_vault_recovers() {
    require_keyring();
    let sandbox = Sandbox::new("lostkey");
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    assert_eq!(
        save(&mut host, 1, "a@example.com", &codes("LOST"))["ok"],
        true
    );
    drop(host);

    // The keyring loses the key (reset by the user, another machine...).
    let secrets = Secrets::connect_service(&sandbox.service).unwrap();
    assert!(secrets.delete(SecretKind::VaultKey).unwrap());
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    let reply = host.call(json!({"id": 2, "type": "vault_list"}));
    assert_eq!(reply["error"]["code"], "keyring_unavailable", "{}", reply);
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(message.contains("reset-vault"), "{}", message);
    drop(host);

    // Without --yes nothing happens.
    let output = sandbox.command().arg("reset-vault").output().unwrap();
    assert!(!output.status.success());
    assert!(sandbox.vault_file().exists());
    let output = sandbox
        .command()
        .args(["reset-vault", "--yes"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!sandbox.vault_file().exists());

    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    let reply = host.call(json!({"id": 3, "type": "vault_list"}));
    assert_eq!(reply["result"]["entries"], json!([]), "{}", reply);
    drop(host);
    sandbox.forget_secrets();
}
