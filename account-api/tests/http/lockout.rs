use serde_json::json;

use crate::common::{oathtool, wrong_code_for, Resp, Server, PASSWORD};

fn retry_after(r: &Resp) -> i64 {
    r.retry_after.as_deref().unwrap_or("").parse().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread")]
async fn five_wrong_passwords_lock_with_growing_backoff() {
    let s = Server::start().await;
    s.user("uma@example.com");
    let wrong = json!({"email": "uma@example.com", "password": "guess-guess"});
    for _ in 0..5 {
        s.post("/v1/sign-in", None, wrong.clone())
            .await
            .err(401, "invalid_credentials");
    }
    // Locked: even the right password is refused, with Retry-After.
    let r = s.sign_in("uma@example.com").await;
    r.err(429, "rate_limited");
    // The lock is 30 s from the last failure; a second of the real clock may
    // have passed since.
    assert!((29..=30).contains(&retry_after(&r)), "{:?}", r.retry_after);
    s.advance(31).await;
    // One more wrong try doubles the lock.
    s.post("/v1/sign-in", None, wrong.clone())
        .await
        .err(401, "invalid_credentials");
    let r = s.sign_in("uma@example.com").await;
    r.err(429, "rate_limited");
    assert!((59..=60).contains(&retry_after(&r)), "{:?}", r.retry_after);
    s.advance(61).await;
    // The right password works and resets the count.
    assert_eq!(
        s.sign_in("uma@example.com").await.ok()["status"],
        "authenticated"
    );
    s.post("/v1/sign-in", None, wrong.clone())
        .await
        .err(401, "invalid_credentials");
    assert_eq!(
        s.sign_in("uma@example.com").await.ok()["status"],
        "authenticated"
    );
    assert!(s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'locked_out'") >= 1);
    assert!(s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'password_failed'") >= 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_codes_lock_the_second_factor() {
    let s = Server::start().await;
    s.user("vic@example.com");
    let token = s.session("vic@example.com").await;
    let (secret, _) = s.enroll_authenticator(&token).await;
    let r = s.sign_in("vic@example.com").await;
    let challenge = r.ok()["challenge_token"].as_str().unwrap().to_string();
    let now = s.now().await;
    let bad = wrong_code_for(&secret, now);
    for _ in 0..5 {
        let r = s
            .post(
                "/v1/sign-in/challenge",
                None,
                json!({"challenge_token": challenge, "code": bad}),
            )
            .await;
        r.err(401, "invalid_code");
    }
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": challenge, "code": oathtool(&secret, now)}),
        )
        .await;
    r.err(429, "rate_limited");
    // Every failure was notified to the user.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM outbox WHERE kind = 'notification' AND body LIKE '%wrong second-factor code%'"),
        5
    );
    let now = s.advance(31).await;
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": challenge, "code": oathtool(&secret, now)}),
        )
        .await;
    r.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn re_authentication_counts_toward_the_password_lock() {
    let s = Server::start().await;
    s.user("wes@example.com");
    let token = s.session("wes@example.com").await;
    let (_, _) = s.enroll_authenticator(&token).await;
    for _ in 0..5 {
        let r = s
            .post(
                "/v1/two-factor/recovery-codes",
                Some(&token),
                json!({"password": "guess-guess"}),
            )
            .await;
        r.err(401, "invalid_credentials");
    }
    let r = s
        .post(
            "/v1/two-factor/recovery-codes",
            Some(&token),
            json!({"password": PASSWORD}),
        )
        .await;
    r.err(429, "rate_limited");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_guessing_many_accounts_is_locked() {
    let s = Server::start().await;
    s.user("real@example.com");
    // 20 wrong passwords, each for a different email, from one address.
    for i in 0..20 {
        let r = s
            .post(
                "/v1/sign-in",
                None,
                json!({"email": format!("spray{i}@example.com"), "password": "Summer2026!"}),
            )
            .await;
        r.err(401, "invalid_credentials");
    }
    // The address is locked for everyone behind it, for a while.
    let r = s.sign_in("real@example.com").await;
    r.err(429, "rate_limited");
    s.advance(31).await;
    assert_eq!(
        s.sign_in("real@example.com").await.ok()["status"],
        "authenticated"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_consecutive_failures_lock_until_an_admin_unlocks() {
    let s = Server::start().await;
    s.user("zoe@example.com");
    let wrong = json!({"email": "zoe@example.com", "password": "guess-guess"});
    for i in 0..100 {
        let r = s.post("/v1/sign-in", None, wrong.clone()).await;
        assert_eq!(r.code(), "invalid_credentials", "attempt {i}: {}", r.body);
        // Wait out each backoff (at most 15 minutes).
        s.advance(15 * 60 + 1).await;
    }
    let r = s.sign_in("zoe@example.com").await;
    r.err(403, "forbidden");
    s.advance(30 * 86_400).await;
    s.sign_in("zoe@example.com").await.err(403, "forbidden");
    account_api::admin::unlock_user(&s.conn(), "zoe@example.com").unwrap();
    assert_eq!(
        s.sign_in("zoe@example.com").await.ok()["status"],
        "authenticated"
    );
}
