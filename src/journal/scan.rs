//! Reading one segment file record by record, verifying each record's checksum and sequence
//! number, and judging damage at the end of the last segment: a torn write (to be truncated) or
//! corruption (refused, with the file and offset). Shared by recovery and the reader, so both draw
//! the line in the same place.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::error::{Corruption, JournalError};
use super::format::{self, MAX_RECORD_BYTES, RECORD_HEADER_BYTES, RecordHeader, SEGMENT_HEADER_BYTES};

/// Damage at the end of the last segment that a crash while writing explains: what recovery
/// truncates (or, read-only, would truncate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file.
    pub path: PathBuf,
    /// Where the first damaged record starts; the file is cut here.
    pub offset: u64,
    /// Bytes from `offset` to the end of the file.
    pub dropped_bytes: u64,
    /// Records starting in the dropped bytes, as far as their length fields could be followed
    /// (at least one). None of them was ever acknowledged unless the disk itself damaged it.
    pub dropped_records: u64,
    /// What was wrong with the first one.
    pub problem: Corruption,
}

/// What [`SegmentScan::next`] found.
#[derive(Debug)]
pub(crate) enum Step {
    /// A verified record: see `header()` and `payload()`.
    Record,
    /// The file ends exactly after the last record.
    End,
    /// The record at `offset()` is damaged or cut short.
    Damaged(Corruption),
}

/// A cursor over the records of one segment.
#[derive(Debug)]
pub(crate) struct SegmentScan {
    path: PathBuf,
    reader: BufReader<File>,
    /// Where the next record starts (after `Damaged`: where the damaged one starts).
    offset: u64,
    /// Where the record last returned starts.
    record_offset: u64,
    expected_seq: u64,
    header: RecordHeader,
    payload: Vec<u8>,
}

const READ_BUFFER_BYTES: usize = 256 * 1024;

impl SegmentScan {
    /// Opens the segment at `path`, whose name says it starts at `first_seq`, and checks its
    /// header.
    pub(crate) fn open(path: &Path, first_seq: u64) -> Result<SegmentScan, JournalError> {
        let file = File::open(path).map_err(|e| JournalError::io(path, "open segment", e))?;
        let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, file);
        let mut header = [0u8; SEGMENT_HEADER_BYTES];
        let n = read_up_to(&mut reader, &mut header).map_err(|e| JournalError::io(path, "read segment header", e))?;
        let corrupt =
            |problem| JournalError::Corrupt { path: path.to_path_buf(), offset: 0, problem, valid_record_after: None };
        if n < SEGMENT_HEADER_BYTES {
            return Err(corrupt(Corruption::SegmentHeader("file shorter than a segment header")));
        }
        let in_header = format::decode_segment_header(&header).map_err(|m| corrupt(Corruption::SegmentHeader(m)))?;
        if in_header != first_seq {
            return Err(corrupt(Corruption::SegmentName { in_header, in_name: first_seq }));
        }
        Ok(SegmentScan {
            path: path.to_path_buf(),
            reader,
            offset: SEGMENT_HEADER_BYTES as u64,
            record_offset: SEGMENT_HEADER_BYTES as u64,
            expected_seq: first_seq,
            header: RecordHeader { len: 0, crc: 0, seq: 0, unix_us: 0 },
            payload: Vec::new(),
        })
    }

    /// Reads and verifies the next record. I/O errors are errors; damage is a `Step`, and the
    /// cursor then stays at the damaged record.
    pub(crate) fn next(&mut self) -> Result<Step, JournalError> {
        let mut hb = [0u8; RECORD_HEADER_BYTES];
        let n = read_up_to(&mut self.reader, &mut hb).map_err(|e| self.io("read record", e))?;
        if n == 0 {
            return Ok(Step::End);
        }
        if n < RECORD_HEADER_BYTES {
            return self.damaged(Corruption::Incomplete { needed: RECORD_HEADER_BYTES as u64, available: n as u64 });
        }
        let h = RecordHeader::decode(&hb);
        if h.len as usize > MAX_RECORD_BYTES {
            return self.damaged(Corruption::LengthTooLarge { len: h.len, limit: MAX_RECORD_BYTES });
        }
        self.payload.resize(h.len as usize, 0);
        let n = read_up_to(&mut self.reader, &mut self.payload).map_err(|e| self.io("read record", e))?;
        if n < h.len as usize {
            let available = (RECORD_HEADER_BYTES + n) as u64;
            return self.damaged(Corruption::Incomplete { needed: h.record_bytes(), available });
        }
        if !h.checksum_ok(&self.payload) {
            let computed = format::record_crc(h.seq, h.unix_us, &self.payload);
            return self.damaged(Corruption::Checksum { stored: h.crc, computed });
        }
        if h.seq != self.expected_seq {
            return self.damaged(Corruption::Sequence { expected: self.expected_seq, found: h.seq });
        }
        self.header = h;
        self.record_offset = self.offset;
        self.offset += h.record_bytes();
        self.expected_seq += 1;
        Ok(Step::Record)
    }

    /// Puts the cursor back at `offset()`, to read again what was cut short (a reader following
    /// a live journal).
    pub(crate) fn rewind(&mut self) -> Result<(), JournalError> {
        self.reader.seek(SeekFrom::Start(self.offset)).map_err(|e| self.io("seek", e))?;
        Ok(())
    }

    fn damaged(&mut self, problem: Corruption) -> Result<Step, JournalError> {
        self.rewind()?;
        Ok(Step::Damaged(problem))
    }

    fn io(&self, op: &'static str, e: io::Error) -> JournalError {
        JournalError::io(&self.path, op, e)
    }

    /// The segment file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Where the record last returned starts.
    pub(crate) fn record_offset(&self) -> u64 {
        self.record_offset
    }

    /// The sequence number the next record must carry.
    pub(crate) fn expected_seq(&self) -> u64 {
        self.expected_seq
    }

    /// The header of the record last returned.
    pub(crate) fn header(&self) -> &RecordHeader {
        &self.header
    }

    /// The payload of the record last returned.
    pub(crate) fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Judges damage found at the cursor in what is the last segment: a torn tail if the damage
    /// is of a kind a crash leaves and no intact record follows it; otherwise the error.
    pub(crate) fn judge_tail(&self, problem: Corruption) -> Result<TornTail, JournalError> {
        judge_tail(&self.path, self.offset, problem, self.expected_seq)
    }

    /// The error for damage at the cursor that may not be truncated (not in the last segment).
    pub(crate) fn corrupt(&self, problem: Corruption) -> JournalError {
        JournalError::Corrupt { path: self.path.clone(), offset: self.offset, problem, valid_record_after: None }
    }
}

/// See [`SegmentScan::judge_tail`].
fn judge_tail(path: &Path, offset: u64, problem: Corruption, expected_seq: u64) -> Result<TornTail, JournalError> {
    let corrupt = |problem, valid_record_after| JournalError::Corrupt {
        path: path.to_path_buf(),
        offset,
        problem,
        valid_record_after,
    };
    if !problem.can_be_torn_write() {
        return Err(corrupt(problem, None));
    }
    let file = File::open(path).map_err(|e| JournalError::io(path, "open segment", e))?;
    let len = file.metadata().map_err(|e| JournalError::io(path, "stat segment", e))?.len();
    let io = |e| JournalError::io(path, "read segment tail", e);
    if let Some(at) = find_intact_record(&file, offset + 1, len, expected_seq).map_err(io)? {
        return Err(corrupt(problem, Some(at)));
    }
    let dropped_records = count_record_starts(&file, offset, len).map_err(io)?;
    Ok(TornTail { path: path.to_path_buf(), offset, dropped_bytes: len - offset, dropped_records, problem })
}

/// The offset of the first intact record (plausible sequence number, length within the file,
/// matching checksum) starting anywhere in `from..len`. A torn write leaves none after the damage;
/// a flipped bit in the middle of the log does, and a damaged length field cannot hide them.
fn find_intact_record(file: &File, from: u64, len: u64, expected_seq: u64) -> io::Result<Option<u64>> {
    const CHUNK: usize = 1 << 20;
    let h = RECORD_HEADER_BYTES;
    // Every record takes at least a header, which bounds the sequence numbers that can follow.
    let max_seq = expected_seq.saturating_add(len.saturating_sub(from) / h as u64 + 1);
    let mut buf = vec![0u8; CHUNK + h - 1];
    let mut payload = Vec::new();
    let mut pos = from;
    while pos + h as u64 <= len {
        let want = (buf.len() as u64).min(len - pos) as usize;
        file.read_exact_at(&mut buf[..want], pos)?;
        let starts = (want - h + 1).min(CHUNK);
        for o in 0..starts {
            let Ok(bytes) = <&[u8; RECORD_HEADER_BYTES]>::try_from(&buf[o..o + h]) else { continue };
            let rh = RecordHeader::decode(bytes);
            let at = pos + o as u64;
            if rh.seq < expected_seq || rh.seq > max_seq || rh.len as usize > MAX_RECORD_BYTES {
                continue;
            }
            if at + rh.record_bytes() > len {
                continue;
            }
            payload.resize(rh.len as usize, 0);
            file.read_exact_at(&mut payload, at + h as u64)?;
            if rh.checksum_ok(&payload) {
                return Ok(Some(at));
            }
        }
        pos += starts as u64;
    }
    Ok(None)
}

/// Records starting in `from..len`, following length fields while they are readable.
fn count_record_starts(file: &File, from: u64, len: u64) -> io::Result<u64> {
    let mut count = 0;
    let mut at = from;
    let mut hb = [0u8; RECORD_HEADER_BYTES];
    while at < len {
        count += 1;
        if at + RECORD_HEADER_BYTES as u64 > len {
            break;
        }
        file.read_exact_at(&mut hb, at)?;
        let h = RecordHeader::decode(&hb);
        if h.len as usize > MAX_RECORD_BYTES {
            break;
        }
        at += h.record_bytes();
    }
    Ok(count)
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
