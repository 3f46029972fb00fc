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
            account_api::params![email],
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

/// What a switch is refused for, each with its own answer: no 2FA to switch
/// from, the method already in use, and SMS with no number kept (said
/// before the password is even looked at).
#[tokio::test(flavor = "multi_thread")]
async fn a_switch_is_refused_without_2fa_to_the_same_method_and_to_sms_without_a_kept_number() {
    let s = Server::start().await;
    let switch = |token: String, method: &'static str, password: &'static str| {
        let s = &s;
        async move {
            s.post(
                "/v1/two-factor/switch",
                Some(&token),
                json!({"method": method, "password": password}),
            )
            .await
        }
    };
    s.user("none@example.com");
    let none = s.session("none@example.com").await;
    for method in ["sms", "authenticator"] {
        switch(none.clone(), method, PASSWORD)
            .await
            .err(409, "two_factor_not_enabled");
    }

    s.user("app@example.com");
    let app = s.session("app@example.com").await;
    s.enroll_authenticator(&app).await;
    let r = switch(app.clone(), "authenticator", PASSWORD).await;
    r.err(409, "conflict");
    assert!(r.message().contains("already use"), "{}", r.message());
    let r = switch(app.clone(), "sms", "not the password").await;
    r.err(400, "invalid_phone");
    assert!(r.message().contains("no number is kept"), "{}", r.message());

    s.user("text@example.com");
    let text = s.session("text@example.com").await;
    s.enroll_sms(&text, PHONE).await;
    let r = switch(text.clone(), "sms", PASSWORD).await;
    r.err(409, "conflict");
    assert!(r.message().contains("already use"), "{}", r.message());
}

/// Only a different number while SMS is on needs 2FA off first: the same
/// number may be set up again, and a person on the authenticator app may
/// set up SMS on a new number (with the password and a code to it).
#[tokio::test(flavor = "multi_thread")]
async fn sms_setup_refuses_only_a_new_number_while_sms_is_on() {
    let s = Server::start().await;
    s.user("same@example.com");
    let token = s.session("same@example.com").await;
    s.enroll_sms(&token, PHONE).await;
    s.advance(31).await;
    let setup = |phone: &'static str| {
        let s = &s;
        let token = token.clone();
        async move {
            s.post(
                "/v1/two-factor/sms/setup",
                Some(&token),
                json!({"phone": phone, "password": PASSWORD}),
            )
            .await
        }
    };
    setup("+14155550188").await.err(409, "conflict");
    assert_eq!(setup(PHONE).await.ok()["phone_hint"], "+1••••••0166");

    // To the authenticator app (the number stays kept), then SMS on a new one.
    let r = s
        .post(
            "/v1/two-factor/switch",
            Some(&token),
            json!({"method": "authenticator", "password": PASSWORD}),
        )
        .await;
    let secret = r.ok()["authenticator"]["secret_base32"]
        .as_str()
        .unwrap()
        .to_string();
    let now = s.now().await;
    s.post(
        "/v1/two-factor/authenticator/confirm",
        Some(&token),
        json!({"code": oathtool(&secret, now)}),
    )
    .await
    .ok();
    s.advance(31).await;
    assert_eq!(
        setup("+14155550188").await.ok()["phone_hint"],
        "+1••••••0188"
    );
    let r = s
        .post(
            "/v1/two-factor/sms/confirm",
            Some(&token),
            json!({"code": s.last_sms_code("+14155550188")}),
        )
        .await;
    assert_eq!(r.ok()["method"], "sms");
    let state = s.get("/v1/two-factor", Some(&token)).await;
    assert_eq!(state.ok()["phone_hint"], "+1••••••0188");
}
