//! The QUIC wire protocol (PROTOCOL.md): protobuf messages in length-prefixed frames.
//!
//! Sans-IO: no sockets, no async. `messages` are the prost types matching `proto/endcap.proto`;
//! `frame` is the 4-byte big-endian length prefix; `encode` writes answers on the hot path by hand
//! from borrowed data, byte-for-byte what prost would write (checked in tests), without building
//! owned messages. Depends on nothing else in endcap.

mod encode;
mod frame;
mod messages;

pub use encode::{ItemRef, encode_error, encode_model_info, encode_pong, encode_recommendation, encode_request_frame};
pub use frame::{DEFAULT_MAX_FRAME_BYTES, FrameError, LEN_PREFIX, frame_len, frame_need, split_frames, write_frame};
pub use messages::*;

/// ALPN protocol id; a breaking change to the protocol gets a new one (`endcap/2`).
pub const ALPN: &[u8] = b"endcap/1";

/// A payload that is not a valid message.
pub type DecodeError = prost::DecodeError;

/// Decodes a request into `into`, reusing its allocations; on error `into` is left cleared.
pub fn decode_request(payload: &[u8], into: &mut Request) -> Result<(), DecodeError> {
    use prost::Message;
    into.clear();
    let r = into.merge(payload);
    if r.is_err() {
        into.clear();
    }
    r
}

/// Decodes an answer (clients).
pub fn decode_response(payload: &[u8]) -> Result<Response, DecodeError> {
    <Response as prost::Message>::decode(payload)
}

#[cfg(test)]
mod tests;
