//! Tokens, codes and secrets are stored only as hashes, MACs or sealed:
//! after a full flow, every text and blob value in every table of the
//! database, and the raw bytes of its files, are searched for each secret
//! the test saw in clear. SMS goes through a stand-in Twilio, so no code is
//! in the database even as a message body (the outbox sender keeps SMS
//! bodies there on purpose: it is the development stand-in for Twilio).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use account_api::config::{SmsConfig, TwilioConfig};
use account_api::store::{Engine, Value as Stored};
use axum::extract::State;
use axum::routing::post;
use axum::{Form, Json, Router};
use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD, HEXLOWER};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{certainly_wrong_code, oathtool, sms_code_in, Options, Server, PASSWORD};

const PHONE: &str = "+14155550187";

/// A stand-in for Twilio's Messages API that keeps the bodies it was sent.
#[derive(Clone, Default)]
struct Texts(Arc<Mutex<Vec<String>>>);

impl Texts {
    fn last_code(&self) -> String {
        sms_code_in(self.0.lock().unwrap().last().expect("a text was sent"))
    }
}

async fn twilio(
    State(texts): State<Texts>,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    texts
        .0
        .lock()
        .unwrap()
        .push(form.get("Body").cloned().unwrap_or_default());
    let n = texts.0.lock().unwrap().len();
    (
        StatusCode::CREATED,
        Json(json!({"sid": format!("SM{n:032x}"), "status": "queued"})),
    )
}

async fn start_twilio() -> (String, Texts) {
    let texts = Texts::default();
    let app = Router::new()
        .route("/2010-04-01/Accounts/{sid}/Messages.json", post(twilio))
        .with_state(texts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), texts)
}

/// What the test saw in clear, by name, in every form it could be stored.
#[derive(Default)]
struct Seen {
    /// Long secrets: searched in values and in the raw files.
    long: Vec<(String, Vec<u8>)>,
    /// 6-digit codes: searched in values only, with public values (emails,
    /// the phone number) taken out first so a digit run of the phone number
    /// cannot look like a code.
    short: Vec<(String, String)>,
}

impl Seen {
    fn token(&mut self, what: &str, token: &str) {
        assert!(token.len() >= 40, "{what} looks too short: {token}");
        self.long.push((what.into(), token.as_bytes().to_vec()));
        // The random part, decoded: stored raw would be in clear too.
        let (_, random) = token.split_once('_').expect("a prefixed token");
        let raw = BASE64URL_NOPAD.decode(random.as_bytes()).unwrap();
        self.long.push((format!("{what} (raw bytes)"), raw.clone()));
        self.long
            .push((format!("{what} (hex)"), HEXLOWER.encode(&raw).into_bytes()));
    }

    fn text(&mut self, what: &str, value: &str) {
        self.long.push((what.into(), value.as_bytes().to_vec()));
    }

    fn recovery(&mut self, what: &str, code: &str) {
        let plain = code.replace('-', "");
        self.text(what, code);
        self.text(&format!("{what} (no dashes)"), &plain);
        self.text(&format!("{what} (upper case)"), &plain.to_uppercase());
    }

    fn totp_secret(&mut self, base32: &str) {
        let base32 = base32.trim_end_matches('=');
        self.text("TOTP secret (base32)", base32);
        self.text("TOTP secret (base32, lower case)", &base32.to_lowercase());
        let raw = BASE32_NOPAD.decode(base32.as_bytes()).unwrap();
        assert_eq!(raw.len(), 20);
        self.text("TOTP secret (hex)", &HEXLOWER.encode(&raw));
        self.long.push(("TOTP secret (raw bytes)".into(), raw));
    }

    fn code(&mut self, what: &str, code: &str) {
        assert_eq!(code.len(), 6, "{what}: {code}");
        self.short.push((what.into(), code.into()));
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn challenge(s: &Server, email: &str) -> String {
    let r = s.sign_in(email).await;
    assert_eq!(r.ok()["status"], "two_factor_required", "{}", r.body);
    r.body["challenge_token"].as_str().unwrap().to_string()
}

fn str_of(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_token_code_or_secret_is_stored_in_clear() {
    let (twilio_url, texts) = start_twilio().await;
    let s = Server::start_with(Options {
        sms: SmsConfig::Twilio(TwilioConfig {
            account_sid: "AC0123456789abcdef0123456789abcdef".into(),
            auth_token: "at-rest-test-twilio-token".into(),
            from: "+15005550006".into(),
            base_url: twilio_url,
        }),
        ..Options::default()
    })
    .await;
    let mut seen = Seen::default();
    seen.text("password", PASSWORD);
    seen.text("Twilio auth token", "at-rest-test-twilio-token");
    let public = ["amy@example.com", "ben@example.com", PHONE];

    // Amy: password sign-in, authenticator setup, recovery codes shown.
    s.user("amy@example.com");
    let wrong_password = "not amy's password at all";
    seen.text("wrong password", wrong_password);
    s.post(
        "/v1/sign-in",
        None,
        json!({"email": "amy@example.com", "password": wrong_password}),
    )
    .await
    .err(401, "invalid_credentials");
    let first = s.session("amy@example.com").await;
    seen.token("session token", &first);
    let setup = s
        .post(
            "/v1/two-factor/authenticator/setup",
            Some(&first),
            json!({"password": PASSWORD}),
        )
        .await;
    let secret = str_of(setup.ok(), "secret_base32");
    seen.totp_secret(&secret);
    let now = s.now().await;
    let code = oathtool(&secret, now);
    seen.code("setup TOTP code", &code);
    let done = s
        .post(
            "/v1/two-factor/authenticator/confirm",
            Some(&first),
            json!({"code": code}),
        )
        .await;
    let recovery: Vec<String> =
        serde_json::from_value(done.ok()["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);
    for c in &recovery {
        seen.recovery("recovery code", c);
    }

    // A challenge answered with a code and "remember this device".
    let now = s.advance(30).await;
    let c = challenge(&s, "amy@example.com").await;
    seen.token("challenge token", &c);
    let code = oathtool(&secret, now);
    seen.code("sign-in TOTP code", &code);
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": c, "code": code, "remember_device": true, "device_label": "Chrome on Linux"}),
        )
        .await;
    let session = str_of(r.ok(), "session_token");
    let device = str_of(&r.body, "trusted_device_token");
    seen.token("session token", &session);
    seen.token("trusted-device token", &device);
    let r = s.sign_in_with_device("amy@example.com", &device).await;
    assert_eq!(r.ok()["status"], "authenticated", "{}", r.body);
    seen.token("session token", &str_of(&r.body, "session_token"));

    // New recovery codes; one used at a challenge.
    let r = s
        .post(
            "/v1/two-factor/recovery-codes",
            Some(&session),
            json!({"password": PASSWORD}),
        )
        .await;
    let regenerated: Vec<String> = serde_json::from_value(r.ok()["codes"].clone()).unwrap();
    for c in &regenerated {
        seen.recovery("regenerated recovery code", c);
    }
    let c = challenge(&s, "amy@example.com").await;
    seen.token("challenge token", &c);
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": c, "recovery_code": regenerated[2]}),
        )
        .await;
    let recovered = str_of(r.ok(), "session_token");
    seen.token("session token", &recovered);

    // A handoff minted and redeemed, and one minted and left unused.
    let r = s.post("/v1/handoff", Some(&recovered), json!({})).await;
    let handoff = str_of(r.ok(), "code");
    seen.token("handoff code", &handoff);
    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": handoff}))
        .await;
    seen.token("session token", &str_of(r.ok(), "session_token"));
    let r = s.post("/v1/handoff", Some(&recovered), json!({})).await;
    seen.token("unused handoff code", &str_of(r.ok(), "code"));

    // Ben: SMS setup and an SMS sign-in, with a wrong code first.
    s.user("ben@example.com");
    let ben = s.session("ben@example.com").await;
    seen.token("session token", &ben);
    s.post(
        "/v1/two-factor/sms/setup",
        Some(&ben),
        json!({"phone": PHONE, "password": PASSWORD}),
    )
    .await
    .ok();
    let setup_code = texts.last_code();
    seen.code("SMS setup code", &setup_code);
    let r = s
        .post(
            "/v1/two-factor/sms/confirm",
            Some(&ben),
            json!({"code": setup_code}),
        )
        .await;
    let ben_recovery: Vec<String> =
        serde_json::from_value(r.ok()["recovery_codes"].clone()).unwrap();
    for c in &ben_recovery {
        seen.recovery("recovery code (SMS user)", c);
    }
    let c = challenge(&s, "ben@example.com").await;
    seen.token("challenge token", &c);
    let sign_in_code = texts.last_code();
    seen.code("SMS sign-in code", &sign_in_code);
    let wrong = certainly_wrong_code(&[&sign_in_code]);
    s.post(
        "/v1/sign-in/challenge",
        None,
        json!({"challenge_token": c, "code": wrong}),
    )
    .await
    .err(401, "invalid_code");
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": c, "code": sign_in_code}),
        )
        .await;
    seen.token("session token", &str_of(r.ok(), "session_token"));

    // A pending authenticator setup (Ben switching): its secret is sealed
    // too while it waits for a confirm.
    let r = s
        .post(
            "/v1/two-factor/switch",
            Some(&ben),
            json!({"method": "authenticator", "password": PASSWORD}),
        )
        .await;
    let pending = r.ok()["authenticator"]["secret_base32"]
        .as_str()
        .map(str::to_string);
    if let Some(pending) = pending {
        let base32 = pending.trim_end_matches('=');
        seen.text("pending TOTP secret (base32)", base32);
        let raw = BASE32_NOPAD.decode(base32.as_bytes()).unwrap();
        seen.long
            .push(("pending TOTP secret (raw bytes)".into(), raw));
    }

    // A password change: the new password must not be stored either.
    let new_password = "a brand new passphrase for amy";
    seen.text("new password", new_password);
    s.post(
        "/v1/password",
        Some(&recovered),
        json!({"current_password": PASSWORD, "new_password": new_password}),
    )
    .await
    .ok();

    // Every text and blob value of every table.
    let conn = s.conn();
    let tables = conn.table_names().unwrap();
    for expected in [
        "users",
        "sessions",
        "challenges",
        "trusted_devices",
        "recovery_codes",
        "sms_codes",
        "handoff_codes",
        "audit_log",
        "outbox",
    ] {
        assert!(
            tables.iter().any(|t| t == expected),
            "{expected} in {tables:?}"
        );
    }
    let mut values = 0usize;
    let mut rows_per_table = HashMap::new();
    for table in &tables {
        let rows = conn
            .query_map(
                &format!("SELECT * FROM \"{table}\""),
                account_api::params![],
                |r| Ok(r.values().to_vec()),
            )
            .unwrap();
        for row in rows {
            *rows_per_table.entry(table.clone()).or_insert(0) += 1;
            for (column, value) in row.iter().enumerate() {
                let bytes: Vec<u8> = match value {
                    Stored::Text(t) => t.as_bytes().to_vec(),
                    Stored::Blob(b) => b.clone(),
                    Stored::Null | Stored::Int(_) | Stored::Real(_) => continue,
                };
                values += 1;
                for (what, needle) in &seen.long {
                    assert!(
                        !contains(&bytes, needle),
                        "the {what} is stored in clear in {table} (column {column})"
                    );
                }
                let mut text = String::from_utf8_lossy(&bytes).into_owned();
                for p in public {
                    text = text.replace(p, " ");
                }
                for (what, code) in &seen.short {
                    assert!(
                        !text.contains(code.as_str()),
                        "the {what} {code} is stored in clear in {table} (column {column}): {text:?}"
                    );
                }
            }
        }
    }
    // The flow left rows where the secrets live (so the scan saw them).
    for table in [
        "sessions",
        "challenges",
        "trusted_devices",
        "recovery_codes",
        "sms_codes",
        "handoff_codes",
    ] {
        assert!(
            rows_per_table.get(table).copied().unwrap_or(0) > 0,
            "no rows in {table}: {rows_per_table:?}"
        );
    }
    assert!(values > 100, "only {values} text/blob values scanned");
    let conn_engine = conn.engine();
    drop(conn);

    // The raw files too: a value deleted or overwritten may linger in a
    // free page or the write-ahead log. (A PostgreSQL cluster's files
    // belong to its server; what it keeps is what the tables above hold.)
    if conn_engine == Engine::Postgres {
        return;
    }
    let mut files = 0;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut path = s.db_path.clone().into_os_string();
        path.push(suffix);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        files += 1;
        for (what, needle) in &seen.long {
            assert!(
                !contains(&bytes, needle),
                "the {what} is in the file {}",
                std::path::Path::new(&path).display()
            );
        }
    }
    assert!(files >= 1);
}
