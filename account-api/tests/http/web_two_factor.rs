//! The web app's own 2FA settings under `/web/` (issue 15): every flow of
//! My Account → Two-Factor Authentication and the owner's enforcement tab,
//! through cookies only, with the v1 rules and the v1 errors; and beside
//! each, the abuse: another origin, no cookie, a setup-only session, a
//! member on the owner's routes, a replayed code.

use reqwest::Method;
use serde_json::{json, Value};
use shared::api::AccountRole;

use crate::common::{oathtool, Server, PASSWORD};
use crate::web_client::Web;

const PHONE: &str = "+14155550171";

/// The flows these tests run from a tab, on top of the shared client.
impl Web<'_> {
    /// Signs in with the password only (no 2FA yet, or 2FA required and
    /// not set up): returns the outcome's status.
    async fn sign_in(&mut self, email: &str) -> String {
        let r = self
            .post(
                "/web/sign-in",
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        r.ok()["status"].as_str().unwrap().to_string()
    }

    /// Sets up the authenticator from this tab: returns the key and the
    /// recovery codes.
    async fn enroll_authenticator(&mut self) -> (String, Vec<String>) {
        let setup = self
            .post(
                "/web/two-factor/authenticator/setup",
                json!({"password": PASSWORD}),
            )
            .await;
        let secret = setup.ok()["secret_base32"].as_str().unwrap().to_string();
        assert!(setup.body["qr_png_base64"].as_str().unwrap().len() > 100);
        let code = oathtool(&secret, self.s.now().await);
        let done = self
            .post(
                "/web/two-factor/authenticator/confirm",
                json!({"code": code}),
            )
            .await;
        assert_eq!(done.ok()["method"], "authenticator");
        (secret, strings(&done.body["recovery_codes"]))
    }

    async fn two_factor(&mut self) -> Value {
        self.get("/web/session").await.ok()["two_factor"].clone()
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn authenticator_setup_shows_the_codes_once_and_its_code_cannot_be_replayed() {
    let s = Server::start().await;
    s.user("ava@example.com");
    let mut web = Web::new(&s);
    assert_eq!(web.sign_in("ava@example.com").await, "authenticated");
    // Confirm before any setup: the v1 conflict.
    web.post(
        "/web/two-factor/authenticator/confirm",
        json!({"code": "123456"}),
    )
    .await
    .err(409, "conflict");

    let setup = web
        .post(
            "/web/two-factor/authenticator/setup",
            json!({"password": PASSWORD}),
        )
        .await;
    let secret = setup.ok()["secret_base32"].as_str().unwrap().to_string();
    assert!(setup.body["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    let now = s.now().await;
    let code = oathtool(&secret, now);
    let done = web
        .post(
            "/web/two-factor/authenticator/confirm",
            json!({"code": code}),
        )
        .await;
    let codes = strings(&done.ok()["recovery_codes"]);
    assert_eq!(codes.len(), 10);
    let tf = web.two_factor().await;
    assert_eq!(tf["enabled"], true);
    assert_eq!(tf["method"], "authenticator");
    assert_eq!(tf["recovery_codes_remaining"], 10);
    // The codes are shown once: confirming again gives nothing new.
    web.post(
        "/web/two-factor/authenticator/confirm",
        json!({"code": code}),
    )
    .await
    .err(409, "conflict");

    // Replayed at sign-in in the same step, the setup's code is refused.
    let mut other = Web::new(&s);
    let r = other
        .post(
            "/web/sign-in",
            json!({"email": "ava@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.ok()["status"], "two_factor_required");
    let replay = other.post("/web/challenge", json!({"code": code})).await;
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert!(other.get("/web/session").await.status == 401);
    // One of the recovery codes shown at confirm signs in.
    other
        .post("/web/challenge", json!({"recovery_code": codes[0]}))
        .await
        .ok();
    assert_eq!(other.get("/web/session").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn sms_setup_resends_after_the_cooldown_and_confirms_with_the_newest_code() {
    let s = Server::start().await;
    s.user("ben@example.com");
    let mut web = Web::new(&s);
    web.sign_in("ben@example.com").await;
    web.post("/web/two-factor/sms/setup", json!({"phone": "+1 415 555"}))
        .await
        .err(400, "invalid_phone");
    let sent = web
        .post(
            "/web/two-factor/sms/setup",
            json!({"phone": PHONE, "password": PASSWORD}),
        )
        .await;
    assert_eq!(sent.ok()["phone_hint"], "+1••••••0171");
    let first = s.last_sms_code(PHONE);
    // Resend inside the cooldown: the v1 refusal. (While 2FA is off the
    // page resends with the number it was given, as the extension does.)
    let resend = json!({"phone": PHONE});
    web.post("/web/two-factor/sms/setup", resend.clone())
        .await
        .err(429, "resend_cooldown");
    s.advance(31).await;
    web.post("/web/two-factor/sms/setup", resend).await.ok();
    let second = s.last_sms_code(PHONE);
    assert_ne!(first, second, "the resend sent a new code");
    let done = web
        .post("/web/two-factor/sms/confirm", json!({"code": second}))
        .await;
    assert_eq!(done.ok()["method"], "sms");
    assert_eq!(strings(&done.body["recovery_codes"]).len(), 10);
    // Replayed, the used code confirms nothing.
    web.post("/web/two-factor/sms/confirm", json!({"code": second}))
        .await
        .err(409, "conflict");
    let tf = web.two_factor().await;
    assert_eq!(tf["method"], "sms");
    assert_eq!(tf["phone_hint"], "+1••••••0171");
}

#[tokio::test(flavor = "multi_thread")]
async fn switch_keeps_the_phone_then_disable_needs_the_confirmation_and_the_password() {
    let s = Server::start().await;
    s.user("cy@example.com");
    let mut web = Web::new(&s);
    web.sign_in("cy@example.com").await;
    web.post(
        "/web/two-factor/sms/setup",
        json!({"phone": PHONE, "password": PASSWORD}),
    )
    .await
    .ok();
    web.post(
        "/web/two-factor/sms/confirm",
        json!({"code": s.last_sms_code(PHONE)}),
    )
    .await
    .ok();

    // To the authenticator: needs the password, keeps the number.
    web.post(
        "/web/two-factor/switch",
        json!({"method": "authenticator", "password": "wrong password"}),
    )
    .await
    .err(401, "invalid_credentials");
    let started = web
        .post(
            "/web/two-factor/switch",
            json!({"method": "authenticator", "password": PASSWORD}),
        )
        .await;
    let secret = started.ok()["authenticator"]["secret_base32"]
        .as_str()
        .unwrap()
        .to_string();
    let done = web
        .post(
            "/web/two-factor/authenticator/confirm",
            json!({"code": oathtool(&secret, s.now().await)}),
        )
        .await;
    assert_eq!(
        strings(&done.ok()["recovery_codes"]).len(),
        0,
        "a switch keeps the old recovery codes"
    );
    let tf = web.two_factor().await;
    assert_eq!(tf["method"], "authenticator");
    assert_eq!(tf["phone_hint"], "+1••••••0171", "the number is kept");

    // Back to SMS without typing the number.
    s.advance(31).await;
    let back = web
        .post(
            "/web/two-factor/switch",
            json!({"method": "sms", "password": PASSWORD}),
        )
        .await;
    assert_eq!(back.ok()["sms"]["phone_hint"], "+1••••••0171");
    web.post(
        "/web/two-factor/sms/confirm",
        json!({"code": s.last_sms_code(PHONE)}),
    )
    .await
    .ok();
    assert_eq!(web.two_factor().await["method"], "sms");

    // Disable: the confirmation, then the password, then it is off.
    web.post(
        "/web/two-factor/disable",
        json!({"password": PASSWORD, "confirm": false}),
    )
    .await
    .err(400, "confirmation_required");
    web.post(
        "/web/two-factor/disable",
        json!({"password": "wrong password", "confirm": true}),
    )
    .await
    .err(401, "invalid_credentials");
    let off = web
        .post(
            "/web/two-factor/disable",
            json!({"password": PASSWORD, "confirm": true}),
        )
        .await;
    assert_eq!(off.status, 204, "{}", off.body);
    let tf = web.two_factor().await;
    assert_eq!(tf["enabled"], false);
    assert!(tf["phone_hint"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn disable_is_refused_while_required_with_the_same_reason_as_v1() {
    let s = Server::start().await;
    s.user("dee@example.com");
    s.account("Acme Dialing");
    s.member("Acme Dialing", "dee@example.com", AccountRole::Member);
    let mut web = Web::new(&s);
    web.sign_in("dee@example.com").await;
    let (secret, _) = web.enroll_authenticator().await;
    s.advance(30).await;
    s.enforce("Acme Dialing", true);
    let body = json!({"password": PASSWORD, "confirm": true});
    let refused = web.post("/web/two-factor/disable", body.clone()).await;
    refused.err(403, "not_allowed_while_enforced");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Acme Dialing"),
        "{}",
        refused.body
    );
    let tf = web.two_factor().await;
    assert_eq!(tf["enabled"], true);
    assert_eq!(tf["required_by"], json!(["Acme Dialing"]));
    // The same answer as the v1 route gives an API client.
    let token = s.sign_in_totp("dee@example.com", &secret).await;
    let v1 = s
        .post("/v1/two-factor/disable", Some(&token), body.clone())
        .await;
    assert_eq!(v1.status, refused.status);
    assert_eq!(v1.body, refused.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn new_recovery_codes_need_the_password_and_replace_the_old_ones() {
    let s = Server::start().await;
    s.user("eve@example.com");
    let mut web = Web::new(&s);
    web.sign_in("eve@example.com").await;
    // Nothing to replace before 2FA is on.
    web.post(
        "/web/two-factor/recovery-codes",
        json!({"password": PASSWORD}),
    )
    .await
    .err(409, "two_factor_not_enabled");
    let (_, old) = web.enroll_authenticator().await;
    web.post(
        "/web/two-factor/recovery-codes",
        json!({"password": "wrong password"}),
    )
    .await
    .err(401, "invalid_credentials");
    let fresh = web
        .post(
            "/web/two-factor/recovery-codes",
            json!({"password": PASSWORD}),
        )
        .await;
    let fresh = strings(&fresh.ok()["codes"]);
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !old.contains(c)));
    // An old code no longer signs in; a new one does.
    let mut other = Web::new(&s);
    assert_eq!(
        other.sign_in("eve@example.com").await,
        "two_factor_required"
    );
    other
        .post("/web/challenge", json!({"recovery_code": old[0]}))
        .await
        .err(401, "invalid_code");
    other
        .post("/web/challenge", json!({"recovery_code": fresh[0]}))
        .await
        .ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn trusted_computers_are_listed_and_revoked_only_by_their_person() {
    let s = Server::start().await;
    s.user("fay@example.com");
    s.user("gus@example.com");
    let mut web = Web::new(&s);
    web.sign_in("fay@example.com").await;
    let (secret, _) = web.enroll_authenticator().await;
    s.advance(30).await;
    // Sign in again remembering this computer.
    let mut remembered = Web::new(&s);
    assert_eq!(
        remembered.sign_in("fay@example.com").await,
        "two_factor_required"
    );
    remembered
        .post(
            "/web/challenge",
            json!({"code": oathtool(&secret, s.now().await), "remember_device": true}),
        )
        .await
        .ok();
    let list = remembered.get("/web/trusted-devices").await;
    let devices = list.ok()["devices"].as_array().unwrap().clone();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["current"], true);
    assert_eq!(devices[0]["label"], "web app");
    let id = devices[0]["id"].as_i64().unwrap();

    // Another person cannot revoke it (the v1 404, no probing).
    let mut gus = Web::new(&s);
    gus.sign_in("gus@example.com").await;
    gus.delete(&format!("/web/trusted-devices/{id}"))
        .await
        .err(404, "not_found");
    // Its person can, from another tab.
    let r = web.delete(&format!("/web/trusted-devices/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(web.get("/web/trusted-devices").await.ok()["devices"]
        .as_array()
        .unwrap()
        .is_empty());
    web.delete(&format!("/web/trusted-devices/{id}"))
        .await
        .err(404, "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_enforces_with_the_password_and_a_member_is_refused_the_owners_routes() {
    let s = Server::start().await;
    s.user("own@example.com");
    s.user("mem@example.com");
    let account = s.account("Acme Dialing");
    s.member("Acme Dialing", "own@example.com", AccountRole::Owner);
    s.member("Acme Dialing", "mem@example.com", AccountRole::Member);
    let mut owner = Web::new(&s);
    owner.sign_in("own@example.com").await;
    owner.enroll_authenticator().await;
    let path = format!("/web/accounts/{account}/enforcement");

    let accounts = owner.get("/web/accounts").await;
    assert_eq!(accounts.ok()["accounts"][0]["role"], "owner");
    assert_eq!(
        accounts.body["accounts"][0]["members_without_two_factor"],
        1
    );
    let view = owner.get(&path).await;
    assert_eq!(view.ok()["enforce_2fa"], false);
    assert_eq!(view.body["members_without_two_factor"], 1);
    assert_eq!(view.body["caller_two_factor_enabled"], true);
    owner
        .put(&path, json!({"enforce_2fa": true, "password": ""}))
        .await
        .err(400, "bad_request");
    owner
        .put(
            &path,
            json!({"enforce_2fa": true, "password": "wrong password"}),
        )
        .await
        .err(401, "invalid_credentials");
    assert_eq!(owner.get(&path).await.ok()["enforce_2fa"], false);

    // A member, signed in before enforcement, sees no owner's data.
    let mut member = Web::new(&s);
    member.sign_in("mem@example.com").await;
    let listed = member.get("/web/accounts").await;
    assert_eq!(listed.ok()["accounts"][0]["role"], "member");
    assert!(listed.body["accounts"][0]["enforce_2fa"].is_null());
    member.get(&path).await.err(403, "forbidden");
    member
        .put(&path, json!({"enforce_2fa": false, "password": PASSWORD}))
        .await
        .err(403, "forbidden");

    let on = owner
        .put(&path, json!({"enforce_2fa": true, "password": PASSWORD}))
        .await;
    assert_eq!(on.ok()["enforce_2fa"], true);
    let notices = s.count("SELECT COUNT(*) FROM outbox WHERE kind != 'sms'");
    assert!(notices >= 1, "every owner is notified");

    // The member's open session is now setup-only: the owner's routes and
    // everything but setup answer setup_required.
    let tf = member.two_factor().await;
    assert_eq!(tf["setup_only"], true);
    member.get(&path).await.err(403, "setup_required");
    member
        .put(&path, json!({"enforce_2fa": false, "password": PASSWORD}))
        .await
        .err(403, "setup_required");
    assert_eq!(owner.get(&path).await.ok()["enforce_2fa"], true);
}

/// The owner's tab says "N of M people have set up 2FA": `/web/accounts`
/// gives owners both counts, and they follow the members' setups.
fn counts(accounts: &Value, name: &str) -> (Value, Value, Value) {
    let a = accounts["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no account {name} in {accounts}"));
    (
        a["members_with_two_factor"].clone(),
        a["member_count"].clone(),
        a["members_without_two_factor"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owners_counts_follow_each_setup_and_members_get_no_counts() {
    let s = Server::start().await;
    for email in ["own@example.com", "ann@example.com", "bob@example.com"] {
        s.user(email);
    }
    s.user("outsider@example.com");
    let account = s.account("Acme Dialing");
    s.member("Acme Dialing", "own@example.com", AccountRole::Owner);
    s.member("Acme Dialing", "ann@example.com", AccountRole::Member);
    s.member("Acme Dialing", "bob@example.com", AccountRole::Member);
    let mut owner = Web::new(&s);
    owner.sign_in("own@example.com").await;
    let listed = owner.get("/web/accounts").await;
    assert_eq!(
        counts(listed.ok(), "Acme Dialing"),
        (json!(0), json!(3), json!(3))
    );
    owner.enroll_authenticator().await;
    let listed = owner.get("/web/accounts").await;
    assert_eq!(
        counts(listed.ok(), "Acme Dialing"),
        (json!(1), json!(3), json!(2))
    );

    // A member sets up 2FA: the owner's next look counts them.
    let mut ann = Web::new(&s);
    ann.sign_in("ann@example.com").await;
    ann.enroll_authenticator().await;
    let listed = owner.get("/web/accounts").await;
    assert_eq!(
        counts(listed.ok(), "Acme Dialing"),
        (json!(2), json!(3), json!(1))
    );
    // Someone outside the account changes nothing.
    let mut outsider = Web::new(&s);
    outsider.sign_in("outsider@example.com").await;
    outsider.enroll_authenticator().await;
    let listed = owner.get("/web/accounts").await;
    assert_eq!(
        counts(listed.ok(), "Acme Dialing"),
        (json!(2), json!(3), json!(1))
    );

    // A member, with or without 2FA, gets their role and no count at all,
    // and the owners' enforcement view is refused.
    let mut bob = Web::new(&s);
    bob.sign_in("bob@example.com").await;
    for member in [&mut ann, &mut bob] {
        let listed = member.get("/web/accounts").await;
        let only = &listed.ok()["accounts"][0];
        assert_eq!(only["role"], "member");
        let keys: Vec<&String> = only.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3, "only id, name and role: {only}");
        assert_eq!(
            counts(&listed.body, "Acme Dialing"),
            (Value::Null, Value::Null, Value::Null)
        );
        member
            .get(&format!("/web/accounts/{account}/enforcement"))
            .await
            .err(403, "forbidden");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_setup_only_session_may_set_up_2fa_and_nothing_else() {
    let s = Server::start().await;
    s.user("hal@example.com");
    s.account("Acme Dialing");
    s.member("Acme Dialing", "hal@example.com", AccountRole::Member);
    s.enforce("Acme Dialing", true);
    let mut web = Web::new(&s);
    assert_eq!(
        web.sign_in("hal@example.com").await,
        "two_factor_setup_required"
    );
    let pw = json!({"password": PASSWORD});
    for (method, path, body) in [
        (Method::GET, "/web/trusted-devices", None),
        (Method::GET, "/web/accounts", None),
        (
            Method::POST,
            "/web/two-factor/recovery-codes",
            Some(pw.clone()),
        ),
        (
            Method::POST,
            "/web/two-factor/disable",
            Some(json!({"password": PASSWORD, "confirm": true})),
        ),
        (
            Method::POST,
            "/web/two-factor/switch",
            Some(json!({"method": "sms", "password": PASSWORD})),
        ),
        (Method::DELETE, "/web/trusted-devices/1", None),
    ] {
        let origin = web.origin.clone();
        let r = web.send(method.clone(), path, body, Some(&origin)).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "setup_required", "{method} {path}");
    }
    // Setup itself works, and then the session is whole.
    web.enroll_authenticator().await;
    let tf = web.two_factor().await;
    assert_eq!(tf["setup_only"], false);
    web.get("/web/trusted-devices").await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_needs_the_pages_origin_and_a_session_cookie() {
    let s = Server::start().await;
    s.user("ida@example.com");
    let account = s.account("Acme Dialing");
    s.member("Acme Dialing", "ida@example.com", AccountRole::Owner);
    let enforcement = format!("/web/accounts/{account}/enforcement");
    let changes: Vec<(Method, &str, Value)> = vec![
        (
            Method::POST,
            "/web/two-factor/authenticator/setup",
            json!({"password": PASSWORD}),
        ),
        (
            Method::POST,
            "/web/two-factor/authenticator/confirm",
            json!({"code": "123456"}),
        ),
        (
            Method::POST,
            "/web/two-factor/sms/setup",
            json!({"phone": PHONE, "password": PASSWORD}),
        ),
        (
            Method::POST,
            "/web/two-factor/sms/confirm",
            json!({"code": "123456"}),
        ),
        (
            Method::POST,
            "/web/two-factor/switch",
            json!({"method": "sms", "password": PASSWORD}),
        ),
        (
            Method::POST,
            "/web/two-factor/disable",
            json!({"password": PASSWORD, "confirm": true}),
        ),
        (
            Method::POST,
            "/web/two-factor/recovery-codes",
            json!({"password": PASSWORD}),
        ),
        (Method::DELETE, "/web/trusted-devices/1", Value::Null),
        (
            Method::PUT,
            &enforcement,
            json!({"enforce_2fa": true, "password": PASSWORD}),
        ),
    ];
    let mut web = Web::new(&s);
    web.sign_in("ida@example.com").await;
    for (method, path, body) in &changes {
        let body = (!body.is_null()).then(|| body.clone());
        for foreign in [None, Some("http://localhost:1"), Some("http://127.0.0.2:9")] {
            let r = web.send(method.clone(), path, body.clone(), foreign).await;
            assert_eq!(r.status, 403, "{method} {path} from {foreign:?}");
            assert_eq!(r.body["error"]["code"], "forbidden", "{method} {path}");
        }
    }
    // Nothing changed: 2FA is off, no SMS went out, enforcement is off.
    assert_eq!(web.two_factor().await["enabled"], false);
    assert_eq!(s.count("SELECT COUNT(*) FROM outbox WHERE kind = 'sms'"), 0);
    assert_eq!(web.get(&enforcement).await.ok()["enforce_2fa"], false);

    // Without the cookie, from the right origin: 401 for every route.
    let mut stranger = Web::new(&s);
    for (method, path, body) in &changes {
        let body = (!body.is_null()).then(|| body.clone());
        let origin = stranger.origin.clone();
        let r = stranger
            .send(method.clone(), path, body, Some(&origin))
            .await;
        r.err(401, "unauthorized");
    }
    for path in [
        "/web/trusted-devices",
        "/web/accounts",
        enforcement.as_str(),
    ] {
        stranger.get(path).await.err(401, "unauthorized");
    }
}
