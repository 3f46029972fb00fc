use serde_json::{json, Value};

use crate::common::{Server, PASSWORD};

async fn challenge(s: &Server, email: &str) -> String {
    let r = s.sign_in(email).await;
    assert_eq!(r.ok()["status"], "two_factor_required");
    r.body["challenge_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_recovery_code_works_once_and_the_others_stay_valid() {
    let s = Server::start().await;
    s.user("gus@example.com");
    let token = s.session("gus@example.com").await;
    let (_, codes) = s.enroll_authenticator(&token).await;
    assert_eq!(codes.len(), 10);
    let unique: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), 10);
    // Stored only as hashes.
    let stored: Vec<Vec<u8>> = {
        s.conn()
            .query_map(
                "SELECT code_hash FROM recovery_codes",
                account_api::params![],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(stored.len(), 10);
    for code in &codes {
        let plain = code.replace('-', "");
        assert!(stored
            .iter()
            .all(|h| h.len() == 32 && !h.windows(plain.len()).any(|w| w == plain.as_bytes())));
    }

    let c = challenge(&s, "gus@example.com").await;
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": c, "recovery_code": codes[0]}),
        )
        .await;
    assert_eq!(r.ok()["recovery_codes_remaining"], 9);
    // The same code again: refused.
    let c = challenge(&s, "gus@example.com").await;
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": c, "recovery_code": codes[0]}),
        )
        .await;
    r.err(401, "invalid_code");
    // Another one, typed in upper case without dashes: accepted.
    let typed = codes[4].replace('-', "").to_uppercase();
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": c, "recovery_code": typed}),
        )
        .await;
    assert_eq!(r.ok()["recovery_codes_remaining"], 8);
    let session = r.body["session_token"].as_str().unwrap().to_string();
    let state = s.get("/v1/two-factor", Some(&session)).await;
    assert_eq!(state.ok()["recovery_codes_remaining"], 8);
    // Which ones, by their place in the issued list: what the host's vault
    // of kept codes syncs from.
    assert_eq!(state.ok()["recovery_codes_used"], json!([1, 5]));
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'recovery_code_used'"),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_uses_of_one_code_exactly_one_wins() {
    let s = Server::start().await;
    s.user("hal@example.com");
    let token = s.session("hal@example.com").await;
    let (_, codes) = s.enroll_authenticator(&token).await;
    let mut challenges = Vec::new();
    for _ in 0..50 {
        challenges.push(challenge(&s, "hal@example.com").await);
    }
    let s = std::sync::Arc::new(s);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for c in challenges {
        let s = s.clone();
        let code = codes[3].clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            s.post(
                "/v1/sign-in/challenge",
                None,
                json!({"challenge_token": c, "recovery_code": code}),
            )
            .await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        let r = t.await.unwrap();
        if r.status.is_success() {
            wins += 1;
        } else {
            assert!(
                ["invalid_code", "rate_limited"].contains(&r.code()),
                "unexpected failure {}",
                r.body
            );
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NOT NULL"),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn regenerating_needs_the_password_and_replaces_all_ten() {
    let s = Server::start().await;
    s.user("ida@example.com");
    let token = s.session("ida@example.com").await;
    let (secret, old) = s.enroll_authenticator(&token).await;
    let token = s.sign_in_totp("ida@example.com", &secret).await;
    let r = s
        .post("/v1/two-factor/recovery-codes", Some(&token), json!({}))
        .await;
    r.err(400, "bad_request");
    let r = s
        .post(
            "/v1/two-factor/recovery-codes",
            Some(&token),
            json!({"password": "wrong-password"}),
        )
        .await;
    r.err(401, "invalid_credentials");
    let r = s
        .post(
            "/v1/two-factor/recovery-codes",
            Some(&token),
            json!({"password": PASSWORD}),
        )
        .await;
    let new: Vec<String> = r.ok()["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)));
    assert_eq!(s.count("SELECT COUNT(*) FROM recovery_codes"), 10);
    let c = challenge(&s, "ida@example.com").await;
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": c, "recovery_code": old[5]}),
        )
        .await;
    r.err(401, "invalid_code");
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": c, "recovery_code": new[5]}),
        )
        .await;
    assert_eq!(r.ok()["recovery_codes_remaining"], 9);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'recovery_codes_regenerated'"),
        1
    );
}

fn fingerprint_of(codes: &[String]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(shared::rules::recovery_batch_preimage(codes).as_bytes())
        .iter()
        .map(|b| format!("{:02x}", b))
        .collect()
}

/// Issue 15: the 2FA state names the current batch by its fingerprint, so
/// a client keeping copies (the extension's vault) learns that new codes
/// made elsewhere replaced them; it does not move when a code is used, and
/// disable clears it.
#[tokio::test(flavor = "multi_thread")]
async fn the_state_names_the_current_batch_and_a_regenerate_changes_it() {
    let s = Server::start().await;
    s.user("bo@example.com");
    let token = s.session("bo@example.com").await;
    let (secret, first) = s.enroll_authenticator(&token).await;
    let token = s.sign_in_totp("bo@example.com", &secret).await;
    let batch = |r: &Value| r["recovery_codes_batch"].as_str().map(str::to_string);
    let state = s.get("/v1/two-factor", Some(&token)).await;
    assert_eq!(batch(state.ok()), Some(fingerprint_of(&first)));

    let r = s
        .post(
            "/v1/two-factor/recovery-codes",
            Some(&token),
            json!({"password": PASSWORD}),
        )
        .await;
    let new: Vec<String> = serde_json::from_value(r.ok()["codes"].clone()).unwrap();
    let state = s.get("/v1/two-factor", Some(&token)).await;
    assert_eq!(batch(state.ok()), Some(fingerprint_of(&new)));
    assert_ne!(fingerprint_of(&new), fingerprint_of(&first));

    // Using a code leaves the batch as it was.
    let c = challenge(&s, "bo@example.com").await;
    s.post(
        "/v1/sign-in/challenge",
        None,
        json!({"challenge_token": c, "recovery_code": new[2]}),
    )
    .await
    .ok();
    let state = s.get("/v1/two-factor", Some(&token)).await;
    assert_eq!(batch(state.ok()), Some(fingerprint_of(&new)));
    assert_eq!(state.ok()["recovery_codes_used"], json!([3]));

    s.post(
        "/v1/two-factor/disable",
        Some(&token),
        json!({"password": PASSWORD, "confirm": true}),
    )
    .await
    .ok();
    let state = s.get("/v1/two-factor", Some(&token)).await;
    assert_eq!(batch(state.ok()), None, "{}", state.ok());
}
