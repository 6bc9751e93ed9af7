//! The event journal: an append-only, checksummed log of opaque records on local disk, so that
//! every event the server acknowledges can be found again after a crash.
//!
//! Records are byte payloads (at most [`MAX_RECORD_BYTES`]); the journal gives each a sequence
//! number (strictly increasing from 1, continuing across segments and restarts) and the server time
//! it was accepted (unix microseconds, never decreasing along the sequence). They are stored in
//! segment files named by their first sequence number, each record with its length and a CRC-32
//! over its fields and payload (the layout is in [`format`]).
//!
//! **Writing (group commit).** Producers on any thread call [`Journal::submit`] (or
//! [`Journal::append`]) with a batch; the records are encoded into a shared queue at once, so the
//! caller's batch can be reused straight away. One writer thread takes everything queued, writes it
//! with one `write(2)` per segment, applies the [`FsyncPolicy`], and acknowledges: the [`Ack`]
//! resolves. What an acknowledgement promises:
//!
//! | policy | survives `kill -9` of the process | survives power loss or a kernel crash |
//! |---|---|---|
//! | `Always` | yes | yes (synced with `fdatasync` before the acknowledgement) |
//! | `IntervalMs(n)` | yes | all but the last `n` ms or so (plus one sync's duration) |
//! | `Never` | yes | up to the OS's write-back delay (typically 30 s) may be lost |
//!
//! Under every policy a record is acknowledged only after `write(2)` returned for it, and the
//! kernel keeps written bytes whatever happens to the process. Power loss can lose what was not
//! yet synced; the journal then recovers to a prefix (see below) and loses nothing older than the
//! last sync. A segment is synced before the next is created, and on close, under every policy.
//! The queue is bounded: past `max_queued_bytes` not yet acknowledged, an append is refused with
//! [`AppendError::Overloaded`] (the server answers OVERLOADED). A write or sync error stops the
//! journal: every later and every unacknowledged append fails with [`AppendError::Failed`], because
//! after a failed `fsync` the page cache can no longer be trusted; restart to recover.
//!
//! **Recovery.** [`Journal::open`] verifies every record of every segment. Damage at the end of the
//! last segment that a crash explains (a record cut short or never fully written, with no intact
//! record after it) is truncated and reported in [`Journal::recovery`]; any other damage (in an
//! older segment, in a segment header, a wrong sequence number, or followed by an intact record)
//! is a [`JournalError::Corrupt`] naming the file and offset, and the journal does not open. The
//! next append continues after the last intact record, so the sequence numbers of records lost in
//! a torn tail (never acknowledged) are given again.
//!
//! **Reading.** [`Reader`] iterates records from a sequence number across segments, verifying each;
//! [`verify`] checks a directory read-only; [`list_segments`] lists the segment files.
//! Retention (deleting old segments) is not done here.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use endcap::journal::{Batch, FsyncPolicy, Journal, JournalConfig, Reader};
//!
//! let mut config = JournalConfig::new("/var/lib/endcap/journal");
//! config.fsync = FsyncPolicy::IntervalMs(5);
//! let journal = Journal::open(config)?;
//! println!("recovered: {:?}", journal.recovery());
//!
//! let mut batch = Batch::new();
//! batch.push(b"zone_enter ...")?;
//! batch.push_with(|buf| buf.extend_from_slice(b"view ..."))?;
//! let ack = journal.submit(&batch)?; // refused at once if overloaded
//! batch.clear(); // the records are already queued
//! let appended = ack.wait().await?; // now acknowledged under the policy
//! assert_eq!(appended.count(), 2);
//! journal.close()?;
//!
//! let mut reader = Reader::open("/var/lib/endcap/journal".as_ref(), appended.first_seq)?;
//! while let Some(record) = reader.next_record()? {
//!     println!("{} {} {} bytes", record.seq, record.unix_us, record.payload.len());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Depends on nothing else in endcap: not the engine, the operations, the protocol or a
//! transport. The event format lives above it.

/// A new directory for a throwaway journal under the system temp dir, unique in this process and
/// across processes (tests, benches, tools).
pub fn scratch_dir(tag: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("endcap-journal-{tag}-{}-{n}", std::process::id()))
}

mod batch;
mod config;
mod error;
pub mod format;
mod queue;
mod reader;
mod recover;
mod scan;
mod segment;
mod writer;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

pub use batch::{Batch, Payloads};
pub use config::{FsyncPolicy, JournalConfig};
pub use error::{AppendError, Corruption, JournalError};
pub use format::MAX_RECORD_BYTES;
pub use queue::{Ack, Appended};
pub use reader::{Reader, Record, RecordRef};
pub use recover::{Recovery, verify};
pub use scan::TornTail;
pub use segment::{SegmentInfo, list_segments};

use queue::Shared;
use segment::DirLock;
use writer::{OpenSegment, SyncerHandle, Writer, WriterThread};

/// An open journal: the one writer of its directory (others get [`JournalError::Locked`]).
/// Share it between tasks behind an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct Journal {
    shared: Arc<Shared>,
    config: JournalConfig,
    recovery: Recovery,
    writer: Option<WriterThread>,
    syncer: Option<SyncerHandle>,
    _lock: DirLock,
}

impl Journal {
    /// Opens (or creates) the journal in `config.dir`: takes the directory's lock, recovers (see
    /// the module doc), and starts the writer thread.
    pub fn open(config: JournalConfig) -> Result<Journal, JournalError> {
        config.check()?;
        let dir = config.dir.clone();
        std::fs::create_dir_all(&dir).map_err(|e| JournalError::io(&dir, "create directory", e))?;
        let lock = DirLock::take(&dir)?;
        segment::remove_unfinished(&dir)?;
        let (recovery, segments) = recover::recover(&dir)?;
        let segment = match segments.last() {
            Some(last) => {
                OpenSegment { file: segment::open_for_append(&last.path)?, path: last.path.clone(), bytes: last.bytes }
            }
            None => {
                let (file, path) = segment::create_segment(&dir, recovery.next_seq)?;
                OpenSegment { file, path, bytes: format::SEGMENT_HEADER_BYTES as u64 }
            }
        };
        let shared = Arc::new(Shared::new(recovery.next_seq, recovery.last_unix_us, config.max_queued_bytes));
        let (writer, syncer) = Writer::spawn(Arc::clone(&shared), dir, config.fsync, config.segment_bytes, segment)?;
        Ok(Journal { shared, config, recovery, writer: Some(writer), syncer, _lock: lock })
    }

    /// Queues one batch of records (all or none) and returns at once: the [`Ack`] says which
    /// sequence numbers they got and resolves when they are acknowledged. Refused with
    /// `Overloaded` when the writer is too far behind. Never blocks beyond a short lock.
    pub fn submit<R: Payloads + ?Sized>(&self, records: &R) -> Result<Ack, AppendError> {
        self.shared.enqueue(records)
    }

    /// [`submit`](Journal::submit), then wait for the acknowledgement.
    pub async fn append<R: Payloads + Sync + ?Sized>(&self, records: &R) -> Result<Appended, AppendError> {
        self.submit(records)?.wait().await
    }

    /// What recovery found when this journal was opened (and what it cut off).
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The settings it was opened with.
    pub fn config(&self) -> &JournalConfig {
        &self.config
    }

    /// The last acknowledged sequence number (0 if there is no record).
    pub fn acked_seq(&self) -> u64 {
        self.shared.acked_seq()
    }

    /// Bytes accepted and not yet acknowledged (what `max_queued_bytes` bounds).
    pub fn queued_bytes(&self) -> usize {
        self.shared.queued_bytes()
    }

    /// The segment files, oldest first.
    pub fn segments(&self) -> Result<Vec<SegmentInfo>, JournalError> {
        list_segments(&self.config.dir)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    /// Refuses new appends, writes and syncs what is queued (acknowledging it), stops the threads
    /// and releases the lock. Returns the error that stopped the writer, if one did. Dropping the
    /// journal does the same and ignores the error; both block while the last write is synced.
    pub fn close(mut self) -> Result<(), JournalError> {
        self.shutdown()
    }

    /// Test hook: while held, the writer takes nothing from the queue.
    #[cfg(test)]
    pub(crate) fn hold_writer(&self, held: bool) {
        self.shared.hold(held);
    }

    fn shutdown(&mut self) -> Result<(), JournalError> {
        self.shared.close();
        let result = match self.writer.take() {
            Some(handle) => {
                handle.join().unwrap_or_else(|_| Err(JournalError::Failed("writer thread panicked".into())))
            }
            None => Ok(()),
        };
        if let Some(syncer) = self.syncer.take() {
            syncer.stop();
        }
        result
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
