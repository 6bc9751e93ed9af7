//! Nothing acknowledged is lost: the real `endcap` binary is killed with SIGKILL at random moments
//! while a client sends event batches over QUIC, restarted on the same journal, and in the end
//! every event whose batch was acknowledged is found in the journal (checksums verified), over at
//! least 20 kills.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use endcap::client::Client;
use endcap::protocol::{Event, EventKind, response};
use endcap::rng::SplitMix64;
use endcap::shoppers::JournalRecord;
use endcap::transport::tls::Trust;
use prost::Message;

/// A small demo model file and a config serving it with the journal in `dir`.
fn setup(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let spec = endcap::demo::DemoSpec { products: 300, customers: 200, seed: 9, dim: 8 };
    let model = dir.join("model.endcap");
    endcap::model::build(&endcap::demo::generate(&spec).model_input())
        .expect("builds")
        .write_atomic(&model)
        .expect("writes");
    let config = dir.join("endcap.toml");
    let text = format!(
        "[server]\nquic_addr = \"127.0.0.1:0\"\nhttp_addr = \"127.0.0.1:0\"\nadmin_addr = \"127.0.0.1:0\"\nrate_per_connection = 0.0\n\n\
         [model]\npath = {:?}\nwatch = false\ndemo_when_missing = false\n\n[events]\njournal_dir = {:?}\n",
        model.display().to_string(),
        dir.join("journal").display().to_string()
    );
    std::fs::write(&config, text).expect("config");
    config
}

/// Starts the server and waits for its QUIC address (from its JSON log) and readiness.
fn start(config: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_endcap"))
        .args(["--log-format", "json", "serve", "--config"])
        .arg(config)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("the endcap binary starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut quic = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
            if let Some(addr) = v["fields"]["quic_addr"].as_str() {
                quic = Some(addr.to_string());
            }
            if v["fields"]["message"].as_str().is_some_and(|m| m.starts_with("model swapped in"))
                && let Some(addr) = quic.take()
            {
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).expect("the server gets ready");
    (child, addr)
}

#[test]
fn every_acknowledged_event_survives_kill_9() {
    let dir = std::env::temp_dir().join(format!("endcap-durability-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = setup(&dir);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut rng = SplitMix64::new(0x5EED);
    let mut acknowledged: Vec<String> = Vec::new();
    let mut next = 0u64;
    let kills = 20;
    for kill in 0..kills {
        let (mut child, addr) = start(&config);
        let deadline = Instant::now() + Duration::from_millis(100 + rng.below(400) as u64);
        rt.block_on(async {
            let Ok(mut client) = Client::connect(&addr, Trust::Insecure).await else { return };
            // Batches until the moment comes; the kill lands while batches are in flight.
            let sender = async {
                loop {
                    let tokens: Vec<String> = (0..10).map(|i| format!("k{kill}-{next}-{i}")).collect();
                    next += 1;
                    let batch = tokens
                        .iter()
                        .map(|t| Event {
                            kind: EventKind::View as i32,
                            session: t.clone(),
                            product: "p1".into(),
                            ..Event::default()
                        })
                        .collect();
                    match client.events(batch).await {
                        Ok(r) => match r.result {
                            Some(response::Result::EventsAck(a)) if a.accepted == 10 && a.journal_seq > 0 => {
                                acknowledged.extend(tokens)
                            }
                            other => panic!("unexpected answer {other:?}"),
                        },
                        Err(_) => return,
                    }
                }
            };
            let _ = tokio::time::timeout_at(deadline.into(), sender).await;
        });
        // SIGKILL, mid-stream.
        child.kill().expect("kill -9");
        let _ = child.wait();
    }
    // Whatever the kills cut, the journal still opens (torn tails are cut off) and holds every
    // acknowledged event.
    let (mut child, _) = start(&config);
    child.kill().expect("kill");
    let _ = child.wait();
    let mut found = std::collections::HashSet::new();
    let mut reader = endcap::journal::Reader::open(&dir.join("journal"), 1).expect("journal opens");
    while let Some(r) = reader.next_record().expect("every checksum is valid") {
        if let Some(e) = JournalRecord::decode(r.payload).expect("a record").event {
            found.insert(e.session);
        }
    }
    let lost: Vec<&String> = acknowledged.iter().filter(|t| !found.contains(*t)).collect();
    eprintln!(
        "{kills} kills, {} events acknowledged, {} in the journal, {} lost",
        acknowledged.len(),
        found.len(),
        lost.len()
    );
    assert!(acknowledged.len() >= 1_000, "the test must acknowledge a real number of events: {}", acknowledged.len());
    assert!(lost.is_empty(), "{} acknowledged events lost, e.g. {:?}", lost.len(), &lost[..lost.len().min(5)]);
    let _ = std::fs::remove_dir_all(&dir);
}
