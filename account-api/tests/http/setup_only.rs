//! Issue 16: a session that may only set up 2FA (R9) is refused on every
//! other route. The routes come from the OpenAPI document the server
//! serves, so a route added later is probed without anyone adding it here:
//! unless it is listed below as a setup route or a public one, it must
//! refuse a setup-only session.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use reqwest::Method;
use serde_json::{json, Value};
use shared::api::AccountRole;

use crate::common::{Server, PASSWORD};

/// What a setup-only session may still do: read its 2FA state, set 2FA
/// up, and sign out.
const SETUP_ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/two-factor"),
    ("POST", "/v1/two-factor/authenticator/setup"),
    ("POST", "/v1/two-factor/authenticator/confirm"),
    ("POST", "/v1/two-factor/sms/setup"),
    ("POST", "/v1/two-factor/sms/confirm"),
    // Issue 14: during a deadline's grace period, the way to a full
    // session without setup (`rollout::grace_skips_*` tests its limits).
    ("POST", "/v1/two-factor/setup/skip"),
    ("POST", "/v1/sign-out"),
    ("POST", "/v1/sign-out/everywhere"),
];

/// Routes that take no session at all.
const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/health"),
    ("GET", "/v1/ready"),
    ("GET", "/v1/openapi.json"),
    ("POST", "/v1/sign-in"),
    ("POST", "/v1/sign-in/challenge"),
    ("POST", "/v1/sign-in/challenge/resend"),
    ("POST", "/v1/handoff/redeem"),
    ("POST", "/v1/test/clock"),
    ("POST", "/v1/test/fault"),
    ("POST", "/v1/test/janitor"),
];

fn listed(list: &[(&str, &str)], method: &str, path: &str) -> bool {
    list.iter().any(|(m, p)| *m == method && *p == path)
}

/// Every documented operation: (METHOD, path) -> whether it names a
/// security requirement.
fn operations(doc: &Value) -> BTreeMap<(String, String), bool> {
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            ops.insert((method.to_uppercase(), path.clone()), secured);
        }
    }
    ops
}

/// The README route table's auth cell for each route.
fn readme_auth() -> BTreeMap<(String, String), String> {
    include_str!("../../README.md")
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() < 5 || !cells[2].starts_with("`/v1/") {
                return None;
            }
            let path = cells[2].trim_matches('`').to_string();
            Some(((cells[1].to_string(), path), cells[3].to_string()))
        })
        .collect()
}

/// Every row of every table, as text, sorted: what "nothing changed" is
/// compared against.
fn snapshot(s: &Server) -> BTreeMap<String, Vec<String>> {
    let conn = s.conn();
    let tables = conn.table_names().unwrap();
    tables
        .into_iter()
        .map(|table| {
            let mut rows: Vec<String> = conn
                .query_map(
                    &format!("SELECT * FROM \"{table}\""),
                    account_api::params![],
                    |r| {
                        Ok(r.values()
                            .iter()
                            .map(|v| format!("{v:?}"))
                            .collect::<Vec<_>>()
                            .join(" | "))
                    },
                )
                .unwrap();
            rows.sort();
            (table, rows)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_setup_only_session_is_refused_on_every_route_but_setup_and_sign_out() {
    let s = Server::start().await;
    let user = s.user("set@example.com");
    s.user("other@example.com");
    // The user owns the account that enforces 2FA, and has no 2FA: their
    // sessions may only set it up.
    let account = s.account("Strict");
    s.member("Strict", "set@example.com", AccountRole::Owner);
    s.member("Strict", "other@example.com", AccountRole::Member);
    s.enforce("Strict", true);
    let r = s.sign_in("set@example.com").await;
    assert_eq!(r.ok()["status"], "two_factor_setup_required", "{}", r.body);
    let token = r.body["session_token"].as_str().unwrap().to_string();
    // A remembered device of theirs, so "revoke device" has one to revoke
    // (a user without 2FA cannot remember one through the API).
    let now = s.now().await;
    s.conn()
        .execute(
            "INSERT INTO trusted_devices (user_id, token_hash, label, created_at, expires_at)
             VALUES (?1, ?4, 'planted', ?2, ?3)",
            account_api::params![user, now, now + 86_400, [0x77u8; 32]],
        )
        .unwrap();
    let device: i64 = s
        .conn()
        .query_row(
            "SELECT MAX(id) FROM trusted_devices",
            account_api::params![],
            |r| r.get(0),
        )
        .unwrap();

    // Each request as a full session would send it, so a refusal is the
    // session's doing, not the body's.
    let concrete = |path: &str| match path {
        "/v1/accounts/{id}/enforcement" => format!("/v1/accounts/{account}/enforcement"),
        "/v1/trusted-devices/{id}" => format!("/v1/trusted-devices/{device}"),
        // A route added later: any parameter, the first row.
        other => {
            let mut out = String::new();
            let mut rest = other;
            while let Some(open) = rest.find('{') {
                let close = rest[open..].find('}').map(|c| open + c + 1).unwrap();
                out.push_str(&rest[..open]);
                out.push('1');
                rest = &rest[close..];
            }
            out.push_str(rest);
            out
        }
    };
    let body = |method: &str, path: &str| -> Option<Value> {
        let known = match path {
            "/v1/password" => {
                json!({"current_password": PASSWORD, "new_password": "another long password"})
            }
            "/v1/two-factor/switch" => json!({"method": "authenticator", "password": PASSWORD}),
            "/v1/two-factor/disable" => json!({"password": PASSWORD, "confirm": true}),
            "/v1/two-factor/recovery-codes" => json!({"password": PASSWORD}),
            "/v1/accounts/{id}/enforcement" => json!({"enforce_2fa": false, "password": PASSWORD}),
            _ => json!({}),
        };
        (method != "GET" && method != "DELETE").then_some(known)
    };

    let doc = s.get("/v1/openapi.json", None).await;
    let ops = operations(doc.ok());
    let readme = readme_auth();
    for ((method, path), secured) in &ops {
        // The document says which routes need a session, and agrees with
        // the README's auth column and the lists above.
        let public = listed(PUBLIC_ROUTES, method, path);
        assert_eq!(
            *secured, !public,
            "{method} {path}: security in the document"
        );
        let auth = readme.get(&(method.clone(), path.clone()));
        let auth = auth.unwrap_or_else(|| panic!("{method} {path} not in README"));
        assert_eq!(
            auth.starts_with("bearer"),
            *secured,
            "{method} {path}: `{auth}`"
        );
        assert_eq!(
            auth.contains("setup"),
            listed(SETUP_ROUTES, method, path),
            "{method} {path}: README says `{auth}`"
        );
    }

    // A setup-only web app session too (its cookie routes are not in the
    // document).
    let res = s
        .client
        .post(format!("{}/web/sign-in", s.base))
        .header(ORIGIN, &s.base)
        .json(&json!({"email": "set@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("d2fa_session=") && c.len() > "d2fa_session=".len())
        .expect("a setup-only web session");

    let before = snapshot(&s);
    let mut probed = BTreeSet::new();
    for (method, path) in ops.keys() {
        if listed(PUBLIC_ROUTES, method, path) || listed(SETUP_ROUTES, method, path) {
            continue;
        }
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let r = s
            .send(m, &concrete(path), Some(&token), body(method, path))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (403, "setup_required"),
            "{method} {path}: {}",
            r.body
        );
        probed.insert(format!("{method} {path}"));
    }
    // The routes issue 16 names are among them.
    for named in [
        "POST /v1/password",
        "POST /v1/two-factor/switch",
        "POST /v1/two-factor/disable",
        "POST /v1/two-factor/recovery-codes",
        "DELETE /v1/trusted-devices/{id}",
        "PUT /v1/accounts/{id}/enforcement",
        "GET /v1/accounts/{id}/enforcement",
        "GET /v1/accounts",
        "GET /v1/trusted-devices",
        "POST /v1/handoff",
    ] {
        assert!(probed.contains(named), "{named} was not probed: {probed:?}");
    }

    // The web app's own route that needs a full session refuses too.
    let res = s
        .client
        .post(format!("{}/web/handoff", s.base))
        .header(ORIGIN, &s.base)
        .header(COOKIE, &cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "setup_required", "{answer}");

    // Nothing changed: no password, no setting, no device, no code, no
    // session, no audit row, no notification.
    assert_eq!(
        snapshot(&s),
        before,
        "a refused request changed the database"
    );
    // The session is still live and still setup-only.
    let state = s.get("/v1/two-factor", Some(&token)).await;
    assert_eq!(state.ok()["setup_only"], true);
}
