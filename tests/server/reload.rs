//! Hot reload while devices keep asking: swaps through the file watch, the admin API and SIGHUP,
//! bad files refused, rollback, and the admin API's token.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use endcap::client::Client;
use endcap::config::Config;
use endcap::demo::{self, DemoSpec};
use endcap::model;
use endcap::protocol::{RecommendRequest, response};
use endcap::server::{self, ModelSource, Running};
use endcap::service::Service;
use endcap::transport::tls::Trust;

use crate::common::{TempDir, http_to, metric, test_config};

const TOKEN: &str = "reload-test-token-0123456789";

/// Every server started here handles SIGHUP, and `kill -HUP` reaches the whole test process: the
/// tests that count reloads run one at a time.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// A small demo model's artifact bytes and version.
fn artifact(seed: u64, dim: usize) -> (Vec<u8>, String) {
    let spec = DemoSpec { products: 600, customers: 1_000, seed, dim };
    let dir = TempDir::new(&format!("artifact-{seed}-{dim}"));
    let path = dir.0.join("m.endcap");
    model::build(&demo::generate(&spec).model_input()).expect("builds").write_atomic(&path).expect("writes");
    let version = model::read_manifest(&path).expect("manifest").model_version;
    (std::fs::read(&path).expect("read back"), version)
}

/// Publishes `bytes` at `path` the way the trainer does: temporary name, then rename.
fn publish(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("publishing");
    std::fs::write(&tmp, bytes).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

fn config(path: &Path, watch: bool) -> Config {
    let mut config = test_config();
    config.model.path = path.to_path_buf();
    config.model.watch = watch;
    config.model.watch_debounce_ms = 50;
    config.model.demo_when_missing = false;
    config.server.admin_token = Some(TOKEN.into());
    config
}

async fn start(config: Config) -> Running {
    let mut running = server::start(config, ModelSource::Configured { demo: None }).await.expect("server starts");
    running.ready().await.expect("first model loads");
    running
}

fn version(service: &Service) -> String {
    service.engine().expect("serving").version().to_string()
}

/// Polls until `done` or 20 s pass.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn refused(service: &Service) -> u64 {
    service.model_info(&service.engine().expect("serving")).refused_loads
}

fn admin(addr: std::net::SocketAddr, op: &str) -> (u16, String) {
    http_to(addr, "POST", &format!("/v1/admin/{op}"), &format!("Authorization: Bearer {TOKEN}\r\n"), "")
}

/// What the device loops saw.
#[derive(Default)]
struct Seen {
    answers: u64,
    failures: Vec<String>,
    versions: BTreeSet<String>,
}

/// Devices asking over QUIC until stopped (see `device`).
struct Devices {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Seen>>,
}

impl Devices {
    fn start(running: &Running, n: u64) -> Devices {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..n)
            .map(|i| {
                let (addr, fingerprint) = (running.quic_addr.to_string(), running.fingerprint.clone());
                tokio::spawn(device(addr, fingerprint, i * 1000, stop.clone()))
            })
            .collect();
        Devices { stop, tasks }
    }

    /// Stops them and adds up what they saw.
    async fn stop(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        let mut total = Seen::default();
        for d in self.tasks {
            let seen = d.await.expect("device task");
            total.answers += seen.answers;
            total.failures.extend(seen.failures);
            total.versions.extend(seen.versions);
        }
        total
    }
}

/// One simulated device: asks until `stop`, on one connection, alternating operations.
async fn device(quic: String, fingerprint: String, n: u64, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    let mut c = Client::connect(&quic, Trust::pinned(&fingerprint).expect("fingerprint")).await.expect("connects");
    let mut i = n;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let customer = if i.is_multiple_of(5) { "nobody".to_string() } else { format!("c{}", i % 1_000) };
        let zone = if i.is_multiple_of(3) { "drinks" } else { "" };
        let r = RecommendRequest { customer, zone: zone.into(), k: 5, ..RecommendRequest::default() };
        let answer = if i.is_multiple_of(7) { c.ping().await } else { c.recommend(r).await };
        match answer {
            Ok(a) => match a.result {
                Some(response::Result::Error(e)) => seen.failures.push(format!("error answer {e:?}")),
                _ => {
                    seen.answers += 1;
                    seen.versions.insert(a.model_version);
                }
            },
            Err(e) => seen.failures.push(format!("client error {e}")),
        }
    }
    c.close().await;
    seen
}

#[test]
fn twenty_swaps_under_load_lose_no_request_and_bad_files_are_refused() {
    let _serial = one_at_a_time();
    let dir = TempDir::new("swaps");
    let path = dir.0.join("current.endcap");
    let models: Vec<(Vec<u8>, String)> = (1..=3).map(|seed| artifact(seed, 16)).collect();
    let (wrong_width, _) = artifact(9, 8);
    let valid: BTreeSet<String> = models.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(valid.len(), 3, "three distinct versions");
    publish(&path, &models[0].0);

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let running = start(config(&path, true)).await;
        let service = running.service.clone();
        let devices = Devices::start(&running, 3);

        // 20 swaps: even ones picked up by the file watch, odd ones through the admin API.
        for swap in 0..20 {
            let (bytes, want) = &models[(swap + 1) % 3];
            publish(&path, bytes);
            if swap % 2 == 1 {
                let addr = running.admin_addr;
                let (status, body) = tokio::task::spawn_blocking(move || admin(addr, "reload")).await.expect("join");
                assert_eq!(status, 200, "{body}");
            }
            until(&format!("swap {swap} to {want}"), || version(&service) == *want).await;
        }
        let serving = version(&service);

        // A truncated publish and a model of another width: refused, counted, nothing changes.
        let before = refused(&service);
        let truncated = &models[0].0[..models[0].0.len() / 2];
        publish(&path, truncated);
        until("the truncated file to be refused", || refused(&service) == before + 1).await;
        publish(&path, &wrong_width);
        until("the wrong-width file to be refused", || refused(&service) == before + 2).await;
        assert_eq!(version(&service), serving);
        let info = service.model_info(&service.engine().expect("serving"));
        assert!(info.last_refusal.contains("width"), "{}", info.last_refusal);

        // Rollback returns to the model the last swap replaced.
        let addr = running.admin_addr;
        let (status, body) = tokio::task::spawn_blocking(move || admin(addr, "rollback")).await.expect("join");
        assert_eq!(status, 200, "{body}");
        let info: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_ne!(info["model_version"].as_str(), Some(serving.as_str()));
        assert!(valid.contains(info["model_version"].as_str().expect("version")));

        tokio::time::sleep(Duration::from_millis(200)).await;
        let total = devices.stop().await;
        assert!(
            total.failures.is_empty(),
            "failed requests during swaps: {:?}",
            &total.failures[..5.min(total.failures.len())]
        );
        assert!(total.answers >= 100, "only {} answers: the devices did not keep asking", total.answers);
        assert!(total.versions.is_subset(&valid), "answers from unknown versions: {:?}", total.versions);
        assert!(total.versions.len() >= 2, "the devices saw swaps: {:?}", total.versions);

        let addr = running.http_addr;
        let (_, text) =
            tokio::task::spawn_blocking(move || http_to(addr, "GET", "/metrics", "", "")).await.expect("join");
        assert!(metric(&text, r#"endcap_model_loads_total{trigger="watch",result="invalid"}"#) >= 1.0, "{text}");
        assert!(metric(&text, r#"endcap_model_loads_total{trigger="watch",result="dimension"}"#) >= 1.0, "{text}");
        assert!(metric(&text, r#"endcap_model_loads_total{trigger="admin",result="ok"}"#) >= 1.0, "{text}");
        assert_eq!(metric(&text, r#"endcap_model_loads_total{trigger="rollback",result="ok"}"#), 1.0);
        let (_, model) =
            tokio::task::spawn_blocking(move || http_to(addr, "GET", "/v1/model", "", "")).await.expect("join");
        let model: serde_json::Value = serde_json::from_str(&model).expect("JSON");
        assert_eq!(model["refused_loads"].as_u64(), Some(2));
        assert!(model["previous_version"].as_str().is_some_and(|v| valid.contains(v)), "{model}");
        running.shutdown().await;
    });
}

#[test]
fn admin_endpoints_need_the_token_and_are_off_without_one() {
    let _serial = one_at_a_time();
    let dir = TempDir::new("admin");
    let path = dir.0.join("current.endcap");
    publish(&path, &artifact(1, 16).0);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let running = start(config(&path, false)).await;
        let addr = running.admin_addr;
        let (status, body) = tokio::task::spawn_blocking(move || {
            http_to(addr, "POST", "/v1/admin/reload", "Authorization: Bearer wrong-token-0123456789\r\n", "")
        })
        .await
        .expect("join");
        assert_eq!(status, 401, "{body}");
        let (status, _) = tokio::task::spawn_blocking(move || http_to(addr, "POST", "/v1/admin/rollback", "", ""))
            .await
            .expect("join");
        assert_eq!(status, 401);
        // Nothing to roll back to yet; the same file again is "unchanged".
        let (status, body) = tokio::task::spawn_blocking(move || admin(addr, "rollback")).await.expect("join");
        assert_eq!(status, 409, "{body}");
        let (status, body) = tokio::task::spawn_blocking(move || admin(addr, "reload")).await.expect("join");
        assert_eq!((status, body.contains("\"unchanged\"")), (200, true), "{body}");
        running.shutdown().await;

        let mut off = config(&path, false);
        off.server.admin_token = None;
        let running = start(off).await;
        let addr = running.admin_addr;
        let (status, body) = tokio::task::spawn_blocking(move || admin(addr, "reload")).await.expect("join");
        assert_eq!(status, 404, "{body}");
        assert!(body.contains("ADMIN_DISABLED"));
        running.shutdown().await;
    });
}

#[cfg(unix)]
#[test]
fn sighup_reloads_the_model_path() {
    let _serial = one_at_a_time();
    let dir = TempDir::new("sighup");
    let path = dir.0.join("current.endcap");
    let (first, second) = (artifact(1, 16), artifact(2, 16));
    publish(&path, &first.0);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let running = start(config(&path, false)).await;
        let service = running.service.clone();
        assert_eq!(version(&service), first.1);
        publish(&path, &second.0);
        let pid = std::process::id().to_string();
        let status = std::process::Command::new("sh").args(["-c", &format!("kill -HUP {pid}")]).status().expect("sh");
        assert!(status.success());
        until("SIGHUP to swap the model", || version(&service) == second.1).await;
        running.shutdown().await;
    });
}

#[test]
fn a_restart_after_a_refused_publish_serves_the_last_good_model_and_says_so() {
    let _one = one_at_a_time();
    let dir = TempDir::new("last-good");
    let path = dir.0.join("current.endcap");
    let (good, v1) = artifact(31, 16);
    publish(&path, &good);
    crate::common::block_on(async {
        let running = start(config(&path, false)).await;
        assert_eq!(version(&running.service), v1);
        running.shutdown().await;
    });
    assert!(dir.0.join("last-good/current.endcap").exists(), "the validated model was kept");
    // The nightly publish is corrupt; the server restarts.
    publish(&path, &good[..good.len() / 3]);
    crate::common::block_on(async {
        let running = start(config(&path, false)).await;
        assert_eq!(version(&running.service), v1, "the last good model serves");
        let addr = running.http_addr;
        let get = |path: &'static str| tokio::task::spawn_blocking(move || http_to(addr, "GET", path, "", ""));
        let (status, body) = get("/v1/model").await.expect("join");
        assert_eq!(status, 200);
        let info: serde_json::Value = serde_json::from_str(&body).expect("json");
        let why = info["last_good_fallback"].as_str().expect("field");
        assert!(why.contains("was refused") && why.contains("last-good"), "{body}");
        assert_eq!(info["model_version"], v1.as_str());
        let (_, metrics) = get("/metrics").await.expect("join");
        assert_eq!(metric(&metrics, r#"endcap_model_loads_total{trigger="start",result="last_good"}"#), 1.0);
        running.shutdown().await;
    });
}

/// Writes `bytes` over the file at `path` in place, the way `cp` or `scp` do (truncate, then write
/// in pieces), pausing between pieces so the server sees the file half-written.
async fn overwrite_in_place(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(path).expect("open in place");
    for piece in bytes.chunks(bytes.len().div_ceil(4)) {
        f.write_all(piece).expect("write");
        f.flush().expect("flush");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

#[test]
fn the_served_file_rewritten_truncated_or_replaced_by_a_fifo_in_place_cannot_crash_it() {
    let _serial = one_at_a_time();
    let dir = TempDir::new("in-place");
    let path = dir.0.join("current.endcap");
    let models: Vec<(Vec<u8>, String)> = (21..=23).map(|seed| artifact(seed, 16)).collect();
    publish(&path, &models[0].0);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let running = start(config(&path, true)).await;
        let service = running.service.clone();
        let devices = Devices::start(&running, 2);

        // cp over the served file: it is read whole once quiet (a map of it would have changed
        // under running requests).
        overwrite_in_place(&path, &models[1].0).await;
        until("the overwritten file to be served", || version(&service) == models[1].1).await;
        // truncate in place (with a map: SIGBUS on the next request touching the lost pages).
        let before = refused(&service);
        std::fs::OpenOptions::new().write(true).open(&path).expect("open").set_len(4096).expect("truncate");
        until("the truncated file to be refused", || refused(&service) > before).await;
        assert_eq!(version(&service), models[1].1);
        // Garbage written in place: refused too.
        let before = refused(&service);
        overwrite_in_place(&path, &vec![0x5a; 50_000]).await;
        until("the garbage to be refused", || refused(&service) > before).await;
        // A FIFO at the path: refused without hanging the loader, which then takes a good model.
        std::fs::remove_file(&path).expect("rm");
        let fifo = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system node.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0, "mkfifo");
        let before = refused(&service);
        let addr = running.admin_addr;
        let (status, body) = tokio::task::spawn_blocking(move || admin(addr, "reload")).await.expect("join");
        assert_eq!(status, 422, "{body}");
        assert!(body.contains("not a regular file"), "{body}");
        assert!(refused(&service) > before);
        std::fs::remove_file(&path).expect("rm fifo");
        publish(&path, &models[2].0);
        until("a good model after the FIFO", || version(&service) == models[2].1).await;

        let total = devices.stop().await;
        assert!(total.failures.is_empty(), "failed requests: {:?}", &total.failures[..5.min(total.failures.len())]);
        assert!(total.answers >= 100, "only {} answers", total.answers);
        running.shutdown().await;
    });
}

#[test]
fn with_a_signing_key_only_models_the_publisher_signed_are_served() {
    let _serial = one_at_a_time();
    let dir = TempDir::new("signed");
    let path = dir.0.join("current.endcap");
    let (private, public) = model::sign::keygen(&dir.0.join("keys")).expect("keys");
    let (stranger, _) = model::sign::keygen(&dir.0.join("stranger")).expect("keys");
    let models: Vec<(Vec<u8>, String)> = (31..=33).map(|seed| artifact(seed, 16)).collect();
    let sign = |key: &Path, bytes: &[u8]| model::sign::sign_parts(key, &path, &[bytes]).expect("signs");
    sign(&private, &models[0].0);
    publish(&path, &models[0].0);
    let mut cfg = config(&path, true);
    cfg.model.signing_key = Some(public);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let running = start(cfg).await;
        let service = running.service.clone();
        let reload = |want: u16| {
            let addr = running.admin_addr;
            async move {
                let (status, body) = tokio::task::spawn_blocking(move || admin(addr, "reload")).await.expect("join");
                assert_eq!(status, want, "{body}");
                body
            }
        };
        assert_eq!(version(&service), models[0].1);
        // Unsigned (the old signature does not match the new bytes).
        publish(&path, &models[1].0);
        let body = reload(422).await;
        assert!(body.contains("does not verify"), "{body}");
        // Signed by someone else.
        sign(&stranger, &models[1].0);
        let body = reload(422).await;
        assert!(body.contains("does not verify"), "{body}");
        // No signature at all.
        std::fs::remove_file(model::sign::sig_path(&path)).expect("rm sig");
        let body = reload(422).await;
        assert!(body.contains("no signature"), "{body}");
        assert_eq!(version(&service), models[0].1, "still the signed model");
        // Signed by the publisher: served.
        sign(&private, &models[1].0);
        reload(200).await;
        assert_eq!(version(&service), models[1].1);
        running.shutdown().await;
    });
}
