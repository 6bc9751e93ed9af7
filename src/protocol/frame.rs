//! Framing: every message travels as a 4-byte big-endian length, then that many bytes.

/// Bytes in the length prefix.
pub const LEN_PREFIX: usize = 4;
/// Default largest frame payload a server accepts.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 65_536;

/// A frame length the receiver will not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The prefix announces more than the limit.
    #[error("frame of {len} bytes is larger than the limit of {max} bytes")]
    TooLarge {
        /// Announced length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// The payload length announced by `prefix`, if within `max`.
#[inline]
pub fn frame_len(prefix: [u8; LEN_PREFIX], max: usize) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len > max { Err(FrameError::TooLarge { len, max }) } else { Ok(len) }
}

/// Calls `each` with the payload of every whole frame at the start of `buf`, in order. Returns the
/// bytes those frames took, and the error of a length prefix over `max` if one came next (the
/// bytes after it cannot be trusted to hold a frame boundary). What is left after the returned
/// count is the start of a frame still arriving.
#[inline]
pub fn split_frames(buf: &[u8], max: usize, mut each: impl FnMut(&[u8])) -> (usize, Option<FrameError>) {
    split_frames_while(buf, max, |p| {
        each(p);
        true
    })
}

/// As [`split_frames`], stopping after a frame for which `each` returns false (the bytes after it
/// are left for the next call): a reader bounds the answers of one batch this way.
#[inline]
pub fn split_frames_while(buf: &[u8], max: usize, mut each: impl FnMut(&[u8]) -> bool) -> (usize, Option<FrameError>) {
    let mut used = 0;
    while let Some(prefix) = buf[used..].first_chunk::<LEN_PREFIX>() {
        let len = match frame_len(*prefix, max) {
            Ok(len) => len,
            Err(e) => return (used, Some(e)),
        };
        let Some(payload) = buf.get(used + LEN_PREFIX..used + LEN_PREFIX + len) else { break };
        used += LEN_PREFIX + len;
        if !each(payload) {
            break;
        }
    }
    (used, None)
}

/// Bytes the frame starting `partial` needs in all (prefix and payload), as far as is known: the
/// prefix alone until it has arrived.
#[inline]
pub fn frame_need(partial: &[u8]) -> usize {
    partial.first_chunk::<LEN_PREFIX>().map_or(LEN_PREFIX, |p| LEN_PREFIX + u32::from_be_bytes(*p) as usize)
}

/// Appends one frame to `out`: reserves the prefix, lets `body` write the payload, patches the
/// length in.
#[inline]
pub fn write_frame(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; LEN_PREFIX]);
    body(out);
    let len = (out.len() - start - LEN_PREFIX) as u32;
    out[start..start + LEN_PREFIX].copy_from_slice(&len.to_be_bytes());
}
