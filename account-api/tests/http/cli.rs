//! The binary's interface that `make run` and the browser suite rely on.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_dialer-2fa-api");

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("DIALER_2FA_ARGON2_MEMORY_KIB", "1024")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn admin_commands_work_on_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    let db = db.to_str().unwrap();
    assert!(run(&[
        "user",
        "create",
        "--db",
        db,
        "--email",
        "zed@example.com",
        "--password",
        "long enough pw"
    ])
    .contains("zed@example.com"));
    run(&["account", "create", "--db", db, "--name", "Zeta"]);
    run(&[
        "membership",
        "add",
        "--db",
        db,
        "--account",
        "Zeta",
        "--email",
        "zed@example.com",
        "--role",
        "owner",
    ]);
    run(&["account", "enforce", "--db", db, "--name", "Zeta"]);
    assert!(run(&[
        "platform-line",
        "add",
        "--db",
        db,
        "--phone",
        "+1 415 555 0100"
    ])
    .contains("+14155550100"));
    assert_eq!(run(&["outbox", "--db", db]), "");
    // A duplicate user is a clear error.
    let out = Command::new(BIN)
        .args([
            "user",
            "create",
            "--db",
            db,
            "--email",
            "zed@example.com",
            "--password",
            "long enough pw",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    let help = run(&["--help"]);
    for word in [
        "serve",
        "user",
        "account",
        "membership",
        "platform-line",
        "outbox",
    ] {
        assert!(help.contains(word), "{word} missing from --help");
    }
}

#[test]
fn serve_prints_the_listening_line_and_seeds_demo_users_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/api.sqlite3");
    let db = db.to_str().unwrap();
    for round in 0..2 {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--db",
                db,
                "--listen",
                "127.0.0.1:0",
                "--seed-demo",
            ])
            .env("DIALER_2FA_ARGON2_MEMORY_KIB", "1024")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut before = Vec::new();
        let url = loop {
            let line = lines.next().expect("server exited early").unwrap();
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.to_string();
            }
            before.push(line);
        };
        assert!(url.starts_with("http://127.0.0.1:"));
        let text = before.join("\n");
        if round == 0 {
            assert!(
                text.contains("owner@demo.dialer-2fa.test") && text.contains("password:"),
                "{text}"
            );
        } else {
            assert!(
                text.contains("exist") && !text.contains("password:"),
                "{text}"
            );
        }
        let health: serde_json::Value = reqwest::blocking_get(&format!("{url}/v1/health"));
        assert_eq!(health["status"], "ok");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // The key beside the database is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(format!("{db}.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

mod reqwest {
    /// A tiny GET without pulling in reqwest's blocking feature.
    pub fn blocking_get(url: &str) -> serde_json::Value {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { ::reqwest::get(url).await.unwrap().json().await.unwrap() })
    }
}

/// Item 2 of issue 9: the web app's origin is configuration. A wildcard
/// listen address names no origin, so without `--public-origin` the server
/// refuses to start; an origin a browser would never send is refused too.
#[test]
fn serve_refuses_to_start_without_a_usable_public_origin() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    let db = db.to_str().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--listen", "0.0.0.0:0"], "--public-origin"),
        (
            &[
                "--listen",
                "127.0.0.1:0",
                "--public-origin",
                "https://app.example.com/",
            ],
            "not a web app origin",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:0",
                "--public-origin",
                "https://app.example.com:443",
            ],
            "default port",
        ),
    ];
    for (args, says) in cases {
        let out = Command::new(BIN)
            .args(["serve", "--db", db])
            .args(args)
            .env("DIALER_2FA_ARGON2_MEMORY_KIB", "1024")
            .env_remove("DIALER_2FA_PUBLIC_ORIGIN")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} started");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// `outbox` (which the browser suite reads codes from) lists what was sent,
/// as lines and as JSON.
#[tokio::test(flavor = "multi_thread")]
async fn outbox_lists_the_messages_sent() {
    let s = crate::common::Server::start().await;
    s.user("out@example.com");
    let token = s.session("out@example.com").await;
    s.enroll_sms(&token, "+14155550123").await;
    let code = s.last_sms_code("+14155550123");
    let store = s.store_args();
    let store: Vec<&str> = store.iter().map(String::as_str).collect();
    let lines = run(&[&["outbox"], &store[..]].concat());
    assert!(
        lines
            .lines()
            .any(|l| l.contains("+14155550123") && l.contains(&code)),
        "{lines}"
    );
    let json = run(&[&["outbox"], &store[..], &["--json"]].concat());
    let sms: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|m: &serde_json::Value| m["kind"] == "sms")
        .collect();
    assert_eq!(sms.len(), 1, "{json}");
    assert_eq!(sms[0]["recipient"], "+14155550123");
    assert!(sms[0]["body"].as_str().unwrap().contains(&code));
}
