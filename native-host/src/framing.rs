//! Chrome's native messaging framing: a 32-bit length in native byte order,
//! then that many bytes of UTF-8 JSON.
//!
//! The decoder is a plain state machine over byte slices rather than a set of
//! `read_exact` calls, for three reasons: the same code runs under tokio, in
//! the property tests (any split of the stream must decode the same frames)
//! and in the fuzz target; an oversized frame is skipped as its bytes arrive,
//! so it is never held in memory; and a truncated frame at end of input is
//! visible as leftover state instead of an I/O error deep in a read call.

use shared::native::MAX_FRAME_BYTES;

/// One thing found in the incoming byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A complete frame's payload (not yet checked to be JSON).
    Frame(Vec<u8>),
    /// A frame announced `announced` bytes, at or over the limit. Its payload
    /// is being discarded as it arrives; the caller should reply with
    /// `frame_too_large` right away, before the payload has been read.
    TooLarge { announced: u64 },
}

/// Incremental decoder: feed it whatever the pipe delivered, take frames out.
#[derive(Debug)]
pub struct FrameDecoder {
    /// Bytes of the current, incomplete header or frame. Never holds more than
    /// one frame under the limit plus one pushed chunk.
    buf: Vec<u8>,
    /// Payload bytes of an oversized frame still to be thrown away.
    skip: u64,
    limit: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new()
    }
}

impl FrameDecoder {
    /// A decoder with the protocol's limit, [`MAX_FRAME_BYTES`].
    pub fn new() -> Self {
        FrameDecoder::with_limit(MAX_FRAME_BYTES)
    }

    /// A decoder refusing frames of `limit` bytes or more (tests use small
    /// limits to exercise skipping cheaply).
    pub fn with_limit(limit: usize) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            skip: 0,
            limit,
        }
    }

    /// Consumes `bytes` and returns every frame completed by them, in order.
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Decoded> {
        let mut out = Vec::new();
        loop {
            // Discard the rest of an oversized frame without buffering it.
            // While some of it is still to come, this took the whole chunk
            // (and the buffer is empty), so the checks below return.
            let n = usize::try_from(self.skip)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            self.skip -= n as u64;
            bytes = &bytes[n..];
            if let Some(decoded) = self.take_buffered() {
                out.push(decoded);
                continue;
            }
            if bytes.is_empty() {
                return out;
            }
            // Take only as many bytes as the current header or frame needs, so
            // the skip logic above sees the rest of the chunk unbuffered.
            let need = self.bytes_needed();
            let n = need.min(bytes.len());
            self.buf.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
    }

    /// True when input ended in the middle of a header or frame: the peer
    /// went away mid-message.
    pub fn is_mid_frame(&self) -> bool {
        !self.buf.is_empty() || self.skip > 0
    }

    /// Bytes still missing before the buffered header or frame is complete.
    fn bytes_needed(&self) -> usize {
        if self.buf.len() < 4 {
            return 4 - self.buf.len();
        }
        self.announced_len()
            .map(|len| 4 + len - self.buf.len())
            .unwrap_or(0)
    }

    /// The buffered header's length when it is under the limit.
    fn announced_len(&self) -> Option<usize> {
        let len = self.raw_len()?;
        usize::try_from(len).ok().filter(|l| *l < self.limit)
    }

    fn raw_len(&self) -> Option<u32> {
        let header: [u8; 4] = self.buf.get(..4)?.try_into().ok()?;
        Some(u32::from_ne_bytes(header))
    }

    /// Pops a complete frame, or turns an oversized header into a skip.
    fn take_buffered(&mut self) -> Option<Decoded> {
        let raw = self.raw_len()?;
        match self.announced_len() {
            None => {
                self.buf.clear();
                self.skip = u64::from(raw);
                Some(Decoded::TooLarge {
                    announced: u64::from(raw),
                })
            }
            Some(len) if self.buf.len() == 4 + len => {
                let payload = self.buf.split_off(4);
                self.buf.clear();
                Some(Decoded::Frame(payload))
            }
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = (payload.len() as u32).to_ne_bytes().to_vec();
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn decodes_back_to_back_frames_in_one_chunk() {
        let mut bytes = frame(b"{\"a\":1}");
        bytes.extend(frame(b"{}"));
        let mut d = FrameDecoder::new();
        assert_eq!(
            d.push(&bytes),
            vec![
                Decoded::Frame(b"{\"a\":1}".to_vec()),
                Decoded::Frame(b"{}".to_vec())
            ]
        );
        assert!(!d.is_mid_frame());
    }

    #[test]
    fn empty_frame_is_a_frame() {
        let mut d = FrameDecoder::new();
        assert_eq!(d.push(&frame(b"")), vec![Decoded::Frame(Vec::new())]);
    }

    #[test]
    fn oversized_frame_is_reported_at_its_header_and_skipped() {
        let mut d = FrameDecoder::with_limit(8);
        let header = 20u32.to_ne_bytes();
        assert_eq!(d.push(&header), vec![Decoded::TooLarge { announced: 20 }]);
        assert!(d.is_mid_frame());
        assert_eq!(d.push(&[b'x'; 19]), vec![]);
        let mut rest = vec![b'x'];
        rest.extend(frame(b"ok"));
        assert_eq!(d.push(&rest), vec![Decoded::Frame(b"ok".to_vec())]);
        assert!(!d.is_mid_frame());
    }

    #[test]
    fn limit_itself_is_too_large() {
        let mut d = FrameDecoder::with_limit(4);
        assert_eq!(
            d.push(&4u32.to_ne_bytes()),
            vec![Decoded::TooLarge { announced: 4 }]
        );
        let mut d = FrameDecoder::with_limit(4);
        assert_eq!(
            d.push(&frame(b"abc")),
            vec![Decoded::Frame(b"abc".to_vec())]
        );
    }

    #[test]
    fn max_u32_header_does_not_allocate() {
        let mut d = FrameDecoder::new();
        assert_eq!(
            d.push(&u32::MAX.to_ne_bytes()),
            vec![Decoded::TooLarge {
                announced: u64::from(u32::MAX)
            }]
        );
        assert!(d.buf.capacity() < 64);
    }

    #[test]
    fn truncated_frame_is_visible() {
        let mut d = FrameDecoder::new();
        let bytes = frame(b"{\"id\":1}");
        assert_eq!(d.push(&bytes[..6]), vec![]);
        assert!(d.is_mid_frame());
        let mut d = FrameDecoder::new();
        assert_eq!(d.push(&bytes[..2]), vec![]);
        assert!(d.is_mid_frame());
    }

    fn decode_in_chunks(stream: &[u8], cuts: &[usize], limit: usize) -> (Vec<Decoded>, bool) {
        let mut d = FrameDecoder::with_limit(limit);
        let mut out = Vec::new();
        let mut start = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        cuts.sort_unstable();
        for cut in cuts {
            out.extend(d.push(&stream[start..cut]));
            start = cut;
        }
        out.extend(d.push(&stream[start..]));
        (out, d.is_mid_frame())
    }

    proptest! {
        /// Pipes deliver bytes in arbitrary pieces: however the stream is cut,
        /// the same frames come out, oversized ones included.
        #[test]
        fn any_split_decodes_the_same(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..8),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
            trailing in proptest::collection::vec(any::<u8>(), 0..6),
        ) {
            let limit = 24;
            let mut stream = Vec::new();
            for p in &payloads {
                stream.extend(frame(p));
            }
            stream.extend(&trailing);
            let whole = decode_in_chunks(&stream, &[], limit);
            let split = decode_in_chunks(&stream, &cuts, limit);
            prop_assert_eq!(&whole, &split);
            let byte_by_byte = {
                let mut d = FrameDecoder::with_limit(limit);
                let mut out = Vec::new();
                for b in &stream {
                    out.extend(d.push(std::slice::from_ref(b)));
                }
                (out, d.is_mid_frame())
            };
            prop_assert_eq!(&whole, &byte_by_byte);
            // Without trailing garbage, every payload comes back in order.
            if trailing.is_empty() {
                let expected: Vec<Decoded> = payloads
                    .iter()
                    .map(|p| if p.len() < limit {
                        Decoded::Frame(p.clone())
                    } else {
                        Decoded::TooLarge { announced: p.len() as u64 }
                    })
                    .collect();
                prop_assert_eq!(whole.0, expected);
                prop_assert!(!whole.1);
            }
        }
    }
}
