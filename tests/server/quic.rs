//! Every operation over real QUIC.

use endcap::client::Client;
use endcap::protocol::{Request, response};
use endcap::transport::tls::Trust;

use crate::common::{block_on, client, items, rec, server};

#[test]
fn ping_and_model_info_carry_the_model_version() {
    block_on(async {
        let mut c = client().await;
        let version = server().service.engine().expect("ready").version().to_string();
        let pong = c.ping().await.expect("ping");
        assert_eq!(pong.model_version, version);
        assert!(matches!(pong.result, Some(response::Result::Pong(p)) if p.server_time_us > 0));
        let info = c.model_info().await.expect("model info");
        match info.result {
            Some(response::Result::ModelInfo(m)) => {
                assert_eq!(m.model_version, version);
                assert_eq!(m.products, 5_000);
                assert_eq!(m.customers, 20_000);
                assert_eq!(m.dim, 64);
            }
            other => panic!("expected model info, got {other:?}"),
        }
        c.close().await;
    });
}

#[test]
fn recommend_answers_k_scored_explained_items_and_echoes_ids() {
    block_on(async {
        let mut c = client().await;
        for (i, k) in [1u32, 5, 12].into_iter().enumerate() {
            let answer = c.recommend(rec("c42", "", "", k)).await.expect("recommend");
            assert_eq!(answer.id, i as u64 + 1, "ids are echoed in order on one stream");
            let r = items(&answer);
            assert_eq!(r.items.len(), k as usize);
            // A known customer's answer blends their buy-again, discovery and taste sources.
            let sources = ["buy_again", "also_bought", "personal"];
            assert!(
                r.items
                    .iter()
                    .all(|it| sources.contains(&it.reason.as_str()) && !it.name.is_empty() && !it.aisle.is_empty())
            );
            assert!(r.items.windows(2).all(|w| w[0].score >= w[1].score));
        }
        c.close().await;
    });
}

#[test]
fn concurrent_streams_and_connections_all_answer() {
    block_on(async {
        let mut tasks = Vec::new();
        for n in 0..4 {
            tasks.push(tokio::spawn(async move {
                let mut c = client().await;
                for i in 0..50 {
                    let customer = format!("c{}", n * 1000 + i);
                    let a = c.recommend(rec(&customer, "", "", 5)).await.expect("recommend");
                    assert_eq!(items(&a).items.len(), 5);
                }
                c.close().await;
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
    });
}

#[test]
fn a_wrong_pinned_certificate_is_refused() {
    block_on(async {
        let wrong = Trust::pinned(&"00".repeat(32)).expect("hex");
        let err = Client::connect(&server().quic, wrong).await.err().expect("must not connect");
        assert!(err.to_string().contains("connection failed"), "{err}");
        let mut ok = Client::connect(&server().quic, Trust::Insecure).await.expect("insecure connects");
        ok.ping().await.expect("ping");
    });
}

#[test]
fn request_ids_are_echoed_verbatim() {
    block_on(async {
        let mut c = client().await;
        let mut out = Vec::new();
        let req = Request { id: u64::MAX, op: Some(endcap::protocol::request::Op::Ping(Default::default())) };
        endcap::protocol::encode_request_frame(&mut out, &req);
        let a = c.send_raw(&out).await.expect("answer");
        assert_eq!(a.id, u64::MAX);
    });
}
