//! What keeps one device from exhausting the server: request-rate limits per connection and per
//! device, the list of revoked devices, and a log that speaks once per device per minute. The
//! caps on connections, windows and deadlines are applied where connections and streams are
//! served (`quic.rs`, `listen.rs`); every refusal is counted in `endcap_limited_total`.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use tracing::{info, warn};

/// A request-rate limit (the generic cell rate algorithm): one atomic word, no lock, so the
/// streams of a connection (or the connections of a device) share it without contention.
#[derive(Debug)]
pub struct Rate {
    /// Nanoseconds between requests at the sustained rate; 0 = no limit.
    interval_ns: u64,
    /// How far ahead of the sustained rate a burst may run, nanoseconds.
    tolerance_ns: u64,
    /// Theoretical arrival time of the next request, nanoseconds since `epoch`.
    tat: AtomicU64,
    epoch: Instant,
}

impl Rate {
    /// `per_s` requests a second (0 = unlimited), `burst` at once above it.
    pub fn new(per_s: f64, burst: u32, epoch: Instant) -> Rate {
        let interval_ns = if per_s > 0.0 { (1e9 / per_s).max(1.0) as u64 } else { 0 };
        Rate {
            interval_ns,
            tolerance_ns: interval_ns.saturating_mul(burst.max(1) as u64),
            tat: AtomicU64::new(0),
            epoch,
        }
    }

    /// Admits one request at `now`, or says how long until one would be admitted.
    #[inline]
    pub fn check(&self, now: Instant) -> Result<(), Duration> {
        if self.interval_ns == 0 {
            return Ok(());
        }
        let now_ns = now.saturating_duration_since(self.epoch).as_nanos() as u64;
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let start = tat.max(now_ns);
            if start > now_ns + self.tolerance_ns {
                return Err(Duration::from_nanos(start - now_ns - self.tolerance_ns));
            }
            match self.tat.compare_exchange_weak(tat, start + self.interval_ns, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Ok(()),
                Err(seen) => tat = seen,
            }
        }
    }
}

/// One rate per device name, shared by all the device's connections while any is open.
#[derive(Debug)]
pub struct DeviceRates {
    per_s: f64,
    burst: u32,
    epoch: Instant,
    rates: Mutex<HashMap<String, Weak<Rate>>>,
}

impl DeviceRates {
    /// Rates of `per_s` (0 = unlimited) with `burst`.
    pub fn new(per_s: f64, burst: u32) -> DeviceRates {
        DeviceRates { per_s, burst, epoch: Instant::now(), rates: Mutex::default() }
    }

    /// The rate of `device` (taken at connection set-up, not per request).
    pub fn of(&self, device: &str) -> Arc<Rate> {
        let mut rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rate) = rates.get(device).and_then(Weak::upgrade) {
            return rate;
        }
        // Forget devices with no open connection, so the map stays as large as the fleet online.
        if rates.len() > 1024 {
            rates.retain(|_, r| r.strong_count() > 0);
        }
        let rate = Arc::new(Rate::new(self.per_s, self.burst, self.epoch));
        rates.insert(device.to_string(), Arc::downgrade(&rate));
        rate
    }
}

/// Revoked device names from a file, re-read when the file changes.
#[derive(Debug)]
pub struct Revocations {
    path: Option<PathBuf>,
    names: ArcSwap<HashSet<String>>,
    /// Bumped whenever the list changes, so connections can check themselves again.
    pub generation: tokio::sync::watch::Sender<u64>,
    modified: Mutex<Option<SystemTime>>,
}

impl Revocations {
    /// Reads `path` (none: nothing is revoked). A missing or unreadable file at start is an error:
    /// a revocation list that silently revokes nothing would fail open.
    pub fn load(path: Option<PathBuf>) -> Result<Revocations, String> {
        let r = Revocations {
            path,
            names: ArcSwap::from_pointee(HashSet::new()),
            generation: tokio::sync::watch::Sender::new(0),
            modified: Mutex::default(),
        };
        r.refresh()?;
        Ok(r)
    }

    /// True when `device` is revoked.
    pub fn is_revoked(&self, device: &str) -> bool {
        self.names.load().contains(device)
    }

    /// Re-reads the file if it changed; `Ok(true)` when the list changed.
    pub fn refresh(&self) -> Result<bool, String> {
        let Some(path) = &self.path else { return Ok(false) };
        let meta = std::fs::metadata(path).map_err(|e| format!("revocation list {}: {e}", path.display()))?;
        let modified = meta.modified().ok();
        let mut last = self.modified.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some() && *last == modified {
            return Ok(false);
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("revocation list {}: {e}", path.display()))?;
        let names: HashSet<String> = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        *last = modified;
        info!(path = %path.display(), devices = names.len(), "revocation list loaded");
        self.names.store(Arc::new(names));
        self.generation.send_modify(|g| *g += 1);
        Ok(true)
    }

    /// Re-reads the file every `every` until `stop` turns true; a file that cannot be read keeps
    /// the last list (logged).
    pub fn watch(self: Arc<Self>, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        if self.path.is_none() {
            return;
        }
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                if let Err(e) = self.refresh() {
                    warn!("{e}; keeping the previous revocation list");
                }
            }
        });
    }
}

/// Logs a refusal at most once per key a minute.
#[derive(Debug, Default)]
pub struct LogOnce {
    last: Mutex<HashMap<String, Instant>>,
}

impl LogOnce {
    /// True when `key` has not been logged in the last minute (and records it now).
    pub fn due(&self, key: &str, now: Instant) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.len() > 4096 {
            last.retain(|_, t| now.duration_since(*t) < Duration::from_secs(60));
        }
        match last.get(key) {
            Some(t) if now.duration_since(*t) < Duration::from_secs(60) => false,
            _ => {
                last.insert(key.to_string(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_admits_its_burst_then_its_rate_and_says_when_to_retry() {
        let epoch = Instant::now();
        let r = Rate::new(100.0, 10, epoch);
        let t = epoch + Duration::from_secs(1);
        let admitted = (0..50).filter(|_| r.check(t).is_ok()).count();
        assert_eq!(admitted, 11, "the burst (10) above the current slot");
        let wait = r.check(t).expect_err("over the limit");
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(10), "{wait:?}");
        assert!(r.check(t + Duration::from_millis(10)).is_ok(), "one more after one interval");
        let unlimited = Rate::new(0.0, 0, epoch);
        assert!((0..10_000).all(|_| unlimited.check(t).is_ok()));
    }

    #[test]
    fn devices_share_a_rate_while_connected() {
        let d = DeviceRates::new(10.0, 1);
        let (a, b) = (d.of("screen-1"), d.of("screen-1"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &d.of("screen-2")));
    }

    #[test]
    fn revocations_are_read_and_re_read_when_the_file_changes() {
        let path = std::env::temp_dir().join(format!("endcap-revoked-{}", std::process::id()));
        std::fs::write(&path, "# lost\nscreen-9\n\n").expect("write");
        let r = Revocations::load(Some(path.clone())).expect("loads");
        assert!(r.is_revoked("screen-9") && !r.is_revoked("screen-1"));
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&path, "screen-9\nscreen-1 # stolen\n").expect("write");
        assert_eq!(r.refresh(), Ok(true));
        assert!(r.is_revoked("screen-1"));
        assert_eq!(*r.generation.borrow(), 2);
        std::fs::remove_file(&path).expect("rm");
        assert!(r.refresh().is_err(), "a vanished list is reported");
        assert!(r.is_revoked("screen-1"), "and the last list stays");
        assert!(Revocations::load(Some(path)).is_err(), "a missing list at start is an error");
    }

    #[test]
    fn log_once_a_minute() {
        let l = LogOnce::default();
        let t = Instant::now();
        assert!(l.due("d", t) && !l.due("d", t + Duration::from_secs(59)));
        assert!(l.due("d", t + Duration::from_secs(61)) && l.due("e", t));
    }
}
