//! Every account request through the real host binary, over real pipes, to
//! the real account API on loopback, with tokens in a real Secret Service
//! (a private gnome-keyring per profile; see `account_support`).

mod account_support;

use std::time::{Duration, Instant};

use account_support::{certainly_wrong_code, totp_at, Api, Profile, PASSWORD};
use dialer_2fa_host::secrets::SecretKind;
use serde_json::json;

const DAY: i64 = 86_400;

fn sign_in(email: &str) -> serde_json::Value {
    json!({"type": "sign_in", "email": email, "password": PASSWORD})
}

/// Authenticator: enable, recovery code, remember device, 60-day trust
/// expiring on day 61, devices, switch refused, regenerate, disable,
/// handoff to a second client, sign-out everywhere, and no token in any
/// file the host wrote.
#[test]
fn authenticator_remember_device_handoff_and_sign_out_everywhere() {
    let api = Api::start();
    api.create_user("alice@example.com");
    let profile = Profile::new(&api.url);
    let mut host = profile.host();

    // Nobody signed in yet.
    let s = host.ok(json!({"type": "session"}));
    assert_eq!(s["signed_in"], false, "{}", s);

    // A wrong password is the API's typed error.
    let (code, _) = host.err(
        json!({"type": "sign_in", "email": "alice@example.com", "password": "nope nope nope"}),
    );
    assert_eq!(code, "invalid_credentials");

    // 2FA off: signed in at once.
    let r = host.ok(sign_in("alice@example.com"));
    assert_eq!(r["status"], "signed_in", "{}", r);
    assert_eq!(r["session"]["email"], "alice@example.com");
    assert_eq!(r["session"]["two_factor"]["enabled"], false);
    assert!(r.to_string().find("token").is_none(), "{}", r);

    // Authenticator setup right after sign-in needs no password again.
    let setup = host.ok(json!({"type": "authenticator_setup"}));
    let key = setup["secret_base32"].as_str().unwrap().to_string();
    assert!(setup["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    let now = api.advance_clock(0);
    let wrong = certainly_wrong_code(&key, now);
    let (code, _) = host.err(json!({"type": "authenticator_confirm", "code": wrong}));
    assert!(code == "invalid_code", "{}", code);
    let done = host.ok(json!({"type": "authenticator_confirm", "code": totp_at(&key, now)}));
    let recovery: Vec<String> = serde_json::from_value(done["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);
    // Keep them in the vault, so a recovery sign-in can mark one used (and
    // so there is a SQLite file to grep for tokens below).
    let saved =
        host.ok(json!({"type": "vault_save", "account": "alice@example.com", "codes": recovery}));
    assert_eq!(saved["saved"], 10);

    let s = host.ok(json!({"type": "session"}));
    assert_eq!(s["signed_in"], true);
    assert_eq!(s["two_factor"]["enabled"], true);
    assert_eq!(s["two_factor"]["method"], "authenticator");

    // Sign out keeps nothing but (here: no) device token.
    let s = host.ok(json!({"type": "sign_out"}));
    assert_eq!(s["signed_in"], false);
    assert_eq!(profile.secret(SecretKind::SessionToken), None);

    // Answering with nothing pending is a typed error.
    let (code, _) = host.err(json!({"type": "answer_challenge", "code": "123456"}));
    assert_eq!(code, "code_expired");

    // Challenge answered with a recovery code.
    let r = host.ok(sign_in("alice@example.com"));
    assert_eq!(r["status"], "two_factor_required", "{}", r);
    assert_eq!(r["method"], "authenticator");
    assert!(r.get("challenge_token").is_none());
    let r = host.ok(json!({"type": "answer_challenge", "recovery_code": recovery[0]}));
    assert_eq!(r["status"], "signed_in", "{}", r);
    assert_eq!(r["session"]["two_factor"]["recovery_codes_remaining"], 9);
    let vault = host.ok(json!({"type": "vault_list", "account": "alice@example.com"}));
    let used: Vec<u64> = vault["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["used"] == true)
        .map(|e| e["position"].as_u64().unwrap())
        .collect();
    assert_eq!(used, vec![1], "{}", vault);
    assert_eq!(profile.secret(SecretKind::TrustedDeviceToken), None);
    host.ok(json!({"type": "sign_out"}));

    // Challenge answered with a TOTP code and "remember this device".
    let r = host.ok(sign_in("alice@example.com"));
    assert_eq!(r["status"], "two_factor_required");
    let now = api.advance_clock(30);
    let wrong = certainly_wrong_code(&key, now);
    let (code, _) = host.err(json!({"type": "answer_challenge", "code": wrong}));
    assert_eq!(code, "invalid_code");
    let r = host.ok(
        json!({"type": "answer_challenge", "code": totp_at(&key, now), "remember_device": true}),
    );
    assert_eq!(r["status"], "signed_in", "{}", r);
    assert!(
        r["session"]["two_factor"]["verified_until"]
            .as_i64()
            .unwrap()
            > now + 59 * DAY
    );
    let session_token = profile
        .secret(SecretKind::SessionToken)
        .expect("session stored");
    let device_token = profile
        .secret(SecretKind::TrustedDeviceToken)
        .expect("device stored");
    assert!(!r.to_string().contains(&session_token));
    assert!(!r.to_string().contains(&device_token));

    // Sign out keeps the device token; signing in again skips the code.
    host.ok(json!({"type": "sign_out"}));
    assert_eq!(profile.secret(SecretKind::SessionToken), None);
    assert_eq!(
        profile.secret(SecretKind::TrustedDeviceToken).as_deref(),
        Some(device_token.as_str())
    );
    let r = host.ok(sign_in("alice@example.com"));
    assert_eq!(r["status"], "signed_in", "no challenge expected: {}", r);

    let devices = host.ok(json!({"type": "list_trusted_devices"}));
    let list = devices["devices"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", devices);
    assert_eq!(list[0]["current"], true);

    // A second host process of the same profile sees the same session.
    {
        let mut other = profile.host();
        let s = other.ok(json!({"type": "session"}));
        assert_eq!(s["signed_in"], true);
        assert_eq!(s["email"], "alice@example.com");
    }

    // Day 61: the device is no longer trusted.
    host.ok(json!({"type": "sign_out"}));
    let now = api.advance_clock(61 * DAY);
    let r = host.ok(sign_in("alice@example.com"));
    assert_eq!(
        r["status"], "two_factor_required",
        "trust must end on day 61: {}",
        r
    );
    let r = host.ok(json!({"type": "answer_challenge", "code": totp_at(&key, now)}));
    assert_eq!(r["status"], "signed_in", "{}", r);

    // Regenerate, switch (refused: no kept number), revoke, list accounts.
    let codes = host.ok(json!({"type": "regenerate_recovery_codes", "password": PASSWORD}));
    assert_eq!(codes["codes"].as_array().unwrap().len(), 10);
    let (code, _) =
        host.err(json!({"type": "switch_method", "method": "sms", "password": PASSWORD}));
    assert_eq!(code, "invalid_phone");
    let (code, _) = host.err(json!({"type": "revoke_trusted_device", "device_id": 999_999}));
    assert_eq!(code, "not_found");
    let done = host.ok(json!({"type": "revoke_trusted_device", "device_id": list[0]["id"]}));
    assert_eq!(done, json!({}));
    let accounts = host.ok(json!({"type": "list_accounts"}));
    assert_eq!(accounts["accounts"], json!([]));

    // Disable: refused without confirmation, then done; device token gone.
    let (code, _) = host.err(json!({"type": "disable", "password": PASSWORD, "confirm": false}));
    assert_eq!(code, "confirmation_required");
    let s = host.ok(json!({"type": "disable", "password": PASSWORD, "confirm": true}));
    assert_eq!(s["signed_in"], true);
    assert_eq!(s["two_factor"]["enabled"], false);
    assert_eq!(profile.secret(SecretKind::TrustedDeviceToken), None);

    // Handoff: a second client (its own keyring entries and files)
    // redeems this one's code.
    // The web app's first request waits for the person's "Allow" in the
    // popup (see web_app_handoff.rs for the refusals).
    let web_app = "http://127.0.0.1:8787";
    let (code, _) = host.err(json!({"type": "create_handoff", "origin": web_app}));
    assert_eq!(code, "consent_required");
    host.ok(json!({"type": "answer_web_app_prompt", "allow": true}));
    let handoff = host.ok(json!({"type": "create_handoff", "origin": web_app}));
    let handoff_code = handoff["code"].as_str().unwrap().to_string();
    let second = Profile::new(&api.url);
    let mut host2 = second.host();
    let (code, _) = host2.err(json!({"type": "redeem_handoff", "code": "not-a-code"}));
    assert_eq!(code, "invalid_code");
    let s = host2.ok(json!({"type": "redeem_handoff", "code": handoff_code}));
    assert_eq!(s["signed_in"], true, "{}", s);
    assert!(second.secret(SecretKind::SessionToken).is_some());

    // Secrets are nowhere in the files either host wrote (SQLite, cache,
    // config, log).
    let session_token = profile.secret(SecretKind::SessionToken).unwrap();
    profile.assert_absent_from_files(&session_token, "session token");
    profile.assert_absent_from_files(&device_token, "trusted-device token");
    profile.assert_absent_from_files(PASSWORD, "password");
    second.assert_absent_from_files(
        &second.secret(SecretKind::SessionToken).unwrap(),
        "session token",
    );
    let log = profile.log_text();
    assert!(
        log.contains("sign_in") && log.contains("TRACE"),
        "the host's log (at trace level) should show the requests:\n{}",
        log
    );
    for code in &recovery {
        profile.assert_absent_from_files(code, "recovery code");
    }

    // Sign out everywhere ends the other client's session too: its next
    // request gets the API's 401, forgets the token and answers signed out.
    let s = host.ok(json!({"type": "sign_out_everywhere"}));
    assert_eq!(s["signed_in"], false);
    assert_eq!(profile.secret(SecretKind::SessionToken), None);
    let s = host2.ok(json!({"type": "session"}));
    assert_eq!(s["signed_in"], false, "{}", s);
    assert_eq!(second.secret(SecretKind::SessionToken), None);
    let (code, _) = host2.err(json!({"type": "list_accounts"}));
    assert_eq!(code, "unauthorized");
}

/// SMS: enforcement by an owner, a setup-only session, SMS setup via the
/// outbox, sign-in with resend and its cooldown, disable refused while
/// enforced, and the setup-required outcome for a member.
#[test]
fn sms_enforcement_and_setup_required() {
    let api = Api::start();
    api.create_user("bob@example.com");
    api.create_user("carol@example.com");
    api.admin(&["account", "create", "--name", "Acme"]);
    api.admin(&[
        "membership",
        "add",
        "--account",
        "Acme",
        "--email",
        "bob@example.com",
        "--role",
        "owner",
    ]);
    api.admin(&[
        "membership",
        "add",
        "--account",
        "Acme",
        "--email",
        "carol@example.com",
        "--role",
        "member",
    ]);
    let phone = "+14155550123";

    let bob = Profile::new(&api.url);
    let mut host = bob.host();
    let r = host.ok(sign_in("bob@example.com"));
    assert_eq!(r["status"], "signed_in", "{}", r);
    let accounts = host.ok(json!({"type": "list_accounts"}));
    let acme = &accounts["accounts"][0];
    assert_eq!(acme["role"], "owner");
    let acme_id = acme["id"].as_i64().unwrap();

    // Carol (a member) may not set enforcement.
    let carol = Profile::new(&api.url);
    let mut chost = carol.host();
    assert_eq!(
        chost.ok(sign_in("carol@example.com"))["status"],
        "signed_in"
    );
    let (code, _) =
        chost.err(json!({"type": "set_enforcement", "account_id": acme_id, "enforce_2fa": true, "password": PASSWORD}));
    assert_eq!(code, "forbidden");

    // The owner's password travels with the change (issue 9, item 7).
    let (code, _) = host.err(json!({"type": "set_enforcement", "account_id": acme_id, "enforce_2fa": true, "password": "wrong password"}));
    assert_eq!(code, "invalid_credentials");
    let e = host.ok(json!({"type": "set_enforcement", "account_id": acme_id, "enforce_2fa": true, "password": PASSWORD}));
    assert_eq!(e["enforce_2fa"], true);

    // Bob's session is now setup-only.
    let s = host.ok(json!({"type": "session"}));
    assert_eq!(s["two_factor"]["setup_only"], true, "{}", s);
    let (code, _) = host.err(json!({"type": "list_trusted_devices"}));
    assert_eq!(code, "setup_required");

    // SMS setup with the code from the outbox.
    let (code, _) = host.err(json!({"type": "sms_setup", "phone": "12"}));
    assert_eq!(code, "invalid_phone");
    let sent = host.ok(json!({"type": "sms_setup", "phone": phone}));
    assert!(
        sent["phone_hint"].as_str().unwrap().ends_with("23"),
        "{}",
        sent
    );
    let done = host.ok(json!({"type": "sms_confirm", "code": api.last_sms_code(phone)}));
    assert_eq!(done["method"], "sms");
    assert_eq!(done["recovery_codes"].as_array().unwrap().len(), 10);

    // Disable is refused while Acme enforces 2FA.
    let (code, _) = host.err(json!({"type": "disable", "password": PASSWORD, "confirm": true}));
    assert_eq!(code, "not_allowed_while_enforced");

    // Sign in again with SMS; resend within the cooldown is refused.
    host.ok(json!({"type": "sign_out"}));
    let r = host.ok(sign_in("bob@example.com"));
    assert_eq!(r["status"], "two_factor_required", "{}", r);
    assert_eq!(r["method"], "sms");
    assert!(r["phone_hint"].is_string());
    let (code, _) = host.err(json!({"type": "resend_sms"}));
    assert_eq!(code, "resend_cooldown");
    api.advance_clock(31);
    let resent = host.ok(json!({"type": "resend_sms"}));
    assert!(resent["resend_available_at"].is_i64(), "{}", resent);
    let r = host.ok(json!({"type": "answer_challenge", "code": api.last_sms_code(phone)}));
    assert_eq!(r["status"], "signed_in", "{}", r);
    assert_eq!(r["session"]["two_factor"]["method"], "sms");

    // Switch to the authenticator begins with a key.
    let started =
        host.ok(json!({"type": "switch_method", "method": "authenticator", "password": PASSWORD}));
    assert!(
        started["authenticator"]["secret_base32"].is_string(),
        "{}",
        started
    );

    // Carol, a member of an enforcing account without 2FA, gets a
    // setup-only session at sign-in.
    chost.ok(json!({"type": "sign_out"}));
    let r = chost.ok(sign_in("carol@example.com"));
    assert_eq!(r["status"], "setup_required", "{}", r);
    assert_eq!(r["session"]["two_factor"]["setup_only"], true);
    assert!(carol.secret(SecretKind::SessionToken).is_some());
}

/// The API going away mid-session: typed `api_unreachable` within 5 s,
/// `session` from the cache marked stale, and a local sign-out.
#[test]
fn api_stopped_mid_session() {
    let mut api = Api::start();
    api.create_user("dave@example.com");
    let profile = Profile::new(&api.url);
    let mut host = profile.host();
    assert_eq!(host.ok(sign_in("dave@example.com"))["status"], "signed_in");
    assert_eq!(host.ok(json!({"type": "session"}))["stale"], json!(null));

    api.stop();

    let started = Instant::now();
    let (code, message) = host.err(json!({"type": "list_trusted_devices"}));
    assert_eq!(code, "api_unreachable");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(message.contains(&api.url), "{}", message);

    let started = Instant::now();
    let s = host.ok(json!({"type": "session"}));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(s["signed_in"], true);
    assert_eq!(s["stale"], true);
    assert_eq!(s["email"], "dave@example.com");
    assert_eq!(s["two_factor"]["enabled"], false);

    let (code, _) = host.err(sign_in("dave@example.com"));
    assert_eq!(code, "api_unreachable");

    // Signing out works without the API: the token is gone from here.
    let s = host.ok(json!({"type": "sign_out"}));
    assert_eq!(s["signed_in"], false);
    assert_eq!(profile.secret(SecretKind::SessionToken), None);
}

/// Without a reachable keyring, no sign-in is attempted and the extension
/// hears `keyring_unavailable`; nothing is written in plaintext instead.
/// The password never reaches the API: the API made no session and wrote
/// no audit row (a wrong password would leave `password_failed`).
#[test]
fn keyring_unavailable_has_no_fallback() {
    let api = Api::start();
    api.create_user("erin@example.com");
    let mut profile = Profile::new(&api.url);
    profile.extra_env.push((
        "DBUS_SESSION_BUS_ADDRESS".into(),
        "unix:path=/nonexistent/dialer-2fa-test-bus".into(),
    ));
    let mut host = profile.host();
    let (code, _) = host.err(sign_in("erin@example.com"));
    assert_eq!(code, "keyring_unavailable");
    let (code, _) = host.err(
        json!({"type": "sign_in", "email": "erin@example.com", "password": "not her password"}),
    );
    assert_eq!(code, "keyring_unavailable");
    let (code, _) = host.err(json!({"type": "session"}));
    assert_eq!(code, "keyring_unavailable");
    profile.assert_absent_from_files(PASSWORD, "password");

    // What the API knows, read from its own database and CLI.
    assert_eq!(api.count("SELECT COUNT(*) FROM sessions"), 0);
    assert_eq!(api.audit_rows(), Vec::<serde_json::Value>::new());

    // The same checks do see a password that reaches the API: a host with
    // a keyring, the wrong password, then the right one.
    let working = Profile::new(&api.url);
    let mut host = working.host();
    let (code, _) = host.err(
        json!({"type": "sign_in", "email": "erin@example.com", "password": "not her password"}),
    );
    assert_eq!(code, "invalid_credentials");
    assert_eq!(host.ok(sign_in("erin@example.com"))["status"], "signed_in");
    assert_eq!(api.count("SELECT COUNT(*) FROM sessions"), 1);
    let events: Vec<String> = api
        .audit_rows()
        .iter()
        .map(|r| r["event"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(events, vec!["password_failed".to_string()]);
}

/// An API that accepts the connection and never answers (the real one,
/// frozen with SIGSTOP): the extension still hears `api_unreachable`
/// within 5 s, and `session` answers from the cache. Once the API runs
/// again (SIGCONT), the same host talks to it again.
#[test]
fn hung_api_is_unreachable_within_five_seconds() {
    let api = Api::start();
    api.create_user("frank@example.com");
    let profile = Profile::new(&api.url);
    let mut host = profile.host();
    assert_eq!(host.ok(sign_in("frank@example.com"))["status"], "signed_in");
    assert_eq!(
        host.ok(json!({"type": "list_accounts"}))["accounts"],
        json!([])
    );

    api.pause();
    // Frozen, not gone: a connection is still accepted by the kernel.
    let addr = api.url.trim_start_matches("http://");
    assert!(std::net::TcpStream::connect(addr).is_ok());

    let started = Instant::now();
    let (code, message) = host.err(json!({"type": "list_accounts"}));
    assert_eq!(code, "api_unreachable");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(message.contains(&api.url), "{}", message);

    let started = Instant::now();
    let s = host.ok(json!({"type": "session"}));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(s["stale"], true, "{}", s);
    assert_eq!(s["email"], "frank@example.com");

    let started = Instant::now();
    let (code, _) = host.err(sign_in("frank@example.com"));
    assert_eq!(code, "api_unreachable");
    assert!(started.elapsed() < Duration::from_secs(5));

    api.resume();
    let accounts = host.ok(json!({"type": "list_accounts"}));
    assert_eq!(accounts["accounts"], json!([]), "{}", accounts);
    let s = host.ok(json!({"type": "session"}));
    assert_eq!(s["stale"], json!(null), "{}", s);
    assert_eq!(s["email"], "frank@example.com");
}

/// A keyring that runs but is locked (a screen lock): requests that need a
/// token fail with `keyring_unavailable`, quickly, with nothing written in
/// its place; unlocking is not attempted behind the person's back.
#[test]
fn locked_keyring_is_unavailable() {
    let api = Api::start();
    api.create_user("gina@example.com");
    let profile = Profile::new(&api.url);
    let mut host = profile.host();
    assert_eq!(host.ok(sign_in("gina@example.com"))["status"], "signed_in");

    profile.keyring.lock();
    let started = Instant::now();
    let (code, message) = host.err(json!({"type": "session"}));
    assert_eq!(code, "keyring_unavailable", "{}", message);
    let (code, _) = host.err(json!({"type": "list_accounts"}));
    assert_eq!(code, "keyring_unavailable");
    let (code, _) = host.err(json!({"type": "sign_out"}));
    assert_eq!(code, "keyring_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );

    // A fresh host on the locked keyring cannot sign in either.
    let mut fresh = profile.host();
    let (code, _) = fresh.err(sign_in("gina@example.com"));
    assert_eq!(code, "keyring_unavailable");

    profile.assert_absent_from_files(PASSWORD, "password");
    for file in profile.host_files() {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap_or_default()).into_owned();
        assert!(!text.contains("session_token"), "{}", file.display());
    }
}

/// A recovery code spent on another client shows as used in this
/// computer's vault at the next `session`: the API names used codes by
/// their place in the issued list.
#[test]
fn vault_learns_codes_used_on_another_client() {
    let api = Api::start();
    api.create_user("vic@example.com");
    let here = Profile::new(&api.url);
    let mut host = here.host();
    host.ok(sign_in("vic@example.com"));
    let setup = host.ok(json!({"type": "authenticator_setup"}));
    let key = setup["secret_base32"].as_str().unwrap().to_string();
    let now = api.advance_clock(0);
    let done = host.ok(json!({"type": "authenticator_confirm", "code": totp_at(&key, now)}));
    let recovery: Vec<String> = serde_json::from_value(done["recovery_codes"].clone()).unwrap();
    host.ok(json!({"type": "vault_save", "account": "vic@example.com", "codes": recovery}));

    // Another computer signs in with the fourth code.
    let elsewhere = Profile::new(&api.url);
    let mut other = elsewhere.host();
    let r = other.ok(sign_in("vic@example.com"));
    assert_eq!(r["status"], "two_factor_required", "{}", r);
    other.ok(json!({"type": "answer_challenge", "recovery_code": recovery[3]}));

    let used = |host: &mut account_support::Host| -> Vec<u64> {
        let vault = host.ok(json!({"type": "vault_list", "account": "vic@example.com"}));
        vault["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["used"] == true)
            .map(|e| e["position"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(used(&mut host), Vec::<u64>::new());
    let s = host.ok(json!({"type": "session"}));
    assert_eq!(s["two_factor"]["recovery_codes_used"], json!([4]), "{}", s);
    assert_eq!(used(&mut host), vec![4]);
}

/// Kept entries of one account as (position, used, replaced).
fn kept(host: &mut account_support::Host, email: &str) -> Vec<(u64, bool, bool)> {
    let vault = host.ok(json!({"type": "vault_list", "account": email}));
    vault["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["position"].as_u64().unwrap(),
                e["used"] == true,
                e["replaced"] == true,
            )
        })
        .collect()
}

/// New codes made on another client (the web app) kill the kept batch: at
/// the next `session` the vault shows it replaced, and the new batch's used
/// positions do not mark old codes used as if they were the same codes.
#[test]
fn a_batch_replaced_elsewhere_shows_replaced_and_its_positions_mean_nothing() {
    let api = Api::start();
    api.create_user("rae@example.com");
    let here = Profile::new(&api.url);
    let mut host = here.host();
    host.ok(sign_in("rae@example.com"));
    let setup = host.ok(json!({"type": "authenticator_setup"}));
    let key = setup["secret_base32"].as_str().unwrap().to_string();
    let now = api.advance_clock(0);
    let done = host.ok(json!({"type": "authenticator_confirm", "code": totp_at(&key, now)}));
    let old: Vec<String> = serde_json::from_value(done["recovery_codes"].clone()).unwrap();
    host.ok(json!({"type": "vault_save", "account": "rae@example.com", "codes": old}));

    // Another client makes new codes and spends the second of them.
    let elsewhere = Profile::new(&api.url);
    let mut other = elsewhere.host();
    let r = other.ok(sign_in("rae@example.com"));
    assert_eq!(r["status"], "two_factor_required", "{}", r);
    other.ok(json!({"type": "answer_challenge", "recovery_code": old[0]}));
    let fresh = other.ok(json!({"type": "regenerate_recovery_codes", "password": PASSWORD}));
    let fresh: Vec<String> = serde_json::from_value(fresh["codes"].clone()).unwrap();
    other.ok(json!({"type": "sign_out"}));
    let r = other.ok(sign_in("rae@example.com"));
    assert_eq!(r["status"], "two_factor_required", "{}", r);
    other.ok(json!({"type": "answer_challenge", "recovery_code": fresh[1]}));

    let s = host.ok(json!({"type": "session"}));
    assert_eq!(s["two_factor"]["recovery_codes_used"], json!([2]), "{}", s);
    let entries = kept(&mut host, "rae@example.com");
    assert_eq!(entries.len(), 10);
    assert!(
        entries.iter().all(|(_, used, replaced)| !used && *replaced),
        "every old code is replaced, none marked used by the new batch: {:?}",
        entries
    );

    // The web app hands the new codes over: only the current batch, all of
    // it, is kept, under the signed-in person.
    let keep = |codes: &[String]| json!({"type": "vault_keep_current", "codes": codes});
    let (code, _) = host.err(keep(&old));
    assert_eq!(code, "recovery_codes_not_current");
    let mut forged = fresh.clone();
    forged[9] = old[9].clone();
    let (code, _) = host.err(keep(&forged));
    assert_eq!(code, "recovery_codes_not_current");
    let (code, _) = host.err(keep(&fresh[..9]));
    assert_eq!(code, "recovery_codes_not_current");
    assert!(kept(&mut host, "rae@example.com").iter().all(|e| e.2));
    let saved = host.ok(keep(&fresh));
    assert_eq!(saved, json!({"account": "rae@example.com", "saved": 10}));
    host.ok(json!({"type": "session"}));
    let entries = kept(&mut host, "rae@example.com");
    let used: Vec<u64> = entries.iter().filter(|e| e.1).map(|e| e.0).collect();
    assert_eq!(used, vec![2], "{:?}", entries);
    assert!(entries.iter().all(|e| !e.2), "{:?}", entries);
}

/// Scheduled 2FA (issue 14) through the host: the owner schedules a date
/// with a grace day, lists who has not set up, reminds once a day; the
/// member sees the deadline, and after the date uses the grace skip.
#[test]
fn scheduled_2fa_members_reminders_and_the_grace_skip() {
    let api = Api::start();
    api.create_user("olga@example.com");
    api.create_user("max@example.com");
    api.admin(&["account", "create", "--name", "Acme"]);
    for (email, role) in [("olga@example.com", "owner"), ("max@example.com", "member")] {
        api.admin(&[
            "membership",
            "add",
            "--account",
            "Acme",
            "--email",
            email,
            "--role",
            role,
        ]);
    }
    let olga = Profile::new(&api.url);
    let mut host = olga.host();
    assert_eq!(host.ok(sign_in("olga@example.com"))["status"], "signed_in");
    let acme_id = host.ok(json!({"type": "list_accounts"}))["accounts"][0]["id"]
        .as_i64()
        .unwrap();
    let from = api.advance_clock(0) + DAY + 60;
    let e = host.ok(
        json!({"type": "set_enforcement", "account_id": acme_id, "enforce_2fa": true,
        "password": PASSWORD, "from": from, "grace_days": 1}),
    );
    assert_eq!(e["enforce_from"], from, "{}", e);
    assert_eq!(e["grace_days"], 1);
    let (code, _) = host.err(json!({"type": "set_enforcement", "account_id": acme_id,
        "enforce_2fa": true, "password": PASSWORD, "from": from + 100 * DAY}));
    assert_eq!(code, "bad_request");
    // A settings page drawn afresh reads the whole schedule from the list.
    let listed = host.ok(json!({"type": "list_accounts"}));
    assert_eq!(listed["accounts"][0]["enforce_from"], from, "{}", listed);
    assert_eq!(listed["accounts"][0]["grace_days"], 1, "{}", listed);
    let members = host.ok(json!({"type": "list_members", "account_id": acme_id}));
    assert_eq!(
        members["members"].as_array().unwrap().len(),
        2,
        "{}",
        members
    );
    assert_eq!(members["members"][0]["two_factor_enabled"], false);
    // The owner asking is marked: the reminder below skips her.
    let olga_entry = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "olga@example.com")
        .unwrap();
    assert_eq!(olga_entry["you"], true, "{}", members);
    let sent = host.ok(json!({"type": "send_reminder", "account_id": acme_id}));
    assert_eq!(sent["sent"], 1, "{}", sent);
    let (code, _) = host.err(json!({"type": "send_reminder", "account_id": acme_id}));
    assert_eq!(code, "reminder_too_soon");

    let max = Profile::new(&api.url);
    let mut mhost = max.host();
    let r = mhost.ok(sign_in("max@example.com"));
    assert_eq!(r["status"], "signed_in", "{}", r);
    assert_eq!(r["session"]["two_factor"]["deadline"]["days_left"], 2);
    let (code, _) = mhost.err(json!({"type": "list_members", "account_id": acme_id}));
    assert_eq!(code, "forbidden");
    let (code, _) = mhost.err(json!({"type": "skip_setup"}));
    assert_eq!(code, "conflict");

    api.advance_clock(DAY + 60);
    mhost.ok(json!({"type": "sign_out"}));
    let r = mhost.ok(sign_in("max@example.com"));
    assert_eq!(r["status"], "setup_required", "{}", r);
    assert_eq!(r["session"]["two_factor"]["deadline"]["skips_left"], 1);
    let s = mhost.ok(json!({"type": "skip_setup"}));
    assert_eq!(s["two_factor"]["setup_only"], false, "{}", s);
    assert_eq!(s["two_factor"]["deadline"]["skips_left"], 0);
    mhost.ok(json!({"type": "list_trusted_devices"}));
    mhost.ok(json!({"type": "sign_out"}));
    let r = mhost.ok(sign_in("max@example.com"));
    assert_eq!(r["status"], "setup_required", "{}", r);
    let (code, _) = mhost.err(json!({"type": "skip_setup"}));
    assert_eq!(code, "grace_exhausted");
}
