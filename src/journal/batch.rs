//! What an append carries: [`Payloads`], anything that lists record payloads, and [`Batch`], a
//! reusable one that keeps every payload in one buffer so building a batch does not allocate per
//! record once its buffers have grown.

use super::error::AppendError;
use super::format::MAX_RECORD_BYTES;

/// The payloads of one append, in order. Implemented for [`Batch`] and for slices of anything
/// that is bytes (`&[&[u8]]`, `&[Vec<u8>]`, ...).
pub trait Payloads {
    /// The payloads, in the order they get sequence numbers.
    fn payloads(&self) -> impl Iterator<Item = &[u8]>;
}

impl<P: AsRef<[u8]>> Payloads for [P] {
    fn payloads(&self) -> impl Iterator<Item = &[u8]> {
        self.iter().map(|p| p.as_ref())
    }
}

impl<P: AsRef<[u8]>, const N: usize> Payloads for [P; N] {
    fn payloads(&self) -> impl Iterator<Item = &[u8]> {
        self.iter().map(|p| p.as_ref())
    }
}

impl<P: AsRef<[u8]>> Payloads for Vec<P> {
    fn payloads(&self) -> impl Iterator<Item = &[u8]> {
        self.iter().map(|p| p.as_ref())
    }
}

/// Record payloads packed in one buffer. Clear and refill it for the next append; an append
/// copies the bytes, so the batch can be reused as soon as `submit` returns.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// An empty batch with room for `records` payloads of `bytes` bytes in all.
    pub fn with_capacity(records: usize, bytes: usize) -> Batch {
        Batch { bytes: Vec::with_capacity(bytes), ends: Vec::with_capacity(records) }
    }

    /// Adds a payload.
    pub fn push(&mut self, payload: &[u8]) -> Result<(), AppendError> {
        if payload.len() > MAX_RECORD_BYTES {
            return Err(AppendError::RecordTooLarge { bytes: payload.len(), limit: MAX_RECORD_BYTES });
        }
        self.bytes.extend_from_slice(payload);
        self.ends.push(self.bytes.len());
        Ok(())
    }

    /// Adds a payload that `encode` writes in place (appending to the buffer it is given), so an
    /// event can be encoded straight into the batch. If it wrote more than `MAX_RECORD_BYTES`,
    /// the payload is taken back out and the error returned.
    pub fn push_with<R>(&mut self, encode: impl FnOnce(&mut Vec<u8>) -> R) -> Result<R, AppendError> {
        let start = self.bytes.len();
        let r = encode(&mut self.bytes);
        let len = self.bytes.len().saturating_sub(start);
        if len > MAX_RECORD_BYTES {
            self.bytes.truncate(start);
            return Err(AppendError::RecordTooLarge { bytes: len, limit: MAX_RECORD_BYTES });
        }
        self.ends.push(self.bytes.len());
        Ok(r)
    }

    /// Number of payloads.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Payload bytes in all.
    pub fn payload_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Removes every payload, keeping the buffers.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// The payload at `i`.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[start..end])
    }
}

impl Payloads for Batch {
    fn payloads(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let p = &self.bytes[start..end];
            start = end;
            p
        })
    }
}
