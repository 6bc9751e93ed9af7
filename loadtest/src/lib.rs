//! endcap-loadtest: an open-loop load generator for endcap over QUIC (and HTTP, for comparison).
//!
//! `workload` builds the requests (pre-encoded), `run` paces and sends them and times the
//! answers from their intended send times, `stats` merges what the lanes saw into a summary,
//! `plot` draws it. The binary (`main.rs`) adds the command line, rate sweeps and model swaps.

pub mod plot;
pub mod run;
pub mod stats;
pub mod workload;

use std::time::Duration;

pub use run::{RunSpec, Transport, run};
pub use stats::{Stats, Summary};
pub use workload::{Class, Mix, OpChoice, Universe, Workload, WorkloadSpec};

/// Parses `10s`, `500ms`, `2m`, `1.5s` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num.trim().parse().map_err(|_| format!("`{s}` is not a duration (10s, 500ms, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (ms, s, m)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{s}` is not a duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
