//! The real host binary over real pipes, as Chrome drives it: framing,
//! errors, origins and the API status.

mod account_support;
mod host_support;

use std::time::{Duration, Instant};

use account_support::Api;
use host_support::*;
use serde_json::json;

fn code(reply: &serde_json::Value) -> &str {
    reply["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn hello_returns_protocol_and_host_version() {
    let sandbox = Sandbox::new("hello");
    let mut host = sandbox.spawn_host(&[]);
    let reply = host.call(json!({"id": 1, "type": "hello", "protocol": 1}));
    assert_eq!(reply["ok"], true, "{}", reply);
    assert_eq!(reply["result"]["protocol"], 1);
    assert_eq!(reply["result"]["host_version"], env!("CARGO_PKG_VERSION"));
    let (status, stderr) = host.finish();
    assert!(status.success(), "exit {:?}: {}", status, stderr);
}

#[test]
fn unknown_extra_args_are_ignored() {
    let sandbox = Sandbox::new("args");
    let mut host = sandbox.spawn_host(&["--parent-window=0", "--some-future-flag", "x"]);
    host.hello();
    assert!(host.finish().0.success());
}

#[test]
fn wrong_origin_is_refused_without_reading_stdin() {
    let sandbox = Sandbox::new("origin");
    let mut cmd = sandbox.command();
    cmd.arg("chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/");
    let mut host = Host::spawn(cmd);
    // Stdin stays open: the host must not wait for it.
    let status = wait_bounded(&mut host.child);
    assert_eq!(status.code(), Some(3));
    assert!(host.drain().is_empty(), "a refused host wrote to stdout");
    let log = std::fs::read_to_string(sandbox.log_file()).unwrap();
    assert!(log.contains("refused"), "{}", log);
}

#[test]
fn first_request_must_be_hello() {
    let sandbox = Sandbox::new("first");
    let mut host = sandbox.spawn_host(&[]);
    let reply = host.call(json!({"id": 4, "type": "status"}));
    assert_eq!(code(&reply), "hello_required", "{}", reply);
    host.hello();
    let reply = host.call(json!({"id": 5, "type": "vault_list"}));
    assert_ne!(code(&reply), "hello_required", "{}", reply);
}

#[test]
fn garbage_json_gets_an_error_and_the_next_request_an_answer() {
    let sandbox = Sandbox::new("garbage");
    let mut host = sandbox.spawn_host(&[]);
    host.write_raw(&frame(b"{this is not json"));
    let reply = host.reply();
    assert_eq!(reply["id"], serde_json::Value::Null);
    assert_eq!(code(&reply), "malformed_json", "{}", reply);
    host.write_raw(&frame(&[0xff, 0xfe, 0x00]));
    assert_eq!(code(&host.reply()), "malformed_json");
    host.hello();
    let (status, stderr) = host.finish();
    assert!(status.success(), "{}", stderr);
}

#[test]
fn unknown_request_echoes_its_id() {
    let sandbox = Sandbox::new("unknown");
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    let reply = host.call(json!({"id": 12, "type": "launch_rockets"}));
    assert_eq!(code(&reply), "invalid_request", "{}", reply);
    let reply = host.call(json!({"id": 13, "type": "hello", "protocol": "one"}));
    assert_eq!(code(&reply), "invalid_request", "{}", reply);
    assert!(reply["error"]["message"]
        .as_str()
        .unwrap()
        .contains("hello"));
}

#[test]
fn oversized_frame_is_refused_skipped_and_the_port_lives_on() {
    let sandbox = Sandbox::new("big");
    let mut host = sandbox.spawn_host(&[]);
    let announced = 2 * 1024 * 1024u32;
    host.write_raw(&announced.to_ne_bytes());
    // The reply comes at the header, before the payload is sent.
    let reply = host.reply();
    assert_eq!(reply["id"], serde_json::Value::Null);
    assert_eq!(code(&reply), "frame_too_large", "{}", reply);
    host.write_raw(&vec![b'x'; announced as usize]);
    host.hello();
    let (status, stderr) = host.finish();
    assert!(status.success(), "{}", stderr);
    assert!(!stderr.contains("panicked"), "{}", stderr);
}

#[test]
fn oversized_header_then_eof_exits_cleanly() {
    let sandbox = Sandbox::new("bigeof");
    let mut host = sandbox.spawn_host(&[]);
    host.write_raw(&u32::MAX.to_ne_bytes());
    assert_eq!(code(&host.reply()), "frame_too_large");
    let (status, stderr) = host.finish();
    assert!(status.success(), "exit {:?}: {}", status, stderr);
}

#[test]
fn truncated_frame_at_eof_exits_cleanly() {
    let sandbox = Sandbox::new("trunc");
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    let whole = frame(br#"{"id":2,"type":"status"}"#);
    host.write_raw(&whole[..whole.len() - 5]);
    let (status, stderr) = host.finish();
    assert!(status.success(), "exit {:?}: {}", status, stderr);
    assert!(!stderr.contains("panicked"), "{}", stderr);
    // A header cut short is the same.
    let mut host = sandbox.spawn_host(&[]);
    host.write_raw(&[7, 0]);
    let (status, _) = host.finish();
    assert!(status.success());
}

#[test]
fn status_reports_a_reachable_api() {
    let sandbox = Sandbox::new("status");
    let api = Api::start();
    let version = api.health()["version"].as_str().unwrap().to_string();
    sandbox.write_config(&api.url);
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    let reply = host.call(json!({"id": 2, "type": "status"}));
    assert_eq!(reply["ok"], true, "{}", reply);
    let status = &reply["result"]["api"];
    assert_eq!(status["reachable"], true, "{}", reply);
    assert_eq!(status["url"], api.url.as_str());
    assert_eq!(status["version"], version.as_str());
    assert!(status["latency_ms"].is_u64());
    assert_eq!(reply["result"]["host_version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn status_of_a_dead_api_is_unreachable_within_5_seconds() {
    let sandbox = Sandbox::new("dead");
    let url = closed_port_url();
    sandbox.write_config(&url);
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    let started = Instant::now();
    let reply = host.call(json!({"id": 2, "type": "status"}));
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "took {:?}", elapsed);
    let api = &reply["result"]["api"];
    assert_eq!(api["reachable"], false, "{}", reply);
    let problem = api["problem"].as_str().unwrap();
    assert!(problem.contains(&url), "{}", problem);
    assert!(problem.contains("Could not connect"), "{}", problem);
}

#[test]
fn concurrent_requests_are_each_answered_whole() {
    let sandbox = Sandbox::new("many");
    let api = Api::start();
    sandbox.write_config(&api.url);
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    // Many requests in one write: the replies may come in any order, but
    // each once and each a whole frame.
    let mut burst = Vec::new();
    // More than the host runs at once (64), so it must hold back and resume.
    for id in 100..300u64 {
        let request = if id % 3 == 0 {
            json!({"id": id, "type": "nope"})
        } else {
            json!({"id": id, "type": "status"})
        };
        burst.extend(frame(request.to_string().as_bytes()));
    }
    host.write_raw(&burst);
    let mut seen: Vec<u64> = (0..200)
        .map(|_| host.reply()["id"].as_u64().unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (100..300).collect::<Vec<_>>());
}

#[test]
fn pending_replies_are_delivered_after_stdin_closes() {
    let sandbox = Sandbox::new("drain");
    let api = Api::start();
    sandbox.write_config(&api.url);
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    host.send(&json!({"id": 9, "type": "status"}));
    host.close();
    let rest = host.drain();
    assert!(rest.iter().any(|m| m["id"] == 9), "{:?}", rest);
}

#[test]
fn api_going_down_is_announced_as_status_changed() {
    let sandbox = Sandbox::new("event");
    let mut api = Api::start();
    let version = api.health()["version"].as_str().unwrap().to_string();
    sandbox.write_config(&api.url);
    let mut host = sandbox.spawn_host(&[]);
    host.hello();
    let reply = host.call(json!({"id": 2, "type": "status"}));
    assert_eq!(reply["result"]["api"]["reachable"], true, "{}", reply);
    api.stop();
    // The host keeps a status for a few seconds (dispatch::STATUS_TTL); ask
    // until it asks the API again and finds it gone, within a deadline.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut id = 3u64;
    let (event, reply) = loop {
        host.send(&json!({"id": id, "type": "status"}));
        let mut event = None;
        let reply = loop {
            let message = host.recv();
            if message.get("event").is_some() {
                event = Some(message);
            } else {
                break message;
            }
        };
        assert_eq!(reply["id"], id, "{}", reply);
        if reply["result"]["api"]["reachable"] == false {
            break (event, reply);
        }
        assert!(
            event.is_none(),
            "an event while the API still counts as up: {:?}",
            event
        );
        assert!(
            Instant::now() < deadline,
            "the host still reported the stopped API as reachable after 30 s: {}",
            reply
        );
        id += 1;
        // Poll, not wait: each round trip is a new question.
        std::thread::sleep(Duration::from_millis(100));
    };
    let problem = reply["result"]["api"]["problem"].as_str().unwrap();
    assert!(problem.contains("last answered"), "{}", problem);
    assert!(
        problem.contains(&format!("version {}", version)),
        "{}",
        problem
    );
    let event = event.expect("a status_changed event before the reply");
    assert_eq!(event["event"], "status_changed");
    assert_eq!(event["status"]["api"]["reachable"], false);
}
