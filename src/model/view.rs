//! Plain-slice views of the archived arrays, and lookups over them.
//!
//! rkyv archives `f32`/`u32`/`u64`/`i64` as little-endian wrapper types with the same size and
//! alignment as the primitives (asserted in `format`); on little-endian targets their bit patterns
//! are the primitives', so a slice of one is reinterpreted as a slice of the other. This is the one
//! place that does it.

use rkyv::Archived;
use rkyv::vec::ArchivedVec;

use super::format::{ArchivedCsr, ArchivedIdMap, ArchivedStrings};

/// `&[f32]` view of an archived `Vec<f32>`.
pub fn f32s(v: &ArchivedVec<Archived<f32>>) -> &[f32] {
    // SAFETY: Archived<f32> is f32_le: 4 bytes, align 4 (asserted in format.rs), and on a
    // little-endian target its bits are exactly an f32's. Every bit pattern is a valid f32.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<f32>(), v.len()) }
}

/// `&[u32]` view of an archived `Vec<u32>`.
pub fn u32s(v: &ArchivedVec<Archived<u32>>) -> &[u32] {
    // SAFETY: as for f32s; every bit pattern is a valid u32.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u32>(), v.len()) }
}

/// `&[u64]` view of an archived `Vec<u64>`.
pub fn u64s(v: &ArchivedVec<Archived<u64>>) -> &[u64] {
    // SAFETY: as for f32s; 8 bytes, align 8.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u64>(), v.len()) }
}

/// `&[i64]` view of an archived `Vec<i64>`.
pub fn i64s(v: &ArchivedVec<Archived<i64>>) -> &[i64] {
    // SAFETY: as for f32s; 8 bytes, align 8.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<i64>(), v.len()) }
}

impl ArchivedStrings {
    /// Number of strings.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// True when there are no strings.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// String `i`. Offsets and UTF-8 were checked at load; an out-of-range `i` gives "".
    pub fn get(&self, i: usize) -> &str {
        // Validated as UTF-8 when the model was loaded; checked again here (cheap for short
        // strings) rather than trusted with `from_utf8_unchecked`.
        std::str::from_utf8(self.get_bytes(i)).unwrap_or("")
    }

    /// The bytes of string `i` (empty when out of range): for comparisons, without the UTF-8
    /// check of [`get`](Self::get).
    #[inline]
    pub fn get_bytes(&self, i: usize) -> &[u8] {
        let offsets = u32s(&self.offsets);
        let (Some(&start), Some(&end)) = (offsets.get(i), offsets.get(i + 1)) else {
            return &[];
        };
        self.bytes.as_slice().get(start as usize..end as usize).unwrap_or(&[])
    }

    /// Index of `name`, by linear search (for small vocabularies: aisles, tags, signals).
    pub fn position(&self, name: &str) -> Option<usize> {
        (0..self.len()).find(|&i| self.get(i) == name)
    }
}

impl ArchivedIdMap {
    /// Row of `id`, if known. One hash and usually one probe.
    pub fn row(&self, id: &str) -> Option<u32> {
        let slots = u32s(&self.slots);
        if slots.is_empty() {
            return None;
        }
        let mask = slots.len() - 1;
        let mut at = xxhash_rust::xxh3::xxh3_64(id.as_bytes()) as usize & mask;
        // The table is at most half full (checked at load), so an empty slot ends every probe.
        for _ in 0..slots.len() {
            let slot = slots[at];
            if slot == 0 {
                return None;
            }
            let row = slot - 1;
            if self.ids.get_bytes(row as usize) == id.as_bytes() {
                return Some(row);
            }
            at = (at + 1) & mask;
        }
        None
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are no ids.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The id of `row`.
    pub fn id(&self, row: u32) -> &str {
        self.ids.get(row as usize)
    }
}

impl ArchivedCsr {
    /// Number of rows (0 when the relation is absent).
    pub fn rows(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// The items of row `i` (empty when absent).
    pub fn row(&self, i: usize) -> &[u32] {
        let offsets = u32s(&self.offsets);
        match (offsets.get(i), offsets.get(i + 1)) {
            (Some(&s), Some(&e)) => u32s(&self.items).get(s as usize..e as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The scores of row `i`, parallel to `row(i)` (empty when the relation has no scores).
    pub fn row_scores(&self, i: usize) -> &[f32] {
        let offsets = u32s(&self.offsets);
        match (offsets.get(i), offsets.get(i + 1)) {
            (Some(&s), Some(&e)) => f32s(&self.scores).get(s as usize..e as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}
