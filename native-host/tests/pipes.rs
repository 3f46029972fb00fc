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

/// Splits what the host wrote into its frames' JSON.
fn frames_of(mut out: &[u8]) -> Vec<serde_json::Value> {
    let mut messages = Vec::new();
    while !out.is_empty() {
        assert!(out.len() >= 4, "a frame header was cut: {:?}", out);
        let len = u32::from_ne_bytes(out[..4].try_into().unwrap()) as usize;
        assert!(out.len() >= 4 + len, "a frame was cut");
        messages.push(serde_json::from_slice(&out[4..4 + len]).expect("a whole JSON frame"));
        out = &out[4 + len..];
    }
    messages
}

/// The port reads and writes its pipes on the runtime thread; a stdin and
/// stdout that are not pipes (files here) must still be served, through
/// the blocking-pool streams.
#[test]
fn stdin_and_stdout_that_are_files_are_still_served() {
    let sandbox = Sandbox::new("files");
    let mut input = frame(br#"{"id":1,"type":"hello","protocol":1}"#);
    input.extend(frame(br#"{"id":2,"type":"launch_rockets"}"#));
    input.extend(frame(br#"{"id":3,"type":"hello","protocol":1}"#));
    let in_path = sandbox.path("stdin.bin");
    let out_path = sandbox.path("stdout.bin");
    std::fs::write(&in_path, &input).unwrap();
    let mut cmd = sandbox.command();
    cmd.arg(ORIGIN)
        .stdin(std::fs::File::open(&in_path).unwrap())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("start dialer-2fa-host");
    let status = wait_bounded(&mut child);
    assert!(status.success(), "exit {:?}", status);
    let mut replies = frames_of(&std::fs::read(&out_path).unwrap());
    replies.sort_by_key(|r| r["id"].as_u64());
    assert_eq!(replies.len(), 3, "{:?}", replies);
    assert_eq!(replies[0]["ok"], true, "{}", replies[0]);
    assert_eq!(code(&replies[1]), "invalid_request", "{}", replies[1]);
    assert_eq!(replies[2]["ok"], true, "{}", replies[2]);
}

/// Bytes waiting in a pipe, and its capacity.
#[cfg(target_os = "linux")]
fn pipe_fill(fd: std::os::fd::RawFd) -> (usize, usize) {
    let mut waiting: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer; fd is open.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut waiting) };
    assert_eq!(rc, 0, "FIONREAD failed");
    // SAFETY: F_GETPIPE_SZ takes no pointer; fd is an open pipe.
    let size = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
    assert!(size > 0, "F_GETPIPE_SZ failed");
    (waiting as usize, size as usize)
}

/// Stdout is non-blocking now: when the extension reads slower than the
/// host answers, the pipe fills, writes would block, and the host must
/// wait for room and go on, each reply still whole and none lost.
#[cfg(target_os = "linux")]
#[test]
fn replies_beyond_a_full_stdout_pipe_all_arrive_whole() {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    let sandbox = Sandbox::new("fullpipe");
    let mut cmd = sandbox.command();
    cmd.arg(ORIGIN)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("start dialer-2fa-host");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // Small requests, long error replies: the requests fit in the stdin
    // pipe at once, the replies are many times the stdout pipe.
    let ids = 1..=2000u64;
    let mut burst = frame(br#"{"id":0,"type":"hello","protocol":1}"#);
    for id in ids.clone() {
        burst.extend(frame(format!(r#"{{"id":{},"type":"x"}}"#, id).as_bytes()));
    }
    stdin.write_all(&burst).unwrap();
    drop(stdin);
    // Read nothing until the pipe is full to within one page, so the host
    // has met a write that would block.
    let deadline = Instant::now() + REPLY_WAIT;
    loop {
        let (waiting, size) = pipe_fill(stdout.as_raw_fd());
        if waiting + 4096 >= size {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stdout never filled: {}",
            waiting
        );
        std::thread::yield_now();
    }
    let mut out = Vec::new();
    stdout.read_to_end(&mut out).unwrap();
    let status = wait_bounded(&mut child);
    assert!(status.success(), "exit {:?}", status);
    let replies = frames_of(&out);
    assert_eq!(replies[0]["id"], 0);
    assert_eq!(replies[0]["ok"], true, "{}", replies[0]);
    let mut seen: Vec<u64> = replies[1..]
        .iter()
        .map(|r| {
            assert_eq!(code(r), "invalid_request", "{}", r);
            r["id"].as_u64().unwrap()
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, ids.collect::<Vec<_>>());
}
