//! `Now`: the time a request arrived, read once by the transport and handed down, so the core
//! (operations, engine) never reads a clock of its own and a test can replay a request exactly.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A moment, on both clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic: for durations (`took_us`, latency histograms).
    pub at: Instant,
    /// Wall clock, unix microseconds: for answers that carry the time and for due dates.
    pub unix_us: u64,
}

impl Now {
    /// Reads both clocks.
    #[inline]
    pub fn read() -> Now {
        Now {
            at: Instant::now(),
            unix_us: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64),
        }
    }

    /// Wall clock, unix seconds.
    #[inline]
    pub fn unix_s(&self) -> i64 {
        (self.unix_us / 1_000_000) as i64
    }
}
