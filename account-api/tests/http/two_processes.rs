//! Two `serve` processes on one SQLite file. Inside one process every write
//! waits on the one connection's mutex, so single-use rules hold there even
//! if a check and its write were two statements; across processes only the
//! database can make them atomic. These tests make the two processes race.

use std::sync::Arc;

use serde_json::json;

use crate::common::{certainly_wrong_code, oathtool, totp_window, ServeProcess, Server};

async fn challenge(s: &Server, email: &str) -> String {
    let r = s.sign_in(email).await;
    assert_eq!(r.ok()["status"], "two_factor_required", "{}", r.body);
    r.body["challenge_token"].as_str().unwrap().to_string()
}

/// Two servers on one new database file (the first creates it).
async fn two_servers() -> (tempfile::TempDir, Arc<ServeProcess>, Arc<ServeProcess>) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.sqlite3");
    let a = Server::serve_process(&db).await;
    let b = Server::serve_process(&db).await;
    assert_ne!(a.base, b.base);
    (dir, Arc::new(a), Arc::new(b))
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_uses_of_one_recovery_code_over_two_processes_exactly_one_wins() {
    let (_dir, a, b) = two_servers().await;
    a.user("hal@example.com");
    let token = a.session("hal@example.com").await;
    let (_, codes) = a.enroll_authenticator(&token).await;
    // Each challenge opened on one process and answered on the other.
    let servers = [a.clone(), b.clone()];
    let mut challenges = Vec::new();
    for i in 0..50 {
        challenges.push(challenge(&servers[i % 2], "hal@example.com").await);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for (i, c) in challenges.into_iter().enumerate() {
        let server = servers[(i + 1) % 2].clone();
        let code = codes[3].clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let r = server
                .post(
                    "/v1/sign-in/challenge",
                    None,
                    json!({"challenge_token": c, "recovery_code": code}),
                )
                .await;
            ((i + 1) % 2, r)
        }));
    }
    let mut wins = Vec::new();
    let mut answered = [0, 0];
    for t in tasks {
        let (process, r) = t.await.unwrap();
        answered[process] += 1;
        if r.status.is_success() {
            wins.push(process);
        } else {
            // Never a 500: a busy database is waited for, not reported.
            assert!(
                ["invalid_code", "rate_limited"].contains(&r.code()),
                "unexpected failure on process {}: {} {}",
                process,
                r.status,
                r.body
            );
        }
    }
    assert_eq!(answered, [25, 25]);
    assert_eq!(wins.len(), 1, "wins per process: {:?}", wins);
    assert_eq!(
        a.count("SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NOT NULL"),
        1
    );
    assert_eq!(
        a.count("SELECT COUNT(*) FROM audit_log WHERE event = 'recovery_code_used'"),
        1
    );
    assert_eq!(
        a.count("SELECT COUNT(*) FROM challenges WHERE consumed_at IS NOT NULL"),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_totp_code_accepted_on_one_process_is_refused_on_the_other() {
    let (_dir, a, b) = two_servers().await;
    a.user("ivy@example.com");
    let token = a.session("ivy@example.com").await;
    let (secret, _) = a.enroll_authenticator(&token).await;
    // enroll_authenticator moved A's clock on one step; B's follows.
    b.advance(30).await;

    let on_a = challenge(&a, "ivy@example.com").await;
    let on_b = challenge(&b, "ivy@example.com").await;
    let now = a.now().await;
    let code = oathtool(&secret, now);
    let r = a
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": on_a, "code": code}),
        )
        .await;
    r.ok();
    // B never saw this code; only the database knows it was used.
    let r = b
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": on_b, "code": code}),
        )
        .await;
    r.err(401, "reused_code");
    // A wrong code on B is a wrong code, not a reused one: B checks codes.
    let wrong = certainly_wrong_code(&totp_window(&secret, b.now().await));
    let r = b
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": on_b, "code": wrong}),
        )
        .await;
    r.err(401, "invalid_code");
    // The next step's code works on B (the same open challenge), and is
    // then refused on A.
    a.advance(30).await;
    let now = b.advance(30).await;
    let next = oathtool(&secret, now);
    let r = b
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": on_b, "code": next}),
        )
        .await;
    r.ok();
    let again = challenge(&a, "ivy@example.com").await;
    let r = a
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": again, "code": next}),
        )
        .await;
    r.err(401, "reused_code");
}
