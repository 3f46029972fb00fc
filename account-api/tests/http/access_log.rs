//! Access logs (issue 11, section 4): one structured line per request
//! under a request id the server minted and echoed, and never a token,
//! code or password in any line.

use serde_json::{json, Value};

use crate::common::{oathtool, Server, PASSWORD};

/// Whether `needle` occurs in `hay` as a whole word: not inside a longer
/// run of letters and digits (a 6-digit code is inside many a UUID).
fn contains_word(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(at, _)| {
        let before = hay[..at].chars().next_back();
        let after = hay[at + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_sign_in_flow_logs_request_ids_and_routes_but_no_token_code_or_password() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    let s = Server::serve_process_with(&db, &["--log-format", "json"], &[]).await;
    s.user("lou@example.com");
    let mut secrets: Vec<String> = vec![PASSWORD.to_string()];

    // A client's own request id is not taken; the minted one is echoed.
    let res = s
        .client
        .get(format!("{}/v1/health", s.base))
        .header("x-request-id", "chosen-by-the-client")
        .send()
        .await
        .unwrap();
    let minted = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(minted, "chosen-by-the-client");
    assert_eq!(minted.len(), 36, "a UUID: {minted}");

    let first = s.session("lou@example.com").await;
    let (secret, recovery) = s.enroll_authenticator(&first).await;
    secrets.push(first.clone());
    secrets.push(secret.clone());
    secrets.extend(recovery.iter().cloned());

    // TOTP sign-in with "remember this device".
    let r = s.sign_in("lou@example.com").await;
    let challenge = r.ok()["challenge_token"].as_str().unwrap().to_string();
    let code = oathtool(&secret, s.now().await);
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": challenge, "code": code, "remember_device": true, "device_label": "Log test"}),
        )
        .await;
    let session = r.ok()["session_token"].as_str().unwrap().to_string();
    let device = r.body["trusted_device_token"].as_str().unwrap().to_string();
    secrets.extend([challenge, code.clone(), session.clone(), device]);
    // The same code again (refused), and a wrong one: refusals log no code.
    let r = s.sign_in("lou@example.com").await;
    let again = r.ok()["challenge_token"].as_str().unwrap().to_string();
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": again, "code": code}),
        )
        .await;
    assert!(!r.status.is_success());
    // A recovery code answers the challenge.
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": again, "recovery_code": recovery[0]}),
        )
        .await;
    let by_recovery = r.ok()["session_token"].as_str().unwrap().to_string();
    secrets.extend([again, by_recovery]);
    // A handoff to another session, and the 2FA state read with a token.
    let r = s.post("/v1/handoff", Some(&session), json!({})).await;
    let handoff = r.ok()["code"].as_str().unwrap().to_string();
    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": handoff}))
        .await;
    let handed = r.ok()["session_token"].as_str().unwrap().to_string();
    secrets.extend([handoff, handed.clone()]);
    s.get("/v1/two-factor", Some(&handed)).await.ok();
    // A query string never reaches the log either.
    s.get(&format!("/v1/health?token={session}"), None)
        .await
        .ok();

    let log = s.stop();
    let mut request_lines = 0;
    let mut routes = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeSet::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let mut value: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        // The timestamp's fraction of a second is digits that are no code.
        value.as_object_mut().unwrap().remove("timestamp");
        let text = value.to_string();
        for secret in &secrets {
            assert!(
                !contains_word(&text, secret),
                "{secret} is in the log: {line}"
            );
        }
        if value["fields"]["message"] == "finished processing request" {
            request_lines += 1;
            routes.insert(value["span"]["route"].as_str().unwrap().to_string());
            ids.insert(value["span"]["request_id"].as_str().unwrap().to_string());
        }
    }
    assert!(request_lines >= 12, "{log}");
    // Each request has its own id, and the echoed one is the logged one.
    assert_eq!(ids.len(), request_lines);
    assert!(ids.contains(&minted));
    assert!(!log.contains("chosen-by-the-client"));
    for route in [
        "/v1/health",
        "/v1/sign-in",
        "/v1/sign-in/challenge",
        "/v1/handoff/redeem",
        "/v1/two-factor",
    ] {
        assert!(routes.contains(route), "{route} not in {routes:?}");
    }
}
