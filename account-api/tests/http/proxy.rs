//! Client addresses behind proxies (issue 9, item 10): X-Forwarded-For is
//! believed only from a trusted proxy, and IPv6 clients share their /64.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::{Options, Resp, Server, PASSWORD, TEST_COST};

const BIN: &str = env!("CARGO_BIN_EXE_dialer-2fa-api");

/// POSTs a sign-in to `base` with an X-Forwarded-For header.
async fn sign_in_from(
    client: &reqwest::Client,
    base: &str,
    forwarded_for: &str,
    email: &str,
    password: &str,
) -> Resp {
    let res = client
        .post(format!("{base}/v1/sign-in"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let body: Value = res.json().await.unwrap();
    Resp {
        status,
        body,
        retry_after,
    }
}

/// 20 wrong passwords, each for a different email, "from" one client:
/// enough to lock that client's address.
async fn spray(client: &reqwest::Client, base: &str, forwarded_for: &str) {
    for i in 0..20 {
        let email = format!("spray{i}@example.com");
        sign_in_from(client, base, forwarded_for, &email, "Summer2026!")
            .await
            .err(401, "invalid_credentials");
    }
}

async fn behind_proxy() -> Server {
    Server::start_with(Options {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_clients_are_throttled_separately() {
    let s = behind_proxy().await;
    s.user("kim@example.com");
    spray(&s.client, &s.base, "203.0.113.1").await;
    // The guessing client is locked out ...
    sign_in_from(
        &s.client,
        &s.base,
        "203.0.113.1",
        "kim@example.com",
        PASSWORD,
    )
    .await
    .err(429, "rate_limited");
    // ... and a different client behind the same proxy is not.
    let r = sign_in_from(
        &s.client,
        &s.base,
        "203.0.113.2",
        "kim@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(r.ok()["status"], "authenticated");
    // The client's own address is what the audit log records.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'password_failed' AND client_addr = '203.0.113.1'"),
        20
    );
    // A value the client wrote itself, left of the proxy's, changes nothing.
    sign_in_from(
        &s.client,
        &s.base,
        "198.51.100.77, 203.0.113.1",
        "kim@example.com",
        PASSWORD,
    )
    .await
    .err(429, "rate_limited");
}

#[tokio::test(flavor = "multi_thread")]
async fn ipv6_clients_are_throttled_by_their_64() {
    let s = behind_proxy().await;
    s.user("lee@example.com");
    spray(&s.client, &s.base, "2001:db8:1:2::1").await;
    // Another address in the same /64 is the same client.
    sign_in_from(
        &s.client,
        &s.base,
        "2001:db8:1:2:ffff:ffff:ffff:fffe",
        "lee@example.com",
        PASSWORD,
    )
    .await
    .err(429, "rate_limited");
    // The next /64 is somebody else.
    let r = sign_in_from(
        &s.client,
        &s.base,
        "2001:db8:1:3::1",
        "lee@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(r.ok()["status"], "authenticated");
}

#[tokio::test(flavor = "multi_thread")]
async fn from_an_untrusted_peer_forwarded_for_is_ignored() {
    let s = Server::start().await;
    s.user("max@example.com");
    // Each guess claims to come from somewhere else.
    for i in 0..20 {
        sign_in_from(
            &s.client,
            &s.base,
            &format!("203.0.113.{i}"),
            &format!("spray{i}@example.com"),
            "Summer2026!",
        )
        .await
        .err(401, "invalid_credentials");
    }
    // The lockout key stayed the socket address, so a fresh claim does not
    // escape it.
    sign_in_from(
        &s.client,
        &s.base,
        "198.51.100.1",
        "max@example.com",
        PASSWORD,
    )
    .await
    .err(429, "rate_limited");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'password_failed' AND client_addr = '127.0.0.1'"),
        20
    );
}

/// The flag and its environment variable reach the server.
#[tokio::test(flavor = "multi_thread")]
async fn the_binary_trusts_the_proxies_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    account_api::admin::create_user(
        &account_api::admin::open(&db).unwrap(),
        TEST_COST,
        "ned@example.com",
        PASSWORD,
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("DIALER_2FA_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1/32")
        .env("DIALER_2FA_ARGON2_MEMORY_KIB", "1024")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop_guard();
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("server exited early").unwrap();
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.to_string();
        }
    };
    let client = reqwest::Client::new();
    spray(&client, &base, "203.0.113.1").await;
    sign_in_from(&client, &base, "203.0.113.1", "ned@example.com", PASSWORD)
        .await
        .err(429, "rate_limited");
    let r = sign_in_from(&client, &base, "203.0.113.2", "ned@example.com", PASSWORD).await;
    assert_eq!(r.ok()["status"], "authenticated");
}

#[test]
fn a_trusted_proxy_that_is_not_a_cidr_is_refused_at_start() {
    let out = Command::new(BIN)
        .args([
            "serve",
            "--db",
            "/nonexistent/never-created.sqlite3",
            "--trusted-proxy",
            "proxy.internal",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("proxy.internal") && err.contains("CIDR"),
        "{err}"
    );
}

/// A child process killed when the test ends, pass or fail.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

trait SpawnGuard {
    fn kill_on_drop_guard(&mut self) -> Child;
}

impl SpawnGuard for Command {
    fn kill_on_drop_guard(&mut self) -> Child {
        Child(self.spawn().unwrap())
    }
}
