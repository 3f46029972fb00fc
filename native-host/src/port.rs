//! One native messaging port: read frames from the browser, answer them,
//! write replies back, until the browser closes the pipe.
//!
//! Requests after `hello` run concurrently (a slow health check must not hold
//! up a vault read), but a single writer task owns the output, so replies
//! and events are written whole, one frame at a time, never interleaved.

use std::sync::Arc;
use std::time::Instant;

use shared::native::{HostMessage, Reply, Request, RequestFrame};
use shared::{ErrorBody, ErrorCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::dispatch::Dispatcher;
use crate::framing::{Decoded, FrameDecoder};
use crate::protocol::{decode_request, encode_message, too_large_reply};

/// Outgoing messages waiting for the writer; a bound keeps a peer that does
/// not read from making the host buffer without limit.
pub const OUTBOX_CAPACITY: usize = 256;

/// Requests handled at once. Past this the host stops reading until one
/// finishes, so a flood from the browser becomes backpressure on the pipe
/// instead of an unbounded number of tasks.
pub const MAX_IN_FLIGHT: usize = 64;

/// How a port ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortEnd {
    /// The browser closed the pipe between frames.
    Closed,
    /// The input ended in the middle of a frame; what was complete before it
    /// was answered. Still a clean exit (code 0): the peer went away.
    Truncated,
    /// Writing to the browser failed (it went away); remaining work dropped.
    OutputGone,
}

/// The channel the writer drains; give its sender to the [`Dispatcher`] for
/// events.
pub fn outbox() -> (mpsc::Sender<HostMessage>, mpsc::Receiver<HostMessage>) {
    mpsc::channel(OUTBOX_CAPACITY)
}

/// Serves one port until its input ends, then answers what is still in
/// flight and returns.
pub async fn serve<R, W>(
    mut input: R,
    output: W,
    dispatcher: Arc<Dispatcher>,
    tx: mpsc::Sender<HostMessage>,
    rx: mpsc::Receiver<HostMessage>,
) -> PortEnd
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let writer = tokio::spawn(write_frames(output, rx));
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut greeted = false;
    let mut in_flight = JoinSet::new();

    let end = loop {
        let n = match input.read(&mut buf).await {
            Ok(0) => {
                break if decoder.is_mid_frame() {
                    tracing::warn!("input ended in the middle of a frame");
                    PortEnd::Truncated
                } else {
                    PortEnd::Closed
                };
            }
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "reading from the browser failed");
                break PortEnd::Closed;
            }
        };
        let mut output_gone = false;
        for decoded in decoder.push(&buf[..n]) {
            let sent = match decoded {
                Decoded::TooLarge { announced } => {
                    tracing::warn!(announced, "refused an oversized frame");
                    send(&tx, too_large_reply(announced)).await
                }
                Decoded::Frame(payload) => match decode_request(&payload) {
                    Err(reply) => {
                        tracing::warn!(
                            code = ?reply.error.as_ref().map(|e| e.code),
                            "refused a frame that is not a request"
                        );
                        send(&tx, reply).await
                    }
                    Ok(frame) if !greeted => {
                        let (reply, ok) = greet(&dispatcher, frame);
                        greeted = ok;
                        send(&tx, reply).await
                    }
                    Ok(frame) => {
                        while in_flight.len() >= MAX_IN_FLIGHT {
                            in_flight.join_next().await;
                        }
                        spawn_request(&mut in_flight, &dispatcher, &tx, frame);
                        true
                    }
                },
            };
            if !sent {
                output_gone = true;
                break;
            }
        }
        while in_flight.try_join_next().is_some() {}
        if output_gone {
            break PortEnd::OutputGone;
        }
    };

    if end != PortEnd::OutputGone {
        while in_flight.join_next().await.is_some() {}
    } else {
        in_flight.abort_all();
    }
    // The dispatcher holds only a weak sender for events, so the writer ends
    // once this last sender is gone and the queue is drained.
    drop(tx);
    let _ = writer.await;
    end
}

/// Answers the first request: `hello`, or `hello_required` for anything else.
fn greet(dispatcher: &Dispatcher, frame: RequestFrame) -> (Reply, bool) {
    match frame.request {
        Request::Hello { protocol } => {
            let outcome = dispatcher.hello(protocol);
            let ok = outcome.is_ok();
            tracing::info!(id = frame.id, ok, "hello");
            (to_reply(frame.id, outcome), ok)
        }
        other => {
            tracing::warn!(id = frame.id, kind = other.kind(), "request before hello");
            (
                Reply::failure(
                    Some(frame.id),
                    ErrorBody::new(
                        ErrorCode::HelloRequired,
                        format!(
                            "the first request on a port must be hello, not {}",
                            other.kind()
                        ),
                    ),
                ),
                false,
            )
        }
    }
}

/// Runs one request on its own task. An inner task does the work so that a
/// panic in it still produces an `internal` reply for that id.
fn spawn_request(
    set: &mut JoinSet<()>,
    dispatcher: &Arc<Dispatcher>,
    tx: &mpsc::Sender<HostMessage>,
    frame: RequestFrame,
) {
    let dispatcher = dispatcher.clone();
    let tx = tx.clone();
    set.spawn(async move {
        let id = frame.id;
        let kind = frame.request.kind();
        let started = Instant::now();
        // Boxed inside the task: the future of `handle` is as large as its
        // largest action, and unboxed it was copied at each step of
        // `spawn` on every request, `status` included.
        let work = tokio::spawn(async move { Box::pin(dispatcher.handle(frame.request)).await });
        let outcome = work.await.unwrap_or_else(|_| {
            Err(ErrorBody::new(
                ErrorCode::Internal,
                "the host failed while handling this request",
            ))
        });
        tracing::info!(
            id,
            kind,
            ok = outcome.is_ok(),
            code = ?outcome.as_ref().err().map(|e| e.code),
            ms = started.elapsed().as_millis() as u64,
            "request"
        );
        send(&tx, to_reply(id, outcome)).await;
    });
}

fn to_reply(id: u64, outcome: Result<serde_json::Value, ErrorBody>) -> Reply {
    match outcome {
        Ok(result) => Reply {
            id: Some(id),
            ok: true,
            result: Some(result),
            error: None,
        },
        Err(error) => Reply::failure(Some(id), error),
    }
}

/// Queues a reply; `false` when the writer is gone.
async fn send(tx: &mpsc::Sender<HostMessage>, reply: Reply) -> bool {
    tx.send(HostMessage::Reply(reply)).await.is_ok()
}

/// The single writer: one whole frame per message, flushed, so the browser
/// sees each reply as soon as it is ready.
async fn write_frames<W: AsyncWrite + Unpin>(mut output: W, mut rx: mpsc::Receiver<HostMessage>) {
    while let Some(message) = rx.recv().await {
        let frame = encode_message(&message);
        let written = async {
            output.write_all(&frame).await?;
            output.flush().await
        };
        if let Err(e) = written.await {
            tracing::warn!(error = %e, "writing to the browser failed");
            // Close the queue so senders see the port is gone.
            rx.close();
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tokio::io::AsyncReadExt;

    fn frame(json: &str) -> Vec<u8> {
        let mut out = (json.len() as u32).to_ne_bytes().to_vec();
        out.extend_from_slice(json.as_bytes());
        out
    }

    /// Requests that need neither the network nor the keyring, so the
    /// replies depend on the bytes alone.
    fn message(kind: u8, id: u64) -> String {
        match kind % 4 {
            0 => format!(r#"{{"id":{},"type":"hello","protocol":1}}"#, id),
            1 => format!(r#"{{"id":{},"type":"no_such_request"}}"#, id),
            2 => "{broken".to_string(),
            _ => format!(r#"{{"id":{},"type":"hello","protocol":99}}"#, id),
        }
    }

    /// Feeds `stream` to a port in pieces cut at `cuts` and returns the
    /// replies it wrote, sorted by id (requests after hello run concurrently).
    fn run_port(stream: &[u8], cuts: &[usize]) -> Vec<serde_json::Value> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (mut to_host, host_in) = tokio::io::duplex(1 << 16);
            let (host_out, mut from_host) = tokio::io::duplex(1 << 16);
            let (tx, rx) = outbox();
            let config = crate::config::HostConfig {
                api_url: "http://127.0.0.1:9".into(),
                allowed_origins: vec![],
            };
            let dir = std::env::temp_dir().join("dialer-2fa-port-test-unused");
            let dispatcher = Arc::new(Dispatcher::new(&config, dir, &tx).unwrap());
            let port = tokio::spawn(serve(host_in, host_out, dispatcher, tx, rx));
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
            cuts.sort_unstable();
            let mut start = 0;
            for cut in cuts.into_iter().chain(std::iter::once(stream.len())) {
                to_host.write_all(&stream[start..cut]).await.unwrap();
                tokio::task::yield_now().await;
                start = cut;
            }
            drop(to_host);
            let mut out = Vec::new();
            from_host.read_to_end(&mut out).await.unwrap();
            assert_eq!(port.await.unwrap(), PortEnd::Closed);
            let mut replies = Vec::new();
            let mut rest = &out[..];
            while !rest.is_empty() {
                let len = u32::from_ne_bytes(rest[..4].try_into().unwrap()) as usize;
                replies.push(serde_json::from_slice(&rest[4..4 + len]).unwrap());
                rest = &rest[4 + len..];
            }
            replies.sort_by_key(|r: &serde_json::Value| r["id"].as_u64());
            replies
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// However the browser's bytes are cut, the port answers the same.
        #[test]
        fn any_split_gets_the_same_replies(
            kinds in proptest::collection::vec(any::<u8>(), 1..12),
            cuts in proptest::collection::vec(any::<usize>(), 0..16),
        ) {
            let mut stream = Vec::new();
            for (i, kind) in kinds.iter().enumerate() {
                stream.extend(frame(&message(*kind, i as u64 + 1)));
            }
            let whole = run_port(&stream, &[]);
            prop_assert_eq!(whole.len(), kinds.len());
            let split = run_port(&stream, &cuts);
            prop_assert_eq!(whole, split);
        }
    }

    #[test]
    fn requests_before_hello_are_refused_then_served() {
        let mut stream = frame(r#"{"id":1,"type":"status"}"#);
        stream.extend(frame(r#"{"id":2,"type":"hello","protocol":1}"#));
        stream.extend(frame(r#"{"id":3,"type":"bogus"}"#));
        let replies = run_port(&stream, &[]);
        assert_eq!(replies[0]["error"]["code"], "hello_required");
        assert_eq!(replies[1]["ok"], true);
        assert_eq!(replies[2]["error"]["code"], "invalid_request");
    }
}
