//! SMS pumping (issue 9, item 4): hourly caps per user, per destination
//! number, per country calling code and overall, counted from a send record
//! that nothing a user does can delete; and only mobile numbers receive
//! codes.

use account_api::config::SmsCaps;
use serde_json::json;

use crate::common::{Options, Resp, Server, PASSWORD};

/// Caps high enough never to matter, so each test exercises one cap.
fn loose() -> SmsCaps {
    SmsCaps {
        per_user: 1000,
        per_number: 1000,
        per_country: 1000,
        global: 1000,
    }
}

async fn server(caps: SmsCaps) -> Server {
    Server::start_with(Options {
        sms_caps: caps,
        ..Options::default()
    })
    .await
}

async fn setup(s: &Server, token: &str, phone: &str) -> Resp {
    s.post(
        "/v1/two-factor/sms/setup",
        Some(token),
        json!({"phone": phone, "password": PASSWORD}),
    )
    .await
}

fn sms_sent(s: &Server) -> i64 {
    s.count("SELECT COUNT(*) FROM outbox WHERE kind = 'sms'")
}

/// A 429 `rate_limited` whose message names the cap and whose Retry-After
/// is within the hour.
fn assert_capped(r: &Resp, says: &str) {
    r.err(429, "rate_limited");
    assert!(r.message().contains(says), "{}", r.message());
    let retry: i64 = r.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_then_disable_loop_hits_the_per_user_cap_with_the_defaults() {
    let s = Server::start().await;
    assert_eq!(SmsCaps::default().per_user, 10);
    s.user("pia@example.com");
    let token = s.session("pia@example.com").await;
    // Each round: SMS setup to a fresh number, confirm, disable. Disable
    // deletes the user's codes, which the old cap counted.
    for i in 0..10 {
        let phone = format!("+141555501{:02}", 10 + i);
        setup(&s, &token, &phone).await.ok();
        let code = s.last_sms_code(&phone);
        s.post(
            "/v1/two-factor/sms/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await
        .ok();
        let r = s
            .post(
                "/v1/two-factor/disable",
                Some(&token),
                json!({"password": PASSWORD, "confirm": true}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    }
    assert_eq!(sms_sent(&s), 10);
    let r = setup(&s, &token, "+14155550150").await;
    assert_capped(&r, "you asked for too many");
    assert_eq!(sms_sent(&s), 10);
    // The send record outlives disable; it frees up as the hour passes.
    assert_eq!(s.count("SELECT COUNT(*) FROM sms_codes"), 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM sms_sends"), 10);
    s.advance(3600).await;
    setup(&s, &token, "+14155550150").await.ok();
    // Records no cap counts any more are gone: only the new send is kept.
    assert_eq!(s.count("SELECT COUNT(*) FROM sms_sends"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn per_user_cap_also_bounds_sign_in_and_leaves_no_challenge() {
    let s = server(SmsCaps {
        per_user: 2,
        ..loose()
    })
    .await;
    s.user("quin@example.com");
    let token = s.session("quin@example.com").await;
    let first_from = s.now().await;
    setup(&s, &token, "+14155550123").await.ok();
    let first_by = s.now().await;
    let code = s.last_sms_code("+14155550123");
    s.post(
        "/v1/two-factor/sms/confirm",
        Some(&token),
        json!({"code": code}),
    )
    .await
    .ok();
    s.advance(31).await;
    let r = s.sign_in("quin@example.com").await;
    assert_eq!(r.ok()["status"], "two_factor_required");
    let challenge = r.body["challenge_token"].as_str().unwrap().to_string();
    let code = s.last_sms_code("+14155550123");
    s.post(
        "/v1/sign-in/challenge",
        None,
        json!({"challenge_token": challenge, "code": code}),
    )
    .await
    .ok();
    s.advance(31).await;
    let challenges = s.count("SELECT COUNT(*) FROM challenges");
    let asked_from = s.now().await;
    let r = s.sign_in("quin@example.com").await;
    let asked_by = s.now().await;
    assert_capped(&r, "you asked for too many");
    // The wait ends when the first of the two sends leaves the hour.
    let retry: i64 = r.retry_after.as_deref().unwrap().parse().unwrap();
    assert!(
        (first_from + 3600 - asked_by..=first_by + 3600 - asked_from).contains(&retry),
        "Retry-After {retry}: first send in [{first_from}, {first_by}], asked in [{asked_from}, {asked_by}]"
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM challenges"), challenges);
    assert_eq!(sms_sent(&s), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn per_number_cap_counts_every_user_sending_to_it() {
    let s = server(SmsCaps {
        per_number: 3,
        ..loose()
    })
    .await;
    let premium_target = "+447400123456";
    for i in 0..3 {
        let email = format!("num{i}@example.com");
        s.user(&email);
        let token = s.session(&email).await;
        setup(&s, &token, premium_target).await.ok();
    }
    s.user("num3@example.com");
    let token = s.session("num3@example.com").await;
    let r = setup(&s, &token, "+44 7400 123456").await;
    assert_capped(&r, "this number");
    // Another number in the same country is fine.
    setup(&s, &token, "+447400123457").await.ok();
    assert_eq!(sms_sent(&s), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn per_country_cap_counts_every_number_with_that_calling_code() {
    let s = server(SmsCaps {
        per_country: 3,
        ..loose()
    })
    .await;
    for i in 0..3 {
        let email = format!("cc{i}@example.com");
        s.user(&email);
        let token = s.session(&email).await;
        setup(&s, &token, &format!("+4474001234{:02}", 10 + i))
            .await
            .ok();
    }
    s.user("cc3@example.com");
    let token = s.session("cc3@example.com").await;
    let r = setup(&s, &token, "+447400123499").await;
    assert_capped(&r, "this country");
    // +1 is another country calling code.
    setup(&s, &token, "+14155550123").await.ok();
    assert_eq!(
        s.count("SELECT COUNT(*) FROM sms_sends WHERE country_code = 44"),
        3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn global_cap_bounds_the_whole_server() {
    let s = server(SmsCaps {
        global: 3,
        ..loose()
    })
    .await;
    let phones = ["+14155550123", "+447400123456", "+33612345678"];
    for (i, phone) in phones.iter().enumerate() {
        let email = format!("g{i}@example.com");
        s.user(&email);
        let token = s.session(&email).await;
        setup(&s, &token, phone).await.ok();
    }
    s.user("g3@example.com");
    let token = s.session("g3@example.com").await;
    let r = setup(&s, &token, "+4915123456789").await;
    assert_capped(&r, "the service sent its limit");
    assert_eq!(sms_sent(&s), 3);
    // Retry-After names when the oldest send leaves the hour.
    let retry: i64 = r.retry_after.as_deref().unwrap().parse().unwrap();
    s.advance(retry).await;
    setup(&s, &token, "+4915123456789").await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn only_valid_mobile_numbers_receive_codes() {
    let s = Server::start().await;
    s.user("val@example.com");
    let token = s.session("val@example.com").await;
    for (number, says) in [
        // Right shape, impossible for the country.
        ("+1 415 555 012", "not a valid phone number"),
        ("+44 7400 1234", "not a valid phone number"),
        ("+999 1234 5678", "not a phone number"),
        // Valid, but not mobile.
        ("+44 20 7183 8750", "landline"),
        ("+33 1 23 45 67 89", "landline"),
        ("+44 909 876 5432", "premium-rate"),
        ("+1 900 555 0123", "premium-rate"),
        ("+1 800 555 0123", "toll-free"),
        ("+44 70 1234 5678", "personal"),
    ] {
        let r = setup(&s, &token, number).await;
        r.err(400, "invalid_phone");
        assert!(r.message().contains(says), "{number}: {}", r.message());
    }
    assert_eq!(sms_sent(&s), 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM sms_sends"), 0);
    // A mobile is stored in E.164 whatever the spacing.
    let r = setup(&s, &token, "+44 7400 123 456").await;
    assert!(r.ok()["phone_hint"].as_str().unwrap().ends_with("3456"));
    assert_eq!(s.last_sms_code("+447400123456").len(), 6);
}
