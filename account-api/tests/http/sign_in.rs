use serde_json::json;
use shared::api::AccountRole;

use crate::common::{Server, PASSWORD};

#[tokio::test(flavor = "multi_thread")]
async fn password_without_2fa_is_authenticated_and_wrong_password_is_refused() {
    let s = Server::start().await;
    s.user("ann@example.com");
    let r = s
        .post(
            "/v1/sign-in",
            None,
            json!({"email": "ann@example.com", "password": "nope-nope"}),
        )
        .await;
    r.err(401, "invalid_credentials");
    // Unknown users get the same answer.
    let r = s
        .post(
            "/v1/sign-in",
            None,
            json!({"email": "who@example.com", "password": PASSWORD}),
        )
        .await;
    r.err(401, "invalid_credentials");
    // Email case does not matter.
    let token = s.session("ANN@example.com").await;
    assert!(token.starts_with("ses_"));
    let state = s.get("/v1/two-factor", Some(&token)).await;
    assert_eq!(state.ok()["enabled"], false);
    assert_eq!(state.body["required"], false);
    assert_eq!(state.body["setup_only"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_three_outcomes() {
    let s = Server::start().await;
    s.user("off@example.com");
    s.user("on@example.com");
    s.user("must@example.com");
    s.account("Strict");
    s.member("Strict", "must@example.com", AccountRole::Member);
    s.enforce("Strict", true);

    let r = s.sign_in("off@example.com").await;
    assert_eq!(r.ok()["status"], "authenticated");

    let t = s.session("on@example.com").await;
    s.enroll_authenticator(&t).await;
    let r = s.sign_in("on@example.com").await;
    assert_eq!(r.ok()["status"], "two_factor_required");
    assert_eq!(r.body["method"], "authenticator");
    assert!(r.body["challenge_token"]
        .as_str()
        .unwrap()
        .starts_with("chl_"));
    assert!(r.body.get("session_token").is_none());

    let r = s.sign_in("must@example.com").await;
    assert_eq!(r.ok()["status"], "two_factor_setup_required");
    assert_eq!(r.body["required_by"], json!(["Strict"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_out_and_sign_out_everywhere() {
    let s = Server::start().await;
    s.user("bo@example.com");
    let a = s.session("bo@example.com").await;
    let b = s.session("bo@example.com").await;
    let c = s.session("bo@example.com").await;
    let r = s.post("/v1/sign-out", Some(&a), json!({})).await;
    assert_eq!(r.status.as_u16(), 204);
    s.get("/v1/two-factor", Some(&a))
        .await
        .err(401, "unauthorized");
    s.get("/v1/two-factor", Some(&b)).await.ok();
    let r = s.post("/v1/sign-out/everywhere", Some(&b), json!({})).await;
    assert_eq!(r.status.as_u16(), 204);
    s.get("/v1/two-factor", Some(&b))
        .await
        .err(401, "unauthorized");
    s.get("/v1/two-factor", Some(&c))
        .await
        .err(401, "unauthorized");
}

#[tokio::test(flavor = "multi_thread")]
async fn password_change_needs_the_old_password_and_signs_out_others() {
    let s = Server::start().await;
    s.user("cy@example.com");
    let a = s.session("cy@example.com").await;
    let b = s.session("cy@example.com").await;
    let r = s
        .post(
            "/v1/password",
            Some(&a),
            json!({"current_password": "wrong-wrong", "new_password": "a new long password"}),
        )
        .await;
    r.err(401, "invalid_credentials");
    let r = s
        .post(
            "/v1/password",
            Some(&a),
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    r.err(400, "weak_password");
    let r = s
        .post(
            "/v1/password",
            Some(&a),
            json!({"current_password": PASSWORD, "new_password": "a new long password"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    s.get("/v1/two-factor", Some(&a)).await.ok();
    s.get("/v1/two-factor", Some(&b))
        .await
        .err(401, "unauthorized");
    s.sign_in("cy@example.com")
        .await
        .err(401, "invalid_credentials");
    let r = s
        .post(
            "/v1/sign-in",
            None,
            json!({"email": "cy@example.com", "password": "a new long password"}),
        )
        .await;
    assert_eq!(r.ok()["status"], "authenticated");
    // Audited and notified.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'password_changed'"),
        1
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM outbox WHERE kind = 'notification' AND recipient = 'cy@example.com' AND body LIKE '%password was changed%'"),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mandatory_for_everyone_requires_setup_without_any_account() {
    let s = Server::start().await;
    s.platform(account_api::admin::PlatformPolicy::Now);
    s.user("solo@example.com");
    let r = s.sign_in("solo@example.com").await;
    assert_eq!(r.ok()["status"], "two_factor_setup_required");
    assert_eq!(r.body["required_by"], json!(["server policy"]));
    let token = r.body["session_token"].as_str().unwrap().to_string();
    s.get("/v1/accounts", Some(&token))
        .await
        .err(403, "setup_required");
    let state = s.get("/v1/two-factor", Some(&token)).await;
    assert_eq!(state.ok()["setup_only"], true);
    s.enroll_authenticator(&token).await;
    s.get("/v1/accounts", Some(&token)).await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_and_challenges_expire() {
    let s = Server::start().await;
    s.user("exp@example.com");
    let token = s.session("exp@example.com").await;
    let (secret, _) = s.enroll_authenticator(&token).await;
    let r = s.sign_in("exp@example.com").await;
    let challenge = r.ok()["challenge_token"].as_str().unwrap().to_string();
    // A challenge lives 15 minutes.
    let now = s.advance(15 * 60 + 1).await;
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": challenge, "code": crate::common::oathtool(&secret, now)}),
        )
        .await;
    r.err(401, "code_expired");
    // A session lives 14 days.
    let session = s.sign_in_totp("exp@example.com", &secret).await;
    s.advance(13 * 86_400).await;
    s.get("/v1/two-factor", Some(&session)).await.ok();
    s.advance(86_400 + 1).await;
    s.get("/v1/two-factor", Some(&session))
        .await
        .err(401, "unauthorized");
}

/// The challenge's announced end is the one the server keeps: its
/// `expires_at` is 15 minutes after it was made, it still works 5 s before,
/// and it is dead at that second (not one second later).
#[tokio::test(flavor = "multi_thread")]
async fn a_challenge_ends_when_it_says() {
    let s = Server::start().await;
    s.user("ends@example.com");
    let token = s.session("ends@example.com").await;
    let (secret, _) = s.enroll_authenticator(&token).await;
    // Past the setup code's step, so the answers below are fresh codes.
    s.advance(30).await;
    let open = || async {
        let before = s.now().await;
        let r = s.sign_in("ends@example.com").await;
        let body = r.ok();
        let after = s.now().await;
        let expires_at = body["expires_at"].as_i64().unwrap();
        assert!(
            (before + 15 * 60..=after + 15 * 60).contains(&expires_at),
            "expires_at {expires_at}, made in [{before}, {after}]"
        );
        (
            body["challenge_token"].as_str().unwrap().to_string(),
            expires_at,
        )
    };
    let answer = |challenge: String, now: i64| {
        let code = crate::common::oathtool(&secret, now);
        let s = &s;
        async move {
            s.post(
                "/v1/sign-in/challenge",
                None,
                json!({"challenge_token": challenge, "code": code}),
            )
            .await
        }
    };

    let (challenge, expires_at) = open().await;
    let now = s.now().await;
    let now = s.advance(expires_at - 5 - now).await;
    let r = answer(challenge, now).await;
    assert!(
        r.ok()["session_token"]
            .as_str()
            .unwrap()
            .starts_with("ses_"),
        "{}",
        r.body
    );

    s.advance(60).await;
    let (challenge, expires_at) = open().await;
    let now = s.now().await;
    let now = s.advance(expires_at - now).await;
    answer(challenge, now).await.err(401, "code_expired");
}

const SMS_PHONE: &str = "+14155550142";

/// A user with SMS as their method and a signed-in session; returns it.
async fn sms_user(s: &Server, email: &str) -> String {
    s.user(email);
    let token = s.session(email).await;
    s.enroll_sms(&token, SMS_PHONE).await;
    // Past the resend cooldown, so the next sign-in sends a code.
    s.advance(31).await;
    token
}

/// A sign-in waiting for its code (the code is sent), and a handoff code.
async fn open_proofs(
    s: &Server,
    email: &str,
    password: &str,
    session: &str,
) -> (String, String, String) {
    let r = s
        .post(
            "/v1/sign-in",
            None,
            json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(r.ok()["status"], "two_factor_required", "{}", r.body);
    let challenge = r.body["challenge_token"].as_str().unwrap().to_string();
    let code = s.last_sms_code(SMS_PHONE);
    let r = s.post("/v1/handoff", Some(session), json!({})).await;
    let handoff = r.ok()["code"].as_str().unwrap().to_string();
    (challenge, code, handoff)
}

/// Issue 9, item 8: whoever was half-way through a sign-in with the old
/// password (challenge and SMS code in hand), or holds a handoff code,
/// is out once the password changes.
#[tokio::test(flavor = "multi_thread")]
async fn a_password_change_voids_open_challenges_sms_codes_and_handoff_codes() {
    let s = Server::start().await;
    let mine = sms_user(&s, "val@example.com").await;
    let (challenge, code, handoff) = open_proofs(&s, "val@example.com", PASSWORD, &mine).await;
    let new_password = "a brand new long password";
    let r = s
        .post(
            "/v1/password",
            Some(&mine),
            json!({"current_password": PASSWORD, "new_password": new_password}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM sms_codes WHERE consumed_at IS NULL"),
        0
    );

    s.post(
        "/v1/sign-in/challenge",
        None,
        json!({"challenge_token": challenge, "code": code}),
    )
    .await
    .err(401, "code_expired");
    s.post("/v1/handoff/redeem", None, json!({"code": handoff}))
        .await
        .err(401, "invalid_code");
    // The session that changed it keeps working, and a sign-in with the
    // new password goes through with its own fresh code.
    s.get("/v1/two-factor", Some(&mine)).await.ok();
    s.advance(31).await;
    let r = s
        .post(
            "/v1/sign-in",
            None,
            json!({"email": "val@example.com", "password": new_password}),
        )
        .await;
    let fresh = r.ok()["challenge_token"].as_str().unwrap().to_string();
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": fresh, "code": s.last_sms_code(SMS_PHONE)}),
        )
        .await;
    r.ok();
}

/// Issue 9, item 8: "sign out everywhere" also ends sign-ins that were
/// only waiting for their second factor, their SMS codes and handoff codes.
#[tokio::test(flavor = "multi_thread")]
async fn sign_out_everywhere_voids_open_challenges_sms_codes_and_handoff_codes() {
    let s = Server::start().await;
    let mine = sms_user(&s, "wes@example.com").await;
    let (challenge, code, handoff) = open_proofs(&s, "wes@example.com", PASSWORD, &mine).await;
    let r = s
        .post("/v1/sign-out/everywhere", Some(&mine), json!({}))
        .await;
    assert_eq!(r.status.as_u16(), 204);

    s.post(
        "/v1/sign-in/challenge",
        None,
        json!({"challenge_token": challenge, "code": code}),
    )
    .await
    .err(401, "code_expired");
    s.post("/v1/handoff/redeem", None, json!({"code": handoff}))
        .await
        .err(401, "invalid_code");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM sms_codes WHERE consumed_at IS NULL"),
        0
    );
    // Signing in again works as usual.
    s.advance(31).await;
    let r = s.sign_in("wes@example.com").await;
    let fresh = r.ok()["challenge_token"].as_str().unwrap().to_string();
    s.post(
        "/v1/sign-in/challenge",
        None,
        json!({"challenge_token": fresh, "code": s.last_sms_code(SMS_PHONE)}),
    )
    .await
    .ok();
}

/// The old `--mandatory-2fa` serve flag still makes 2FA mandatory now, by
/// recording it in the database (so every node agrees); `policy mandatory
/// --cancel` lifts it, and a node started without the flag agrees.
#[tokio::test(flavor = "multi_thread")]
async fn the_mandatory_serve_flag_records_an_immediate_platform_policy() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    let node = Server::serve_process_with(&db, &["--mandatory-2fa"], &[]).await;
    node.user("flag@example.com");
    let r = node.sign_in("flag@example.com").await;
    assert_eq!(r.ok()["status"], "two_factor_setup_required");
    assert_eq!(r.body["required_by"], json!(["server policy"]));
    assert!(r.body.get("deadline").is_none(), "{}", r.body);
    let show = policy_command(&["show"], &node.store);
    let text = String::from_utf8_lossy(&show.stdout).to_string();
    assert!(text.contains("mandatory for everyone now"), "{text}");
    node.stop();
    let plain = Server::serve_process(&db).await;
    let r = plain.sign_in("flag@example.com").await;
    assert_eq!(r.ok()["status"], "two_factor_setup_required");
    let cancel = policy_command(&["mandatory", "--cancel"], &plain.store);
    assert!(cancel.status.success(), "{cancel:?}");
    let r = plain.sign_in("flag@example.com").await;
    assert_eq!(r.ok()["status"], "authenticated", "{}", r.body);
}

/// `dialer-2fa-api policy ARGS` on a test server's store.
fn policy_command(args: &[&str], store: &account_api::config::Store) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dialer-2fa-api"));
    command
        .arg("policy")
        .args(args)
        .args(crate::common::store_args(store))
        .env_remove("DIALER_2FA_SERVER_KEY")
        .env_remove("DIALER_2FA_DB")
        .env_remove("DIALER_2FA_DATABASE_URL");
    if matches!(store, account_api::config::Store::Postgres { .. }) {
        command.env("DIALER_2FA_SERVER_KEY", crate::common::TEST_KEY_B64);
    }
    command.output().unwrap()
}
