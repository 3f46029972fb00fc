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

    let minted_from = s.now().await;
    let r = s.post("/v1/handoff", Some(&web), json!({})).await;
    let code = r.ok()["code"].as_str().unwrap().to_string();
    let minted_by = s.now().await;
    let expires_at = r.body["expires_at"].as_i64().unwrap();
    assert!(
        (minted_from + 60..=minted_by + 60).contains(&expires_at),
        "expires_at {expires_at}, minted in [{minted_from}, {minted_by}]"
    );

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
    let r = s.post("/v1/sign-out", Some(&ext), json!({})).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    s.get("/v1/two-factor", Some(&ext))
        .await
        .err(401, "unauthorized");
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
    let r = s.post("/v1/sign-out", Some(&web), json!({})).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": orphan}))
        .await;
    r.err(401, "invalid_code");
}

/// Issue 9, item 5: a live session that keeps handing off to itself gets
/// no longer life than the sign-in it came from. The hops run every two
/// days for 20 days; the last hopped session dies at the 14-day mark of
/// the first sign-in, as does every later attempt to hop.
#[tokio::test(flavor = "multi_thread")]
async fn hopping_through_handoff_never_outlives_the_first_sign_in() {
    const DAY: i64 = 86_400;
    let s = Server::start().await;
    s.user("hop@example.com");
    let first = s.session("hop@example.com").await;
    let signed_in_at = s.now().await;
    let family_end = signed_in_at + 14 * DAY;

    let mut current = first.clone();
    let mut hops = 0;
    let mut now = signed_in_at;
    while now < signed_in_at + 20 * DAY {
        now = s.advance(2 * DAY).await;
        if now < family_end {
            let r = s.post("/v1/handoff", Some(&current), json!({})).await;
            let code = r.ok()["code"].as_str().unwrap().to_string();
            let r = s
                .post("/v1/handoff/redeem", None, json!({"code": code}))
                .await;
            current = r.ok()["session_token"].as_str().unwrap().to_string();
            hops += 1;
            s.get("/v1/two-factor", Some(&current)).await.ok();
        } else {
            s.get("/v1/two-factor", Some(&current))
                .await
                .err(401, "unauthorized");
            s.post("/v1/handoff", Some(&current), json!({}))
                .await
                .err(401, "unauthorized");
        }
    }
    assert_eq!(hops, 6, "hops on days 2 to 12");

    // The exact edge: a hop one minute before the end still works, and the
    // session it gives ends with the family, not two weeks later. The
    // server's clock runs on with the real one, so the family's end is only
    // known to lie between the clock read before and after the sign-in; each
    // step aims a few seconds inside that bracket, so a slow machine cannot
    // carry it over the edge.
    let s = Server::start().await;
    s.user("edge@example.com");
    let before = s.now().await;
    let first = s.session("edge@example.com").await;
    let after = s.now().await;
    let (earliest_end, latest_end) = (before + 14 * DAY, after + 14 * DAY);
    let now = s.now().await;
    s.advance(earliest_end - 60 - now).await;
    let r = s.post("/v1/handoff", Some(&first), json!({})).await;
    let code = r.ok()["code"].as_str().unwrap().to_string();
    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": code}))
        .await;
    let late = r.ok()["session_token"].as_str().unwrap().to_string();
    s.get("/v1/two-factor", Some(&late)).await.ok();
    let now = s.now().await;
    s.advance(earliest_end - 5 - now).await;
    s.get("/v1/two-factor", Some(&late)).await.ok();
    let now = s.now().await;
    s.advance(latest_end + 1 - now).await;
    s.get("/v1/two-factor", Some(&late))
        .await
        .err(401, "unauthorized");
    s.get("/v1/two-factor", Some(&first))
        .await
        .err(401, "unauthorized");
    // A new sign-in with the password starts a new family.
    let again = s.session("edge@example.com").await;
    s.get("/v1/two-factor", Some(&again)).await.ok();
}

/// The end a handoff code announces is the end it keeps: it redeems a few
/// seconds before, and not at that second.
#[tokio::test(flavor = "multi_thread")]
async fn a_handoff_code_ends_when_it_says() {
    let s = Server::start().await;
    s.user("end@example.com");
    let session = s.session("end@example.com").await;
    let mint = || async {
        let r = s.post("/v1/handoff", Some(&session), json!({})).await;
        let body = r.ok();
        (
            body["code"].as_str().unwrap().to_string(),
            body["expires_at"].as_i64().unwrap(),
        )
    };

    let (code, expires_at) = mint().await;
    let now = s.now().await;
    assert!(
        expires_at > now,
        "announced as already expired: {expires_at} <= {now}"
    );
    s.advance(expires_at - 5 - now).await;
    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": code}))
        .await;
    assert!(r.ok()["session_token"]
        .as_str()
        .unwrap()
        .starts_with("ses_"));

    let (code, expires_at) = mint().await;
    let now = s.now().await;
    s.advance(expires_at - now).await;
    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": code}))
        .await;
    r.err(401, "invalid_code");
}
