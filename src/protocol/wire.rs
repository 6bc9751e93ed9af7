//! Protobuf read side without building messages: one field walker and the field numbers of the
//! envelope, used by the server to route a request to its operation (decoding the operation's
//! fields into reused buffers) and by clients that only look at an answer's envelope (the load
//! generator). Semantics follow prost's: unknown fields (groups included) are skipped, a known
//! field with the wrong wire type or invalid UTF-8 is an error.

use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};

/// `Request.id` and `Response.id`.
pub const ID: u32 = 1;
/// `Response.model_version`.
pub const MODEL_VERSION: u32 = 2;
/// The lowest field number of the operations (`Request.op`) and answers (`Response.result`).
pub const FIRST_OP: u32 = 10;
/// `Response.error`.
pub const ERROR: u32 = 15;
/// `Response.audience`.
pub const AUDIENCE: u32 = 18;
/// `Response.segments`.
pub const SEGMENTS: u32 = 19;
/// `Error.code`.
pub const ERROR_CODE: u32 = 1;

/// A request or answer that is not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The bytes end inside a field, or a key, varint or group is invalid.
    #[error("invalid protobuf: {0}")]
    Invalid(#[from] prost::DecodeError),
    /// The bytes end inside field `0`.
    #[error("field {0} is cut short")]
    Truncated(u32),
    /// A known field arrived with another wire type than the schema's.
    #[error("field {0} has the wrong wire type")]
    WireType(u32),
    /// A string field is not UTF-8.
    #[error("field {0} is not valid UTF-8")]
    Utf8(u32),
}

/// One field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A varint.
    Varint(u64),
    /// A length-delimited field: bytes, string or embedded message.
    Bytes(&'a [u8]),
    /// A fixed 32-bit field (float, fixed32).
    Fixed32(u32),
    /// A fixed 64-bit field (double, fixed64).
    Fixed64(u64),
    /// A group (deprecated by protobuf; skipped).
    Group,
}

impl<'a> Value<'a> {
    /// The value of string field `tag`.
    #[inline]
    pub fn str(self, tag: u32) -> Result<&'a str, WireError> {
        match self {
            Value::Bytes(b) => std::str::from_utf8(b).map_err(|_| WireError::Utf8(tag)),
            _ => Err(WireError::WireType(tag)),
        }
    }

    /// The value of embedded-message or bytes field `tag`.
    #[inline]
    pub fn bytes(self, tag: u32) -> Result<&'a [u8], WireError> {
        match self {
            Value::Bytes(b) => Ok(b),
            _ => Err(WireError::WireType(tag)),
        }
    }

    /// The value of varint field `tag` (uint64; narrower types truncate, as prost does).
    #[inline]
    pub fn varint(self, tag: u32) -> Result<u64, WireError> {
        match self {
            Value::Varint(v) => Ok(v),
            _ => Err(WireError::WireType(tag)),
        }
    }

    /// The value of float field `tag`.
    #[inline]
    pub fn float(self, tag: u32) -> Result<f32, WireError> {
        match self {
            Value::Fixed32(v) => Ok(f32::from_bits(v)),
            _ => Err(WireError::WireType(tag)),
        }
    }
}

/// Calls `each` with the number and value of every field of the message in `buf`, in order.
#[inline]
pub fn for_each_field<'a>(
    mut buf: &'a [u8],
    mut each: impl FnMut(u32, Value<'a>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    while !buf.is_empty() {
        let (tag, wire) = decode_key(&mut buf)?;
        let value = match wire {
            WireType::Varint => Value::Varint(decode_varint(&mut buf)?),
            WireType::LengthDelimited => {
                let len = decode_varint(&mut buf)?;
                if len > buf.len() as u64 {
                    return Err(WireError::Truncated(tag));
                }
                let (body, rest) = buf.split_at(len as usize);
                buf = rest;
                Value::Bytes(body)
            }
            WireType::ThirtyTwoBit => {
                let (b, rest) = buf.split_first_chunk::<4>().ok_or(WireError::Truncated(tag))?;
                buf = rest;
                Value::Fixed32(u32::from_le_bytes(*b))
            }
            WireType::SixtyFourBit => {
                let (b, rest) = buf.split_first_chunk::<8>().ok_or(WireError::Truncated(tag))?;
                buf = rest;
                Value::Fixed64(u64::from_le_bytes(*b))
            }
            WireType::StartGroup | WireType::EndGroup => {
                skip_field(wire, tag, &mut buf, DecodeContext::default())?;
                Value::Group
            }
        };
        each(tag, value)?;
    }
    Ok(())
}

/// A request's id and its operation (field number and message bytes), if any.
pub type RequestEnvelope<'a> = (u64, Option<(u32, &'a [u8])>);

/// The envelope of a `Request`: its id, and the field number and body of the last operation field
/// that `known` accepts (prost's `oneof` keeps the last one too). Fields the server does not know
/// are skipped, so a request carrying only an unknown operation has none.
#[inline]
pub fn request_envelope(payload: &[u8], known: impl Fn(u32) -> bool) -> Result<RequestEnvelope<'_>, WireError> {
    let (mut id, mut op) = (0, None);
    for_each_field(payload, |tag, value| {
        match tag {
            ID => id = value.varint(tag)?,
            t if t >= FIRST_OP && known(t) => op = Some((t, value.bytes(t)?)),
            _ => {}
        }
        Ok(())
    })?;
    Ok((id, op))
}

/// The parts of a `Response` a client needs to match and count answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// Echoed request id.
    pub id: u64,
    /// The model that answered.
    pub model_version: &'a str,
    /// The answer's field number (`Response.result`), 0 when there is none.
    pub result: u32,
    /// The error code, for an error answer.
    pub error: Option<i32>,
}

/// Reads a `Response`'s envelope without decoding its answer (no allocation).
pub fn response_envelope(payload: &[u8]) -> Result<Envelope<'_>, WireError> {
    let mut e = Envelope { id: 0, model_version: "", result: 0, error: None };
    for_each_field(payload, |tag, value| {
        match tag {
            ID => e.id = value.varint(tag)?,
            MODEL_VERSION => e.model_version = value.str(tag)?,
            ERROR => {
                e.result = tag;
                let mut code = 0;
                for_each_field(value.bytes(tag)?, |t, v| {
                    if t == ERROR_CODE {
                        code = v.varint(t)? as i32;
                    }
                    Ok(())
                })?;
                e.error = Some(code);
            }
            t if t >= FIRST_OP => {
                if let Value::Bytes(_) = value {
                    e.result = t;
                    e.error = None;
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(e)
}
