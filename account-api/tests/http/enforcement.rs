use serde_json::json;
use shared::api::AccountRole;

use crate::common::{Resp, Server, PASSWORD};

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
                Some(json!({"enforce_2fa": true, "password": PASSWORD})),
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
            Some(json!({"enforce_2fa": true, "password": PASSWORD})),
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

fn notifications_to(s: &Server, email: &str) -> i64 {
    s.conn()
        .query_row(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'notification' AND recipient = ?1
             AND body LIKE '%Enforce 2FA%'",
            account_api::params![email],
            |r| r.get(0),
        )
        .unwrap()
}

async fn put_enforcement(s: &Server, id: i64, token: &str, body: serde_json::Value) -> Resp {
    s.send(
        reqwest::Method::PUT,
        &format!("/v1/accounts/{id}/enforcement"),
        Some(token),
        Some(body),
    )
    .await
}

/// Issue 9, item 7: the toggle asks for the password, is audited, and
/// every owner hears of it, not only the one who flipped it.
#[tokio::test(flavor = "multi_thread")]
async fn enforcement_needs_the_password_and_notifies_every_owner() {
    let s = Server::start().await;
    for who in ["ann@example.com", "ben@example.com", "cy@example.com"] {
        s.user(who);
    }
    let id = s.account("Acme");
    s.member("Acme", "ann@example.com", AccountRole::Owner);
    s.member("Acme", "ben@example.com", AccountRole::Owner);
    s.member("Acme", "cy@example.com", AccountRole::Member);
    let ann = s.session("ann@example.com").await;
    s.enroll_authenticator(&ann).await;
    let path = format!("/v1/accounts/{id}/enforcement");

    // What the settings page shows before turning it on: two of three
    // people lack 2FA, and the owner asking has it.
    let r = s.get(&path, Some(&ann)).await;
    assert_eq!(r.ok()["members_without_two_factor"], 2);
    assert_eq!(r.body["caller_two_factor_enabled"], true);
    let list = s.get("/v1/accounts", Some(&ann)).await;
    assert_eq!(list.ok()["accounts"][0]["members_without_two_factor"], 2);

    // Without the password, with an empty one, with a wrong one: refused.
    put_enforcement(&s, id, &ann, json!({"enforce_2fa": true}))
        .await
        .err(400, "bad_request");
    put_enforcement(&s, id, &ann, json!({"enforce_2fa": true, "password": ""}))
        .await
        .err(400, "bad_request");
    put_enforcement(
        &s,
        id,
        &ann,
        json!({"enforce_2fa": true, "password": "not the password"}),
    )
    .await
    .err(401, "invalid_credentials");
    assert_eq!(s.get(&path, Some(&ann)).await.ok()["enforce_2fa"], false);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'enforcement_changed'"),
        0
    );
    assert_eq!(notifications_to(&s, "ann@example.com"), 0);

    // With the password: on, one audit row, one notice to each owner.
    let r = put_enforcement(
        &s,
        id,
        &ann,
        json!({"enforce_2fa": true, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.ok()["enforce_2fa"], true);
    assert_eq!(r.body["members_without_two_factor"], 2);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'enforcement_changed'"),
        1
    );
    let (who, detail): (i64, String) = s
        .conn()
        .query_row(
            "SELECT user_id, detail FROM audit_log WHERE event = 'enforcement_changed'",
            account_api::params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(detail, format!("account {id} (Acme): on"));
    let ann_id: i64 = s
        .conn()
        .query_row(
            "SELECT id FROM users WHERE email = 'ann@example.com'",
            account_api::params![],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(who, ann_id);
    assert_eq!(notifications_to(&s, "ann@example.com"), 1);
    assert_eq!(notifications_to(&s, "ben@example.com"), 1);
    assert_eq!(
        notifications_to(&s, "cy@example.com"),
        0,
        "members are not owners"
    );

    // Off again, also with the password only; every owner hears again.
    put_enforcement(&s, id, &ann, json!({"enforce_2fa": false}))
        .await
        .err(400, "bad_request");
    let r = put_enforcement(
        &s,
        id,
        &ann,
        json!({"enforce_2fa": false, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.ok()["enforce_2fa"], false);
    assert_eq!(notifications_to(&s, "ann@example.com"), 2);
    assert_eq!(notifications_to(&s, "ben@example.com"), 2);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'enforcement_changed'"),
        2
    );
}
