//! Issue 9, item 6: once 2FA is on, every change of method carries the
//! password in the request. A session that merely signed in moments ago (a
//! stolen one, say) can neither start a new key or number nor confirm one
//! that another session started; first-time setup is unchanged (see
//! `authenticator::setup_needs_a_recent_password`).

use serde_json::json;

use crate::common::{oathtool, Server, PASSWORD};

const PHONE: &str = "+14155550166";

fn pending_secret(s: &Server, email: &str) -> Option<Vec<u8>> {
    s.conn()
        .query_row(
            "SELECT pending_totp_secret FROM users WHERE email = ?1",
            [email],
            |r| r.get(0),
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recent_session_cannot_rekey_or_move_to_sms_without_the_password() {
    let s = Server::start().await;
    s.user("ida@example.com");
    let first = s.session("ida@example.com").await;
    let (secret, _) = s.enroll_authenticator(&first).await;
    // A session that proved the password seconds ago, as a thief has it.
    let stolen = s.sign_in_totp("ida@example.com", &secret).await;

    s.post(
        "/v1/two-factor/authenticator/setup",
        Some(&stolen),
        json!({}),
    )
    .await
    .err(401, "password_required");
    assert_eq!(pending_secret(&s, "ida@example.com"), None, "no new key");
    s.post(
        "/v1/two-factor/sms/setup",
        Some(&stolen),
        json!({"phone": PHONE}),
    )
    .await
    .err(401, "password_required");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM outbox WHERE kind = 'sms'"),
        0,
        "no code sent to the thief's number"
    );
    s.post(
        "/v1/two-factor/authenticator/setup",
        Some(&stolen),
        json!({"password": "not the password"}),
    )
    .await
    .err(401, "invalid_credentials");
    // The old key still signs in.
    s.sign_in_totp("ida@example.com", &secret).await;

    // With the password in the request the re-key works.
    let r = s
        .post(
            "/v1/two-factor/authenticator/setup",
            Some(&stolen),
            json!({"password": PASSWORD}),
        )
        .await;
    let new_secret = r.ok()["secret_base32"].as_str().unwrap().to_string();
    let r = s
        .post(
            "/v1/two-factor/authenticator/confirm",
            Some(&stolen),
            json!({"code": oathtool(&new_secret, s.now().await)}),
        )
        .await;
    assert_eq!(r.ok()["method"], "authenticator");
    assert_eq!(r.body["recovery_codes"], json!([]));
    s.advance(30).await;
    s.sign_in_totp("ida@example.com", &new_secret).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirm_counts_only_from_the_session_that_gave_the_password() {
    let s = Server::start().await;
    s.user("jon@example.com");
    let mine = s.session("jon@example.com").await;
    let (secret, _) = s.enroll_authenticator(&mine).await;
    let other = s.sign_in_totp("jon@example.com", &secret).await;

    let r = s
        .post(
            "/v1/two-factor/authenticator/setup",
            Some(&mine),
            json!({"password": PASSWORD}),
        )
        .await;
    let new_secret = r.ok()["secret_base32"].as_str().unwrap().to_string();
    let code = oathtool(&new_secret, s.now().await);
    // The right code, but from a session that never gave the password.
    s.post(
        "/v1/two-factor/authenticator/confirm",
        Some(&other),
        json!({"code": code}),
    )
    .await
    .err(401, "password_required");
    s.sign_in_totp("jon@example.com", &secret).await;
    // The session that gave it confirms.
    let r = s
        .post(
            "/v1/two-factor/authenticator/confirm",
            Some(&mine),
            json!({"code": oathtool(&new_secret, s.now().await)}),
        )
        .await;
    assert_eq!(r.ok()["method"], "authenticator");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_switch_back_to_sms_resends_and_confirms_only_for_the_session_that_switched() {
    let s = Server::start().await;
    s.user("kai@example.com");
    let mine = s.session("kai@example.com").await;
    s.post(
        "/v1/two-factor/sms/setup",
        Some(&mine),
        json!({"phone": PHONE, "password": PASSWORD}),
    )
    .await
    .ok();
    s.post(
        "/v1/two-factor/sms/confirm",
        Some(&mine),
        json!({"code": s.last_sms_code(PHONE)}),
    )
    .await
    .ok();
    // To the authenticator (the switch carries the password)...
    let r = s
        .post(
            "/v1/two-factor/switch",
            Some(&mine),
            json!({"method": "authenticator", "password": PASSWORD}),
        )
        .await;
    let secret = r.ok()["authenticator"]["secret_base32"]
        .as_str()
        .unwrap()
        .to_string();
    s.post(
        "/v1/two-factor/authenticator/confirm",
        Some(&mine),
        json!({"code": oathtool(&secret, s.now().await)}),
    )
    .await
    .ok();
    s.advance(30).await;
    let other = s.sign_in_totp("kai@example.com", &secret).await;
    // ...and back to the kept number.
    s.post(
        "/v1/two-factor/switch",
        Some(&mine),
        json!({"method": "sms", "password": PASSWORD}),
    )
    .await
    .ok();
    s.advance(31).await;
    // Another session may neither resend nor confirm without the password.
    s.post("/v1/two-factor/sms/setup", Some(&other), json!({}))
        .await
        .err(401, "password_required");
    // The switching session resends to the kept number without retyping it.
    s.post("/v1/two-factor/sms/setup", Some(&mine), json!({}))
        .await
        .ok();
    let code = s.last_sms_code(PHONE);
    s.post(
        "/v1/two-factor/sms/confirm",
        Some(&other),
        json!({"code": code}),
    )
    .await
    .err(401, "password_required");
    let r = s
        .post(
            "/v1/two-factor/sms/confirm",
            Some(&mine),
            json!({"code": code}),
        )
        .await;
    assert_eq!(r.ok()["method"], "sms");
}
