//! The hand-off between producers and the writer thread: producers encode their records (sequence
//! number, time, checksum) straight into one pending buffer under a short lock; the writer swaps
//! that buffer for an empty one, writes it, and publishes the last sequence number it made safe;
//! waiting producers wake and compare. Bounded by bytes: past the limit an append is refused, never
//! queued.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

use super::batch::Payloads;
use super::error::AppendError;
use super::format::{self, MAX_RECORD_BYTES, RECORD_HEADER_BYTES};

/// The sequence numbers one append was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The first record's.
    pub first_seq: u64,
    /// The last record's (the i-th payload got `first_seq + i`).
    pub last_seq: u64,
}

impl Appended {
    /// Records in the append.
    pub fn count(&self) -> u64 {
        self.last_seq - self.first_seq + 1
    }
}

/// A submitted append: resolve it with [`Ack::wait`] before telling anyone the records are kept.
#[derive(Debug)]
#[must_use = "records are acknowledged only when the Ack resolves"]
pub struct Ack {
    shared: Arc<Shared>,
    appended: Appended,
}

impl Ack {
    /// The sequence numbers the records were given (known at once, safe only after `wait`).
    pub fn appended(&self) -> Appended {
        self.appended
    }

    /// Resolves when every record of the append is written (and synced, under `Always`), or
    /// with `Failed` if the writer stopped first.
    pub async fn wait(self) -> Result<Appended, AppendError> {
        self.shared.wait(self.appended.last_seq).await?;
        Ok(self.appended)
    }
}

/// State shared by the producers, the writer and the syncer.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    wake_writer: Condvar,
    /// The last sequence number acknowledged (written, and synced under `Always`).
    acked_seq: AtomicU64,
    acked: Notify,
    failure: OnceLock<Arc<str>>,
    max_queued_bytes: usize,
}

#[derive(Debug)]
struct State {
    /// Encoded records not yet taken by the writer.
    pending: Vec<u8>,
    pending_last_seq: u64,
    next_seq: u64,
    last_unix_us: u64,
    /// Bytes the writer has taken and not yet acknowledged.
    inflight_bytes: usize,
    writer_waiting: bool,
    closing: bool,
    /// Test hook: the writer takes nothing while set (to fill the queue deterministically).
    held: bool,
}

/// What the writer took from the queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Taken {
    /// The last record's sequence number (meaningful when something was taken).
    pub last_seq: u64,
    /// No more will come: write this, sync, stop.
    pub closing: bool,
}

impl Shared {
    /// An empty queue whose first record gets `next_seq` and no time before `last_unix_us`.
    pub(crate) fn new(next_seq: u64, last_unix_us: u64, max_queued_bytes: usize) -> Shared {
        Shared {
            state: Mutex::new(State {
                pending: Vec::new(),
                pending_last_seq: next_seq.saturating_sub(1),
                next_seq,
                last_unix_us,
                inflight_bytes: 0,
                writer_waiting: false,
                closing: false,
                held: false,
            }),
            wake_writer: Condvar::new(),
            acked_seq: AtomicU64::new(next_seq.saturating_sub(1)),
            acked: Notify::new(),
            failure: OnceLock::new(),
            max_queued_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives the records sequence numbers and the current time and queues them for the writer, or
    /// refuses them all.
    pub(crate) fn enqueue<R: Payloads + ?Sized>(self: &Arc<Self>, records: &R) -> Result<Ack, AppendError> {
        let (mut count, mut payload_bytes) = (0usize, 0usize);
        for p in records.payloads() {
            if p.len() > MAX_RECORD_BYTES {
                return Err(AppendError::RecordTooLarge { bytes: p.len(), limit: MAX_RECORD_BYTES });
            }
            count += 1;
            payload_bytes += p.len();
        }
        if count == 0 {
            return Err(AppendError::Empty);
        }
        let bytes = payload_bytes + count * RECORD_HEADER_BYTES;
        if bytes > self.max_queued_bytes {
            return Err(AppendError::BatchTooLarge { bytes, limit_bytes: self.max_queued_bytes });
        }
        let now_us = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);

        let mut st = self.lock();
        if let Some(why) = self.failure.get() {
            return Err(AppendError::Failed(why.clone()));
        }
        if st.closing {
            return Err(AppendError::Closed);
        }
        let queued_bytes = st.pending.len() + st.inflight_bytes;
        if queued_bytes + bytes > self.max_queued_bytes {
            return Err(AppendError::Overloaded { queued_bytes, limit_bytes: self.max_queued_bytes });
        }
        // Times never go backwards along the sequence, even if the wall clock is stepped back.
        let unix_us = now_us.max(st.last_unix_us);
        st.last_unix_us = unix_us;
        let first_seq = st.next_seq;
        let mut seq = first_seq;
        st.pending.reserve(bytes);
        for p in records.payloads() {
            format::encode_record(&mut st.pending, seq, unix_us, p);
            seq += 1;
        }
        st.next_seq = seq;
        st.pending_last_seq = seq - 1;
        let wake = st.writer_waiting && !st.held;
        st.writer_waiting &= !wake;
        drop(st);
        if wake {
            self.wake_writer.notify_one();
        }
        Ok(Ack { shared: Arc::clone(self), appended: Appended { first_seq, last_seq: seq - 1 } })
    }

    /// The writer's side: waits for records (or for closing), then swaps the pending buffer with
    /// `spare` (which must be empty) and returns what it took.
    pub(crate) fn take(&self, spare: &mut Vec<u8>) -> Taken {
        debug_assert!(spare.is_empty());
        let mut st = self.lock();
        while !st.closing && (st.pending.is_empty() || st.held) {
            st.writer_waiting = true;
            st = self.wake_writer.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
        st.writer_waiting = false;
        std::mem::swap(&mut st.pending, spare);
        st.inflight_bytes = spare.len();
        Taken { last_seq: st.pending_last_seq, closing: st.closing }
    }

    /// The writer made every record up to `last_seq` safe under the policy: wake their producers.
    pub(crate) fn acknowledge(&self, last_seq: u64) {
        self.lock().inflight_bytes = 0;
        self.acked_seq.store(last_seq, Ordering::Release);
        self.acked.notify_waiters();
    }

    /// The writer (or syncer) hit an error it cannot continue after: refuse everything from now
    /// on and fail every waiting append that is not yet acknowledged. The first reason is kept.
    pub(crate) fn fail(&self, why: String) {
        let _ = self.failure.set(why.into());
        self.lock().closing = true;
        self.wake_writer.notify_one();
        self.acked.notify_waiters();
    }

    /// Why the journal stopped, if it failed.
    pub(crate) fn failure(&self) -> Option<Arc<str>> {
        self.failure.get().cloned()
    }

    /// Refuses new appends; the writer writes what is queued and stops.
    pub(crate) fn close(&self) {
        let mut st = self.lock();
        st.closing = true;
        st.held = false;
        drop(st);
        self.wake_writer.notify_one();
    }

    /// Test hook: while held, the writer takes nothing.
    #[cfg(test)]
    pub(crate) fn hold(&self, held: bool) {
        self.lock().held = held;
        self.wake_writer.notify_one();
    }

    /// The last sequence number acknowledged (0 if none).
    pub(crate) fn acked_seq(&self) -> u64 {
        self.acked_seq.load(Ordering::Acquire)
    }

    /// Bytes accepted and not yet acknowledged.
    pub(crate) fn queued_bytes(&self) -> usize {
        let st = self.lock();
        st.pending.len() + st.inflight_bytes
    }

    /// Resolves when `seq` is acknowledged, or the journal failed before it was.
    async fn wait(&self, seq: u64) -> Result<(), AppendError> {
        loop {
            let mut notified = std::pin::pin!(self.acked.notified());
            // Registered before the checks, so an acknowledgement between them is not missed.
            notified.as_mut().enable();
            if self.acked_seq.load(Ordering::Acquire) >= seq {
                return Ok(());
            }
            if let Some(why) = self.failure.get() {
                return Err(AppendError::Failed(why.clone()));
            }
            notified.await;
        }
    }
}
