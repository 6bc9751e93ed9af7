//! Lifecycle tests: swaps, unchanged files, rollback, refusals and their counts, width checks,
//! and when a replaced model's memory is freed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use super::*;
use crate::config::ModelConfig;
use crate::demo::{self, DemoSpec};
use crate::model;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("endcap-reload-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn spec(seed: u64, dim: usize) -> DemoSpec {
    DemoSpec { products: 400, customers: 600, seed, dim }
}

/// Writes the demo model of `spec` to `path` (temporary file, fsync, rename).
fn publish(spec: &DemoSpec, path: &Path) -> String {
    let artifact = model::build(&demo::generate(spec).model_input()).expect("demo model builds");
    artifact.write_atomic(path).expect("publish");
    model::read_manifest(path).expect("manifest").model_version
}

fn live_with(model: ModelConfig) -> Live {
    Live::new(model, EngineSettings::default(), Arc::new(Metrics::new(&["ping"])))
}

fn service(keep_previous: bool) -> Live {
    live_with(ModelConfig { keep_previous, ..ModelConfig::default() })
}

fn version(s: &Live) -> String {
    s.engine().expect("serving").version().to_string()
}

fn reload(s: &Live, path: &Path, trigger: Trigger) -> Result<Outcome, ReloadError> {
    s.load(Source::File(path.to_path_buf()), trigger)
}

fn rollback(s: &Live) -> Result<Outcome, ReloadError> {
    s.rollback()
}

impl Live {
    /// The engine kept for rollback.
    fn previous_engine(&self) -> Option<Arc<Engine>> {
        self.lock_state().previous.clone()
    }
}

#[test]
fn reload_swaps_skips_unchanged_and_rolls_back() {
    let dir = TempDir::new("swap");
    let path = dir.0.join("current.endcap");
    let s = service(true);
    let v1 = publish(&spec(1, 16), &path);
    assert!(matches!(reload(&s, &path, Trigger::Admin), Ok(Outcome::Swapped { previous: None, .. })));
    assert_eq!(version(&s), v1);
    assert_eq!(reload(&s, &path, Trigger::Watch).expect("unchanged"), Outcome::Unchanged { version: v1.clone() });

    let v2 = publish(&spec(2, 16), &path);
    assert_ne!(v1, v2);
    let took = match reload(&s, &path, Trigger::Signal).expect("swaps") {
        Outcome::Swapped { version, previous, took } => {
            assert_eq!((version, previous), (v2.clone(), Some(v1.clone())));
            took
        }
        other => panic!("expected a swap, got {other:?}"),
    };
    let status = s.status();
    assert_eq!(status.previous, Some(v1.clone()));
    assert_eq!(status.last_took, took, "the last swap's duration is reported");

    rollback(&s).expect("rolls back");
    assert_eq!(version(&s), v1);
    // The model rolled away from becomes the one to roll back to.
    rollback(&s).expect("rolls forward again");
    assert_eq!(version(&s), v2);
    let text = s.metrics.encode();
    assert!(text.contains(r#"endcap_model_loads_total{trigger="rollback",result="ok"} 2"#), "{text}");
    assert!(text.contains(r#"endcap_model_loads_total{trigger="watch",result="unchanged"} 1"#), "{text}");
}

#[test]
fn rollback_without_a_previous_model_is_refused() {
    let dir = TempDir::new("noprev");
    let path = dir.0.join("current.endcap");
    let s = service(false);
    assert!(matches!(rollback(&s), Err(ReloadError::NoPrevious)));
    publish(&spec(1, 16), &path);
    reload(&s, &path, Trigger::Admin).expect("first");
    publish(&spec(2, 16), &path);
    reload(&s, &path, Trigger::Admin).expect("second");
    // keep_previous = false: nothing kept.
    assert!(matches!(rollback(&s), Err(ReloadError::NoPrevious)));
}

#[test]
fn bad_files_are_refused_counted_and_the_served_model_stays() {
    let dir = TempDir::new("bad");
    let path = dir.0.join("current.endcap");
    let s = service(true);
    let good = publish(&spec(1, 16), &path);
    reload(&s, &path, Trigger::Start).expect("good model");

    // Truncated: a publish that lost its tail.
    let bytes = std::fs::read(&path).expect("read");
    let tmp = dir.0.join("truncated.tmp");
    std::fs::write(&tmp, &bytes[..bytes.len() * 2 / 3]).expect("write");
    std::fs::rename(&tmp, &path).expect("rename");
    let e = reload(&s, &path, Trigger::Watch).expect_err("truncated file refused");
    assert_eq!(e.label(), "invalid", "{e}");
    assert_eq!(version(&s), good);

    // Another embedding width than the one served.
    publish(&spec(3, 8), &path);
    let e = reload(&s, &path, Trigger::Watch).expect_err("wrong width refused");
    assert!(matches!(e, ReloadError::Dimension { got: 8, expected: 16, .. }), "{e}");
    assert_eq!(version(&s), good);

    // Missing file.
    std::fs::remove_file(&path).expect("remove");
    assert_eq!(reload(&s, &path, Trigger::Admin).expect_err("missing").label(), "io");

    let status = s.status();
    assert_eq!(status.refused, 3);
    let last = status.last_error.unwrap_or_default();
    assert!(last.contains("cannot read"), "{last}");
    let text = s.metrics.encode();
    assert!(text.contains(r#"endcap_model_loads_total{trigger="watch",result="invalid"} 1"#), "{text}");
    assert!(text.contains(r#"endcap_model_loads_total{trigger="watch",result="dimension"} 1"#), "{text}");
}

#[test]
fn configured_width_is_enforced() {
    let dir = TempDir::new("dim");
    let path = dir.0.join("current.endcap");
    let s = live_with(ModelConfig { dim: 32, ..ModelConfig::default() });
    publish(&spec(1, 16), &path);
    let e = reload(&s, &path, Trigger::Start).expect_err("16 is not 32");
    assert!(matches!(e, ReloadError::Dimension { got: 16, expected: 32, .. }), "{e}");
    assert!(s.engine().is_none());
}

#[test]
fn a_replaced_model_is_freed_when_its_last_request_ends() {
    let dir = TempDir::new("free");
    let s = service(true);
    let paths: Vec<PathBuf> = (1..=3).map(|i| dir.0.join(format!("m{i}.endcap"))).collect();
    for (i, p) in paths.iter().enumerate() {
        publish(&spec(i as u64 + 1, 16), p);
    }
    reload(&s, &paths[0], Trigger::Admin).expect("m1");
    let first: Weak<Engine> = Arc::downgrade(&s.engine().expect("serving"));
    // A request in flight on m1: it holds the engine it loaded.
    let in_flight = s.engine().expect("serving");

    reload(&s, &paths[1], Trigger::Admin).expect("m2");
    reload(&s, &paths[2], Trigger::Admin).expect("m3");
    // m1 is neither serving nor kept for rollback (m2 is), but its request is still running.
    assert!(first.upgrade().is_some());
    drop(in_flight);
    // The engine owns the model's bytes (a private copy of the file): freeing it frees them.
    assert!(first.upgrade().is_none(), "m1 is freed when its last request ends");

    // m2, kept for rollback, is freed by the next swap.
    let second: Weak<Engine> = Arc::downgrade(&s.previous_engine().expect("m2 kept"));
    reload(&s, &paths[0], Trigger::Admin).expect("m1 again");
    assert!(second.upgrade().is_none(), "m2 is freed once nothing keeps it");
}

fn with_last_good(path: &Path) -> Live {
    live_with(ModelConfig { path: path.to_path_buf(), ..ModelConfig::default() })
}

#[test]
fn the_last_good_model_is_kept_and_served_when_the_configured_one_is_refused_at_start() {
    let dir = TempDir::new("last-good");
    let path = dir.0.join("current.endcap");
    let copy = dir.0.join("last-good/current.endcap");
    let v1 = publish(&spec(1, 16), &path);
    let s = with_last_good(&path);
    assert_eq!(s.model.last_good_path().as_deref(), Some(copy.as_path()));
    reload(&s, &path, Trigger::Start).expect("good model");
    assert_eq!(std::fs::read(&copy).expect("copy kept"), std::fs::read(&path).expect("model"), "the same bytes");
    assert_eq!(s.status().last_good_fallback, None);

    // A bad publish (truncated) is refused while running; the copy still holds v1.
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(dir.0.join("bad.tmp"), &bytes[..bytes.len() / 2]).expect("write");
    std::fs::rename(dir.0.join("bad.tmp"), &path).expect("rename");
    reload(&s, &path, Trigger::Watch).expect_err("refused");
    assert_eq!(model::read_manifest(&copy).expect("copy").model_version, v1);

    // A restart: the configured file is refused, the copy serves, and everyone is told.
    let restarted = with_last_good(&path);
    let outcome = reload(&restarted, &path, Trigger::Start).expect("falls back");
    assert!(matches!(outcome, Outcome::Swapped { ref version, .. } if *version == v1), "{outcome:?}");
    assert_eq!(version(&restarted), v1);
    let status = restarted.status();
    let why = status.last_good_fallback.expect("fallback reported");
    assert!(why.contains("was refused") && why.contains("last-good/current.endcap"), "{why}");
    assert!(status.last_error.is_some_and(|e| e.contains("invalid") || e.contains("truncated")));
    let text = restarted.metrics.encode();
    assert!(text.contains(r#"endcap_model_loads_total{trigger="start",result="invalid"} 1"#), "{text}");
    assert!(text.contains(r#"endcap_model_loads_total{trigger="start",result="last_good"} 1"#), "{text}");
    // The copy is not copied onto itself, and stays v1.
    assert_eq!(model::read_manifest(&copy).expect("copy").model_version, v1);

    // A good model published at the configured path ends the fallback and becomes the copy.
    let v2 = publish(&spec(2, 16), &path);
    reload(&restarted, &path, Trigger::Watch).expect("swaps");
    assert_eq!(version(&restarted), v2);
    assert_eq!(restarted.status().last_good_fallback, None);
    assert_eq!(model::read_manifest(&copy).expect("copy").model_version, v2);

    // A missing configured file falls back too.
    std::fs::remove_file(&path).expect("rm");
    let again = with_last_good(&path);
    reload(&again, &path, Trigger::Start).expect("falls back");
    assert_eq!(version(&again), v2);
    assert!(again.status().last_good_fallback.is_some_and(|w| w.contains("cannot read")));
}

#[test]
fn with_a_signing_key_the_last_good_copy_keeps_its_signature_and_serves() {
    let dir = TempDir::new("last-good-signed");
    let path = dir.0.join("current.endcap");
    let (private, public) = crate::model::sign::keygen(&dir.0.join("keys")).expect("keys");
    let v1 = publish(&spec(1, 16), &path);
    crate::model::sign::sign_file(&private, &path).expect("signs");
    let config =
        |p: &Path| ModelConfig { path: p.to_path_buf(), signing_key: Some(public.clone()), ..ModelConfig::default() };
    let s = live_with(config(&path));
    reload(&s, &path, Trigger::Start).expect("a signed model serves");
    assert!(crate::model::sign::sig_path(&dir.0.join("last-good/current.endcap")).exists(), "the signature is kept");

    // The configured file is replaced by an unsigned one; a restart falls back to the signed copy.
    publish(&spec(2, 16), &path);
    std::fs::remove_file(crate::model::sign::sig_path(&path)).expect("rm sig");
    let restarted = live_with(config(&path));
    reload(&restarted, &path, Trigger::Start).expect("falls back to the signed copy");
    assert_eq!(version(&restarted), v1);
    assert!(restarted.status().last_good_fallback.is_some());
}

#[test]
fn without_a_last_good_copy_a_refused_start_serves_nothing() {
    let dir = TempDir::new("no-last-good");
    let path = dir.0.join("current.endcap");
    publish(&spec(1, 16), &path);
    let off = live_with(ModelConfig { path: path.clone(), keep_last_good: false, ..ModelConfig::default() });
    reload(&off, &path, Trigger::Start).expect("loads");
    assert!(!dir.0.join("last-good").exists(), "keep_last_good = false writes no copy");
    std::fs::write(&path, b"not a model").expect("corrupt in place");
    let restarted = live_with(ModelConfig { path: path.clone(), keep_last_good: false, ..ModelConfig::default() });
    reload(&restarted, &path, Trigger::Start).expect_err("refused, nothing to fall back to");
    assert!(restarted.engine().is_none());
    // A copy that is itself bad is no fallback either.
    let bad_copy = live_with(ModelConfig { path: path.clone(), ..ModelConfig::default() });
    std::fs::create_dir_all(dir.0.join("last-good")).expect("dir");
    std::fs::write(dir.0.join("last-good/current.endcap"), b"not a model either").expect("bad copy");
    reload(&bad_copy, &path, Trigger::Start).expect_err("both refused");
    assert!(bad_copy.engine().is_none());
    assert_eq!(bad_copy.status().refused, 2);
}
