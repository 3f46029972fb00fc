use serde_json::json;

use crate::common::{oathtool, Server, PASSWORD};

/// Signs in with the authenticator and "remember this device"; returns
/// (session, device token, trusted_until).
async fn remember(s: &Server, email: &str, secret: &str) -> (String, String, i64) {
    let r = s.sign_in(email).await;
    let challenge = r.ok()["challenge_token"].as_str().unwrap().to_string();
    let now = s.now().await;
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": challenge, "code": oathtool(secret, now), "remember_device": true, "device_label": "Chrome on Linux"}),
        )
        .await;
    let body = r.ok().clone();
    s.advance(30).await;
    let until = body["trusted_until"].as_i64().unwrap();
    assert!(until >= now + 60 * 86_400 && until <= now + 60 * 86_400 + 5);
    (
        body["session_token"].as_str().unwrap().to_string(),
        body["trusted_device_token"].as_str().unwrap().to_string(),
        until,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn trust_skips_the_code_for_60_days_and_expires_on_day_61() {
    let s = Server::start().await;
    s.user("ola@example.com");
    let token = s.session("ola@example.com").await;
    let (secret, _) = s.enroll_authenticator(&token).await;
    let (session, device, until) = remember(&s, "ola@example.com", &secret).await;
    assert!(device.starts_with("dev_"));
    let state = s.get("/v1/two-factor", Some(&session)).await;
    assert_eq!(state.ok()["verified_until"], until);

    // Day 59: the password and the device token are enough.
    s.advance(59 * 86_400).await;
    let r = s.sign_in_with_device("ola@example.com", &device).await;
    assert_eq!(r.ok()["status"], "authenticated", "{}", r.body);
    assert_eq!(r.body["verified_until"], until);
    // A wrong password with the device token is still a wrong password.
    let r = s
        .post("/v1/sign-in", None, json!({"email": "ola@example.com", "password": "nope-nope", "trusted_device_token": device}))
        .await;
    r.err(401, "invalid_credentials");
    // Another user's password with this token does not skip their code.
    s.user("pip@example.com");
    let pip = s.session("pip@example.com").await;
    s.enroll_authenticator(&pip).await;
    let r = s.sign_in_with_device("pip@example.com", &device).await;
    assert_eq!(r.ok()["status"], "two_factor_required");

    // Day 61: the code is asked again.
    s.advance(2 * 86_400).await;
    let r = s.sign_in_with_device("ola@example.com", &device).await;
    assert_eq!(r.ok()["status"], "two_factor_required");
}

#[tokio::test(flavor = "multi_thread")]
async fn devices_are_listed_and_revocable_and_password_change_revokes_them() {
    let s = Server::start().await;
    s.user("quin@example.com");
    let token = s.session("quin@example.com").await;
    let (secret, _) = s.enroll_authenticator(&token).await;
    let (session, device_a, _) = remember(&s, "quin@example.com", &secret).await;
    let (_, device_b, _) = remember(&s, "quin@example.com", &secret).await;

    let list = s.get("/v1/trusted-devices", Some(&session)).await;
    let devices = list.ok()["devices"].as_array().unwrap().clone();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["label"], "Chrome on Linux");
    assert_eq!(devices[0]["current"], true);
    assert_eq!(devices[1]["current"], false);
    let b_id = devices[1]["id"].as_i64().unwrap();

    let r = s
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/trusted-devices/{b_id}"),
            Some(&session),
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
    let r = s
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/trusted-devices/{b_id}"),
            Some(&session),
            None,
        )
        .await;
    r.err(404, "not_found");
    let r = s.sign_in_with_device("quin@example.com", &device_b).await;
    assert_eq!(r.ok()["status"], "two_factor_required");
    let r = s.sign_in_with_device("quin@example.com", &device_a).await;
    assert_eq!(r.ok()["status"], "authenticated");

    // A password change revokes the rest.
    let r = s
        .post(
            "/v1/password",
            Some(&session),
            json!({"current_password": PASSWORD, "new_password": "another long password"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
    let r = s
        .post("/v1/sign-in", None, json!({"email": "quin@example.com", "password": "another long password", "trusted_device_token": device_a}))
        .await;
    assert_eq!(r.ok()["status"], "two_factor_required");
    let list = s.get("/v1/trusted-devices", Some(&session)).await;
    assert_eq!(list.ok()["devices"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn disable_needs_confirmation_and_password_and_clears_everything() {
    let s = Server::start().await;
    s.user("rae@example.com");
    let token = s.session("rae@example.com").await;
    let (secret, codes) = s.enroll_authenticator(&token).await;
    let (session, device, _) = remember(&s, "rae@example.com", &secret).await;
    let r = s
        .post(
            "/v1/two-factor/disable",
            Some(&session),
            json!({"password": PASSWORD}),
        )
        .await;
    r.err(400, "confirmation_required");
    let r = s
        .post(
            "/v1/two-factor/disable",
            Some(&session),
            json!({"password": "not-my-password", "confirm": true}),
        )
        .await;
    r.err(401, "invalid_credentials");
    let r = s
        .post(
            "/v1/two-factor/disable",
            Some(&session),
            json!({"password": PASSWORD, "confirm": true}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    let state = s.get("/v1/two-factor", Some(&session)).await;
    let state = state.ok();
    assert_eq!(state["enabled"], false);
    assert!(state.get("method").is_none());
    assert!(state.get("phone_hint").is_none());
    assert_eq!(state["recovery_codes_remaining"], 0);
    assert!(state.get("verified_until").is_none());
    assert_eq!(s.count("SELECT COUNT(*) FROM recovery_codes"), 0);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM trusted_devices WHERE revoked_at IS NULL"),
        0
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM users WHERE totp_secret IS NOT NULL OR phone IS NOT NULL OR tfa_method IS NOT NULL"),
        0
    );
    let r = s
        .post(
            "/v1/two-factor/disable",
            Some(&session),
            json!({"password": PASSWORD, "confirm": true}),
        )
        .await;
    r.err(409, "two_factor_not_enabled");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'two_factor_disabled'"),
        1
    );
    assert_eq!(
        s.count(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'notification' AND body LIKE '%turned off%'"
        ),
        1
    );
    // Turned on again, the old recovery codes and the old remembered
    // device are dead: the device is asked for a code, and no old code
    // answers it.
    let (_, new_codes) = s.enroll_authenticator(&session).await;
    assert!(codes.iter().all(|c| !new_codes.contains(c)));
    let r = s.sign_in_with_device("rae@example.com", &device).await;
    assert_eq!(r.ok()["status"], "two_factor_required", "{}", r.body);
    let challenge = r.body["challenge_token"].as_str().unwrap().to_string();
    for old in &codes[..3] {
        let r = s
            .post(
                "/v1/sign-in/challenge",
                None,
                json!({"challenge_token": challenge, "recovery_code": old}),
            )
            .await;
        r.err(401, "invalid_code");
    }
    // The challenge itself is good: a new code answers it.
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": challenge, "recovery_code": new_codes[0]}),
        )
        .await;
    assert!(r.ok()["session_token"].as_str().is_some());
}
