//! Shopper events over real QUIC and HTTP: kept and refused one by one, journaled before they are
//! acknowledged, applied to sessions; forget and opt-out act at once and survive a restart.

use std::time::{SystemTime, UNIX_EPOCH};

use endcap::client::Client;
use endcap::config::Config;
use endcap::demo::DemoSpec;
use endcap::protocol::{CompleteRequest, ErrorCode, Event, EventKind, RecommendRequest, request, response};
use endcap::server::{self, ModelSource, Running};
use endcap::shoppers::Shopper;
use endcap::transport::tls::Trust;

use crate::common::{block_on, http_to, items, rec, test_config};

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn event(kind: EventKind, customer: &str, product: &str, zone: &str) -> Event {
    Event {
        kind: kind as i32,
        customer: customer.into(),
        product: product.into(),
        zone: zone.into(),
        ..Event::default()
    }
}

async fn start(config: Config) -> Running {
    let source = ModelSource::made(|| {
        endcap::train::demo_model(&DemoSpec { products: 800, customers: 1_500, seed: 4, dim: 16 })
    });
    let mut running = server::start(config, source).await.expect("starts");
    running.ready().await.expect("model loads");
    running
}

fn ack(r: &endcap::protocol::Response) -> &endcap::protocol::EventsAck {
    match &r.result {
        Some(response::Result::EventsAck(a)) => a,
        other => panic!("expected an events ack, got {other:?}"),
    }
}

#[test]
fn good_events_are_kept_bad_ones_refused_one_by_one_and_sessions_follow() {
    let mut config = test_config();
    config.events.max_batch = 8;
    block_on(async {
        let running = start(config).await;
        let mut c = Client::connect(&running.quic_addr.to_string(), Trust::Insecure).await.expect("connects");
        let mut future = event(EventKind::View, "c7", "p3", "");
        future.device_ts_ms = now_ms() + 3_600_000;
        let mut anonymous = event(EventKind::ZoneEnter, "", "", "drinks");
        anonymous.session = "phone-abc".into();
        let batch = vec![
            event(EventKind::ZoneEnter, "c7", "", "fresh"),     // 0 kept
            event(EventKind::View, "c7", "p3", ""),             // 1 kept
            event(EventKind::Add, "c7", "p5", ""),              // 2 kept
            event(EventKind::Add, "c7", "no-such-product", ""), // 3 UNKNOWN_PRODUCT
            future,                                             // 4 INVALID_ARGUMENT (future)
            event(EventKind::ZoneEnter, "c7", "", "mezzanine"), // 5 UNKNOWN_ZONE
            anonymous,                                          // 6 kept
            event(EventKind::View, "", "p3", ""),               // 7 no shopper
            event(EventKind::View, "c8", "p3", ""),             // 8 over the batch limit
        ];
        let a = ack(&c.events(batch).await.expect("answer")).clone();
        assert_eq!(a.accepted, 4);
        assert!(a.journal_seq >= 4, "the kept events are journaled");
        let refused: Vec<(u32, i32)> = a.refused.iter().map(|r| (r.index, r.code)).collect();
        assert_eq!(
            refused,
            [
                (3, ErrorCode::UnknownProduct as i32),
                (4, ErrorCode::InvalidArgument as i32),
                (5, ErrorCode::UnknownZone as i32),
                (7, ErrorCode::InvalidArgument as i32),
                (8, ErrorCode::InvalidArgument as i32),
            ]
        );
        let shoppers = running.service.shoppers.clone().expect("a journal");
        let session = shoppers.sessions.read(Shopper::Customer("c7"), Clone::clone).expect("a session");
        assert_eq!(session.zone.as_ref().map(|z| &*z.0), Some("fresh"));
        assert_eq!(session.basket, ["p5".into()]);
        assert!(shoppers.sessions.read(Shopper::Anonymous("phone-abc"), |_| ()).is_some());
        assert_eq!(shoppers.acked_seq(), a.journal_seq);

        // The same over HTTP, by kind name.
        let addr = running.http_addr;
        let (status, body) = tokio::task::spawn_blocking(move || {
            http_to(
                addr,
                "POST",
                "/v1/events",
                "",
                r#"{"events":[{"kind":"scan","customer":"c9","product":"p4"},{"kind":"teleport","customer":"c9"}]}"#,
            )
        })
        .await
        .expect("join");
        assert_eq!(status, 200, "{body}");
        let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(doc["accepted"], 1);
        assert_eq!(doc["refused"][0]["index"], 1);
        assert_eq!(doc["refused"][0]["code"], "INVALID_ARGUMENT");
        assert!(doc["journal_seq"].as_u64().expect("seq") > a.journal_seq);
        running.shutdown().await;
    });
}

#[test]
fn forget_and_opt_out_act_at_once_and_survive_a_restart() {
    let config = test_config();
    block_on(async {
        let running = start(config.clone()).await;
        let addr = running.quic_addr.to_string();
        let mut c = Client::connect(&addr, Trust::Insecure).await.expect("connects");
        let personal = items(&c.recommend(rec("c5", "", "", 5)).await.expect("answer")).clone();
        let personalised =
            |r: &endcap::protocol::Recommendation| r.items.iter().all(|i| !i.reason.starts_with("popular"));
        assert!(personalised(&personal), "a known customer's answer is personal: {personal:?}");
        c.events(vec![event(EventKind::View, "c5", "p3", "")]).await.expect("event");
        let shoppers = running.service.shoppers.clone().expect("journal");
        assert!(shoppers.sessions.read(Shopper::Customer("c5"), |_| ()).is_some());

        assert!(ack(&c.forget("c5").await.expect("answer")).journal_seq > 0);
        let after = items(&c.recommend(rec("c5", "", "", 5)).await.expect("answer")).clone();
        assert!(
            after.items.iter().all(|i| i.reason.starts_with("popular")),
            "an erased customer is unknown: {after:?}"
        );
        assert!(shoppers.sessions.read(Shopper::Customer("c5"), |_| ()).is_none(), "the session is dropped");
        let a = ack(&c.events(vec![event(EventKind::View, "c5", "p3", "")]).await.expect("answer")).clone();
        assert_eq!((a.accepted, a.refused.len()), (1, 0), "accepted as far as the device can tell");
        assert!(shoppers.sessions.read(Shopper::Customer("c5"), |_| ()).is_none(), "but not kept");

        c.opt_out("c6", true).await.expect("opt out");
        // Opted out: served from their segment, never their own vector or history.
        let opted = items(&c.recommend(rec("c6", "", "", 5)).await.expect("answer")).clone();
        assert!(opted.items.iter().all(|i| i.reason == "segment"), "{opted:?}");
        let anonymous = items(&c.recommend(rec("", "", "", 5)).await.expect("answer")).clone();
        assert_ne!(opted.items, anonymous.items, "not the anonymous answer");
        c.close().await;
        drop(shoppers);
        running.shutdown().await;
        // Tasks of the old server let go of it (and its journal's lock) as they end.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;

        // A new server on the same journal remembers both.
        let running = start(config).await;
        let mut c = Client::connect(&running.quic_addr.to_string(), Trust::Insecure).await.expect("connects");
        for (customer, reason) in [("c5", "popular"), ("c6", "segment")] {
            let r = items(&c.recommend(rec(customer, "", "", 5)).await.expect("answer")).clone();
            assert!(r.items.iter().all(|i| i.reason == reason), "{customer} after restart: {r:?}");
        }
        let shoppers = running.service.shoppers.clone().expect("journal");
        assert_eq!(shoppers.privacy.counts(), (1, 1));
        // The REST form, over HTTP (plain HTTP on an open server: every operation allowed).
        let addr = running.http_addr;
        let (status, body) =
            tokio::task::spawn_blocking(move || http_to(addr, "POST", "/v1/customers/c6/opt-in", "", ""))
                .await
                .expect("join");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("opted_in"), "{body}");
        let back = items(&c.recommend(rec("c6", "", "", 5)).await.expect("answer")).clone();
        assert!(personalised(&back), "{back:?}");
        let (status, body) = tokio::task::spawn_blocking(move || http_to(addr, "DELETE", "/v1/customers/c9", "", ""))
            .await
            .expect("join");
        assert_eq!(status, 200, "{body}");
        assert_eq!(shoppers.privacy.choice("c9"), endcap::shoppers::Choice::Erased);
        running.shutdown().await;
    });
}

/// Every operation reads the shopper's live session: the very next answer after an event shows
/// it (what moved is asserted, over QUIC and HTTP).
#[test]
fn an_event_moves_the_very_next_answer() {
    let config = test_config();
    let drinks: Vec<String> =
        config.zones.iter().find(|z| z.name == "drinks").expect("the shipped drinks zone").aisles.clone();
    let store = endcap::demo::generate(&DemoSpec { products: 800, customers: 1_500, seed: 4, dim: 16 });
    let scanned = format!("p{}", store.bundles[0][0]);
    block_on(async {
        let running = start(config).await;
        let mut c = Client::connect(&running.quic_addr.to_string(), Trust::Insecure).await.expect("connects");
        let ask = |customer: &str, session: &str| RecommendRequest {
            customer: customer.into(),
            session: session.into(),
            k: 10,
            ..RecommendRequest::default()
        };

        // A purchase: the product bought is not offered again in the next answer.
        let before = items(&c.recommend(ask("c11", "")).await.expect("answer")).clone();
        let top = before.items[0].product_id.clone();
        let mut bought = event(EventKind::Purchase, "c11", &top, "");
        bought.device_ts_ms = now_ms();
        c.events(vec![bought]).await.expect("event");
        let after = items(&c.recommend(ask("c11", "")).await.expect("answer")).clone();
        assert!(after.items.iter().all(|i| i.product_id != top), "{top} was just bought: {after:?}");
        assert_eq!(after.items.len(), 10);

        // Walking into a zone: it becomes the default filter.
        c.events(vec![event(EventKind::ZoneEnter, "c11", "", "drinks")]).await.expect("event");
        let zoned = items(&c.recommend(ask("c11", "")).await.expect("answer")).clone();
        assert!(zoned.items.iter().all(|i| drinks.contains(&i.aisle)), "not all in drinks: {zoned:?}");
        assert!(after.items.iter().any(|i| !drinks.contains(&i.aisle)), "the zone moved the answer");

        // An anonymous phone looks at three products: its next answer is built from them (and the
        // customer segment that likes them most, `recommend.anonymous_segment_weight`).
        let cold = items(&c.recommend(ask("", "phone-7")).await.expect("answer")).clone();
        assert!(cold.items.iter().all(|i| i.reason == "popular"), "{cold:?}");
        let mut views = Vec::new();
        for p in ["p40", "p41", "p42"] {
            let mut e = event(EventKind::View, "", p, "");
            e.session = "phone-7".into();
            views.push(e);
        }
        c.events(views).await.expect("events");
        let warm = items(&c.recommend(ask("", "phone-7")).await.expect("answer")).clone();
        assert!(warm.items.iter().all(|i| i.reason == "segment"), "{warm:?}");
        assert_ne!(warm.items, cold.items);
        let other = items(&c.recommend(ask("", "phone-8")).await.expect("answer")).clone();
        assert_eq!(other.items, cold.items, "another phone's session is its own");

        // A checkout streams its scans; complete then needs no basket in the request (HTTP).
        let addr = running.http_addr;
        let scan = format!(r#"{{"events":[{{"kind":"scan","customer":"c12","product":"{scanned}"}}]}}"#);
        let (status, body) = tokio::task::spawn_blocking(move || {
            let _ = http_to(addr, "POST", "/v1/events", "", &scan);
            http_to(addr, "POST", "/v1/complete", "", r#"{"customer":"c12","k":5}"#)
        })
        .await
        .expect("join");
        assert_eq!(status, 200, "{body}");
        let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(doc["items"][0]["reason"], "bought_with", "{body}");
        assert_eq!(doc["items"][0]["because"], scanned.as_str(), "{body}");
        let empty = CompleteRequest { customer: "c13".into(), k: 5, ..CompleteRequest::default() };
        let refused = c.call(request::Op::Complete(empty)).await.expect("answer");
        assert!(matches!(refused.result, Some(response::Result::Error(_))), "no basket anywhere: {refused:?}");
        running.shutdown().await;
    });
}
