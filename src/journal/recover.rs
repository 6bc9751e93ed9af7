//! Recovery: reads every segment in order and verifies every record (checksum, and sequence
//! numbers continuing across records and segments). Damage a crash explains (the end of the last
//! segment, nothing intact after it) is cut off and reported; any other damage is an error naming
//! the file and offset. [`verify`] does the same without changing anything.

use std::fs::OpenOptions;
use std::path::Path;

use super::error::{Corruption, JournalError};
use super::scan::{SegmentScan, Step, TornTail};
use super::segment::{self, SegmentInfo};

/// What recovery (or [`verify`]) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Segment files.
    pub segments: usize,
    /// Intact records (after the torn tail, if any, was cut off).
    pub records: u64,
    /// Payload and header bytes of the intact records.
    pub record_bytes: u64,
    /// The sequence number of the first record (the next one if there is none).
    pub first_seq: u64,
    /// The sequence number the next append gets.
    pub next_seq: u64,
    /// The last intact record's time (0 if none): later records are never stamped earlier.
    pub last_unix_us: u64,
    /// The torn tail cut off (by `Journal::open`) or found (by `verify`).
    pub torn_tail: Option<TornTail>,
}

impl Recovery {
    /// The last intact record's sequence number, if there is one.
    pub fn last_seq(&self) -> Option<u64> {
        (self.records > 0).then(|| self.next_seq - 1)
    }
}

/// Checks a journal directory read-only: every record's checksum and sequence number. A torn
/// tail is reported in `torn_tail` (the file is left as it is); any other damage is the error.
pub fn verify(dir: &Path) -> Result<Recovery, JournalError> {
    scan_dir(dir, false).map(|(r, _)| r)
}

/// Recovery at open: like [`verify`], but a torn tail is cut off (the file truncated and synced).
/// Returns the segments as they are afterwards.
pub(crate) fn recover(dir: &Path) -> Result<(Recovery, Vec<SegmentInfo>), JournalError> {
    scan_dir(dir, true)
}

fn scan_dir(dir: &Path, repair: bool) -> Result<(Recovery, Vec<SegmentInfo>), JournalError> {
    let mut segments = segment::list_segments(dir)?;
    let first_seq = segments.first().map_or(1, |s| s.first_seq);
    let mut out = Recovery {
        segments: segments.len(),
        records: 0,
        record_bytes: 0,
        first_seq,
        next_seq: first_seq,
        last_unix_us: 0,
        torn_tail: None,
    };
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter_mut().enumerate() {
        if seg.first_seq != out.next_seq {
            // A segment must start where the one before it ended: a gap or an overlap means a
            // file is missing, extra or renamed.
            return Err(JournalError::Corrupt {
                path: seg.path.clone(),
                offset: 0,
                problem: Corruption::Sequence { expected: out.next_seq, found: seg.first_seq },
                valid_record_after: None,
            });
        }
        let mut scan = SegmentScan::open(&seg.path, seg.first_seq)?;
        loop {
            match scan.next()? {
                Step::Record => {
                    out.records += 1;
                    out.record_bytes += scan.header().record_bytes();
                    out.last_unix_us = scan.header().unix_us;
                }
                Step::End => break,
                Step::Damaged(problem) if i == last => {
                    let tail = scan.judge_tail(problem)?;
                    if repair {
                        truncate(&seg.path, tail.offset)?;
                        seg.bytes = tail.offset;
                    }
                    out.torn_tail = Some(tail);
                    break;
                }
                Step::Damaged(problem) => return Err(scan.corrupt(problem)),
            }
        }
        out.next_seq = scan.expected_seq();
    }
    Ok((out, segments))
}

fn truncate(path: &Path, len: u64) -> Result<(), JournalError> {
    let file = OpenOptions::new().write(true).open(path).map_err(|e| JournalError::io(path, "open to truncate", e))?;
    file.set_len(len).map_err(|e| JournalError::io(path, "truncate torn tail", e))?;
    file.sync_all().map_err(|e| JournalError::io(path, "sync after truncating", e))
}
