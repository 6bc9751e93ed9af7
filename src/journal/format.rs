//! The on-disk format: segment file names, the segment header and the record header, and the
//! checksum. Plain functions over byte slices, no I/O, so the writer, recovery and the reader agree
//! on one definition and tests can build damaged files byte by byte.
//!
//! ```text
//! segment file  <first_seq, 20 digits>.journal
//!   header      32 bytes: magic "ENDCAPJL" | version u32 = 1 | record header bytes u32 = 24
//!                         | first_seq u64 | crc32 of the 24 bytes before it, u32 | zero u32
//!   records     one after another, no padding:
//!     len       u32   payload bytes, at most MAX_RECORD_BYTES
//!     crc       u32   CRC-32 (IEEE, as zlib) of len | seq | unix_us | payload
//!     seq       u64   sequence number, one more than the record before it
//!     unix_us   u64   server time the record was accepted, unix microseconds
//!     payload   len bytes, opaque
//! ```
//!
//! Every integer is little-endian. A record is never split across segments.

/// The first eight bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"ENDCAPJL";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes of the segment header.
pub const SEGMENT_HEADER_BYTES: usize = 32;
/// Bytes of a record header (length, checksum, sequence number, time).
pub const RECORD_HEADER_BYTES: usize = 24;
/// The largest payload of one record.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// The extension of a segment file.
pub const SEGMENT_EXTENSION: &str = "journal";
/// Digits of the first sequence number in a segment's file name (zero-padded, so names sort).
const NAME_DIGITS: usize = 20;

/// The file name of the segment whose first record has sequence number `first_seq`.
pub fn segment_file_name(first_seq: u64) -> String {
    format!("{first_seq:0NAME_DIGITS$}.{SEGMENT_EXTENSION}")
}

/// What a directory entry's name says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileName {
    /// A segment, named by its first sequence number.
    Segment(u64),
    /// Ends in `.journal` but is not 20 digits: not written by this code.
    Malformed,
    /// Something else (the lock file, a segment being created, an operator's notes).
    Other,
}

/// Classifies a directory entry's name.
pub fn parse_file_name(name: &str) -> FileName {
    let Some(stem) = name.strip_suffix(SEGMENT_EXTENSION).and_then(|s| s.strip_suffix('.')) else {
        return FileName::Other;
    };
    if stem.len() != NAME_DIGITS || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return FileName::Malformed;
    }
    stem.parse().map_or(FileName::Malformed, FileName::Segment)
}

/// The segment header for a segment starting at `first_seq`.
pub fn encode_segment_header(first_seq: u64) -> [u8; SEGMENT_HEADER_BYTES] {
    let mut h = [0u8; SEGMENT_HEADER_BYTES];
    h[0..8].copy_from_slice(&SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(RECORD_HEADER_BYTES as u32).to_le_bytes());
    h[16..24].copy_from_slice(&first_seq.to_le_bytes());
    let crc = crc32fast::hash(&h[0..24]);
    h[24..28].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Reads a segment header; the error says which check failed.
pub fn decode_segment_header(h: &[u8; SEGMENT_HEADER_BYTES]) -> Result<u64, &'static str> {
    if h[0..8] != SEGMENT_MAGIC {
        return Err("not a journal segment (wrong magic)");
    }
    if le_u32(h, 24) != crc32fast::hash(&h[0..24]) {
        return Err("segment header checksum mismatch");
    }
    if le_u32(h, 8) != FORMAT_VERSION {
        return Err("unsupported format version");
    }
    if le_u32(h, 12) != RECORD_HEADER_BYTES as u32 {
        return Err("unexpected record header size");
    }
    Ok(le_u64(h, 16))
}

/// A record header as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Payload bytes.
    pub len: u32,
    /// The stored checksum.
    pub crc: u32,
    /// Sequence number.
    pub seq: u64,
    /// Server time, unix microseconds.
    pub unix_us: u64,
}

impl RecordHeader {
    /// Reads a header; no check is made here (see [`RecordHeader::checksum_ok`]).
    pub fn decode(b: &[u8; RECORD_HEADER_BYTES]) -> RecordHeader {
        RecordHeader { len: le_u32(b, 0), crc: le_u32(b, 4), seq: le_u64(b, 8), unix_us: le_u64(b, 16) }
    }

    /// Whether the stored checksum matches this header's fields and `payload`.
    pub fn checksum_ok(&self, payload: &[u8]) -> bool {
        self.crc == record_crc(self.seq, self.unix_us, payload)
    }

    /// Bytes of the whole record, header included.
    pub fn record_bytes(&self) -> u64 {
        RECORD_HEADER_BYTES as u64 + u64::from(self.len)
    }
}

/// The checksum of a record: CRC-32 over its length, sequence number, time and payload.
pub fn record_crc(seq: u64, unix_us: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&(payload.len() as u32).to_le_bytes());
    h.update(&seq.to_le_bytes());
    h.update(&unix_us.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Appends one record (header then payload) to `out`. The caller bounds `payload` by
/// [`MAX_RECORD_BYTES`].
#[inline]
pub fn encode_record(out: &mut Vec<u8>, seq: u64, unix_us: u64, payload: &[u8]) {
    debug_assert!(payload.len() <= MAX_RECORD_BYTES);
    let crc = record_crc(seq, unix_us, payload);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&unix_us.to_le_bytes());
    out.extend_from_slice(payload);
}

/// The header of the record starting at `at` in a buffer of whole records this process encoded
/// (the writer walking its own queue). `None` if `buf` is too short, which a caller treats as a bug.
pub fn header_at(buf: &[u8], at: usize) -> Option<RecordHeader> {
    let bytes: &[u8; RECORD_HEADER_BYTES] = buf.get(at..at + RECORD_HEADER_BYTES)?.try_into().ok()?;
    Some(RecordHeader::decode(bytes))
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut v = [0u8; 4];
    v.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(v)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}
