//! The Twilio sender against a local server that answers in the shape of
//! Twilio's Messages API.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use account_api::config::{SmsConfig, TwilioConfig};
use account_api::rules::sms::TwilioSender;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Form, Json, Router};
use data_encoding::BASE64;
use serde_json::{json, Value};

use crate::common::{sms_code_in, Options, Server, PASSWORD};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "test-auth-token";
const FROM: &str = "+15005550006";

/// A valid mobile number (so the API sends to it) that the stand-in
/// refuses as Twilio refuses an unreachable one.
pub const REFUSED_TO: &str = "+14155550999";
/// Words only Twilio's refusal contains, to prove they stay out of answers.
pub const TWILIO_WORDS: &str = "ZEBRA-QUOKKA-4417 carrier filtered";

#[derive(Clone, Default)]
pub struct Fake {
    pub received: Arc<Mutex<Vec<HashMap<String, String>>>>,
    /// Refuse this many of the next messages (as Twilio does when a carrier
    /// filters them), then deliver again.
    pub fail_next: Arc<AtomicUsize>,
}

impl Fake {
    pub fn sent(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// The code in the newest delivered message.
    pub fn last_code(&self) -> String {
        let body = self.received.lock().unwrap().last().unwrap()["Body"].clone();
        sms_code_in(&body)
    }
}

fn refusal(to: &str) -> (StatusCode, Json<Value>) {
    (
        StatusCode::BAD_REQUEST,
        Json(
            json!({"code": 30007, "message": format!("Message to {to} refused: {TWILIO_WORDS}"), "more_info": "https://www.twilio.com/docs/errors/30007", "status": 400}),
        ),
    )
}

async fn messages(
    State(fake): State<Fake>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let expected = format!(
        "Basic {}",
        BASE64.encode(format!("{SID}:{AUTH_TOKEN}").as_bytes())
    );
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if sid != SID || auth != expected {
        return (
            StatusCode::UNAUTHORIZED,
            Json(
                json!({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}),
            ),
        );
    }
    if form.get("To").map(|t| t.as_str()) == Some("+15005550001") {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"code": 21211, "message": "The 'To' number +15005550001 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}),
            ),
        );
    }
    let to = form.get("To").cloned().unwrap_or_default();
    if to == REFUSED_TO {
        return refusal(&to);
    }
    if fake
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return refusal(&to);
    }
    let n = {
        let mut r = fake.received.lock().unwrap();
        r.push(form.clone());
        r.len()
    };
    (
        StatusCode::CREATED,
        Json(json!({
            "account_sid": SID,
            "api_version": "2010-04-01",
            "body": form.get("Body"),
            "date_created": "Sat, 28 Nov 2026 12:00:00 +0000",
            "direction": "outbound-api",
            "from": form.get("From"),
            "num_segments": "1",
            "sid": format!("SM{:032x}", n),
            "status": "queued",
            "to": form.get("To"),
            "uri": format!("/2010-04-01/Accounts/{SID}/Messages/SM{:032x}.json", n)
        })),
    )
}

pub async fn start_fake() -> (String, Fake) {
    let fake = Fake::default();
    let app = Router::new()
        .route("/2010-04-01/Accounts/{sid}/Messages.json", post(messages))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), fake)
}

pub fn config(base_url: &str, token: &str) -> TwilioConfig {
    TwilioConfig {
        account_sid: SID.into(),
        auth_token: token.into(),
        from: FROM.into(),
        base_url: base_url.into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sender_posts_the_form_with_basic_auth_and_reads_the_201() {
    let (base, fake) = start_fake().await;
    let sender = TwilioSender::new(config(&base, AUTH_TOKEN)).unwrap();
    let sent = sender.send("+14155550123", "hello").await.unwrap();
    assert_eq!(sent.status, "queued");
    assert!(sent.sid.starts_with("SM"));
    let received = fake.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["To"], "+14155550123");
    assert_eq!(received[0]["From"], FROM);
    assert_eq!(received[0]["Body"], "hello");

    let err = sender
        .send("+15005550001", "x")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("21211"), "{err}");
    let wrong = TwilioSender::new(config(&base, "wrong-token")).unwrap();
    let err = wrong
        .send("+14155550123", "x")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("401") && !err.contains("wrong-token"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_with_twilio_sender_delivers_setup_codes_through_it() {
    let (base, fake) = start_fake().await;
    let s = Server::start_with(Options {
        sms: SmsConfig::Twilio(config(&base, AUTH_TOKEN)),
        ..Options::default()
    })
    .await;
    s.user("xan@example.com");
    let token = s.session("xan@example.com").await;
    let r = s
        .post(
            "/v1/two-factor/sms/setup",
            Some(&token),
            json!({"phone": "+14155550123", "password": PASSWORD}),
        )
        .await;
    r.ok();
    let body = fake.received.lock().unwrap()[0]["Body"].clone();
    let code = sms_code_in(&body);
    // Twilio delivered it; the outbox holds no SMS.
    assert_eq!(s.count("SELECT COUNT(*) FROM outbox WHERE kind = 'sms'"), 0);
    let r = s
        .post(
            "/v1/two-factor/sms/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await;
    assert_eq!(r.ok()["method"], "sms");

    // A refusal by Twilio is a 502 with a clear code, and Twilio's own
    // words stay in the server's log.
    s.user("yul@example.com");
    let other = s.session("yul@example.com").await;
    let r = s
        .post(
            "/v1/two-factor/sms/setup",
            Some(&other),
            json!({"phone": REFUSED_TO}),
        )
        .await;
    r.err(502, "sms_delivery_failed");
    assert!(!r.message().is_empty());
    let body = r.body.to_string();
    for leaked in ["ZEBRA", "30007", "refused:", REFUSED_TO] {
        assert!(!body.contains(leaked), "{leaked} in {body}");
    }
}
