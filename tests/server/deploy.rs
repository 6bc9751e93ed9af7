//! `deploy/` checked against the real server: every metric the dashboard and the alert rules name
//! is one the server exports (so they cannot drift), the rules pass `promtool check rules` and their
//! unit tests (`promtool test rules`), and the systemd unit passes `systemd-analyze verify`. The
//! tools run when installed (`.ci/run` installs them); the drift check always runs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::http;

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(file)
}

/// Every sample name in a Prometheus text exposition.
fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// Every `endcap_*` and `process_*` name in `text`.
fn referenced(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for prefix in ["endcap_", "process_"] {
        let mut rest = text;
        while let Some(at) = rest.find(prefix) {
            let before_ok =
                at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric() && rest.as_bytes()[at - 1] != b'_';
            let tail = &rest[at..];
            let len = tail.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
            if before_ok {
                names.insert(tail[..len].to_string());
            }
            rest = &tail[len.max(1)..];
        }
    }
    names
}

fn run(cmd: &str, args: &[&str], dir: &Path) -> Option<(bool, String)> {
    let out = Command::new(cmd).args(args).current_dir(dir).output().ok()?;
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Some((out.status.success(), said))
}

#[test]
fn dashboards_and_alerts_name_only_metrics_the_server_exports() {
    http("POST", "/v1/recommend", r#"{"customer":"c1"}"#);
    let exported = exported(&http("GET", "/metrics", "").1);
    let dashboard = std::fs::read_to_string(deploy("grafana/endcap.json")).expect("dashboard");
    let doc: serde_json::Value = serde_json::from_str(&dashboard).expect("the dashboard is JSON");
    let panels = doc["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10 && panels.iter().all(|p| p["targets"].as_array().is_some_and(|t| !t.is_empty())));
    let alerts = std::fs::read_to_string(deploy("prometheus/alerts.yml")).expect("alerts");
    for (file, text) in [("grafana/endcap.json", &dashboard), ("prometheus/alerts.yml", &alerts)] {
        let used = referenced(text);
        assert!(used.len() >= 5, "{file} names {used:?}");
        let missing: Vec<&String> = used.iter().filter(|n| !exported.contains(*n)).collect();
        assert!(missing.is_empty(), "{file} names metrics the server does not export: {missing:?}");
    }
}

#[test]
fn alert_rules_pass_promtool_and_their_unit_tests() {
    let dir = deploy("prometheus");
    match run("promtool", &["check", "rules", "alerts.yml"], &dir) {
        None => eprintln!("promtool is not installed here; the rules were not checked"),
        Some((ok, said)) => {
            assert!(ok, "promtool check rules: {said}");
            let (ok, said) = run("promtool", &["test", "rules", "alerts_test.yml"], &dir).expect("promtool runs");
            assert!(ok, "promtool test rules: {said}");
        }
    }
}

#[test]
fn the_systemd_unit_verifies() {
    let unit = std::fs::read_to_string(deploy("endcap.service")).expect("unit");
    // Point ExecStart at the binary cargo built, so verify can check it is executable.
    let dir = std::env::temp_dir().join(format!("endcap-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("endcap.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/endcap", env!("CARGO_BIN_EXE_endcap"))).expect("write");
    match run("systemd-analyze", &["verify", path.to_str().expect("utf-8 path")], &dir) {
        None => eprintln!("systemd-analyze is not installed here; the unit was not verified"),
        Some((ok, said)) => {
            // Unknown keys are only warnings to systemd: any output is a failure here.
            assert!(ok && said.trim().is_empty(), "systemd-analyze verify: {said}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
