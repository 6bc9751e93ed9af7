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
