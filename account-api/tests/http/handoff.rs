use serde_json::json;

use crate::common::{oathtool, Server};

#[tokio::test(flavor = "multi_thread")]
async fn a_handoff_code_gives_another_client_its_own_verified_session_once() {
    let s = Server::start().await;
    s.user("tia@example.com");
    let token = s.session("tia@example.com").await;
    let (secret, _) = s.enroll_authenticator(&token).await;
    let r = s.sign_in("tia@example.com").await;
    let challenge = r.ok()["challenge_token"].as_str().unwrap().to_string();
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": challenge, "code": oathtool(&secret, s.now().await), "remember_device": true}),
        )
        .await;
    let web = r.ok()["session_token"].as_str().unwrap().to_string();
    let until = r.body["trusted_until"].as_i64().unwrap();

    let r = s.post("/v1/handoff", Some(&web), json!({})).await;
    let code = r.ok()["code"].as_str().unwrap().to_string();
    let now = s.now().await;
    assert!(r.body["expires_at"].as_i64().unwrap() <= now + 60);

    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": code}))
        .await;
    let ext = r.ok()["session_token"].as_str().unwrap().to_string();
    assert_ne!(ext, web);
    assert_eq!(r.body["verified_until"], until);
    let state = s.get("/v1/two-factor", Some(&ext)).await;
    assert_eq!(state.ok()["verified_until"], until);
    // One use only.
    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": code}))
        .await;
    r.err(401, "invalid_code");
    // Signing the new session out leaves the first.
    s.post("/v1/sign-out", Some(&ext), json!({})).await;
    s.get("/v1/two-factor", Some(&web)).await.ok();

    // Expired after about a minute.
    let r = s.post("/v1/handoff", Some(&web), json!({})).await;
    let late = r.ok()["code"].as_str().unwrap().to_string();
    s.advance(61).await;
    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": late}))
        .await;
    r.err(401, "invalid_code");
    // Nor does a code outlive its source session.
    let r = s.post("/v1/handoff", Some(&web), json!({})).await;
    let orphan = r.ok()["code"].as_str().unwrap().to_string();
    s.post("/v1/sign-out", Some(&web), json!({})).await;
    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": orphan}))
        .await;
    r.err(401, "invalid_code");
}
