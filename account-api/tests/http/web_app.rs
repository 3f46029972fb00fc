//! The web app's cookie routes: tokens only in HttpOnly SameSite=Strict
//! cookies, an Origin check on every state change, the same 2FA rules as the
//! v1 API, and handoff codes both ways.

use reqwest::header::ORIGIN;
use reqwest::Method;
use serde_json::json;

use crate::common::{certainly_wrong_code, oathtool, totp_window, Options, Server, PASSWORD};
use crate::web_client::{assert_no_token_in, Answer, Web};

#[tokio::test(flavor = "multi_thread")]
async fn page_is_served_with_the_pinned_extension_id_and_a_csp() {
    let s = Server::start().await;
    let res = s.client.get(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(html.contains(shared::product::EXTENSION_ID));
    assert!(!html.contains("@EXTENSION_ID@"));
    // The page's script is a module importing the 2FA logic: both are
    // served as JavaScript from this origin (a module with another type
    // is not run).
    assert!(html.contains(r#"<script type="module" src="/app.js">"#));
    for (path, needle) in [
        ("/app.js", "from './logic.mjs'"),
        ("/logic.mjs", "export function wizardUpdate"),
    ] {
        let js = s
            .client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(js.status(), 200, "{path}");
        assert_eq!(
            js.headers()["content-type"],
            "text/javascript; charset=utf-8",
            "{path}"
        );
        assert!(js.text().await.unwrap().contains(needle), "{path}");
    }
    // The words it shows come from the catalogue the extension compiles
    // in, imported as a JSON module: served as JSON from this origin.
    let words = s
        .client
        .get(format!("{}/words.json", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(words.status(), 200);
    assert_eq!(
        words.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let words: serde_json::Value = words.json().await.unwrap();
    assert_eq!(words["words"]["method.authenticator"], "Authenticator app");
    assert_eq!(words["intl"]["date"]["dateStyle"], "medium");
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_sets_an_http_only_strict_cookie_and_never_returns_the_token() {
    let s = Server::start().await;
    s.user("wes@example.com");
    let mut web = Web::new(&s);
    assert_eq!(web.get("/web/session").await.status, 401);
    let r = web
        .post(
            "/web/sign-in",
            json!({"email": "wes@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "authenticated");
    assert_no_token_in(&r.body);
    let session = r
        .set_cookies
        .iter()
        .find(|c| c.starts_with("d2fa_session=") && !c.starts_with("d2fa_session=;"))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    let me = web.get("/web/session").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], "wes@example.com");
    assert_eq!(me.body["two_factor"]["enabled"], false);
    assert_no_token_in(&me.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn state_changes_need_the_pages_own_origin() {
    let s = Server::start().await;
    s.user("oz@example.com");
    let mut web = Web::new(&s);
    let body = json!({"email": "oz@example.com", "password": PASSWORD});
    let foreign = web
        .send(
            Method::POST,
            "/web/sign-in",
            Some(body.clone()),
            Some("http://localhost:1"),
        )
        .await;
    assert_eq!(foreign.status, 403);
    assert_eq!(foreign.body["error"]["code"], "forbidden");
    let missing = web
        .send(Method::POST, "/web/sign-in", Some(body.clone()), None)
        .await;
    assert_eq!(missing.status, 403);
    assert!(web.cookie("d2fa_session").is_none());
    // Signed in, a cross-origin sign-out is refused and the session lives.
    let r = web.post("/web/sign-in", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "authenticated");
    let r = web
        .send(
            Method::POST,
            "/web/sign-out",
            Some(json!({})),
            Some("http://127.0.0.2:9"),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(web.get("/web/session").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn challenge_in_cookies_then_remembered_device_skips_the_code() {
    let s = Server::start().await;
    s.user("tia@example.com");
    let token = s.session("tia@example.com").await;
    let (secret, _) = s.enroll_authenticator(&token).await;

    let mut web = Web::new(&s);
    let creds = json!({"email": "tia@example.com", "password": PASSWORD});
    let r = web.post("/web/sign-in", creds.clone()).await;
    assert_eq!(r.body["status"], "two_factor_required", "{}", r.body);
    assert_eq!(r.body["method"], "authenticator");
    assert_no_token_in(&r.body);
    assert!(web.cookie("d2fa_challenge").is_some());
    // The challenge cookie lives as long as the challenge: until the
    // expires_at the page was told (15 minutes), not longer or shorter.
    let lifetime = r.body["expires_at"].as_i64().unwrap() - s.now().await;
    let cookie = set_cookie(&r, "d2fa_challenge");
    let age = max_age(cookie);
    assert!(
        (lifetime..=lifetime + 2).contains(&age) && (898..=900).contains(&age),
        "Max-Age {age}, the challenge ends in {lifetime} s"
    );
    assert!(web.cookie("d2fa_session").is_none());
    assert_eq!(web.get("/web/session").await.status, 401);

    let right = totp_window(&secret, s.now().await);
    let wrong = web
        .post(
            "/web/challenge",
            json!({"code": certainly_wrong_code(&right)}),
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.body["error"]["code"], "invalid_code",
        "{}",
        wrong.body
    );
    let code = oathtool(&secret, s.now().await);
    let ok = web
        .post(
            "/web/challenge",
            json!({"code": code, "remember_device": true}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_no_token_in(&ok.body);
    assert!(web.cookie("d2fa_challenge").is_none());
    let device = ok
        .set_cookies
        .iter()
        .find(|c| c.starts_with("d2fa_device="))
        .expect("a trusted-device cookie");
    assert!(device.contains("HttpOnly") && device.contains("SameSite=Strict"));
    // 60 days from when the cookie is sent: a second may have ticked
    // since the trust was granted, never the other way.
    assert!(
        (60 * 86_400 - 2..=60 * 86_400).contains(&max_age(device)),
        "{device}"
    );
    let me = web.get("/web/session").await;
    assert_eq!(me.body["two_factor"]["method"], "authenticator");
    assert!(me.body["two_factor"]["verified_until"].as_i64().is_some());

    // Sign out keeps the device cookie: the next sign-in asks no code.
    assert_eq!(web.post("/web/sign-out", json!({})).await.status, 204);
    assert_eq!(web.get("/web/session").await.status, 401);
    s.advance(86_400).await;
    let again = web.post("/web/sign-in", creds).await;
    assert_eq!(again.body["status"], "authenticated", "{}", again.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn handoff_codes_work_once_in_both_directions() {
    let s = Server::start().await;
    s.user("hal@example.com");
    let mut web = Web::new(&s);
    let r = web
        .post(
            "/web/sign-in",
            json!({"email": "hal@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.body["status"], "authenticated", "{}", r.body);

    // Web app -> another client (the extension's host uses the v1 route).
    let minted = web.post("/web/handoff", json!({})).await;
    assert_eq!(minted.status, 200, "{}", minted.body);
    let code = minted.body["code"].as_str().unwrap().to_string();
    let first = s
        .post("/v1/handoff/redeem", None, json!({"code": code}))
        .await;
    let other_session = first.ok()["session_token"].as_str().unwrap().to_string();
    s.post("/v1/handoff/redeem", None, json!({"code": code}))
        .await
        .err(401, "invalid_code");

    // Another client -> a web app without a session.
    let code = s
        .post("/v1/handoff", Some(&other_session), json!({}))
        .await
        .ok()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let mut fresh = Web::new(&s);
    let r = fresh
        .post("/web/handoff/redeem", json!({"code": code}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_no_token_in(&r.body);
    assert_eq!(
        fresh.get("/web/session").await.body["email"],
        "hal@example.com"
    );
    let replay = Web::new(&s)
        .post("/web/handoff/redeem", json!({"code": code}))
        .await;
    assert_eq!(replay.status, 401);

    // A handoff code expires.
    let code = web.post("/web/handoff", json!({})).await.body["code"]
        .as_str()
        .unwrap()
        .to_string();
    s.advance(120).await;
    let late = Web::new(&s)
        .post("/web/handoff/redeem", json!({"code": code}))
        .await;
    assert_eq!(late.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_out_everywhere_ends_every_session() {
    let s = Server::start().await;
    s.user("eve@example.com");
    let other = s.session("eve@example.com").await;
    let mut web = Web::new(&s);
    let r = web
        .post(
            "/web/sign-in",
            json!({"email": "eve@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.body["status"], "authenticated", "{}", r.body);
    assert_eq!(web.get("/web/session").await.status, 200);
    assert_eq!(
        web.post("/web/sign-out-everywhere", json!({})).await.status,
        204
    );
    assert_eq!(web.get("/web/session").await.status, 401);
    s.get("/v1/two-factor", Some(&other))
        .await
        .err(401, "unauthorized");
}

#[tokio::test(flavor = "multi_thread")]
async fn handoff_carries_the_computers_trust_without_extending_it() {
    let s = Server::start().await;
    s.user("kim@example.com");
    let token = s.session("kim@example.com").await;
    let (secret, _) = s.enroll_authenticator(&token).await;

    // The extension's host verifies once and asks to remember the computer.
    let r = s.sign_in("kim@example.com").await;
    let challenge = r.ok()["challenge_token"].as_str().unwrap().to_string();
    let code = oathtool(&secret, s.now().await);
    let done = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": challenge, "code": code, "remember_device": true}),
        )
        .await;
    let extension_session = done.ok()["session_token"].as_str().unwrap().to_string();
    let trusted_until = done.body["trusted_until"].as_i64().unwrap();

    // Ten days later the web app signs in through a handoff.
    s.advance(10 * 86_400).await;
    let code = s
        .post("/v1/handoff", Some(&extension_session), json!({}))
        .await
        .ok()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let mut web = Web::new(&s);
    let r = web.post("/web/handoff/redeem", json!({"code": code})).await;
    assert_eq!(r.body["verified_until"], trusted_until, "{}", r.body);
    let device = r
        .set_cookies
        .iter()
        .find(|c| c.starts_with("d2fa_device="))
        .expect("the computer's trust, as the web app's own device cookie");
    // What is left of the 60 days, not 60 again. The server's clock runs
    // on from the test's offset, so a second may tick between the
    // verification and the redeem (this assertion failed once that way).
    assert!(
        (50 * 86_400 - 2..=50 * 86_400).contains(&max_age(device)),
        "{device}"
    );

    // Signed out and in again with the password: no code, same end date.
    assert_eq!(web.post("/web/sign-out", json!({})).await.status, 204);
    assert_eq!(web.get("/web/session").await.status, 401);
    let creds = json!({"email": "kim@example.com", "password": PASSWORD});
    let again = web.post("/web/sign-in", creds.clone()).await;
    assert_eq!(again.body["status"], "authenticated", "{}", again.body);
    assert_eq!(again.body["verified_until"], trusted_until);

    // One code entered in all of it; the handoff is on the record.
    let verified = "SELECT COUNT(*) FROM audit_log WHERE event = 'second_factor_verified'";
    assert_eq!(s.count(verified), 1);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'handoff_redeemed'"),
        1
    );

    // When the computer's 60 days end, the web app is asked too.
    // (The session itself ended with its two weeks long before.)
    s.advance(51 * 86_400).await;
    assert_eq!(web.get("/web/session").await.status, 401);
    let late = web.post("/web/sign-in", creds).await;
    assert_eq!(late.body["status"], "two_factor_required", "{}", late.body);
}

/// A `Set-Cookie`'s Max-Age, in seconds.
fn max_age(cookie: &str) -> i64 {
    cookie
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Max-Age="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Max-Age in {cookie}"))
}

/// The `Set-Cookie` that sets `name` to a value.
fn set_cookie<'b>(answer: &'b Answer, name: &str) -> &'b str {
    answer
        .set_cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")) && !c.starts_with(&format!("{name}=;")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", answer.set_cookies))
}

#[tokio::test(flavor = "multi_thread")]
async fn over_https_cookies_are_host_prefixed_and_secure_and_only_that_origin_may_post() {
    let s = Server::start_with(Options {
        public_origin: Some("https://app.test"),
        ..Options::default()
    })
    .await;
    s.user("hex@example.com");
    let token = s.session("hex@example.com").await;
    let (secret, _) = s.enroll_authenticator(&token).await;
    let creds = json!({"email": "hex@example.com", "password": PASSWORD});

    // The server's own loopback address is not the web app's origin.
    let mut loopback = Web::new(&s);
    let r = loopback.post("/web/sign-in", creds.clone()).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.set_cookies.is_empty(), "{:?}", r.set_cookies);

    // The configured origin (as the TLS proxy's page sends it) works, and
    // every cookie is __Host- prefixed, Secure, Path=/ and has no Domain.
    let mut web = Web::at(&s, "https://app.test");
    let r = web.post("/web/sign-in", creds).await;
    assert_eq!(r.body["status"], "two_factor_required", "{}", r.body);
    let challenge = set_cookie(&r, "__Host-d2fa_challenge");
    let code = oathtool(&secret, s.now().await);
    let ok = web
        .post(
            "/web/challenge",
            json!({"code": code, "remember_device": true}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    for cookie in [
        challenge,
        set_cookie(&ok, "__Host-d2fa_session"),
        set_cookie(&ok, "__Host-d2fa_device"),
    ] {
        let attributes: Vec<&str> = cookie.split("; ").collect();
        for wanted in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(attributes.contains(&wanted), "{wanted} missing: {cookie}");
        }
        assert!(!cookie.contains("Domain"), "{cookie}");
    }
    assert!(
        ok.set_cookies.iter().all(|c| c.starts_with("__Host-")),
        "{:?}",
        ok.set_cookies
    );
    assert_eq!(web.get("/web/session").await.status, 200);

    // The session cookie counts only under its prefixed name.
    let session = web.cookie("__Host-d2fa_session").unwrap().to_string();
    let mut unprefixed = Web::at(&s, "https://app.test");
    unprefixed
        .cookies
        .push(("d2fa_session".into(), session.clone()));
    assert_eq!(unprefixed.get("/web/session").await.status, 401);

    // A page on the loopback origin cannot use the cookies either.
    let mut other = Web::new(&s);
    other.cookies.push(("__Host-d2fa_session".into(), session));
    let r = other.post("/web/handoff", json!({})).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(s.count("SELECT COUNT(*) FROM handoff_codes"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn over_http_only_the_exact_origin_may_post_not_another_port_or_host_name() {
    let s = Server::start().await;
    s.user("lou@example.com");
    let creds = json!({"email": "lou@example.com", "password": PASSWORD});
    let port: u16 = s.base.rsplit(':').next().unwrap().parse().unwrap();
    for origin in [
        format!("http://127.0.0.1:{}", port + 1),
        format!("http://localhost:{port}"),
        format!("https://127.0.0.1:{port}"),
    ] {
        let mut web = Web::at(&s, &origin);
        let r = web.post("/web/sign-in", creds.clone()).await;
        assert_eq!(r.status, 403, "{origin}: {}", r.body);
        assert!(web.cookie("d2fa_session").is_none(), "{origin}");
    }
    // The Host header is the client's to choose: a request that names
    // another port in both Host and Origin is still not the web app.
    let other = format!("127.0.0.1:{}", port + 1);
    let r = s
        .client
        .post(format!("{}/web/sign-in", s.base))
        .header(reqwest::header::HOST, &other)
        .header(ORIGIN, format!("http://{other}"))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The configured (here derived) origin works; plain http cookies are
    // not Secure (a browser would drop them) and carry no prefix.
    let mut web = Web::new(&s);
    let r = web.post("/web/sign-in", creds).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let session = set_cookie(&r, "d2fa_session");
    assert!(!session.contains("Secure"), "{session}");
}

/// The page's stylesheets, its own and the design tokens it shares with
/// the extension, are served as CSS with their rules.
#[tokio::test(flavor = "multi_thread")]
async fn the_stylesheets_are_served_as_css() {
    let s = Server::start().await;
    for (path, has) in [("/app.css", "var(--"), ("/tokens.css", "--color-primary")] {
        let res = s
            .client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css"));
        let css = res.text().await.unwrap();
        assert!(css.contains(has), "{path}: {css}");
    }
}
