use std::collections::BTreeSet;

use crate::common::Server;

/// The `| METHOD | /v1/path |` rows of the route table in README.md.
fn readme_routes() -> BTreeSet<(String, String)> {
    let readme = include_str!("../../README.md");
    readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(|c| c.trim()).collect();
            if cells.len() < 4 {
                return None;
            }
            let method = cells[1];
            let path = cells[2].trim_matches('`');
            let known = ["GET", "POST", "PUT", "DELETE", "PATCH"].contains(&method);
            (known && path.starts_with("/v1/")).then(|| (method.to_string(), path.to_string()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn health_answers_with_the_crate_version() {
    let s = Server::start().await;
    let r = s.get("/v1/health", None).await;
    assert_eq!(r.ok()["status"], "ok");
    assert_eq!(r.body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_is_in_the_openapi_document_and_served() {
    let s = Server::start().await;
    let doc = s.get("/v1/openapi.json", None).await;
    let doc = doc.ok();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let readme = readme_routes();
    assert!(
        readme.len() >= 20,
        "README route table not found: {readme:?}"
    );
    assert_eq!(
        documented, readme,
        "README route table and OpenAPI document differ"
    );
    // Each documented route is really served: not the router's fallback
    // and not 405.
    for (method, path) in &documented {
        let concrete = path.replace("{id}", "1");
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let body = (method != "GET" && method != "DELETE").then(|| serde_json::json!({}));
        let r = s.send(m, &concrete, None, body).await;
        assert_ne!(r.status.as_u16(), 405, "{method} {path}");
        assert!(
            !r.message().starts_with("no route"),
            "{method} {path} is not served"
        );
    }
    // Schemas of the request bodies are in the document.
    for name in [
        "SignInRequest",
        "SignInResponse",
        "ChallengeAnswer",
        "TwoFactorState",
        "ApiError",
        "ErrorCode",
    ] {
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "schema {name}"
        );
    }
    // And an unknown route or a wrong method is a JSON error too.
    let r = s.get("/v1/nothing-here", None).await;
    r.err(404, "not_found");
    let r = s.get("/v1/sign-in", None).await;
    r.err(405, "bad_request");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_json_with_codes() {
    let s = Server::start().await;
    let r = s.get("/v1/two-factor", None).await;
    r.err(401, "unauthorized");
    let r = s.get("/v1/two-factor", Some("ses_not-a-real-token")).await;
    r.err(401, "unauthorized");
    let r = s
        .send(
            reqwest::Method::POST,
            "/v1/sign-in",
            None,
            Some(serde_json::json!({"email": 1})),
        )
        .await;
    r.err(400, "bad_request");
}
