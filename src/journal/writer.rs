//! The writer thread (one per journal) and, under `IntervalMs`, the syncer thread. The writer takes
//! everything queued, writes it with one `write(2)` per segment it lands in, rotates segments,
//! applies the fsync policy, then acknowledges: group commit. The syncer calls `fdatasync` on a
//! timer so that syncing never delays an acknowledgement. Neither is async: blocking file I/O
//! stays off the tokio workers.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::config::FsyncPolicy;
use super::error::JournalError;
use super::format::{self, SEGMENT_HEADER_BYTES};
use super::queue::Shared;
use super::segment;

/// The writer thread; it returns the error that stopped it, if one did.
pub(crate) type WriterThread = JoinHandle<Result<(), JournalError>>;

/// The segment being appended to.
#[derive(Debug)]
pub(crate) struct OpenSegment {
    pub file: File,
    pub path: PathBuf,
    /// Its size, header included.
    pub bytes: u64,
}

/// The writer thread's state.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    dir: PathBuf,
    policy: FsyncPolicy,
    segment_bytes: u64,
    file: Arc<File>,
    path: PathBuf,
    bytes: u64,
    syncer: Option<Arc<Syncer>>,
}

impl Writer {
    /// Starts the writer thread on `segment` (and the syncer, under `IntervalMs`).
    pub(crate) fn spawn(
        shared: Arc<Shared>,
        dir: PathBuf,
        policy: FsyncPolicy,
        segment_bytes: u64,
        segment: OpenSegment,
    ) -> Result<(WriterThread, Option<SyncerHandle>), JournalError> {
        let file = Arc::new(segment.file);
        let syncer = match policy.interval() {
            Some(every) => Some(Syncer::spawn(Arc::clone(&shared), Arc::clone(&file), segment.path.clone(), every)?),
            None => None,
        };
        let writer = Writer {
            shared,
            dir: dir.clone(),
            policy,
            segment_bytes,
            file,
            path: segment.path,
            bytes: segment.bytes,
            syncer: syncer.as_ref().map(|s| Arc::clone(&s.syncer)),
        };
        let handle = std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| JournalError::io(dir, "start writer thread", e))?;
        Ok((handle, syncer))
    }

    fn run(mut self) -> Result<(), JournalError> {
        let mut guard = FailOnUnwind { shared: Arc::clone(&self.shared), armed: true };
        let result = self.serve();
        if let Err(e) = &result {
            self.shared.fail(e.to_string());
        }
        guard.armed = false;
        result
    }

    fn serve(&mut self) -> Result<(), JournalError> {
        let mut buf = Vec::new();
        loop {
            let taken = self.shared.take(&mut buf);
            if let Some(why) = self.shared.failure() {
                // The syncer failed: what the page cache holds can no longer be trusted.
                return Err(JournalError::Failed(why));
            }
            if !buf.is_empty() {
                self.write(&buf)?;
                if self.policy == FsyncPolicy::Always {
                    self.sync()?;
                }
                self.shared.acknowledge(taken.last_seq);
                if let Some(s) = &self.syncer {
                    s.mark_dirty();
                }
                buf.clear();
            }
            if taken.closing {
                return self.sync();
            }
        }
    }

    /// Writes whole records, rotating before a record that would take the segment past
    /// `segment_bytes` (unless the segment is empty: a record larger than a segment gets its own).
    fn write(&mut self, buf: &[u8]) -> Result<(), JournalError> {
        let mut start = 0;
        while start < buf.len() {
            let room = self.segment_bytes.saturating_sub(self.bytes);
            let mut end = buf.len();
            if (end - start) as u64 > room {
                end = start;
                while end < buf.len() {
                    let n = self.record_len_at(buf, end)?;
                    if (end - start + n) as u64 > room {
                        break;
                    }
                    end += n;
                }
                if end == start && self.bytes == SEGMENT_HEADER_BYTES as u64 {
                    end = start + self.record_len_at(buf, start)?;
                }
            }
            if end > start {
                (&*self.file).write_all(&buf[start..end]).map_err(|e| JournalError::io(&self.path, "write", e))?;
                self.bytes += (end - start) as u64;
                start = end;
            }
            if start < buf.len() {
                let first_seq = format::header_at(buf, start).map_or(0, |h| h.seq);
                self.rotate(first_seq)?;
            }
        }
        Ok(())
    }

    /// Bytes of the record at `at` in the writer's own buffer.
    fn record_len_at(&self, buf: &[u8], at: usize) -> Result<usize, JournalError> {
        match format::header_at(buf, at) {
            Some(h) if at + h.record_bytes() as usize <= buf.len() => Ok(h.record_bytes() as usize),
            _ => {
                Err(JournalError::Failed(format!("internal: queue buffer does not hold a whole record at {at}").into()))
            }
        }
    }

    /// Syncs the full segment (whatever the policy, so an older segment is always whole on disk
    /// before a newer one exists) and starts the next one.
    fn rotate(&mut self, first_seq: u64) -> Result<(), JournalError> {
        self.sync()?;
        let (file, path) = segment::create_segment(&self.dir, first_seq)?;
        self.file = Arc::new(file);
        self.path = path;
        self.bytes = SEGMENT_HEADER_BYTES as u64;
        if let Some(s) = &self.syncer {
            s.set_file(Arc::clone(&self.file), self.path.clone());
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), JournalError> {
        self.file.sync_data().map_err(|e| JournalError::io(&self.path, "fdatasync", e))
    }
}

/// If the writer thread unwinds, fail every waiting append instead of leaving it hanging.
struct FailOnUnwind {
    shared: Arc<Shared>,
    armed: bool,
}

impl Drop for FailOnUnwind {
    fn drop(&mut self) {
        if self.armed {
            self.shared.fail("journal writer thread panicked".into());
        }
    }
}

/// The `IntervalMs` syncer: while there is written, unsynced data, `fdatasync` the current
/// segment at most (and about) once per interval, on its own thread.
#[derive(Debug)]
pub(crate) struct Syncer {
    state: Mutex<SyncState>,
    wake: Condvar,
}

#[derive(Debug)]
struct SyncState {
    file: Arc<File>,
    path: PathBuf,
    dirty: bool,
    stop: bool,
}

/// The syncer and its thread, owned by the journal.
#[derive(Debug)]
pub(crate) struct SyncerHandle {
    syncer: Arc<Syncer>,
    thread: JoinHandle<()>,
}

impl SyncerHandle {
    /// Stops the syncer (the writer has synced on its way out) and waits for its thread.
    pub(crate) fn stop(self) {
        self.syncer.lock().stop = true;
        self.syncer.wake.notify_one();
        let _ = self.thread.join();
    }
}

impl Syncer {
    fn spawn(
        shared: Arc<Shared>,
        file: Arc<File>,
        path: PathBuf,
        every: Duration,
    ) -> Result<SyncerHandle, JournalError> {
        let syncer = Arc::new(Syncer {
            state: Mutex::new(SyncState { file, path: path.clone(), dirty: false, stop: false }),
            wake: Condvar::new(),
        });
        let s = Arc::clone(&syncer);
        let thread = std::thread::Builder::new()
            .name("journal-sync".into())
            .spawn(move || s.run(&shared, every))
            .map_err(|e| JournalError::io(path, "start syncer thread", e))?;
        Ok(SyncerHandle { syncer, thread })
    }

    fn lock(&self) -> MutexGuard<'_, SyncState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn mark_dirty(&self) {
        let mut st = self.lock();
        if !st.dirty {
            st.dirty = true;
            drop(st);
            self.wake.notify_one();
        }
    }

    fn set_file(&self, file: Arc<File>, path: PathBuf) {
        let mut st = self.lock();
        st.file = file;
        st.path = path;
    }

    fn run(&self, shared: &Shared, every: Duration) {
        let mut last_sync = Instant::now();
        let mut st = self.lock();
        loop {
            if st.stop {
                return;
            }
            if !st.dirty {
                st = self.wake.wait(st).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            let due = last_sync + every;
            let now = Instant::now();
            if now < due {
                st = self.wake.wait_timeout(st, due - now).unwrap_or_else(PoisonError::into_inner).0;
                continue;
            }
            st.dirty = false;
            let (file, path) = (Arc::clone(&st.file), st.path.clone());
            drop(st);
            let result = file.sync_data();
            last_sync = Instant::now();
            if let Err(e) = result {
                shared.fail(JournalError::io(path, "fdatasync", e).to_string());
                return;
            }
            st = self.lock();
        }
    }
}
