//! The standard process metrics (the names every Prometheus dashboard knows): CPU time, resident
//! memory, open and allowed file descriptors, threads, start time. Read from `/proc` at scrape
//! time (Linux); elsewhere nothing is written.

use std::fmt::Write;

/// Appends the process metrics in OpenMetrics text.
pub fn encode(out: &mut String) {
    #[cfg(target_os = "linux")]
    linux(out);
    #[cfg(not(target_os = "linux"))]
    let _ = out;
}

#[cfg(target_os = "linux")]
fn linux(out: &mut String) {
    let mut metric = |name: &str, kind: &str, help: &str, sample: &str, value: f64| {
        let _ = write!(out, "# HELP {name} {help}.\n# TYPE {name} {kind}\n{sample} {value}\n");
    };
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    // /proc/self/stat: fields after the command name (which is in parentheses and may hold spaces).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let field = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    // Counting from the state (field 3 of the man page) as 0: utime 11, stime 12, threads 17,
    // starttime 19.
    if let (Some(utime), Some(stime)) = (field(11), field(12)) {
        metric(
            "process_cpu_seconds",
            "counter",
            "Total user and system CPU time spent in seconds",
            "process_cpu_seconds_total",
            (utime + stime) / ticks,
        );
    }
    if let Some(threads) = field(17) {
        metric("process_threads", "gauge", "Number of OS threads in the process", "process_threads", threads);
    }
    let boot = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("btime ")?.trim().parse::<f64>().ok()));
    if let (Some(start), Some(boot)) = (field(19), boot) {
        metric(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds",
            "process_start_time_seconds",
            boot + start / ticks,
        );
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb =
        |key: &str| status.lines().find_map(|l| l.strip_prefix(key)?.split_whitespace().next()?.parse::<f64>().ok());
    if let Some(rss) = kb("VmRSS:") {
        metric(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes",
            "process_resident_memory_bytes",
            rss * 1024.0,
        );
    }
    if let Some(vsz) = kb("VmSize:") {
        metric(
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes",
            "process_virtual_memory_bytes",
            vsz * 1024.0,
        );
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        metric("process_open_fds", "gauge", "Number of open file descriptors", "process_open_fds", fds.count() as f64);
    }
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes only the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        metric(
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors",
            "process_max_fds",
            lim.rlim_cur as f64,
        );
    }
}
