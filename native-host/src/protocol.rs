//! From a frame's bytes to a typed request, and from a reply to a frame.
//!
//! Every way a frame can be wrong has its own error code, so the extension can
//! tell a bug on its side (`invalid_request`) from a broken pipe
//! (`malformed_json`). The id is echoed whenever it can be read, so the
//! extension can fail the one pending call instead of all of them.

use shared::native::{encode_frame, HostMessage, Reply, RequestFrame, MAX_FRAME_BYTES};
use shared::{ErrorBody, ErrorCode};

/// Parses one frame's payload as a request, or says why it is not one.
pub fn decode_request(payload: &[u8]) -> Result<RequestFrame, Reply> {
    // A well-formed request is parsed in one pass. Only a frame that fails
    // goes through `Value`, to find its id and type for the error reply;
    // that second pass decides every error exactly as before (a duplicate
    // key, which the one-pass parse refuses, lands there too).
    if let Ok(frame) = serde_json::from_slice::<RequestFrame>(payload) {
        return Ok(frame);
    }
    decode_through_value(payload)
}

/// The two-pass decode: JSON to `Value`, then to a request, keeping the id
/// and type seen on the way for the error message.
fn decode_through_value(payload: &[u8]) -> Result<RequestFrame, Reply> {
    let value: serde_json::Value = serde_json::from_slice(payload).map_err(|e| {
        Reply::failure(
            None,
            ErrorBody::new(
                ErrorCode::MalformedJson,
                format!("the message was not UTF-8 JSON ({})", e),
            ),
        )
    })?;
    let id = value.get("id").and_then(serde_json::Value::as_u64);
    let kind = value
        .get("type")
        .and_then(serde_json::Value::as_str)
        .map(|t| t.chars().take(64).collect::<String>());
    serde_json::from_value::<RequestFrame>(value).map_err(|e| {
        let message = match (id, kind) {
            (None, _) => "a request needs a numeric \"id\"".to_string(),
            (Some(_), None) => "a request needs a \"type\"".to_string(),
            (Some(_), Some(kind)) => format!(
                "{:?} is not a request this host understands, or its parameters are wrong \
                 (is the host older than the extension?): {}",
                kind, e
            ),
        };
        Reply::failure(id, ErrorBody::new(ErrorCode::InvalidRequest, message))
    })
}

/// The reply to a frame that announced `announced` bytes.
pub fn too_large_reply(announced: u64) -> Reply {
    Reply::failure(
        None,
        ErrorBody::new(
            ErrorCode::FrameTooLarge,
            format!(
                "a message of {} bytes is over the host's limit of {} bytes; it was skipped",
                announced, MAX_FRAME_BYTES
            ),
        ),
    )
}

/// Encodes an outgoing message as a frame. A reply that would be too big for
/// Chrome (which drops the port on such a message) becomes an error reply to
/// the same id, so the extension hears what happened.
pub fn encode_message(message: &HostMessage) -> Vec<u8> {
    let json = match serde_json::to_vec(message) {
        Ok(json) => json,
        Err(e) => return encode_fallback(reply_id(message), ErrorCode::Internal, &e.to_string()),
    };
    match encode_frame(&json) {
        Ok(frame) => frame,
        Err(err) => encode_fallback(reply_id(message), err.code, &err.message),
    }
}

fn reply_id(message: &HostMessage) -> Option<u64> {
    match message {
        HostMessage::Reply(reply) => reply.id,
        HostMessage::Event(_) => None,
    }
}

fn encode_fallback(id: Option<u64>, code: ErrorCode, why: &str) -> Vec<u8> {
    let reply = Reply::failure(
        id,
        ErrorBody::new(code, format!("the host could not send its reply: {}", why)),
    );
    // A small error reply always encodes; the empty object is a last resort
    // that keeps the stream framed rather than a panic.
    let json = serde_json::to_vec(&reply).unwrap_or_else(|_| b"{}".to_vec());
    encode_frame(&json).unwrap_or_else(|_| {
        let mut frame = 2u32.to_ne_bytes().to_vec();
        frame.extend_from_slice(b"{}");
        frame
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::{Decoded, FrameDecoder};
    use proptest::prelude::*;
    use shared::native::Request;

    fn error_of(reply: &Reply) -> (Option<u64>, ErrorCode) {
        (reply.id, reply.error.as_ref().map(|e| e.code).unwrap())
    }

    #[test]
    fn hello_decodes() {
        let frame = decode_request(br#"{"id":1,"type":"hello","protocol":1}"#).unwrap();
        assert_eq!(frame.id, 1);
        assert_eq!(frame.request, Request::Hello { protocol: 1 });
    }

    #[test]
    fn garbage_is_malformed_json() {
        let reply = decode_request(b"{nope").unwrap_err();
        assert_eq!(error_of(&reply), (None, ErrorCode::MalformedJson));
        let reply = decode_request(&[0xff, 0xfe]).unwrap_err();
        assert_eq!(error_of(&reply), (None, ErrorCode::MalformedJson));
    }

    #[test]
    fn unknown_type_echoes_id() {
        let reply = decode_request(br#"{"id":9,"type":"launch_rockets"}"#).unwrap_err();
        assert_eq!(error_of(&reply), (Some(9), ErrorCode::InvalidRequest));
        let reply = decode_request(br#"[1,2]"#).unwrap_err();
        assert_eq!(error_of(&reply), (None, ErrorCode::InvalidRequest));
        let reply = decode_request(br#"{"id":"x","type":"hello","protocol":1}"#).unwrap_err();
        assert_eq!(error_of(&reply), (None, ErrorCode::InvalidRequest));
    }

    fn any_request() -> impl Strategy<Value = Request> {
        prop_oneof![
            any::<u32>().prop_map(|protocol| Request::Hello { protocol }),
            Just(Request::Status),
            (".{0,20}", proptest::collection::vec(".{0,12}", 0..4))
                .prop_map(|(account, codes)| Request::VaultSave { account, codes }),
            proptest::option::of(".{0,20}").prop_map(|account| Request::VaultList { account }),
            any::<u64>().prop_map(|code_id| Request::VaultReveal { code_id }),
            ".{0,20}".prop_map(|account| Request::VaultDelete { account }),
        ]
    }

    proptest! {
        /// Requests framed back to back and cut anywhere decode to the same
        /// requests, in order.
        #[test]
        fn framed_requests_survive_any_split(
            requests in proptest::collection::vec((any::<u64>(), any_request()), 1..8),
            cuts in proptest::collection::vec(any::<usize>(), 0..10),
        ) {
            let mut stream = Vec::new();
            for (id, request) in &requests {
                let frame = RequestFrame { id: *id, request: request.clone() };
                stream.extend(encode_frame(&serde_json::to_vec(&frame).unwrap()).unwrap());
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
            cuts.sort_unstable();
            cuts.push(stream.len());
            let mut decoder = FrameDecoder::new();
            let mut decoded = Vec::new();
            let mut start = 0;
            for cut in cuts {
                for item in decoder.push(&stream[start..cut]) {
                    match item {
                        Decoded::Frame(payload) => decoded.push(decode_request(&payload).unwrap()),
                        Decoded::TooLarge { .. } => prop_assert!(false, "no frame here is too large"),
                    }
                }
                start = cut;
            }
            prop_assert!(!decoder.is_mid_frame());
            let expected: Vec<RequestFrame> = requests
                .into_iter()
                .map(|(id, request)| RequestFrame { id, request })
                .collect();
            prop_assert_eq!(decoded, expected);
        }
    }

    /// What a decode came to, comparable across the two paths.
    fn outcome(result: Result<RequestFrame, Reply>) -> Result<RequestFrame, serde_json::Value> {
        result.map_err(|reply| serde_json::to_value(reply).unwrap())
    }

    #[test]
    fn one_pass_decides_like_the_value_pass_on_awkward_frames() {
        let frames: &[&[u8]] = &[
            br#"{"id":1,"type":"status"}"#,
            br#"{"type":"status","id":1}"#,
            br#" {"id":1,"type":"status"} "#,
            br#"{"id":1,"type":"status","extra":[1,{"a":2}]}"#,
            br#"{"id":1,"type":"hello","protocol":1,"type":"status"}"#,
            br#"{"id":1,"type":"status","type":"hello","protocol":1}"#,
            br#"{"id":1,"id":2,"type":"status"}"#,
            br#"{"id":1,"type":"hello","protocol":1,"protocol":2}"#,
            br#"{"id":1,"type":"vault_save","account":"a","codes":["x"],"account":"b"}"#,
            br#"{"id":1.0,"type":"status"}"#,
            br#"{"id":-1,"type":"status"}"#,
            br#"{"id":18446744073709551616,"type":"status"}"#,
            br#"{"id":1,"type":"status"} x"#,
            br#"{"id":1,"type":"st\u0061tus"}"#,
            br#"{"id":1,"type":null}"#,
            br#"{"id":1}"#,
            b"{\"id\":1,\"type\":\"status\",\"x\":\"\xff\"}",
            b"",
            b"null",
        ];
        for frame in frames {
            assert_eq!(
                outcome(decode_request(frame)),
                outcome(decode_through_value(frame)),
                "{}",
                String::from_utf8_lossy(frame)
            );
        }
    }

    proptest! {
        /// Any request, with any of its keys repeated with another
        /// request's value, decodes the same by both paths.
        #[test]
        fn one_pass_decides_like_the_value_pass(
            id in any::<u64>(),
            request in any_request(),
            other in any_request(),
            repeat in any::<prop::sample::Index>(),
        ) {
            let frame = serde_json::to_value(RequestFrame { id, request }).unwrap();
            let other = serde_json::to_value(RequestFrame { id: 0, request: other }).unwrap();
            let mut text = frame.to_string();
            let extra: Vec<_> = other.as_object().unwrap().iter().collect();
            let (key, value) = extra[repeat.index(extra.len())];
            text.insert_str(text.len() - 1, &format!(",{}:{}", serde_json::Value::from(key.as_str()), value));
            prop_assert_eq!(
                outcome(decode_request(text.as_bytes())),
                outcome(decode_through_value(text.as_bytes()))
            );
            let plain = frame.to_string();
            prop_assert_eq!(
                outcome(decode_request(plain.as_bytes())),
                outcome(decode_through_value(plain.as_bytes()))
            );
        }
    }

    #[test]
    fn oversized_reply_becomes_an_error_to_the_same_id() {
        let huge = "x".repeat(MAX_FRAME_BYTES);
        let message = HostMessage::Reply(Reply::success(3, &huge));
        let frame = encode_message(&message);
        assert!(frame.len() < 1024);
        let back: Reply = serde_json::from_slice(&frame[4..]).unwrap();
        assert_eq!(error_of(&back), (Some(3), ErrorCode::FrameTooLarge));
    }
}
