//! Frame and message decoding of the native host, fed arbitrary bytes in
//! arbitrary pieces: it must never panic, never buffer an oversized frame,
//! decode the same frames however the stream is cut, and answer every frame
//! with a reply that itself encodes as a valid frame.

#![no_main]

// The host's own source, not a copy: these two modules depend only on
// `shared` and serde_json.
#[path = "../../native-host/src/framing.rs"]
mod framing;
#[path = "../../native-host/src/protocol.rs"]
#[allow(dead_code)]
mod protocol;

use framing::{Decoded, FrameDecoder};
use libfuzzer_sys::fuzz_target;
use protocol::{decode_request, encode_message, too_large_reply};
use shared::native::{HostMessage, Reply};

/// A small limit so that oversized frames and skipping are reached often.
const LIMIT: usize = 512;

fn decode(data: &[u8], chunk: usize) -> (Vec<Decoded>, bool) {
    let mut decoder = FrameDecoder::with_limit(LIMIT);
    let mut out = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        out.extend(decoder.push(piece));
    }
    (out, decoder.is_mid_frame())
}

fuzz_target!(|input: &[u8]| {
    let Some((&cut, data)) = input.split_first() else {
        return;
    };
    let whole = decode(data, data.len().max(1));
    let split = decode(data, usize::from(cut % 17) + 1);
    assert_eq!(whole, split, "the split changed what was decoded");

    for decoded in &whole.0 {
        let reply = match decoded {
            Decoded::Frame(payload) => {
                assert!(payload.len() < LIMIT);
                match decode_request(payload) {
                    Ok(frame) => {
                        // A request that decodes round-trips through JSON.
                        let json = serde_json::to_vec(&frame).expect("request encodes");
                        let again = decode_request(&json).expect("encoded request decodes");
                        assert_eq!(again.id, frame.id);
                        Reply::success(frame.id, &frame.request.kind())
                    }
                    Err(reply) => {
                        assert!(!reply.ok);
                        reply
                    }
                }
            }
            Decoded::TooLarge { announced } => {
                assert!(*announced >= LIMIT as u64);
                too_large_reply(*announced)
            }
        };
        let frame = encode_message(&HostMessage::Reply(reply));
        let len = u32::from_ne_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(len + 4, frame.len());
        serde_json::from_slice::<Reply>(&frame[4..]).expect("reply frames are JSON replies");
    }
});
