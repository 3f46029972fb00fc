//! Prometheus metrics (issue 11, section 4): off unless `--metrics`, served
//! only on `--metrics-listen`, and after a flow the counters carry the
//! right labels and counts and nothing a client sent.

use std::collections::BTreeMap;

use serde_json::json;

use crate::common::{certainly_wrong_code, oathtool, totp_window, ServeProcess, Server};

/// The `metrics on http://ADDR/metrics` line's URL, if printed.
fn metrics_url(s: &ServeProcess) -> Option<String> {
    s.stdout_lines()
        .iter()
        .find_map(|l| l.strip_prefix("metrics on ").map(|u| u.trim().to_string()))
}

async fn scrape(s: &ServeProcess) -> String {
    let url = metrics_url(s).expect("a metrics listener");
    let res = reqwest::get(url).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.text().await.unwrap()
}

/// The sample `name{labels}` with exactly these labels; 0 when absent.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, label_text) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        let got: BTreeMap<String, String> = label_text
            .split(',')
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect();
        if got == want {
            return value.parse().unwrap();
        }
    }
    0.0
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_off_by_default_and_never_on_the_public_listener() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    let off = Server::serve_process(&db).await;
    assert_eq!(metrics_url(&off), None);
    off.get("/v1/health", None).await.ok();
    off.get("/metrics", None).await.err(404, "not_found");
    drop(off);
    let on =
        Server::serve_process_with(&db, &["--metrics", "--metrics-listen", "127.0.0.1:0"], &[])
            .await;
    on.get("/metrics", None).await.err(404, "not_found");
    on.get("/v1/health", None).await.ok();
    let text = scrape(&on).await;
    assert!(
        text.contains("dialer_2fa_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_flow_the_counters_have_the_right_labels_and_counts_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    let s = Server::serve_process_with(
        &db,
        &[
            "--metrics",
            "--metrics-listen",
            "127.0.0.1:0",
            "--sms-per-user-hour",
            "2",
        ],
        &[],
    )
    .await;
    let mut secrets = Vec::new();

    // Authenticator: one success, one reused code, five wrong codes (the
    // fifth locks the user's second factor).
    s.user("ada@example.com");
    let t = s.session("ada@example.com").await;
    let (secret, recovery) = s.enroll_authenticator(&t).await;
    secrets.extend([t, secret.clone()]);
    secrets.extend(recovery.iter().cloned());
    let r = s.sign_in("ada@example.com").await;
    let c1 = r.ok()["challenge_token"].as_str().unwrap().to_string();
    let now = s.now().await;
    let code = oathtool(&secret, now);
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": c1, "code": code}),
        )
        .await;
    let session = r.ok()["session_token"].as_str().unwrap().to_string();
    let r = s.sign_in("ada@example.com").await;
    let c2 = r.ok()["challenge_token"].as_str().unwrap().to_string();
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": c2, "code": code}),
        )
        .await;
    r.err(401, "reused_code");
    secrets.extend([c1, c2.clone(), code, session.clone()]);
    // A recovery code answers the same challenge.
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": c2, "recovery_code": recovery[0]}),
        )
        .await;
    secrets.push(r.ok()["session_token"].as_str().unwrap().to_string());
    let wrong = certainly_wrong_code(&totp_window(&secret, s.now().await));
    for _ in 0..5 {
        let r = s.sign_in("ada@example.com").await;
        let c = r.ok()["challenge_token"].as_str().unwrap().to_string();
        let r = s
            .post(
                "/v1/sign-in/challenge",
                None,
                json!({"challenge_token": c, "code": wrong}),
            )
            .await;
        r.err(401, "invalid_code");
        secrets.push(c);
    }

    // SMS: the setup code and a sign-in code are sent; the resend is over
    // the cap of two an hour.
    s.user("sam@example.com");
    let t = s.session("sam@example.com").await;
    s.enroll_sms(&t, "+14155550123").await;
    let r = s.sign_in("sam@example.com").await;
    let c = r.ok()["challenge_token"].as_str().unwrap().to_string();
    // Three wrong tries: two wrong, and the third uses the code up.
    let wrong_sms = certainly_wrong_code(&[s.last_sms_code("+14155550123")]);
    for expected in [
        (401, "invalid_code"),
        (401, "invalid_code"),
        (429, "too_many_attempts"),
    ] {
        s.post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": c, "code": wrong_sms}),
        )
        .await
        .err(expected.0, expected.1);
    }
    s.advance(120).await;
    let r = s
        .post(
            "/v1/sign-in/challenge/resend",
            None,
            json!({"challenge_token": c}),
        )
        .await;
    r.err(429, "rate_limited");
    secrets.extend([t, c, s.last_sms_code("+14155550123")]);

    // Handoff: created, redeemed, then refused.
    let r = s.post("/v1/handoff", Some(&session), json!({})).await;
    let handoff = r.ok()["code"].as_str().unwrap().to_string();
    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": handoff}))
        .await;
    secrets.push(r.ok()["session_token"].as_str().unwrap().to_string());
    s.post("/v1/handoff/redeem", None, json!({"code": handoff}))
        .await
        .err(401, "invalid_code");
    secrets.push(handoff);

    // Ids and unknown paths are labelled by template, never as sent.
    s.send(
        reqwest::Method::DELETE,
        "/v1/trusted-devices/987654",
        Some(&session),
        None,
    )
    .await;
    s.get(
        &format!("/v1/no-such-route/{session}?token={session}"),
        None,
    )
    .await
    .err(404, "not_found");

    let text = scrape(&s).await;
    let checks = "dialer_2fa_second_factor_checks_total";
    for (method, outcome, n) in [
        ("authenticator", "success", 1.0),
        ("authenticator", "reused", 1.0),
        ("authenticator", "wrong", 5.0),
        ("recovery_code", "success", 1.0),
        ("sms", "wrong", 2.0),
        ("sms", "too_many_attempts", 1.0),
    ] {
        assert_eq!(
            sample(&text, checks, &[("method", method), ("outcome", outcome)]),
            n,
            "{method} {outcome}: {text}"
        );
    }
    assert_eq!(
        sample(
            &text,
            "dialer_2fa_lockouts_total",
            &[("scope", "second_factor")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "dialer_2fa_sms_sent_total", &[]),
        2.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "dialer_2fa_sms_refused_total", &[("reason", "cap")]),
        1.0,
        "{text}"
    );
    for (event, n) in [("created", 1.0), ("redeemed", 1.0), ("refused", 1.0)] {
        assert_eq!(
            sample(&text, "dialer_2fa_handoffs_total", &[("event", event)]),
            n,
            "{event}: {text}"
        );
    }
    let latency = "dialer_2fa_http_request_duration_seconds_count";
    let challenge_200 = [
        ("method", "POST"),
        ("route", "/v1/sign-in/challenge"),
        ("status", "200"),
    ];
    assert_eq!(sample(&text, latency, &challenge_200), 2.0, "{text}");
    assert_eq!(
        sample(
            &text,
            latency,
            &[
                ("method", "DELETE"),
                ("route", "/v1/trusted-devices/{id}"),
                ("status", "404")
            ]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            latency,
            &[("method", "GET"), ("route", "unmatched"), ("status", "404")]
        ),
        1.0,
        "{text}"
    );
    assert!(!text.contains("987654"), "{text}");
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{secret} in the metrics: {text}"
        );
    }
}
