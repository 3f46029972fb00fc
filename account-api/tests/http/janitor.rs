//! The janitor (issue 11, section 4): after the clock moves past their
//! end, a pass removes expired sessions, challenges, SMS codes and handoff
//! codes; what a rule still reads survives it, so no spent code works
//! again and no lock or failure count is forgotten early.

use serde_json::{json, Value};

use crate::common::{certainly_wrong_code, oathtool, totp_window, Resp, Server};

const PHONE: &str = "+14155550177";
/// Past a session's 14 days and the janitor's hour of grace.
const PAST_EVERYTHING: i64 = 14 * 86_400 + 2 * 3600;
/// Past a challenge's 15 minutes, an SMS code's 10 and the grace hour.
const PAST_CODES: i64 = 2 * 3600;

async fn janitor(s: &Server) -> Value {
    let r = s.post("/v1/test/janitor", None, json!({})).await;
    r.ok()["removed"].clone()
}

fn challenge_of(r: &Resp) -> String {
    assert_eq!(r.ok()["status"], "two_factor_required", "{}", r.body);
    r.body["challenge_token"].as_str().unwrap().to_string()
}

async fn answer(s: &Server, challenge: &str, field: &str, code: &str) -> Resp {
    s.post(
        "/v1/sign-in/challenge",
        None,
        json!({"challenge_token": challenge, field: code}),
    )
    .await
}

/// Rows of `table` whose end is more than the grace hour before `now`.
fn ended(s: &Server, table: &str, now: i64) -> i64 {
    s.count(&format!(
        "SELECT COUNT(*) FROM {table} WHERE expires_at < {}",
        now - 3600
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_janitor_pass_removes_rows_past_their_end_and_keeps_what_rules_still_need() {
    let s = Server::start().await;
    s.user("ann@example.com");
    s.user("sid@example.com");
    s.user("neo@example.com");
    let ann = s.session("ann@example.com").await;
    let r = s.post("/v1/handoff", Some(&ann), json!({})).await;
    let code = r.ok()["code"].as_str().unwrap().to_string();
    s.post("/v1/handoff/redeem", None, json!({"code": code}))
        .await
        .ok();
    s.post("/v1/handoff", Some(&ann), json!({})).await.ok();
    let sid = s.session("sid@example.com").await;
    s.enroll_sms(&sid, PHONE).await;
    s.advance(31).await;
    challenge_of(&s.sign_in("sid@example.com").await);
    let (_, _) = s.enroll_authenticator(&ann).await;
    let last_step = s.count("SELECT totp_last_step FROM users WHERE email = 'ann@example.com'");

    let now = s.advance(PAST_EVERYTHING).await;
    // Fresh rows after the move: the newest row of a table is never
    // removed (ids only grow), so each table gets a live one.
    let fresh = s.session("neo@example.com").await;
    s.post("/v1/handoff", Some(&fresh), json!({})).await.ok();
    challenge_of(&s.sign_in("sid@example.com").await);
    for table in ["sessions", "challenges", "sms_codes", "handoff_codes"] {
        assert!(ended(&s, table, now) > 0, "{table} has nothing ended yet");
    }
    let kept_before = [
        s.count("SELECT COUNT(*) FROM recovery_codes"),
        s.count("SELECT COUNT(*) FROM audit_log"),
        s.count("SELECT COUNT(*) FROM outbox"),
    ];
    let removed = janitor(&s).await;
    assert!(removed["sessions"].as_u64().unwrap() >= 3, "{removed}");
    assert!(removed["handoff_codes"].as_u64().unwrap() >= 1, "{removed}");
    for table in ["sessions", "challenges", "sms_codes", "handoff_codes"] {
        assert_eq!(ended(&s, table, now), 0, "{table}: {removed}");
    }
    // The fresh session still works.
    s.get("/v1/two-factor", Some(&fresh)).await.ok();
    assert_eq!(
        s.count("SELECT COUNT(*) FROM recovery_codes"),
        kept_before[0]
    );
    assert!(s.count("SELECT COUNT(*) FROM audit_log") >= kept_before[1]);
    assert_eq!(s.count("SELECT COUNT(*) FROM outbox"), kept_before[2]);
    assert_eq!(
        s.count("SELECT totp_last_step FROM users WHERE email = 'ann@example.com'"),
        last_step
    );
    // A second pass has nothing left to do.
    let again = janitor(&s).await;
    assert_eq!(again["sessions"], 0, "{again}");
    assert_eq!(again["challenges"], 0, "{again}");

    // A password check's reservation left by a server that died mid-check
    // goes once it has ended; one still running stays.
    let now = s.now().await;
    let conn = s.conn();
    for (key, ends) in [
        ("crashed@example.com", now - 1),
        ("running@example.com", now + 60),
    ] {
        conn.execute(
            "INSERT INTO throttle_reservations (scope, key, expires_at) VALUES ('password', ?1, ?2)",
            account_api::params![key, ends],
        )
        .unwrap();
    }
    let removed = janitor(&s).await;
    assert_eq!(removed["throttle_reservations"], 1, "{removed}");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM throttle_reservations WHERE key = 'running@example.com'"),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_janitor_pass_no_spent_code_works_again_and_no_lock_or_count_is_forgotten() {
    let s = Server::start().await;
    s.user("tim@example.com");
    s.user("sue@example.com");
    let tim = s.session("tim@example.com").await;
    let (secret, recovery) = s.enroll_authenticator(&tim).await;

    // A TOTP code used once is refused after a pass.
    let used = oathtool(&secret, s.now().await);
    let c = challenge_of(&s.sign_in("tim@example.com").await);
    answer(&s, &c, "code", &used).await.ok();
    janitor(&s).await;
    let c = challenge_of(&s.sign_in("tim@example.com").await);
    answer(&s, &c, "code", &used).await.err(401, "reused_code");

    // A spent recovery code, a redeemed handoff code and a used SMS code
    // stay spent after their rows ended and a pass ran.
    answer(&s, &c, "recovery_code", &recovery[0]).await.ok();
    s.advance(30).await;
    let session = s.sign_in_totp("tim@example.com", &secret).await;
    let r = s.post("/v1/handoff", Some(&session), json!({})).await;
    let handoff = r.ok()["code"].as_str().unwrap().to_string();
    s.post("/v1/handoff/redeem", None, json!({"code": handoff}))
        .await
        .ok();
    let sue = s.session("sue@example.com").await;
    s.enroll_sms(&sue, PHONE).await;
    s.advance(31).await;
    let c = challenge_of(&s.sign_in("sue@example.com").await);
    let sms_code = s.last_sms_code(PHONE);
    answer(&s, &c, "code", &sms_code).await.ok();

    s.advance(PAST_CODES).await;
    let removed = janitor(&s).await;
    assert!(
        removed["handoff_codes"].as_u64().unwrap() + removed["challenges"].as_u64().unwrap() >= 1,
        "{removed}"
    );
    s.post("/v1/handoff/redeem", None, json!({"code": handoff}))
        .await
        .err(401, "invalid_code");
    let c = challenge_of(&s.sign_in("tim@example.com").await);
    answer(&s, &c, "recovery_code", &recovery[0])
        .await
        .err(401, "invalid_code");
    let c = challenge_of(&s.sign_in("sue@example.com").await);
    let new_code = s.last_sms_code(PHONE);
    // The sign-in sent a fresh code; the old one is refused unless the two
    // happen to be equal (one chance in a million).
    if new_code != sms_code {
        answer(&s, &c, "code", &sms_code)
            .await
            .err(401, "invalid_code");
    }

    // Five wrong codes in a row (after a success ended the refusals
    // above) lock tim's second factor; a pass keeps the lock.
    s.advance(60).await;
    s.sign_in_totp("tim@example.com", &secret).await;
    let now = s.now().await;
    let wrong = certainly_wrong_code(&totp_window(&secret, now));
    for _ in 0..5 {
        let c = challenge_of(&s.sign_in("tim@example.com").await);
        answer(&s, &c, "code", &wrong)
            .await
            .err(401, "invalid_code");
    }
    janitor(&s).await;
    let c = challenge_of(&s.sign_in("tim@example.com").await);
    let right = oathtool(&secret, s.now().await);
    answer(&s, &c, "code", &right)
        .await
        .err(429, "rate_limited");
    // Long after the lock ended, a pass still keeps the five failures: the
    // next wrong code locks again at once instead of starting a new count.
    s.advance(PAST_CODES).await;
    janitor(&s).await;
    let c = challenge_of(&s.sign_in("tim@example.com").await);
    let now = s.now().await;
    let wrong = certainly_wrong_code(&totp_window(&secret, now));
    answer(&s, &c, "code", &wrong)
        .await
        .err(401, "invalid_code");
    let c = challenge_of(&s.sign_in("tim@example.com").await);
    answer(&s, &c, "code", &oathtool(&secret, now))
        .await
        .err(429, "rate_limited");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_janitor_route_is_served_only_with_clock_control() {
    let s = Server::start_with(crate::common::Options {
        allow_clock_control: false,
        ..Default::default()
    })
    .await;
    s.post("/v1/test/janitor", None, json!({}))
        .await
        .err(404, "not_found");
}

/// `serve` runs the pass on its own, every `--janitor-interval-seconds`.
#[tokio::test(flavor = "multi_thread")]
async fn serve_runs_the_janitor_every_interval() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    let s = Server::serve_process_with(&db, &["--janitor-interval-seconds", "1"], &[]).await;
    s.user("old@example.com");
    s.user("new@example.com");
    s.session("old@example.com").await;
    let now = s.advance(PAST_EVERYTHING).await;
    s.session("new@example.com").await;
    assert_eq!(ended(&s, "sessions", now), 1);
    let started = std::time::Instant::now();
    while ended(&s, "sessions", now) > 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no janitor pass within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Several nodes: a pass on PostgreSQL first tries the janitor's advisory
/// lock and does nothing while another node holds it, then sweeps once it
/// is free. (SQLite has one writer at a time by itself: there the pass
/// just sweeps.)
#[tokio::test(flavor = "multi_thread")]
async fn a_pass_while_another_node_sweeps_does_nothing_on_postgres() {
    use account_api::store::Engine;
    let s = Server::start().await;
    s.user("old@example.com");
    s.session("old@example.com").await;
    s.advance(PAST_EVERYTHING).await;
    s.user("new@example.com");
    s.session("new@example.com").await; // the newest row is always kept
    let other_node = s.conn();
    if other_node.engine() == Engine::Postgres {
        other_node
            .execute(
                "SELECT pg_advisory_lock(?1)",
                account_api::params![account_api::janitor::ADVISORY_LOCK_KEY],
            )
            .unwrap();
        let removed = janitor(&s).await;
        assert_eq!(removed["sessions"], 0, "swept while locked: {removed}");
        assert_eq!(s.count("SELECT COUNT(*) FROM sessions"), 2);
        other_node
            .execute(
                "SELECT pg_advisory_unlock(?1)",
                account_api::params![account_api::janitor::ADVISORY_LOCK_KEY],
            )
            .unwrap();
    }
    let removed = janitor(&s).await;
    assert_eq!(removed["sessions"], 1, "{removed}");
    assert_eq!(s.count("SELECT COUNT(*) FROM sessions"), 1);
}
