//! What one lane (a stream or an HTTP connection) saw, merged into a run summary.
//!
//! Each lane owns its `Stats` while running (no sharing, no locks); they are merged at the end.
//! Latency is measured from the request's intended send time (open loop), so a stall in the
//! server or the network shows up in every request scheduled during it.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::workload::Class;

/// Highest latency recorded, microseconds (larger values are clamped).
const MAX_US: u64 = 60_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("valid bounds")
}

/// Counters and latencies of one lane, or of a whole run after merging.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Latency of every answer (successes and error answers), and of every request that timed
    /// out (at how long it had waited, see `timed_out`), microseconds.
    pub latency: Histogram<u64>,
    /// How late requests left the generator, microseconds: from the intended send time to the
    /// transport taking the request (QUIC: the stream accepted its bytes, so waits for flow
    /// control count; HTTP: the connection was free for it). The generator's share of `latency`.
    pub send_lag: Histogram<u64>,
    /// Latency by request class.
    pub by_class: Vec<Histogram<u64>>,
    /// Requests the schedule asked for.
    pub scheduled: u64,
    /// Requests written to the server.
    pub sent: u64,
    /// Answers received within the run window (they count toward the achieved rate).
    pub answered_in_window: u64,
    /// Answers received after the window, while draining.
    pub answered_late: u64,
    /// Successful answers.
    pub ok: u64,
    /// Errors by code: protocol error codes as the server names them (`UNKNOWN_ZONE`), HTTP
    /// statuses without a code (`HTTP_503`), and the generator's own (`TIMEOUT` for requests never
    /// answered, `STREAM` for a failed stream or connection, `BAD_ANSWER` for an unreadable or
    /// mismatched answer).
    pub errors: BTreeMap<String, u64>,
    /// Answers per model version.
    pub versions: BTreeMap<String, u64>,
    /// (intended send time since start in ms, latency in us) of every measured answer, for the
    /// plot; kept only when asked for (`RunSpec::keep_samples`).
    pub samples: Vec<(u32, u32)>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            latency: histogram(),
            send_lag: histogram(),
            by_class: Class::ALL.iter().map(|_| histogram()).collect(),
            scheduled: 0,
            sent: 0,
            answered_in_window: 0,
            answered_late: 0,
            ok: 0,
            errors: BTreeMap::new(),
            versions: BTreeMap::new(),
            samples: Vec::new(),
        }
    }
}

impl Stats {
    /// Records one answer.
    #[inline]
    pub fn answer(
        &mut self,
        class: Class,
        since_start: Duration,
        latency: Duration,
        in_window: bool,
        measured: bool,
        sample: bool,
    ) {
        if in_window {
            self.answered_in_window += 1;
        } else {
            self.answered_late += 1;
        }
        if measured {
            let us = self.time(class, latency);
            if sample {
                self.samples.push((since_start.as_millis() as u32, us as u32));
            }
        }
    }

    /// Records a request still unanswered when the drain time ran out: a `TIMEOUT`, and (if
    /// `measured`) timed at `waited`, how long it had been owed then. That is a lower bound of its
    /// latency (at least the drain time); leaving it out would hide the worst requests of an
    /// overloaded run. Requests lost with a failed stream are only counted (`STREAM`): they were
    /// given up on early, so their wait says nothing.
    pub fn timed_out(&mut self, class: Class, waited: Duration, measured: bool) {
        self.error("TIMEOUT", 1);
        if measured {
            self.time(class, waited);
        }
    }

    #[inline]
    fn time(&mut self, class: Class, latency: Duration) -> u64 {
        let us = (latency.as_micros() as u64).clamp(1, MAX_US);
        self.latency.saturating_record(us);
        self.by_class[class.index()].saturating_record(us);
        us
    }

    /// Counts an error.
    pub fn error(&mut self, code: &str, n: u64) {
        if n > 0 {
            match self.errors.get_mut(code) {
                Some(c) => *c += n,
                None => {
                    self.errors.insert(code.to_string(), n);
                }
            }
        }
    }

    /// Counts an answer from `version` (allocates only for a version not seen before).
    #[inline]
    pub fn version(&mut self, version: &str) {
        match self.versions.get_mut(version) {
            Some(c) => *c += 1,
            None => {
                self.versions.insert(version.to_string(), 1);
            }
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: Stats) {
        self.latency.add(&other.latency).expect("same bounds");
        self.send_lag.add(&other.send_lag).expect("same bounds");
        for (a, b) in self.by_class.iter_mut().zip(&other.by_class) {
            a.add(b).expect("same bounds");
        }
        self.scheduled += other.scheduled;
        self.sent += other.sent;
        self.answered_in_window += other.answered_in_window;
        self.answered_late += other.answered_late;
        self.ok += other.ok;
        for (code, n) in other.errors {
            self.error(&code, n);
        }
        for (v, n) in other.versions {
            *self.versions.entry(v).or_default() += n;
        }
        self.samples.extend(other.samples);
    }

    /// All errors.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// The result of one run at one rate.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Transport (`quic` or `http`).
    pub transport: &'static str,
    /// Operation (`ping`, `recommend`, `mix`).
    pub op: String,
    /// Connections.
    pub connections: usize,
    /// Streams per connection (QUIC).
    pub streams: usize,
    /// Requested rate, requests/s.
    pub offered_rate: f64,
    /// Measured window (after warm-up).
    pub window: Duration,
    /// Warm-up excluded from latencies.
    pub warmup: Duration,
    /// Everything counted.
    pub stats: Stats,
}

impl Summary {
    /// Answers per second over the whole schedule (warm-up included, drain excluded).
    pub fn achieved_rate(&self) -> f64 {
        let total = self.window + self.warmup;
        if total.is_zero() { 0.0 } else { self.stats.answered_in_window as f64 / total.as_secs_f64() }
    }

    /// Latency at `q` (0..=1), microseconds.
    pub fn quantile_us(&self, q: f64) -> u64 {
        self.stats.latency.value_at_quantile(q)
    }

    /// True when the run held the target: p99 under `p99_target_us`, at least 99% of the
    /// schedule answered in time, and no errors.
    pub fn held(&self, p99_target_us: u64) -> bool {
        !self.stats.latency.is_empty()
            && self.quantile_us(0.99) < p99_target_us
            && self.stats.answered_in_window as f64 >= 0.99 * self.stats.scheduled as f64
            && self.stats.error_total() == 0
    }

    /// The `--json` object.
    pub fn to_json(&self) -> Value {
        let h = &self.stats.latency;
        let classes: serde_json::Map<String, Value> = Class::ALL
            .iter()
            .zip(&self.stats.by_class)
            .filter(|(_, h)| !h.is_empty())
            .map(|(c, h)| {
                let v = json!({
                    "count": h.len(),
                    "p50_us": h.value_at_quantile(0.5),
                    "p99_us": h.value_at_quantile(0.99),
                    "p999_us": h.value_at_quantile(0.999),
                    "max_us": h.max(),
                });
                (c.name().to_string(), v)
            })
            .collect();
        json!({
            "transport": self.transport,
            "op": self.op,
            "connections": self.connections,
            "streams": self.streams,
            "duration_s": self.window.as_secs_f64(),
            "warmup_s": self.warmup.as_secs_f64(),
            "offered_rate": self.offered_rate,
            "achieved_rate": round1(self.achieved_rate()),
            "scheduled": self.stats.scheduled,
            "sent": self.stats.sent,
            "answered": self.stats.answered_in_window + self.stats.answered_late,
            "answered_late": self.stats.answered_late,
            "ok": self.stats.ok,
            "measured": h.len(),
            "p50_us": h.value_at_quantile(0.5),
            "p90_us": h.value_at_quantile(0.9),
            "p99_us": h.value_at_quantile(0.99),
            "p999_us": h.value_at_quantile(0.999),
            "max_us": h.max(),
            "mean_us": round1(h.mean()),
            "send_lag_p50_us": self.stats.send_lag.value_at_quantile(0.5),
            "send_lag_p99_us": self.stats.send_lag.value_at_quantile(0.99),
            "send_lag_max_us": self.stats.send_lag.max(),
            "errors": self.stats.error_total(),
            "errors_by_code": self.stats.errors,
            "versions": self.stats.versions,
            "classes": classes,
        })
    }

    /// A few lines for a person.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let h = &self.stats.latency;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} {} | {} conn x {} streams | offered {:.0}/s achieved {:.0}/s | {} s (+{} s warm-up)",
            self.transport,
            self.op,
            self.connections,
            self.streams,
            self.offered_rate,
            self.achieved_rate(),
            self.window.as_secs_f64(),
            self.warmup.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "  latency us: p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  ({} measured)",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.9),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max(),
            h.len()
        );
        let lag = &self.stats.send_lag;
        let _ = writeln!(
            s,
            "  send lag us (intended -> taken by the transport): p50 {}  p99 {}  max {}",
            lag.value_at_quantile(0.5),
            lag.value_at_quantile(0.99),
            lag.max()
        );
        for (c, h) in Class::ALL.iter().zip(&self.stats.by_class) {
            if !h.is_empty() && h.len() < self.stats.latency.len() {
                let _ = writeln!(
                    s,
                    "  {:>9}: p50 {}  p99 {}  p99.9 {}  ({})",
                    c.name(),
                    h.value_at_quantile(0.5),
                    h.value_at_quantile(0.99),
                    h.value_at_quantile(0.999),
                    h.len()
                );
            }
        }
        let errors = if self.stats.errors.is_empty() {
            "none".to_string()
        } else {
            self.stats.errors.iter().map(|(c, n)| format!("{c} {n}")).collect::<Vec<_>>().join(", ")
        };
        let _ = writeln!(s, "  errors: {errors}");
        if self.stats.versions.len() > 1 {
            let v: Vec<String> = self.stats.versions.iter().map(|(v, n)| format!("{v} {n}")).collect();
            let _ = writeln!(s, "  model versions: {}", v.join(", "));
        }
        s
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_counts_and_latencies() {
        let ms = Duration::from_millis;
        let mut a = Stats { scheduled: 3, ..Stats::default() };
        a.answer(Class::Ping, ms(0), Duration::from_micros(100), true, true, true);
        a.answer(Class::Ping, ms(1), Duration::from_micros(300), true, false, false);
        a.error("UNKNOWN_ZONE", 1);
        a.version("v1");
        let mut b = Stats { scheduled: 2, ..Stats::default() };
        b.answer(Class::Screen, ms(2), Duration::from_micros(900), false, true, true);
        b.error("UNKNOWN_ZONE", 2);
        b.error("TIMEOUT", 0);
        b.version("v1");
        b.version("v2");
        a.merge(b);
        assert_eq!(a.scheduled, 5);
        assert_eq!((a.answered_in_window, a.answered_late), (2, 1));
        assert_eq!(a.latency.len(), 2, "an unmeasured (warm-up) answer is counted but not timed");
        assert_eq!(a.by_class[Class::Screen.index()].len(), 1);
        assert_eq!(a.errors.get("UNKNOWN_ZONE"), Some(&3));
        assert!(!a.errors.contains_key("TIMEOUT"));
        assert_eq!(a.versions["v1"], 2);
        assert_eq!(a.samples, vec![(0, 100), (2, 900)]);
    }

    #[test]
    fn timeouts_are_counted_and_timed_at_their_wait_when_measured() {
        let mut s = Stats::default();
        s.timed_out(Class::Recommend, Duration::from_secs(2), true);
        s.timed_out(Class::Recommend, Duration::from_secs(3), false);
        assert_eq!(s.errors.get("TIMEOUT"), Some(&2));
        assert_eq!((s.latency.len(), s.by_class[Class::Recommend.index()].len()), (1, 1), "warm-up ones are not timed");
        assert!(s.latency.min() >= 1_990_000, "timed at the wait, {} us", s.latency.min());
        assert_eq!(s.answered_in_window + s.answered_late + s.ok, 0, "not an answer");
    }

    #[test]
    fn held_needs_low_p99_full_answers_and_no_errors() {
        let mut stats = Stats { scheduled: 100, ..Stats::default() };
        for i in 0..100 {
            stats.answer(Class::Ping, Duration::ZERO, Duration::from_micros(100 + i), true, true, false);
        }
        let mut s = Summary {
            transport: "quic",
            op: "ping".into(),
            connections: 1,
            streams: 1,
            offered_rate: 100.0,
            window: Duration::from_secs(1),
            warmup: Duration::ZERO,
            stats,
        };
        assert!(s.held(1000));
        assert!(!s.held(150), "p99 is about 199 us");
        assert!((s.achieved_rate() - 100.0).abs() < 1e-9);
        s.stats.scheduled = 110;
        assert!(!s.held(1000), "10 requests unanswered");
        s.stats.scheduled = 100;
        s.stats.error("OVERLOADED", 1);
        assert!(!s.held(1000));
        let j = s.to_json();
        assert_eq!(j["errors"], 1);
        assert_eq!(j["p50_us"], 149, "the 50th of 100..=199");
    }
}
