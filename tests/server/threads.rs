//! QUIC served by threads of its own (`server.quic_threads`): one socket per thread on the same
//! port, connections spread over them by the kernel, bad input contained as on the shared runtime.

use endcap::client::Client;
use endcap::demo::{self, DemoSpec};
use endcap::model::{self, Model};
use endcap::protocol::ErrorCode;
use endcap::server::{self, ModelSource};
use endcap::transport::tls::Trust;

use crate::common::{error, items, rec, test_config};

#[test]
fn two_quic_threads_share_the_port_and_both_serve() {
    let spec = DemoSpec { products: 600, customers: 1_000, seed: 7, dim: 16 };
    let artifact = model::build(&demo::generate(&spec).model_input()).expect("builds");
    let model = Model::from_artifact(artifact, "threads test").expect("valid");
    let mut config = test_config();
    config.server.quic_threads = 2;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut running = server::start(config, ModelSource::Loaded(Box::new(model))).await.expect("starts");
        running.ready().await.expect("model installed");
        let addr = running.quic_addr.to_string();
        let trust = || Trust::pinned(&running.fingerprint).expect("fingerprint");
        // 24 connections from 24 source ports: the chance that the kernel's hash puts them all
        // on one of the two sockets is 2 in 2^24.
        let mut clients = Vec::new();
        for _ in 0..24 {
            clients.push(Client::connect(&addr, trust()).await.expect("connects"));
        }
        let open = running.quic_connections();
        assert_eq!(open.len(), 2);
        assert_eq!(open.iter().sum::<usize>(), 24, "{open:?}");
        assert!(open.iter().all(|&n| n > 0), "both sockets get connections: {open:?}");
        // Ops see the same split in /metrics (counted once the server side of each handshake is
        // done, which can trail the client's by a moment).
        let series: Vec<String> =
            open.iter().enumerate().map(|(i, n)| format!(r#"endcap_quic_connections{{socket="{i}"}} {n}"#)).collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let text = running.service.metrics.encode();
            if series.iter().all(|s| text.contains(s.as_str())) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "expected {series:?} in {text}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }

        // One device sends an oversize frame: only its stream ends.
        let huge = (10u32 << 20).to_be_bytes();
        assert_eq!(error(&clients[0].send_raw(&huge).await.expect("answer")).code(), ErrorCode::FrameTooLarge);
        clients[0].new_stream().await.expect("the connection lives on");

        let mut tasks = Vec::new();
        for (n, mut c) in clients.into_iter().enumerate() {
            tasks.push(tokio::spawn(async move {
                for i in 0..20 {
                    let a = c.recommend(rec(&format!("c{}", (n * 20 + i) % 1_000), "", "", 4)).await.expect("answer");
                    assert_eq!(items(&a).items.len(), 4);
                }
                c.close().await;
            }));
        }
        for t in tasks {
            t.await.expect("device task");
        }
        running.shutdown().await;
    });
}

#[test]
fn a_port_another_server_serves_is_a_clear_start_error() {
    let model = || {
        let spec = DemoSpec { products: 200, customers: 100, seed: 3, dim: 8 };
        let artifact = model::build(&demo::generate(&spec).model_input()).expect("builds");
        ModelSource::Loaded(Box::new(Model::from_artifact(artifact, "t").expect("valid")))
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    rt.block_on(async {
        // The first server's sockets allow port sharing (SO_REUSEPORT); a second server must
        // still not join them and take half of the first one's devices.
        let mut config = test_config();
        config.server.quic_threads = 1;
        let first = server::start(config.clone(), model()).await.expect("first starts");
        config.server.quic_addr = first.quic_addr;
        config.server.quic_threads = 2;
        config.events.journal_dir = endcap::journal::scratch_dir("second");
        let e = server::start(config, model()).await.err().expect("second refused");
        assert!(e.to_string().contains(&format!("cannot bind QUIC on {}", first.quic_addr)), "{e}");
        first.shutdown().await;
    });
}
