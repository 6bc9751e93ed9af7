//! The QUIC wire protocol (PROTOCOL.md): protobuf messages in length-prefixed frames.
//!
//! Sans-IO: no sockets, no async. `messages` are the prost types matching `proto/endcap.proto`
//! (the schema, used by clients and to check the hand-written codec); `frame` is the 4-byte
//! big-endian length prefix; `wire` reads fields without building messages (the server decodes
//! requests into reused buffers, clients read answer envelopes); `pb` writes answers by hand from
//! borrowed data, byte-for-byte what prost would write (checked in tests). Depends on nothing else
//! in endcap.

mod audience;
mod codes;
mod frame;
mod messages;
pub mod pb;
pub mod wire;

pub use audience::*;
pub use frame::{
    DEFAULT_MAX_FRAME_BYTES, FrameError, LEN_PREFIX, frame_len, frame_need, split_frames, split_frames_while,
    write_frame,
};
pub use messages::*;
pub use pb::{
    GroupRef, ItemRef, MemberRef, ProductLine, SegmentRef, ShareRef, encode_audience, encode_error, encode_error_retry,
    encode_recommendation, encode_request_frame, encode_segments,
};
pub use wire::{Envelope, Value, WireError, for_each_field, request_envelope, response_envelope};

/// ALPN protocol id; a breaking change to the protocol gets a new one (`endcap/2`).
pub const ALPN: &[u8] = b"endcap/1";

/// A payload that is not a valid message.
pub type DecodeError = prost::DecodeError;

/// Decodes an answer (clients).
pub fn decode_response(payload: &[u8]) -> Result<Response, DecodeError> {
    <Response as prost::Message>::decode(payload)
}

#[cfg(test)]
mod tests;
