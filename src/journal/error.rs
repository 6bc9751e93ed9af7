//! The journal's errors: [`JournalError`] for opening, recovering and reading (every one names the
//! file, and the byte offset where it is about content), [`Corruption`] for what was wrong at that
//! place, and [`AppendError`] for an append the journal refused (the server maps `Overloaded` to
//! its OVERLOADED answer).

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// A failure to open, recover or read a journal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// An operating-system call failed.
    #[error("journal {path}: {op}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done ("read", "create segment", ...).
        op: &'static str,
        /// The error from the OS.
        source: io::Error,
    },
    /// Damage that is not a torn tail: in an older segment, in the segment header, or followed
    /// by intact records. Nothing is skipped or truncated; the journal does not open.
    #[error(
        "journal {path} at byte {offset}: {problem}{}; {hint}",
        valid_record_after.map(|o| format!(" (an intact record follows at byte {o}, so this is not a torn write)")).unwrap_or_default(),
        hint = CORRUPT_HINT
    )]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Where the damaged header or record starts.
        offset: u64,
        /// What is wrong there.
        problem: Corruption,
        /// The offset of an intact record found after the damage, if one was.
        valid_record_after: Option<u64>,
    },
    /// Another process (or another `Journal` in this one) has the directory open for writing.
    #[error("journal {path}: in use by another writer (lock held); stop it first")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A `.journal` file whose name is not a 20-digit sequence number: not written by this code,
    /// and not silently left out of the log.
    #[error("journal {path}: a .journal file not named by a 20-digit sequence number; move it out of the directory")]
    UnexpectedFile {
        /// The file.
        path: PathBuf,
    },
    /// The configuration cannot work.
    #[error("journal config: {0}")]
    Config(String),
    /// The writer stopped after an I/O error (reported by [`crate::journal::Journal::close`]).
    #[error("journal writer stopped: {0}")]
    Failed(Arc<str>),
}

const CORRUPT_HINT: &str = "the journal will not open with damage it cannot prove is a torn tail; \
     keep a copy of the directory, then decide whether to cut the file at this offset";

impl JournalError {
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: io::Error) -> JournalError {
        JournalError::Io { path: path.into(), op, source }
    }
}

/// What is wrong with a header or record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// The segment header is short or its magic, checksum, version or sizes are wrong.
    #[error("bad segment header: {0}")]
    SegmentHeader(&'static str),
    /// The segment's header and its file name disagree on its first sequence number.
    #[error("segment header says it starts at sequence {in_header}, its name says {in_name}")]
    SegmentName {
        /// From the header.
        in_header: u64,
        /// From the file name.
        in_name: u64,
    },
    /// The file ends inside a record.
    #[error("file ends inside a record ({available} of {needed} bytes present)")]
    Incomplete {
        /// Bytes the record (or its header) needs.
        needed: u64,
        /// Bytes the file has from the record's start.
        available: u64,
    },
    /// A record claims a payload over the limit.
    #[error("record length {len} is over the limit of {limit} bytes")]
    LengthTooLarge {
        /// The stored length.
        len: u32,
        /// `MAX_RECORD_BYTES`.
        limit: usize,
    },
    /// The checksum does not match the record.
    #[error("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum {
        /// As stored.
        stored: u32,
        /// Over what is there now.
        computed: u32,
    },
    /// An intact record (or a segment) does not carry the next sequence number.
    #[error("sequence number {found} where {expected} was expected")]
    Sequence {
        /// One more than the record before.
        expected: u64,
        /// As stored.
        found: u64,
    },
}

impl Corruption {
    /// Whether a crash while writing could have left this at the end of the last segment (a
    /// record cut short, or bytes that never reached the disk). A well-formed record with the
    /// wrong sequence number or a damaged segment header cannot come from a torn write.
    pub fn can_be_torn_write(&self) -> bool {
        matches!(self, Corruption::Incomplete { .. } | Corruption::LengthTooLarge { .. } | Corruption::Checksum { .. })
    }
}

/// Why an append was refused. Nothing of a refused batch is in the journal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The writer is behind by more than `max_queued_bytes`: shed load (answer OVERLOADED) and
    /// let the device retry.
    #[error("journal overloaded: {queued_bytes} bytes waiting for the disk, limit {limit_bytes}")]
    Overloaded {
        /// Bytes accepted but not yet acknowledged, before this batch.
        queued_bytes: usize,
        /// The configured limit.
        limit_bytes: usize,
    },
    /// One payload is over `MAX_RECORD_BYTES`.
    #[error("record of {bytes} bytes is over the limit of {limit} bytes")]
    RecordTooLarge {
        /// The payload's size.
        bytes: usize,
        /// `MAX_RECORD_BYTES`.
        limit: usize,
    },
    /// The whole batch is larger than the queue can ever hold; split it.
    #[error("batch of {bytes} bytes can never fit the queue limit of {limit_bytes} bytes; split it")]
    BatchTooLarge {
        /// Encoded size of the batch.
        bytes: usize,
        /// The configured limit.
        limit_bytes: usize,
    },
    /// A batch with no records.
    #[error("empty batch")]
    Empty,
    /// The writer stopped after a write or fsync error; nothing more is accepted, and records not
    /// yet acknowledged may or may not be on disk. Restart to recover.
    #[error("journal writer stopped: {0}")]
    Failed(Arc<str>),
    /// The journal is closing or closed.
    #[error("journal closed")]
    Closed,
}
