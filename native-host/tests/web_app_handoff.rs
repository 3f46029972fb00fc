//! The web app's requests through the real host, over real pipes, to the
//! real API: a first `create_handoff` waits for the person's answer in the
//! popup, and a handoff of another person never switches who is signed in,
//! nor replaces this computer's trusted-device token, without it.

mod account_support;

use account_support::{totp_at, Api, Host, Profile, PASSWORD};
use dialer_2fa_host::secrets::SecretKind;
use serde_json::{json, Value};

const WEB_APP: &str = "http://127.0.0.1:8787";

fn sign_in(email: &str) -> Value {
    json!({"type": "sign_in", "email": email, "password": PASSWORD})
}

fn who(host: &mut Host) -> Value {
    host.ok(json!({"type": "session"}))["email"].clone()
}

fn prompt(host: &mut Host) -> Value {
    host.ok(json!({"type": "web_app_prompt"}))["prompt"].clone()
}

/// Turns the authenticator on for the signed-in person, then signs in again
/// with "remember this computer", so the keyring holds a device token.
fn enroll_and_remember(api: &Api, host: &mut Host, email: &str) {
    let r = host.ok(sign_in(email));
    assert_eq!(r["status"], "signed_in", "{}", r);
    let setup = host.ok(json!({"type": "authenticator_setup"}));
    let key = setup["secret_base32"].as_str().unwrap().to_string();
    let now = api.advance_clock(0);
    host.ok(json!({"type": "authenticator_confirm", "code": totp_at(&key, now)}));
    host.ok(json!({"type": "sign_out"}));
    let r = host.ok(sign_in(email));
    assert_eq!(r["status"], "two_factor_required", "{}", r);
    let now = api.advance_clock(30);
    let r = host.ok(
        json!({"type": "answer_challenge", "code": totp_at(&key, now), "remember_device": true}),
    );
    assert_eq!(r["status"], "signed_in", "{}", r);
}

/// A handoff code of the person signed in on `host`, allowed once.
fn code_from(host: &mut Host) -> String {
    let request = json!({"type": "create_handoff", "origin": WEB_APP});
    let reply = host.call(request.clone());
    if reply["ok"] == true {
        return reply["result"]["code"].as_str().unwrap().to_string();
    }
    assert_eq!(reply["error"]["code"], "consent_required", "{}", reply);
    host.ok(json!({"type": "answer_web_app_prompt", "allow": true}));
    host.ok(request)["code"].as_str().unwrap().to_string()
}

#[test]
fn the_first_handoff_request_waits_for_the_persons_allow_in_the_popup() {
    let api = Api::start();
    api.create_user("ann@example.com");
    let profile = Profile::new(&api.url);
    let mut host = profile.host();
    host.ok(sign_in("ann@example.com"));
    assert_eq!(prompt(&mut host), Value::Null);

    let request = json!({"type": "create_handoff", "origin": WEB_APP});
    let (code, message) = host.err(request.clone());
    assert_eq!(code, "consent_required");
    assert!(message.contains("toolbar"), "{}", message);
    assert_eq!(
        prompt(&mut host),
        json!({"kind": "sign_in", "origin": WEB_APP, "email": "ann@example.com"})
    );

    // Deny: nothing remembered, the next request asks again.
    let s = host.ok(json!({"type": "answer_web_app_prompt", "allow": false}));
    assert_eq!(s["email"], "ann@example.com");
    assert_eq!(prompt(&mut host), Value::Null);
    let (code, _) = host.err(request.clone());
    assert_eq!(code, "consent_required");

    // Allow: a code now and later, in another host process too.
    host.ok(json!({"type": "answer_web_app_prompt", "allow": true}));
    let minted = host.ok(request.clone());
    assert!(minted["code"].as_str().unwrap().starts_with("hof_"));
    drop(host);
    let mut host = profile.host();
    host.ok(request);
    // Answering with nothing waiting is an error, not a permission.
    let (code, _) = host.err(json!({"type": "answer_web_app_prompt", "allow": true}));
    assert_eq!(code, "not_found");

    // The permission is for that origin and that person only.
    let (code, _) = host.err(json!({"type": "create_handoff", "origin": "http://127.0.0.1:9"}));
    assert_eq!(code, "consent_required");
    host.ok(json!({"type": "answer_web_app_prompt", "allow": false}));
    api.create_user("ben@example.com");
    host.ok(sign_in("ben@example.com"));
    let (code, _) = host.err(json!({"type": "create_handoff", "origin": WEB_APP}));
    assert_eq!(code, "consent_required");
}

#[test]
fn another_persons_handoff_waits_for_the_switch_and_never_takes_the_device_token() {
    let api = Api::start();
    api.create_user("amy@example.com");
    api.create_user("mal@example.com");
    let home = Profile::new(&api.url);
    let mut host = home.host();
    enroll_and_remember(&api, &mut host, "amy@example.com");
    let session = home.secret(SecretKind::SessionToken).unwrap();
    let device = home.secret(SecretKind::TrustedDeviceToken).unwrap();

    // Someone else's client, trusted too, so its codes carry a device token.
    let elsewhere = Profile::new(&api.url);
    let mut other = elsewhere.host();
    enroll_and_remember(&api, &mut other, "mal@example.com");

    // Offered: redeemed, but held; nothing changed here.
    let offer = |code: String| json!({"type": "redeem_handoff", "code": code, "origin": WEB_APP});
    let (code, message) = host.err(offer(code_from(&mut other)));
    assert_eq!(code, "consent_required");
    assert!(
        !message.contains("mal@"),
        "the page must not learn who: {}",
        message
    );
    assert_eq!(who(&mut host), "amy@example.com");
    assert_eq!(home.secret(SecretKind::SessionToken).unwrap(), session);
    assert_eq!(home.secret(SecretKind::TrustedDeviceToken).unwrap(), device);
    assert_eq!(
        prompt(&mut host),
        json!({"kind": "switch", "origin": WEB_APP, "from": "amy@example.com", "to": "mal@example.com"})
    );

    // Deny: still Amy, nothing waiting.
    let s = host.ok(json!({"type": "answer_web_app_prompt", "allow": false}));
    assert_eq!(s["email"], "amy@example.com");
    assert_eq!(prompt(&mut host), Value::Null);
    assert_eq!(home.secret(SecretKind::SessionToken).unwrap(), session);

    // Confirmed: Mal is signed in, but Amy's device token stays.
    host.err(offer(code_from(&mut other)));
    let s = host.ok(json!({"type": "answer_web_app_prompt", "allow": true}));
    assert_eq!(s["email"], "mal@example.com", "{}", s);
    assert_eq!(who(&mut host), "mal@example.com");
    assert_eq!(home.secret(SecretKind::TrustedDeviceToken).unwrap(), device);

    // Mal's own later offer is taken at once, still without replacing
    // the device token of another person.
    let s = host.ok(offer(code_from(&mut other)));
    assert_eq!(s["email"], "mal@example.com");
    assert_eq!(home.secret(SecretKind::TrustedDeviceToken).unwrap(), device);
    assert_eq!(prompt(&mut host), Value::Null);
}

#[test]
fn the_same_persons_handoff_is_taken_at_once_with_the_computers_trust() {
    let api = Api::start();
    api.create_user("sal@example.com");
    let home = Profile::new(&api.url);
    let mut host = home.host();
    host.ok(sign_in("sal@example.com"));
    let elsewhere = Profile::new(&api.url);
    let mut other = elsewhere.host();
    enroll_and_remember(&api, &mut other, "sal@example.com");
    let s = host
        .ok(json!({"type": "redeem_handoff", "code": code_from(&mut other), "origin": WEB_APP}));
    assert_eq!(s["email"], "sal@example.com");
    assert!(home.secret(SecretKind::TrustedDeviceToken).is_some());
    assert_eq!(prompt(&mut host), Value::Null);
}
