//! How a journal is opened: its directory, the fsync policy, the segment size and the queue
//! bound. Plain data with defaults and a check; the server's TOML config maps onto it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::error::JournalError;
use super::format::{MAX_RECORD_BYTES, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES};

/// When the writer calls `fdatasync`, and so what an acknowledgement promises.
///
/// Every policy acknowledges a record only after `write(2)` returned for it, so a record
/// acknowledged under any policy survives `kill -9` of the process: its bytes are in the kernel's
/// page cache, which the kernel writes out whether or not the process lives. The policies differ
/// only on power loss or a kernel crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// `fdatasync` before every acknowledgement (one call per group of queued batches):
    /// acknowledged means on the disk. Latency is the disk's sync time.
    Always,
    /// Acknowledge after `write(2)`; a background thread calls `fdatasync` at most, and while
    /// there is unsynced data at least, every N milliseconds. Power loss may lose the records
    /// acknowledged in the last N ms (plus one sync's duration).
    IntervalMs(u32),
    /// Acknowledge after `write(2)`; the OS writes back when it likes (typically within 30 s).
    /// The journal still syncs a segment when it is rotated and on close.
    Never,
}

impl FsyncPolicy {
    /// The sync period of `IntervalMs`.
    pub fn interval(&self) -> Option<Duration> {
        match self {
            FsyncPolicy::IntervalMs(ms) => Some(Duration::from_millis(u64::from(*ms))),
            _ => None,
        }
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsyncPolicy::Always => f.write_str("always"),
            FsyncPolicy::IntervalMs(ms) => write!(f, "interval_ms({ms})"),
            FsyncPolicy::Never => f.write_str("never"),
        }
    }
}

impl FromStr for FsyncPolicy {
    type Err = String;

    /// `always`, `never` or `interval_ms(N)` with N from 1 to 60000.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s {
            "always" => return Ok(FsyncPolicy::Always),
            "never" => return Ok(FsyncPolicy::Never),
            _ => {}
        }
        let bad = || format!("fsync policy {s:?}: expected always, never or interval_ms(N) with N in 1..=60000");
        let n = s.strip_prefix("interval_ms(").and_then(|r| r.strip_suffix(')')).ok_or_else(bad)?;
        match n.trim().parse::<u32>() {
            Ok(ms) if (1..=60_000).contains(&ms) => Ok(FsyncPolicy::IntervalMs(ms)),
            _ => Err(bad()),
        }
    }
}

/// Settings of one journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    /// The directory holding the segment files (created if missing).
    pub dir: PathBuf,
    /// When to sync; default `Always`.
    pub fsync: FsyncPolicy,
    /// A segment is closed and a new one started before a record that would take it past this
    /// many bytes (a record larger than a whole segment gets a segment of its own); default 64 MiB.
    pub segment_bytes: u64,
    /// Bytes (records with their headers) accepted but not yet acknowledged beyond which `append`
    /// refuses with `Overloaded`; default 16 MiB. Memory held by the queue is at most twice this.
    pub max_queued_bytes: usize,
}

impl JournalConfig {
    /// The defaults for a journal in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> JournalConfig {
        JournalConfig {
            dir: dir.into(),
            fsync: FsyncPolicy::Always,
            segment_bytes: 64 << 20,
            max_queued_bytes: 16 << 20,
        }
    }

    /// Refuses settings that cannot work, saying which and why.
    pub fn check(&self) -> Result<(), JournalError> {
        let min_segment = (SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES) as u64 + 1;
        if self.segment_bytes < min_segment {
            return Err(JournalError::Config(format!(
                "segment_bytes {} is below the minimum of {min_segment}",
                self.segment_bytes
            )));
        }
        let one_record = RECORD_HEADER_BYTES + MAX_RECORD_BYTES;
        if self.max_queued_bytes < one_record {
            return Err(JournalError::Config(format!(
                "max_queued_bytes {} cannot hold one record of the largest size ({one_record} bytes)",
                self.max_queued_bytes
            )));
        }
        if self.fsync == FsyncPolicy::IntervalMs(0) {
            return Err(JournalError::Config("fsync interval_ms(0): use always".into()));
        }
        Ok(())
    }
}
