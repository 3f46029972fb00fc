//! No message can change the host's API address: the address comes only
//! from the host config `install` wrote. Every message type is sent with an
//! `api_url` (and other fields the protocol does not know) pointing at a
//! listener the test controls; the replies come from the real API, and the
//! listener never sees a connection.

mod account_support;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use account_support::{totp_at, Api, Host, Profile, PASSWORD};
use serde_json::{json, Value};

/// A loopback listener that counts the connections it accepts.
struct Decoy {
    url: String,
    accepted: Arc<AtomicUsize>,
}

impl Decoy {
    fn start() -> Decoy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                count.fetch_add(1, Ordering::SeqCst);
                // Hold it briefly and close: no answer is ever given.
                drop(stream);
            }
        });
        Decoy { url, accepted }
    }

    fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Every field name a careless host might take an address from, plus
/// fields no version of the protocol has.
fn with_extras(mut request: Value, decoy: &str) -> Value {
    let extras = json!({
        "api_url": decoy,
        "apiUrl": decoy,
        "api_base": decoy,
        "base_url": decoy,
        "url": decoy,
        "api": {"url": decoy},
        "config": {"api_url": decoy, "allowed_origins": ["chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"]},
        "allowed_origins": ["chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"],
        "x_future_field": [1, 2, 3],
    });
    for (k, v) in extras.as_object().unwrap() {
        request[k] = v.clone();
    }
    request
}

/// Sends `request` with the extras. A host may refuse the extras
/// (`invalid_request`) or ignore them; either is fine, but a refused one is
/// sent again without them so the flow can go on. Returns the reply that
/// counts and the number of refusals (0 or 1).
fn call(host: &mut Host, request: Value, decoy: &Decoy, refused: &mut Vec<String>) -> Value {
    let kind = request["type"].as_str().unwrap().to_string();
    let reply = host.call(with_extras(request.clone(), &decoy.url));
    assert_eq!(
        decoy.connections(),
        0,
        "{} with an api_url made the host connect to it: {}",
        kind,
        reply
    );
    if reply["ok"] == false && reply["error"]["code"] == "invalid_request" {
        refused.push(kind);
        return host.call(request);
    }
    reply
}

fn ok(reply: Value) -> Value {
    assert_eq!(reply["ok"], true, "{}", reply);
    reply["result"].clone()
}

fn err(reply: &Value) -> &str {
    assert_eq!(reply["ok"], false, "{}", reply);
    reply["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn no_message_can_change_the_api_address() {
    let api = Api::start();
    api.create_user("amy@example.com");
    api.create_user("ben@example.com");
    api.admin(&["account", "create", "--name", "Initech"]);
    api.admin(&[
        "membership",
        "add",
        "--account",
        "Initech",
        "--email",
        "amy@example.com",
        "--role",
        "owner",
    ]);
    let version = api.health()["version"].as_str().unwrap().to_string();
    let decoy = Decoy::start();
    let mut refused = Vec::new();

    let profile = Profile::new(&api.url);
    let mut host = profile.host();
    // `hello` (again, now with the decoy).
    let r = call(
        &mut host,
        json!({"type": "hello", "protocol": 1}),
        &decoy,
        &mut refused,
    );
    assert_eq!(ok(r)["protocol"], 1);

    // status: the address and version are the real API's.
    let r = ok(call(
        &mut host,
        json!({"type": "status"}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["api"]["url"], api.url.as_str(), "{}", r);
    assert_eq!(r["api"]["reachable"], true, "{}", r);
    assert_eq!(r["api"]["version"], version.as_str(), "{}", r);

    // Sign-in and the authenticator, all answered by the real API.
    let r = call(
        &mut host,
        json!({"type": "sign_in", "email": "amy@example.com", "password": PASSWORD}),
        &decoy,
        &mut refused,
    );
    assert_eq!(ok(r)["status"], "signed_in");
    let r = ok(call(
        &mut host,
        json!({"type": "session"}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["email"], "amy@example.com", "{}", r);
    let setup = ok(call(
        &mut host,
        json!({"type": "authenticator_setup"}),
        &decoy,
        &mut refused,
    ));
    let key = setup["secret_base32"].as_str().unwrap().to_string();
    let now = api.advance_clock(0);
    let done = ok(call(
        &mut host,
        json!({"type": "authenticator_confirm", "code": totp_at(&key, now)}),
        &decoy,
        &mut refused,
    ));
    let recovery: Vec<String> = serde_json::from_value(done["recovery_codes"].clone()).unwrap();

    // The vault (local, but the same rule: no message carries an address).
    let r = ok(call(
        &mut host,
        json!({"type": "vault_save", "account": "amy@example.com", "codes": recovery}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["saved"], 10);
    let list = ok(call(
        &mut host,
        json!({"type": "vault_list", "account": "amy@example.com"}),
        &decoy,
        &mut refused,
    ));
    let first = list["entries"][0]["id"].as_u64().unwrap();
    let r = ok(call(
        &mut host,
        json!({"type": "vault_reveal", "code_id": first}),
        &decoy,
        &mut refused,
    ));
    assert!(recovery.contains(&r["code"].as_str().unwrap().to_string()));

    // Account and 2FA management.
    let accounts = ok(call(
        &mut host,
        json!({"type": "list_accounts"}),
        &decoy,
        &mut refused,
    ));
    let initech = accounts["accounts"][0]["id"].as_i64().unwrap();
    let r = ok(call(
        &mut host,
        json!({"type": "set_enforcement", "account_id": initech, "enforce_2fa": true, "password": PASSWORD}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["enforce_2fa"], true);
    let r = ok(call(
        &mut host,
        json!({"type": "regenerate_recovery_codes", "password": PASSWORD}),
        &decoy,
        &mut refused,
    ));
    let recovery: Vec<String> = serde_json::from_value(r["codes"].clone()).unwrap();
    let r = call(
        &mut host,
        json!({"type": "switch_method", "method": "sms", "password": PASSWORD}),
        &decoy,
        &mut refused,
    );
    assert_eq!(err(&r), "invalid_phone", "the API's answer: no kept number");

    // Sign out, a challenge answered with "remember this device", and the
    // device listed and revoked.
    let r = ok(call(
        &mut host,
        json!({"type": "sign_out"}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["signed_in"], false);
    let r = ok(call(
        &mut host,
        json!({"type": "sign_in", "email": "amy@example.com", "password": PASSWORD}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["status"], "two_factor_required", "{}", r);
    let now = api.advance_clock(30);
    let r = ok(call(
        &mut host,
        json!({"type": "answer_challenge", "code": totp_at(&key, now), "remember_device": true}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["status"], "signed_in", "{}", r);
    let devices = ok(call(
        &mut host,
        json!({"type": "list_trusted_devices"}),
        &decoy,
        &mut refused,
    ));
    let device = devices["devices"][0]["id"].as_i64().unwrap();
    let r = ok(call(
        &mut host,
        json!({"type": "revoke_trusted_device", "device_id": device}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r, json!({}));

    // A handoff, redeemed by a second client that also sends the decoy.
    // The web app's first request waits for the person's "Allow" in the
    // popup: the question, the prompt and the answer carry the decoy too.
    let web_app = "http://127.0.0.1:8787";
    let r = call(
        &mut host,
        json!({"type": "create_handoff", "origin": web_app}),
        &decoy,
        &mut refused,
    );
    assert_eq!(err(&r), "consent_required");
    let prompt = ok(call(
        &mut host,
        json!({"type": "web_app_prompt"}),
        &decoy,
        &mut refused,
    ));
    assert!(
        prompt["prompt"].is_object(),
        "a prompt waits for the person: {}",
        prompt
    );
    ok(call(
        &mut host,
        json!({"type": "answer_web_app_prompt", "allow": true}),
        &decoy,
        &mut refused,
    ));
    let handoff = ok(call(
        &mut host,
        json!({"type": "create_handoff", "origin": web_app}),
        &decoy,
        &mut refused,
    ));
    let second = Profile::new(&api.url);
    let mut host2 = second.host();
    let r = ok(call(
        &mut host2,
        json!({"type": "redeem_handoff", "code": handoff["code"], "origin": web_app}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["signed_in"], true, "{}", r);

    // SMS for a second person: setup, confirm, resend, answer.
    let phone = "+14155550142";
    let third = Profile::new(&api.url);
    let mut host3 = third.host();
    let r = ok(call(
        &mut host3,
        json!({"type": "sign_in", "email": "ben@example.com", "password": PASSWORD}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["status"], "signed_in", "{}", r);
    ok(call(
        &mut host3,
        json!({"type": "sms_setup", "phone": phone}),
        &decoy,
        &mut refused,
    ));
    let r = ok(call(
        &mut host3,
        json!({"type": "sms_confirm", "code": api.last_sms_code(phone)}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["method"], "sms");
    ok(call(
        &mut host3,
        json!({"type": "sign_out"}),
        &decoy,
        &mut refused,
    ));
    let r = ok(call(
        &mut host3,
        json!({"type": "sign_in", "email": "ben@example.com", "password": PASSWORD}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["method"], "sms", "{}", r);
    api.advance_clock(31);
    ok(call(
        &mut host3,
        json!({"type": "resend_sms"}),
        &decoy,
        &mut refused,
    ));
    let r = ok(call(
        &mut host3,
        json!({"type": "answer_challenge", "code": api.last_sms_code(phone)}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["status"], "signed_in", "{}", r);

    // Disable (refused by the API while Initech enforces 2FA), a recovery
    // code sign-in, sign-out everywhere, and the vault forgotten.
    let r = call(
        &mut host,
        json!({"type": "disable", "password": PASSWORD, "confirm": true}),
        &decoy,
        &mut refused,
    );
    assert_eq!(err(&r), "not_allowed_while_enforced");
    let r = ok(call(
        &mut host,
        json!({"type": "sign_out_everywhere"}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["signed_in"], false);
    ok(call(
        &mut host,
        json!({"type": "sign_in", "email": "amy@example.com", "password": PASSWORD}),
        &decoy,
        &mut refused,
    ));
    let r = ok(call(
        &mut host,
        json!({"type": "answer_challenge", "recovery_code": recovery[0]}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["session"]["two_factor"]["recovery_codes_remaining"], 9);
    let r = ok(call(
        &mut host,
        json!({"type": "vault_delete", "account": "amy@example.com"}),
        &decoy,
        &mut refused,
    ));
    assert_eq!(r["deleted"], 10);

    // The API saw all of it: its own audit log, read with its CLI.
    let events: Vec<String> = api
        .audit_rows()
        .iter()
        .map(|r| r["event"].as_str().unwrap_or("").to_string())
        .collect();
    for expected in [
        "two_factor_enabled",
        "enforcement_changed",
        "recovery_codes_regenerated",
        "trusted_device_added",
        "trusted_device_revoked",
        "handoff_redeemed",
        "signed_out_everywhere",
        "recovery_code_used",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{} missing from {:?}",
            expected,
            events
        );
    }

    // Nothing changed the config either, and a new host still uses it.
    assert_eq!(profile.host_config()["api_url"], api.url.as_str());
    let mut fresh = profile.host();
    let r = fresh.ok(json!({"type": "status"}));
    assert_eq!(r["api"]["url"], api.url.as_str());
    // Every call above waited for its reply, so a connection the host made
    // for one of them would be counted by now.
    assert_eq!(decoy.connections(), 0);
    // Today's host ignores unknown fields; refusing them would do as well.
    eprintln!("message types that refused the extra fields: {:?}", refused);
}
