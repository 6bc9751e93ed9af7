//! Audiences and segments through real servers on loopback, over QUIC and HTTP: on the shared
//! demo store (trained from planted tastes and lifestyles) the audience of plant protein
//! over-represents vegetarians and the audience of a steak holds none; bad inputs get their
//! codes; on a server with device certificates only ops devices may ask, every request is
//! counted by caller, and forgotten or opted-out customers never appear.

use endcap::ca::Role;
use endcap::client::Client;
use endcap::config::Config;
use endcap::demo::DemoSpec;
use endcap::engine::Engine;
use endcap::protocol::{Audience, AudienceRequest, ErrorCode, Response, response};
use endcap::server::{self, ModelSource, Running};
use endcap::transport::tls::{ClientIdentity, Trust};

use crate::common::{TempDir, block_on, client, error, http, http_to, server, test_config};

fn audience(answer: &Response) -> &Audience {
    match &answer.result {
        Some(response::Result::Audience(a)) => a,
        other => panic!("expected an audience, got {other:?}"),
    }
}

/// The best-selling product of `aisle` whose name contains `word`.
fn product(engine: &Engine, aisle: &str, word: &str) -> String {
    let p = &engine.model().data().products;
    let a = p.aisle_names.position(aisle).expect("aisle");
    let row = p.by_aisle.row(a).iter().copied().find(|&r| p.names.get(r as usize).contains(word)).expect("product");
    p.ids.id(row).to_string()
}

/// True when customer `id` carries `signal` in the served model.
fn carries(engine: &Engine, id: &str, signal: &str) -> bool {
    let d = engine.model().data();
    let s = d.signals.names.position(signal).expect("signal") as u32;
    let row = d.customers.ids.row(id).expect("a known customer");
    d.customers.signals.row(row as usize).contains(&s)
}

fn ask(product: &str, k: u32) -> AudienceRequest {
    AudienceRequest { product: product.into(), k, ..Default::default() }
}

#[test]
fn plant_protein_buyers_are_over_twice_as_often_vegetarian_and_no_vegetarian_hears_of_steak() {
    let s = server();
    let engine = s.service.engine().expect("ready");
    let tofu = product(&engine, "Tofu & Plant Protein", "Tofu");
    let steak = product(&engine, "Beef", "Steak");
    block_on(async {
        let mut c = client().await;
        let answer = c.audience(ask(&tofu, 1_000)).await.expect("answer");
        let a = audience(&answer);
        assert_eq!(a.customers.len(), 1_000);
        let t = a.customer_type.as_ref().expect("customer type");
        let veg = t.signals.iter().find(|l| l.signal == "lifestyle:vegetarian").expect("vegetarians stand out");
        assert!(veg.lift > 2.0, "lift {}", veg.lift);
        // The line agrees with the served model's own signals.
        let count = a.customers.iter().filter(|m| carries(&engine, &m.customer_id, "lifestyle:vegetarian")).count();
        assert_eq!(veg.count as usize, count);
        assert_eq!(t.population, 20_000);

        let answer = c.audience(ask(&steak, 3_000)).await.expect("answer");
        let members = &audience(&answer).customers;
        assert_eq!(members.len(), 3_000);
        for m in members {
            for diet in ["lifestyle:vegetarian", "lifestyle:vegan"] {
                assert!(!carries(&engine, &m.customer_id, diet), "{} ({diet}) hears of steak", m.customer_id);
            }
        }
    });
    // HTTP answers the same customers.
    let (status, body) = http("POST", "/v1/audience", &format!(r#"{{"product":"{tofu}","k":1000}}"#));
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
    let quic = block_on(async { client().await.audience(ask(&tofu, 1_000)).await.expect("answer") });
    let http_ids: Vec<&str> =
        doc["customers"].as_array().expect("customers").iter().filter_map(|m| m["customer_id"].as_str()).collect();
    let quic_ids: Vec<&str> = audience(&quic).customers.iter().map(|m| m.customer_id.as_str()).collect();
    assert_eq!(http_ids, quic_ids);
    assert!(doc["customer_type"]["signals"].as_array().is_some_and(|l| !l.is_empty()));
}

#[test]
fn segments_are_listed_with_their_best_sellers_and_signals() {
    let (status, body) = http("GET", "/v1/segments", "");
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
    let segments = doc["segments"].as_array().expect("segments");
    assert!(segments.len() > 5, "the trained demo store has segments");
    let total: u64 = segments.iter().filter_map(|g| g["size"].as_u64()).sum();
    assert_eq!(total, 20_000);
    assert!(segments.iter().any(|g| g["signals"].as_array().is_some_and(|l| !l.is_empty())));
    assert!(segments.iter().all(|g| g["top_products"].as_array().is_some_and(|p| p.len() <= 5)));
    let quic = block_on(async { client().await.segments().await.expect("answer") });
    match quic.result {
        Some(response::Result::Segments(g)) => assert_eq!(g.segments.len(), segments.len()),
        other => panic!("expected segments, got {other:?}"),
    }
}

#[test]
fn bad_audience_requests_get_clear_codes_over_quic_and_http() {
    let s = server();
    let tofu = product(&s.service.engine().expect("ready"), "Tofu & Plant Protein", "Tofu");
    block_on(async {
        let mut c = client().await;
        for (r, want) in [
            (ask("no-such-product", 100), ErrorCode::UnknownProduct),
            (AudienceRequest { aisle: "Moon Cheese".into(), ..Default::default() }, ErrorCode::UnknownAisle),
            (ask(&tofu, 5_001), ErrorCode::InvalidArgument),
            (ask(&tofu, 5), ErrorCode::GroupTooSmall),
            (
                AudienceRequest { signals: vec!["lifestyle:vegan".into()], segment: Some(0), ..ask(&tofu, 100) },
                ErrorCode::GroupTooSmall,
            ),
            (AudienceRequest { segment: Some(999), ..ask(&tofu, 100) }, ErrorCode::InvalidArgument),
            (
                AudienceRequest { signals: vec!["lifestyle:vegeterian".into()], ..ask(&tofu, 100) },
                ErrorCode::UnknownSignal,
            ),
        ] {
            let answer = c.audience(r.clone()).await.expect("answered, not dropped");
            assert_eq!(error(&answer).code(), want, "{r:?}: {}", error(&answer).message);
        }
        assert!(c.ping().await.is_ok(), "the stream stays usable");
    });
    for (body, status, code) in [
        (r#"{"product":"no-such-product"}"#.to_string(), 404, "UNKNOWN_PRODUCT"),
        (r#"{"aisle":"Moon Cheese"}"#.to_string(), 404, "UNKNOWN_AISLE"),
        (format!(r#"{{"product":"{tofu}","k":100000}}"#), 400, "INVALID_ARGUMENT"),
        (format!(r#"{{"product":"{tofu}","k":3}}"#), 400, "GROUP_TOO_SMALL"),
        (r#"{"product":"#.to_string(), 400, "MALFORMED_REQUEST"),
    ] {
        let (got, text) = http("POST", "/v1/audience", &body);
        assert_eq!(got, status, "{body}: {text}");
        assert!(text.contains(code), "{body}: {text}");
    }
    let (_, metrics) = http("GET", "/metrics", "");
    assert!(
        metrics
            .contains(r#"endcap_caller_requests_total{op="audience",role="open",device="",outcome="unknown_product"}"#)
    );
}

async fn start(config: Config) -> Running {
    let small = DemoSpec { products: 800, customers: 1_500, seed: 4, dim: 16 };
    let source = ModelSource::made(move || endcap::train::demo_model(&small));
    let mut running = server::start(config, source).await.expect("server starts");
    running.ready().await.expect("model loads");
    running
}

#[test]
fn only_ops_devices_may_ask_every_ask_is_counted_by_caller_and_erased_customers_never_appear() {
    let dir = TempDir::new("audience");
    endcap::ca::init(&dir.0.join("ca"), "test-store", 30).expect("ca init");
    let identity = |name: &str, role| {
        let (cert, key) = endcap::ca::issue(&dir.0.join("ca"), name, role, &dir.0.join("devices"), 30).expect("issue");
        ClientIdentity::load(&cert, &key).expect("identity")
    };
    let (hq, screen, beacon, till) = (
        identity("hq-laptop", Role::Ops),
        identity("screen-4", Role::Screen),
        identity("beacon-2", Role::Beacon),
        identity("till-1", Role::Terminal),
    );
    let mut config = test_config();
    config.server.client_ca = Some(dir.0.join("ca/ca.pem"));
    block_on(async {
        let running = start(config).await;
        let addr = running.quic_addr.to_string();
        let trust = || Trust::pinned(&running.fingerprint).expect("pin");
        let engine = running.service.engine().expect("ready");
        let popular =
            engine.describe(endcap::model::view::u32s(&engine.model().data().products.popular)[0]).0.to_string();

        for device in [&screen, &beacon, &till] {
            let mut c = Client::connect_as(&addr, trust(), Some(device)).await.expect("connects");
            let denied = c.audience(ask(&popular, 50)).await.expect("answer");
            assert_eq!(error(&denied).code(), ErrorCode::PermissionDenied);
            assert_eq!(error(&c.segments().await.expect("answer")).code(), ErrorCode::PermissionDenied);
            assert!(c.ping().await.is_ok(), "a refusal keeps the connection");
        }

        let mut ops = Client::connect_as(&addr, trust(), Some(&hq)).await.expect("connects");
        let first = ops.audience(ask(&popular, 50)).await.expect("answer");
        let ids: Vec<String> = audience(&first).customers.iter().map(|m| m.customer_id.clone()).collect();
        assert_eq!(ids.len(), 50);
        // Forget the first, opt the second out: neither is in the next audience, which is refilled.
        ops.forget(&ids[0]).await.expect("forgotten");
        ops.opt_out(&ids[1], true).await.expect("opted out");
        let again = ops.audience(ask(&popular, 50)).await.expect("answer");
        let now: Vec<&str> = audience(&again).customers.iter().map(|m| m.customer_id.as_str()).collect();
        assert_eq!(now.len(), 50);
        assert!(!now.contains(&ids[0].as_str()) && !now.contains(&ids[1].as_str()), "{now:?}");
        assert_eq!(&now[..10], &ids[2..12], "the others keep their order");
        assert!(matches!(ops.segments().await.expect("answer").result, Some(response::Result::Segments(_))));

        // Plain HTTP listens on loopback only once devices have certificates, as the ops role.
        // On a blocking thread: the server runs on this test's one-thread runtime.
        let (addr, body) = (running.http_addr, format!(r#"{{"product":"{popular}","k":50}}"#));
        let (status, body) = tokio::task::spawn_blocking(move || http_to(addr, "POST", "/v1/audience", "", &body))
            .await
            .expect("HTTP request");
        assert_eq!(status, 200, "{body}");
        assert!(!body.contains(&format!(r#""{}""#, ids[0])), "the forgotten customer is not in the HTTP answer either");

        let text = running.service.metrics.encode();
        for series in [
            r#"endcap_caller_requests_total{op="audience",role="ops",device="hq-laptop",outcome="ok"} 2"#,
            r#"endcap_caller_requests_total{op="audience",role="screen",device="screen-4",outcome="permission_denied"} 1"#,
            r#"endcap_caller_requests_total{op="audience",role="beacon",device="beacon-2",outcome="permission_denied"} 1"#,
            r#"endcap_caller_requests_total{op="segments",role="terminal",device="till-1",outcome="permission_denied"} 1"#,
            r#"endcap_caller_requests_total{op="audience",role="ops",device="",outcome="ok"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == series), "{series} in\n{text}");
        }
        running.shutdown().await;
    });
}
