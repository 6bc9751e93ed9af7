//! Protobuf written by hand from borrowed data: the field primitives every operation's answer is
//! made of, and the answers several operations share (an item list, an error). An answer costs no
//! allocation beyond growing the caller's output buffer. The bytes are exactly what prost writes
//! for the equivalent owned message (proto3: default values omitted, fields in number order);
//! `tests.rs` checks that byte for byte.

use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

use super::frame::write_frame;
use super::messages::{ErrorCode, Request};
use super::wire;

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
    /// The product the suggestion comes from ("" when none).
    pub because: &'a str,
    /// Days since the last purchase (buy again); negative when not given.
    pub days_since_last: f32,
    /// Usual gap in days (buy again); negative when not given.
    pub usual_gap_days: f32,
    /// Usual gap in visits (buy again); negative when not given.
    pub usual_gap_orders: f32,
    /// Boosted by a promotion.
    pub promoted: bool,
}

impl<'a> ItemRef<'a> {
    /// An item with no explanation beyond its reason.
    pub fn plain(product_id: &'a str, name: &'a str, aisle: &'a str, score: f32, reason: &'a str) -> ItemRef<'a> {
        ItemRef {
            product_id,
            name,
            aisle,
            score,
            reason,
            because: "",
            days_since_last: -1.0,
            usual_gap_days: -1.0,
            usual_gap_orders: -1.0,
            promoted: false,
        }
    }
}

/// An optional float: written (even when 0) when not negative.
#[inline]
fn opt_f32_len(tag: u32, v: f32) -> usize {
    if v >= 0.0 { key_len(tag) + 4 } else { 0 }
}

#[inline]
fn put_opt_f32(tag: u32, v: f32, out: &mut Vec<u8>) {
    if v >= 0.0 {
        encode_key(tag, WireType::ThirtyTwoBit, out);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Encoded length of string field `tag` (0 when empty: proto3 omits defaults).
#[inline]
pub fn str_len(tag: u32, s: &str) -> usize {
    if s.is_empty() { 0 } else { key_len(tag) + encoded_len_varint(s.len() as u64) + s.len() }
}

/// Writes string field `tag` (nothing when empty).
#[inline]
pub fn put_str(tag: u32, s: &str, out: &mut Vec<u8>) {
    if !s.is_empty() {
        encode_key(tag, WireType::LengthDelimited, out);
        encode_varint(s.len() as u64, out);
        out.extend_from_slice(s.as_bytes());
    }
}

/// Encoded length of varint field `tag` (0 when zero).
#[inline]
pub fn u64_len(tag: u32, v: u64) -> usize {
    if v == 0 { 0 } else { key_len(tag) + encoded_len_varint(v) }
}

/// Writes varint field `tag` (nothing when zero).
#[inline]
pub fn put_u64(tag: u32, v: u64, out: &mut Vec<u8>) {
    if v != 0 {
        encode_key(tag, WireType::Varint, out);
        encode_varint(v, out);
    }
}

/// Writes the key and length of embedded-message field `tag`.
#[inline]
pub fn put_message_header(tag: u32, len: usize, out: &mut Vec<u8>) {
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
        + str_len(6, i.because)
        + opt_f32_len(7, i.days_since_last)
        + opt_f32_len(8, i.usual_gap_days)
        + opt_f32_len(9, i.usual_gap_orders)
        + if i.promoted { key_len(10) + 1 } else { 0 }
}

/// Writes the `Response` envelope's id and model version.
/// See the module doc.
#[inline]
pub fn put_envelope(id: u64, model_version: &str, out: &mut Vec<u8>) {
    put_u64(wire::ID, id, out);
    put_str(wire::MODEL_VERSION, model_version, out);
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
            put_str(6, i.because, out);
            put_opt_f32(7, i.days_since_last, out);
            put_opt_f32(8, i.usual_gap_days, out);
            put_opt_f32(9, i.usual_gap_orders, out);
            put_u64(10, u64::from(i.promoted), out);
        }
        put_u64(2, took_us, out);
    });
}

/// Appends a `Response{error}` frame to `out`.
pub fn encode_error(out: &mut Vec<u8>, id: u64, model_version: &str, code: ErrorCode, message: &str) {
    encode_error_retry(out, id, model_version, code, message, 0);
}

/// Appends a `Response{error}` frame to `out` that tells the client when to retry.
pub fn encode_error_retry(
    out: &mut Vec<u8>,
    id: u64,
    model_version: &str,
    code: ErrorCode,
    message: &str,
    retry_after_ms: u32,
) {
    let code = code as i32 as u64;
    let retry = retry_after_ms as u64;
    write_frame(out, |out| {
        put_envelope(id, model_version, out);
        let len = u64_len(wire::ERROR_CODE, code) + str_len(2, message) + u64_len(3, retry);
        put_message_header(wire::ERROR, len, out);
        put_u64(wire::ERROR_CODE, code, out);
        put_str(2, message, out);
        put_u64(3, retry, out);
    });
}

/// Appends a request frame to `out` (clients).
pub fn encode_request_frame(out: &mut Vec<u8>, req: &Request) {
    write_frame(out, |out| req.encode_raw(out));
}
