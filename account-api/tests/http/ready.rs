//! `/v1/ready` (issue 11, section 4): the database and the server key are
//! checked for real, `/v1/health` stays a cheap liveness answer; the server
//! key from `--server-key-file` or `DIALER_2FA_SERVER_KEY` (section 1).

use std::process::Command;

use reqwest::StatusCode;

use account_api::store::Engine;

use crate::common::{Server, PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_dialer-2fa-api");

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_answers_200_when_the_database_and_the_key_work() {
    let s = Server::start().await;
    let r = s.get("/v1/ready", None).await;
    assert_eq!(r.ok()["status"], "ready");
    assert_eq!(r.body["version"], env!("CARGO_PKG_VERSION"));
}

/// Another process holding the write lock (a stuck admin command, a
/// crashed writer on a network disk) is what makes a SQLite node unable
/// to sign anyone in; root ignores file modes, a lock it cannot. On
/// PostgreSQL the same stands for a migration or a stuck session holding
/// the users table.
#[tokio::test(flavor = "multi_thread")]
async fn ready_answers_503_naming_the_database_while_another_process_holds_its_write_lock() {
    let s = Server::start().await;
    let blocker = s.conn();
    blocker
        .execute_batch(match blocker.engine() {
            Engine::Sqlite => "BEGIN IMMEDIATE",
            Engine::Postgres => "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE",
        })
        .unwrap();
    let r = s.get("/v1/ready", None).await;
    r.err(503, "not_ready");
    assert!(r.message().contains("database"), "{}", r.body);
    // Liveness does not touch the database.
    assert_eq!(s.get("/v1/health", None).await.ok()["status"], "ok");
    blocker.execute_batch("ROLLBACK").unwrap();
    assert_eq!(s.get("/v1/ready", None).await.ok()["status"], "ready");
}

/// A node started on the database with another key would refuse every
/// authenticator code; ready says so before a load balancer sends it
/// traffic. The same key given as a file (raw bytes) or in the
/// environment (base64) is the same key.
#[tokio::test(flavor = "multi_thread")]
async fn ready_answers_503_naming_the_server_key_when_it_does_not_open_the_stored_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    let key = [42u8; 32];
    let key_b64 = b64(&key);
    let a = Server::serve_process_with(&db, &[], &[("DIALER_2FA_SERVER_KEY", &key_b64)]).await;
    a.user("kay@example.com");
    let token = a.session("kay@example.com").await;
    let (secret, _) = a.enroll_authenticator(&token).await;
    assert_eq!(a.get("/v1/ready", None).await.ok()["status"], "ready");
    let log = a.stop();
    assert!(!log.contains(&key_b64), "the key was logged: {log}");
    // Neither the env key nor a file key makes a `<db>.key`.
    assert!(!dir.path().join("api.sqlite3.key").exists());

    let other = b64(&[7u8; 32]);
    let b = Server::serve_process_with(&db, &[], &[("DIALER_2FA_SERVER_KEY", &other)]).await;
    let r = b.get("/v1/ready", None).await;
    r.err(503, "not_ready");
    assert!(r.message().contains("server key"), "{}", r.body);
    assert_eq!(b.get("/v1/health", None).await.ok()["status"], "ok");
    drop(b);

    let key_file = dir.path().join("shared.key");
    std::fs::write(&key_file, key).unwrap();
    let c =
        Server::serve_process_with(&db, &["--server-key-file", key_file.to_str().unwrap()], &[])
            .await;
    assert_eq!(c.get("/v1/ready", None).await.ok()["status"], "ready");
    // A new process starts its clock unmoved: step past the steps used.
    c.advance(90).await;
    c.sign_in_totp("kay@example.com", &secret).await;
}

/// Starts `serve` (or an admin command) expecting it to fail; returns
/// stderr.
/// Every admin subcommand that opens the store, in an order that leaves
/// the account enforcing 2FA with an owner.
const ADMIN_COMMANDS: [&[&str]; 13] = [
    &[
        "user",
        "create",
        "--email",
        "a@example.com",
        "--password",
        PASSWORD,
    ],
    &["user", "unlock", "--email", "a@example.com"],
    &["account", "create", "--name", "Acme"],
    &["account", "enforce", "--name", "Acme", "--off"],
    &["account", "enforce", "--name", "Acme"],
    &[
        "membership",
        "add",
        "--account",
        "Acme",
        "--email",
        "a@example.com",
        "--role",
        "owner",
    ],
    &["platform-line", "add", "--phone", "+14155550100"],
    &["outbox"],
    &["audit"],
    &[
        "policy",
        "mandatory",
        "--from",
        "2099-03-01",
        "--grace-days",
        "3",
    ],
    &["policy", "mandatory", "--now"],
    &["policy", "mandatory", "--cancel"],
    &["policy", "show"],
];

fn fails(args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("DIALER_2FA_SERVER_KEY")
        .env_remove("DIALER_2FA_SERVER_KEY_FILE")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{args:?} started: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn a_bad_server_key_is_a_clear_start_error_that_never_shows_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    let db = db.to_str().unwrap();
    let serve = ["serve", "--db", db, "--listen", "127.0.0.1:0"];

    let not_b64 = "this-is-not-base64-at-all!";
    let e = fails(&serve, &[("DIALER_2FA_SERVER_KEY", not_b64)]);
    assert!(e.contains("DIALER_2FA_SERVER_KEY is not base64"), "{e}");
    assert!(!e.contains(not_b64), "{e}");

    let short = b64(&[9u8; 16]);
    let e = fails(&serve, &[("DIALER_2FA_SERVER_KEY", &short)]);
    assert!(e.contains("decodes to 16 bytes"), "{e}");
    assert!(!e.contains(&short), "{e}");

    let key_file = dir.path().join("k");
    std::fs::write(&key_file, b"too short").unwrap();
    let file = key_file.to_str().unwrap();
    let e = fails(&[&serve[..], &["--server-key-file", file]].concat(), &[]);
    assert!(e.contains("is not 32 bytes"), "{e}");

    let missing = dir.path().join("missing.key");
    let e = fails(
        &[
            &serve[..],
            &["--server-key-file", missing.to_str().unwrap()],
        ]
        .concat(),
        &[],
    );
    assert!(e.contains("missing.key"), "{e}");
    // A named key file is never made up: every node must get the same one.
    assert!(!missing.exists());

    std::fs::write(&key_file, [1u8; 32]).unwrap();
    let good = b64(&[1u8; 32]);
    let e = fails(
        &[&serve[..], &["--server-key-file", file]].concat(),
        &[("DIALER_2FA_SERVER_KEY", &good)],
    );
    assert!(
        e.contains("both --server-key-file and DIALER_2FA_SERVER_KEY"),
        "{e}"
    );
    assert!(!e.contains(&good), "{e}");
}

#[test]
fn every_admin_command_that_opens_the_store_takes_the_server_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    let db = db.to_str().unwrap();
    let key_file = dir.path().join("k");
    std::fs::write(&key_file, [3u8; 32]).unwrap();
    let file = key_file.to_str().unwrap();
    for command in ADMIN_COMMANDS {
        let mut args = command.to_vec();
        args.extend(["--db", db, "--server-key-file", file]);
        let out = Command::new(BIN)
            .args(&args)
            .env("DIALER_2FA_ARGON2_MEMORY_KIB", "1024")
            .env_remove("DIALER_2FA_SERVER_KEY")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The same command with a broken key stops before touching the store.
        let e = fails(&args, &[("DIALER_2FA_SERVER_KEY", "AAAA")]);
        assert!(e.contains("both --server-key-file"), "{args:?}: {e}");
        let mut env_only = command.to_vec();
        env_only.extend(["--db", db]);
        let e = fails(&env_only, &[("DIALER_2FA_SERVER_KEY", "AAAA")]);
        assert!(e.contains("decodes to 3 bytes"), "{env_only:?}: {e}");
    }
    assert!(!dir.path().join("api.sqlite3.key").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn health_stays_cheap_and_ready_is_documented() {
    let s = Server::start().await;
    let r = s.get("/v1/health", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = s.get("/v1/openapi.json", None).await;
    assert!(doc.ok()["paths"]["/v1/ready"]["get"]["responses"]["503"].is_object());
}

#[test]
fn metrics_listen_without_metrics_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    let e = fails(
        &[
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert!(e.contains("--metrics"), "{e}");
}

#[test]
fn a_janitor_interval_of_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    let e = fails(
        &[
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--janitor-interval-seconds",
            "0",
        ],
        &[],
    );
    assert!(e.contains("--janitor-interval-seconds"), "{e}");
}

/// Every admin command runs on the store the suite runs on: a SQLite file
/// (`--db`) or, in the PostgreSQL run, a shared database
/// (`--database-url`), which they migrate like `serve` does.
#[test]
fn every_admin_command_runs_on_the_suites_store() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = crate::common::store_for(&dir.path().join("admin.sqlite3"));
    let store_args = crate::common::store_args(&store);
    for command in ADMIN_COMMANDS {
        let out = Command::new(BIN)
            .args(command)
            .args(&store_args)
            .env("DIALER_2FA_ARGON2_MEMORY_KIB", "1024")
            .env_remove("DIALER_2FA_SERVER_KEY")
            .env_remove("DIALER_2FA_DB")
            .env_remove("DIALER_2FA_DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // What they wrote is in the store the server reads.
    let conn = crate::common::connect(&store);
    let owners: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM memberships m JOIN accounts a ON a.id = m.account_id
             WHERE a.name = 'acme' AND a.enforce_2fa = 1 AND m.role = 'owner'",
            account_api::params![],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        owners, 1,
        "account names compare without case on both stores"
    );
    // The same email in other case is the same user, on both stores.
    let out = Command::new(BIN)
        .args([
            "user",
            "create",
            "--email",
            "A@Example.com",
            "--password",
            PASSWORD,
        ])
        .args(&store_args)
        .env("DIALER_2FA_ARGON2_MEMORY_KIB", "1024")
        .env_remove("DIALER_2FA_SERVER_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exists already"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A node on a shared database that made up its own key would seal TOTP
/// secrets no other node can open: without `--server-key-file` or
/// DIALER_2FA_SERVER_KEY a PostgreSQL node refuses to start, before it
/// connects (the address here has nothing listening).
#[test]
fn a_postgres_node_without_a_server_key_refuses_to_start() {
    let e = fails(
        &[
            "serve",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert!(e.contains("needs its server key"), "{e}");
    // --db and --database-url together are refused, not ranked.
    let e = fails(
        &[
            "serve",
            "--db",
            "/tmp/x.sqlite3",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ],
        &[],
    );
    assert!(e.contains("cannot be used with"), "{e}");
}

/// A PostgreSQL URL carries the database password. Whatever goes wrong
/// with it (nothing listening, an unreadable URL, a host that does not
/// resolve), the message names the database and never the password: the
/// output of a failed start ends up in journald and in support tickets.
#[test]
fn a_database_urls_password_never_reaches_the_output() {
    const PW: &str = "Pw-that-must-not-leak-7f3a";
    let key = b64(&[7u8; 32]);
    // Runs the binary; the exit status and everything it printed.
    let run = |args: &[&str], url_in_env: Option<&str>| {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env("DIALER_2FA_SERVER_KEY", &key)
            .env("DIALER_2FA_ARGON2_MEMORY_KIB", "1024")
            .env_remove("DIALER_2FA_DATABASE_URL");
        if let Some(url) = url_in_env {
            command.env("DIALER_2FA_DATABASE_URL", url);
        }
        let out = command.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let urls = [
        format!("postgres://bob:{PW}@127.0.0.1:1/dialer"),
        format!("postgres://bob:{PW}@127.0.0.1:1/dialer?sslmode=bogus"),
        format!("postgresql://bob:{PW}@nohost.invalid/dialer"),
    ];
    for url in &urls {
        let by_flag: [Vec<&str>; 2] = [
            vec!["serve", "--listen", "127.0.0.1:0", "--database-url", url],
            vec!["outbox", "--database-url", url],
        ];
        for args in by_flag {
            let (started, text) = run(&args, None);
            assert!(!started, "{args:?} started: {text}");
            assert!(!text.contains(PW), "{args:?} printed the password: {text}");
            assert!(text.contains("PostgreSQL"), "{args:?}: {text}");
        }
    }
    let (started, text) = run(&["serve", "--listen", "127.0.0.1:0"], Some(&urls[0]));
    assert!(!started, "{text}");
    assert!(!text.contains(PW), "{text}");
}
