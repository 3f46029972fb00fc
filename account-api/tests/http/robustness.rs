//! The server survives its own bugs and oversized requests (issue 9, item
//! 11 and "Also"): a panic is a JSON 500 for that request only, and a body
//! over the limit is a JSON 413 the client actually receives.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{Options, Server};

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_inside_a_database_closure_does_not_break_later_requests() {
    let s = Server::start().await;
    s.user("pam@example.com");
    let r = s
        .post(
            "/v1/test/fault",
            None,
            json!({"fault": "panic_in_database"}),
        )
        .await;
    r.err(500, "internal");
    assert!(!r.message().contains("panic"), "{}", r.message());
    // Before the fix the mutex stayed poisoned: every request was a 500.
    for _ in 0..3 {
        assert_eq!(
            s.sign_in("pam@example.com").await.ok()["status"],
            "authenticated"
        );
    }
    // What the panicking request wrote in its open transaction is gone.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'test_fault'"),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_in_a_handler_is_a_json_500() {
    let s = Server::start().await;
    s.user("pat@example.com");
    let r = s
        .post("/v1/test/fault", None, json!({"fault": "panic_in_handler"}))
        .await;
    r.err(500, "internal");
    assert_eq!(
        s.sign_in("pat@example.com").await.ok()["status"],
        "authenticated"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_production_server_has_no_fault_route() {
    let s = Server::start_with(Options {
        allow_clock_control: false,
        ..Options::default()
    })
    .await;
    let r = s
        .post(
            "/v1/test/fault",
            None,
            json!({"fault": "panic_in_database"}),
        )
        .await;
    r.err(404, "not_found");
    s.post("/v1/test/clock", None, json!({"advance_seconds": 1}))
        .await
        .err(404, "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_gets_a_json_413() {
    let s = Server::start().await;
    s.user("bob@example.com");
    let big = json!({
        "email": "bob@example.com",
        "password": "x".repeat(200 * 1024),
    });
    let r = s.post("/v1/sign-in", None, big).await;
    r.err(413, "payload_too_large");
    // Not counted as a password attempt, and the server goes on.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'password_failed'"),
        0
    );
    assert_eq!(
        s.sign_in("bob@example.com").await.ok()["status"],
        "authenticated"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chunked_body_over_the_limit_gets_a_json_413() {
    let s = Server::start().await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/sign-in HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 16 * 1024];
    for _ in 0..8 {
        tcp.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
        tcp.write_all(&chunk).await.unwrap();
        tcp.write_all(b"\r\n").await.unwrap();
    }
    tcp.write_all(b"0\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":"payload_too_large""#), "{answer}");
}
