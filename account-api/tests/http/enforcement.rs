use serde_json::json;
use shared::api::AccountRole;

use crate::common::{Server, PASSWORD};

#[tokio::test(flavor = "multi_thread")]
async fn only_owners_read_and_set_enforcement() {
    let s = Server::start().await;
    s.user("own@example.com");
    s.user("mem@example.com");
    s.user("out@example.com");
    let id = s.account("Acme");
    s.member("Acme", "own@example.com", AccountRole::Owner);
    s.member("Acme", "mem@example.com", AccountRole::Member);
    let owner = s.session("own@example.com").await;
    let member = s.session("mem@example.com").await;
    let outsider = s.session("out@example.com").await;
    let path = format!("/v1/accounts/{id}/enforcement");

    let r = s.get(&path, Some(&owner)).await;
    assert_eq!(r.ok()["enforce_2fa"], false);
    for who in [&member, &outsider] {
        s.get(&path, Some(who)).await.err(403, "forbidden");
        let r = s
            .send(
                reqwest::Method::PUT,
                &path,
                Some(who),
                Some(json!({"enforce_2fa": true})),
            )
            .await;
        r.err(403, "forbidden");
    }
    let accounts = s.get("/v1/accounts", Some(&member)).await;
    assert_eq!(accounts.ok()["accounts"][0]["role"], "member");
    assert!(accounts.body["accounts"][0].get("enforce_2fa").is_none());
    let accounts = s.get("/v1/accounts", Some(&owner)).await;
    assert_eq!(accounts.ok()["accounts"][0]["role"], "owner");
    assert_eq!(accounts.body["accounts"][0]["enforce_2fa"], false);

    let r = s
        .send(
            reqwest::Method::PUT,
            &path,
            Some(&owner),
            Some(json!({"enforce_2fa": true})),
        )
        .await;
    assert_eq!(r.ok()["enforce_2fa"], true);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'enforcement_changed'"),
        1
    );

    // The member's existing session is restricted on its next request.
    s.get("/v1/accounts", Some(&member))
        .await
        .err(403, "setup_required");
    let state = s.get("/v1/two-factor", Some(&member)).await;
    assert_eq!(state.ok()["setup_only"], true);
    assert_eq!(state.body["required_by"], json!(["Acme"]));
    // So is the owner's own (they have no 2FA either)...
    s.get(&path, Some(&owner)).await.err(403, "setup_required");
    // ...until they set it up; then they read the setting they made.
    s.enroll_authenticator(&owner).await;
    assert_eq!(s.get(&path, Some(&owner)).await.ok()["enforce_2fa"], true);
    // The outsider is not affected.
    s.get("/v1/accounts", Some(&outsider)).await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn one_enforcing_account_of_several_forces_setup_and_forbids_disable() {
    let s = Server::start().await;
    s.user("sam@example.com");
    s.account("Relaxed");
    s.account("Strict");
    s.member("Relaxed", "sam@example.com", AccountRole::Owner);
    s.member("Strict", "sam@example.com", AccountRole::Member);
    s.enforce("Strict", true);

    let r = s.sign_in("sam@example.com").await;
    assert_eq!(r.ok()["status"], "two_factor_setup_required");
    assert_eq!(r.body["required_by"], json!(["Strict"]));
    let token = r.body["session_token"].as_str().unwrap().to_string();
    // Nothing but setup: not even the relaxed account they own.
    s.get("/v1/accounts", Some(&token))
        .await
        .err(403, "setup_required");
    s.get("/v1/trusted-devices", Some(&token))
        .await
        .err(403, "setup_required");
    s.post("/v1/handoff", Some(&token), json!({}))
        .await
        .err(403, "setup_required");
    let state = s.get("/v1/two-factor", Some(&token)).await;
    assert_eq!(state.ok()["required"], true);

    let (secret, _) = s.enroll_authenticator(&token).await;
    let accounts = s.get("/v1/accounts", Some(&token)).await;
    assert_eq!(accounts.ok()["accounts"].as_array().unwrap().len(), 2);

    // Disable is refused while enforced, even with the password.
    let r = s
        .post(
            "/v1/two-factor/disable",
            Some(&token),
            json!({"password": PASSWORD, "confirm": true}),
        )
        .await;
    r.err(403, "not_allowed_while_enforced");
    assert!(r.message().contains("Strict"));
    // Later sign-ins ask for the code.
    let fresh = s.sign_in_totp("sam@example.com", &secret).await;
    s.get("/v1/accounts", Some(&fresh)).await.ok();
    // Once no account enforces, disable works.
    s.enforce("Strict", false);
    let r = s
        .post(
            "/v1/two-factor/disable",
            Some(&fresh),
            json!({"password": PASSWORD, "confirm": true}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
}
