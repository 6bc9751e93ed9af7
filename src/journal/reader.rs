//! Reading records in order from a given sequence number, across segments, verifying each one:
//! for `endcap journal inspect` and for the trainer. Works on a closed journal and beside a live
//! writer (at the current end `next_record` returns `None`, and a later call picks up what was appended
//! since). Read-only: a torn tail is reported, never cut.

use std::path::{Path, PathBuf};

use super::error::{Corruption, JournalError};
use super::scan::{SegmentScan, Step, TornTail};
use super::segment::{self, SegmentInfo};

/// One verified record, borrowed from the reader until its next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Sequence number.
    pub seq: u64,
    /// Server time when it was accepted, unix microseconds.
    pub unix_us: u64,
    /// The payload as appended.
    pub payload: &'a [u8],
    /// Where the record starts in its segment file ([`Reader::segment_path`]).
    pub offset: u64,
}

impl RecordRef<'_> {
    /// An owned copy.
    pub fn to_record(&self) -> Record {
        Record { seq: self.seq, unix_us: self.unix_us, payload: self.payload.to_vec() }
    }
}

/// One record, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Sequence number.
    pub seq: u64,
    /// Server time when it was accepted, unix microseconds.
    pub unix_us: u64,
    /// The payload as appended.
    pub payload: Vec<u8>,
}

/// A cursor over the journal's records from a sequence number on.
#[derive(Debug)]
pub struct Reader {
    dir: PathBuf,
    from_seq: u64,
    scan: Option<SegmentScan>,
    first_seq_of_scan: u64,
    torn_tail: Option<TornTail>,
}

impl Reader {
    /// A reader of the journal in `dir` that starts at the first record with a sequence number of
    /// at least `from_seq` (records before it in the same segment are read and verified, not
    /// returned).
    pub fn open(dir: &Path, from_seq: u64) -> Result<Reader, JournalError> {
        let mut reader = Reader { dir: dir.to_path_buf(), from_seq, scan: None, first_seq_of_scan: 0, torn_tail: None };
        let segments = segment::list_segments(dir)?;
        // The last segment starting at or before `from_seq`, else the first.
        let start = segments.iter().rev().find(|s| s.first_seq <= from_seq).or(segments.first());
        if let Some(seg) = start {
            reader.start(seg)?;
        }
        Ok(reader)
    }

    /// The next record, `None` at the current end of the journal (call again later to follow a
    /// live journal), or the error for damage that is not a torn tail.
    pub fn next_record(&mut self) -> Result<Option<RecordRef<'_>>, JournalError> {
        if !self.advance()? {
            return Ok(None);
        }
        let Some(scan) = self.scan.as_ref() else { return Ok(None) };
        let h = scan.header();
        Ok(Some(RecordRef { seq: h.seq, unix_us: h.unix_us, payload: scan.payload(), offset: scan.record_offset() }))
    }

    /// The segment file the reader is in.
    pub fn segment_path(&self) -> Option<&Path> {
        self.scan.as_ref().map(|s| s.path())
    }

    /// When the last `next_record` returned `None` at damage that a crash explains (the journal has not
    /// been opened for writing since, or a writer is in the middle of a write): what is there.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }

    /// Moves to the next record at or after `from_seq`; false at the current end.
    fn advance(&mut self) -> Result<bool, JournalError> {
        loop {
            let Some(scan) = self.scan.as_mut() else {
                // An empty directory: a segment may have been created since.
                match segment::list_segments(&self.dir)?.first() {
                    Some(seg) => self.start(seg)?,
                    None => return Ok(false),
                }
                continue;
            };
            let step = scan.next()?;
            if let Step::Record = step {
                if scan.header().seq >= self.from_seq {
                    self.torn_tail = None;
                    return Ok(true);
                }
                continue;
            }
            let next = segment::list_segments(&self.dir)?.into_iter().find(|s| s.first_seq > self.first_seq_of_scan);
            let Some(next) = next else {
                // The last segment: its end, or a torn (or in-flight) tail.
                if let Step::Damaged(problem) = step {
                    self.torn_tail = Some(scan.judge_tail(problem)?);
                }
                return Ok(false);
            };
            // A later segment exists, so the writer finished this one before creating it: read
            // once more for records written since this cursor last looked, then move on.
            match scan.next()? {
                Step::Record => {
                    if scan.header().seq >= self.from_seq {
                        self.torn_tail = None;
                        return Ok(true);
                    }
                }
                Step::Damaged(problem) => return Err(scan.corrupt(problem)),
                Step::End => {
                    if next.first_seq != scan.expected_seq() {
                        return Err(JournalError::Corrupt {
                            path: next.path,
                            offset: 0,
                            problem: Corruption::Sequence { expected: scan.expected_seq(), found: next.first_seq },
                            valid_record_after: None,
                        });
                    }
                    self.start(&next)?;
                }
            }
        }
    }

    fn start(&mut self, seg: &SegmentInfo) -> Result<(), JournalError> {
        self.scan = Some(SegmentScan::open(&seg.path, seg.first_seq)?);
        self.first_seq_of_scan = seg.first_seq;
        Ok(())
    }
}
