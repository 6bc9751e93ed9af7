//! Hot-path answer encoders: protobuf written by hand from borrowed strings, so an answer costs
//! no allocation beyond growing the caller's output buffer. The bytes are exactly what prost
//! writes for the equivalent owned message (proto3: default values omitted, fields in number
//! order); `tests.rs` checks that byte for byte.

use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

use super::frame::write_frame;
use super::messages::{ErrorCode, ModelInfo, Request, Response, response};

/// One suggested product, borrowed from the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemRef<'a> {
    /// Product id.
    pub product_id: &'a str,
    /// Product name.
    pub name: &'a str,
    /// Aisle name.
    pub aisle: &'a str,
    /// Score.
    pub score: f32,
    /// Reason code.
    pub reason: &'a str,
}

#[inline]
fn str_len(tag: u32, s: &str) -> usize {
    if s.is_empty() { 0 } else { key_len(tag) + encoded_len_varint(s.len() as u64) + s.len() }
}

#[inline]
fn put_str(tag: u32, s: &str, out: &mut Vec<u8>) {
    if !s.is_empty() {
        encode_key(tag, WireType::LengthDelimited, out);
        encode_varint(s.len() as u64, out);
        out.extend_from_slice(s.as_bytes());
    }
}

#[inline]
fn u64_len(tag: u32, v: u64) -> usize {
    if v == 0 { 0 } else { key_len(tag) + encoded_len_varint(v) }
}

#[inline]
fn put_u64(tag: u32, v: u64, out: &mut Vec<u8>) {
    if v != 0 {
        encode_key(tag, WireType::Varint, out);
        encode_varint(v, out);
    }
}

#[inline]
fn put_message_header(tag: u32, len: usize, out: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(len as u64, out);
}

#[inline]
fn item_len(i: &ItemRef<'_>) -> usize {
    str_len(1, i.product_id)
        + str_len(2, i.name)
        + str_len(3, i.aisle)
        + if i.score != 0.0 { key_len(4) + 4 } else { 0 }
        + str_len(5, i.reason)
}

/// Writes the `Response` envelope's id and model version.
#[inline]
fn put_envelope(id: u64, model_version: &str, out: &mut Vec<u8>) {
    put_u64(1, id, out);
    put_str(2, model_version, out);
}

/// Appends a `Response{recommendation}` frame to `out`.
pub fn encode_recommendation<'a, I>(out: &mut Vec<u8>, id: u64, model_version: &str, items: I, took_us: u64)
where
    I: Iterator<Item = ItemRef<'a>> + Clone,
{
    let body_len: usize = items
        .clone()
        .map(|i| {
            let n = item_len(&i);
            key_len(1) + encoded_len_varint(n as u64) + n
        })
        .sum::<usize>()
        + u64_len(2, took_us);
    write_frame(out, |out| {
        put_envelope(id, model_version, out);
        put_message_header(12, body_len, out);
        for i in items {
            put_message_header(1, item_len(&i), out);
            put_str(1, i.product_id, out);
            put_str(2, i.name, out);
            put_str(3, i.aisle, out);
            if i.score != 0.0 {
                encode_key(4, WireType::ThirtyTwoBit, out);
                out.extend_from_slice(&i.score.to_le_bytes());
            }
            put_str(5, i.reason, out);
        }
        put_u64(2, took_us, out);
    });
}

/// Appends a `Response{pong}` frame to `out`.
pub fn encode_pong(out: &mut Vec<u8>, id: u64, model_version: &str, server_time_us: u64) {
    write_frame(out, |out| {
        put_envelope(id, model_version, out);
        put_message_header(10, u64_len(1, server_time_us), out);
        put_u64(1, server_time_us, out);
    });
}

/// Appends a `Response{error}` frame to `out`.
pub fn encode_error(out: &mut Vec<u8>, id: u64, model_version: &str, code: ErrorCode, message: &str) {
    let code = code as i32 as u64;
    write_frame(out, |out| {
        put_envelope(id, model_version, out);
        put_message_header(15, u64_len(1, code) + str_len(2, message), out);
        put_u64(1, code, out);
        put_str(2, message, out);
    });
}

/// Appends a `Response{model_info}` frame to `out` (rare: built with prost).
pub fn encode_model_info(out: &mut Vec<u8>, id: u64, info: &ModelInfo) {
    let response = Response {
        id,
        model_version: info.model_version.clone(),
        result: Some(response::Result::ModelInfo(info.clone())),
    };
    write_frame(out, |out| response.encode_raw(out));
}

/// Appends a request frame to `out` (clients).
pub fn encode_request_frame(out: &mut Vec<u8>, req: &Request) {
    write_frame(out, |out| req.encode_raw(out));
}
