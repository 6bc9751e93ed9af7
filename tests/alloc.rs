//! The allocation rule (ARCHITECTURE.md): once a stream's buffers have warmed up, serving
//! `recommend`, `similar`, `complete`, `rerank`, `audience` and `segments` through
//! `Service::handle_frame` (decode, the live session's copy, engine, encode, metrics) allocates
//! nothing. A counting global allocator counts the allocations made on this test's thread.

mod counting;

use counting::allocations;

use endcap::clock::Now;
use endcap::config::Config;
use endcap::demo::DemoSpec;
use endcap::live::{Source, Trigger};
use endcap::ops::{Caller, State};
use endcap::protocol::{
    self, AudienceRequest, CompleteRequest, EventKind, RecommendRequest, Request, RerankRequest, SegmentsRequest,
    SimilarRequest, request,
};
use endcap::rng::SplitMix64;
use endcap::service::Service;
use endcap::shoppers::{Shopper, Shoppers};

/// 10,000 store-shaped frames, most `recommend` (known and unknown customers, zones, aisles,
/// baskets with unknown ids among them, k from 1 to 20, sometimes exclusions, a stated signal
/// and diversity), the rest `similar`, `complete` and `rerank`.
fn frames(customers: usize, products: usize) -> Vec<Vec<u8>> {
    let zones = endcap::demo::zones();
    let aisles: Vec<&str> = zones.iter().flat_map(|z| z.aisles.iter().copied()).collect();
    let mut rng = SplitMix64::new(17);
    (0..10_000u64)
        .map(|id| {
            // Anonymous shoppers name a live session (half of them one that exists).
            let session = format!("phone-{}", rng.below(40));
            let customer = match rng.below(10) {
                0 => String::new(),
                1 => format!("stranger-{id}"),
                _ => format!("c{}", rng.below(customers)),
            };
            let (zone, aisle) = match rng.below(4) {
                0 => (zones[rng.below(zones.len())].name.to_string(), String::new()),
                1 => (String::new(), aisles[rng.below(aisles.len())].to_string()),
                _ => (String::new(), String::new()),
            };
            let basket: Vec<String> = (0..rng.below(6))
                .map(|_| if rng.chance(0.1) { "p-unknown".to_string() } else { format!("p{}", rng.below(products)) })
                .collect();
            let mode = ["", "mixed", "buy_again", "discover"][rng.below(4)].to_string();
            let shaped = rng.chance(0.3);
            let exclude: Vec<String> = if shaped { vec![format!("p{}", rng.below(products))] } else { vec![] };
            let signals: Vec<String> = if shaped { vec!["lifestyle:vegetarian".into()] } else { vec![] };
            let max_per_aisle = if shaped { 2 } else { 0 };
            let k = 1 + rng.below(20) as u32;
            let op = match rng.below(10) {
                0 => request::Op::Similar(SimilarRequest {
                    product: format!("p{}", rng.below(products)),
                    customer,
                    k,
                    scope: ["", "department", "store"][rng.below(3)].into(),
                    exclude,
                    signals,
                    max_per_aisle,
                    session,
                    ..Default::default()
                }),
                1 if !basket.is_empty() && !basket.iter().all(|b: &String| b == "p-unknown") => {
                    request::Op::Complete(CompleteRequest {
                        basket,
                        customer,
                        k,
                        exclude,
                        signals,
                        max_per_aisle,
                        session,
                        ..Default::default()
                    })
                }
                2 => request::Op::Rerank(RerankRequest {
                    customer,
                    products: (0..1 + rng.below(30)).map(|_| format!("p{}", rng.below(products + 20))).collect(),
                    exclude,
                    signals,
                    session,
                }),
                _ => request::Op::Recommend(RecommendRequest {
                    customer,
                    zone,
                    aisle,
                    basket,
                    k,
                    mode,
                    min_discover: rng.below(3) as u32,
                    exclude,
                    signals,
                    max_per_aisle,
                    session,
                }),
            };
            let mut frame = Vec::new();
            protocol::encode_request_frame(&mut frame, &Request { id, op: Some(op) });
            frame
        })
        .collect()
}

#[test]
fn serving_allocates_nothing_after_warm_up() {
    let spec = DemoSpec { products: 2_000, customers: 3_000, seed: 8, dim: 32 };
    let model = endcap::train::demo_model(&spec).expect("demo model");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/endcap.toml");
    let mut config = Config::load(Some(&path)).expect("shipped config");
    config.events.journal_dir = endcap::journal::scratch_dir("alloc");
    // Live sessions for half the customers and half the anonymous ids the frames name: what
    // they looked at, scanned, bought, and the zone they are in.
    let now_ms = (Now::read().unix_us / 1000) as i64;
    let shoppers = Shoppers::open(&config.events, &config.zones, now_ms).expect("journal opens");
    let zones = endcap::demo::zones();
    let mut rng = SplitMix64::new(5);
    let ids =
        (0..spec.customers / 2).map(|c| (true, format!("c{c}"))).chain((0..20).map(|p| (false, format!("phone-{p}"))));
    for (customer, id) in ids.collect::<Vec<_>>() {
        let who = if customer { Shopper::Customer(&id) } else { Shopper::Anonymous(&id) };
        let zone = zones[rng.below(zones.len())].name;
        shoppers.sessions.apply(who, EventKind::ZoneEnter, "", zone, now_ms, now_ms);
        for kind in [EventKind::View, EventKind::View, EventKind::Add, EventKind::Purchase] {
            let product = format!("p{}", rng.below(spec.products));
            shoppers.sessions.apply(who, kind, &product, "", now_ms, now_ms);
        }
    }
    let service = Service::with_shoppers(config, Some(std::sync::Arc::new(shoppers)));
    service.live.load(Source::loaded(model), Trigger::Start).expect("serves");
    let frames = frames(spec.customers, spec.products);
    let mut state = State::default();
    let mut out = Vec::new();
    let mut serve_all = |frames: &[Vec<u8>]| {
        let mut errors = 0;
        for f in frames {
            out.clear();
            service.handle_frame(Now::read(), Caller::OPEN, &f[protocol::LEN_PREFIX..], &mut state, &mut out);
            let answer = protocol::response_envelope(&out[protocol::LEN_PREFIX..]).expect("an answer");
            errors += usize::from(answer.error.is_some());
        }
        errors
    };
    assert_eq!(serve_all(&frames), 0, "every request is valid");
    let before = allocations();
    assert_eq!(serve_all(&frames), 0);
    let made = allocations() - before;
    assert_eq!(made, 0, "{made} allocations while serving 10,000 requests after warm-up");
    // The counter does count: one more basket id than ever seen grows a buffer.
    let big = RecommendRequest {
        customer: "c1".into(),
        basket: (0..150).map(|p| format!("p{p}")).collect(),
        k: 50,
        ..Default::default()
    };
    let mut frame = Vec::new();
    protocol::encode_request_frame(&mut frame, &Request { id: 1, op: Some(request::Op::Recommend(big)) });
    let before = allocations();
    assert_eq!(serve_all(&[frame]), 0);
    assert!(allocations() > before, "a larger request than any before must grow a buffer");
}

/// 2,000 audience frames: one product, several, or an aisle; k from 20 to 600; with and without
/// a signal filter.
fn audience_frames(products: usize) -> Vec<Vec<u8>> {
    let aisles: Vec<&str> = endcap::demo::zones().iter().flat_map(|z| z.aisles.clone()).collect();
    let mut rng = SplitMix64::new(23);
    (0..2_000u64)
        .map(|id| {
            let mut r = AudienceRequest { k: 20 + rng.below(580) as u32, ..Default::default() };
            match rng.below(3) {
                0 => r.product = format!("p{}", rng.below(products)),
                1 => r.products = (0..1 + rng.below(4)).map(|_| format!("p{}", rng.below(products))).collect(),
                _ => r.aisle = aisles[rng.below(aisles.len())].to_string(),
            }
            if rng.chance(0.3) {
                r.signals.push("music:pop".into());
            }
            let mut frame = Vec::new();
            protocol::encode_request_frame(&mut frame, &Request { id, op: Some(request::Op::Audience(r)) });
            frame
        })
        .collect()
}

#[test]
fn serving_audience_allocates_nothing_after_warm_up() {
    let spec = DemoSpec { products: 2_000, customers: 3_000, seed: 8, dim: 32 };
    let model = endcap::train::demo_model(&spec).expect("demo model");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/endcap.toml");
    let service = Service::new(Config::load(Some(&path)).expect("shipped config"));
    service.live.load(Source::loaded(model), Trigger::Start).expect("serves");
    let mut state = State::default();
    let mut out = Vec::new();
    let mut serve = |f: &[u8]| {
        out.clear();
        service.handle_frame(Now::read(), Caller::OPEN, &f[protocol::LEN_PREFIX..], &mut state, &mut out);
        protocol::response_envelope(&out[protocol::LEN_PREFIX..]).expect("an answer").error.is_none()
    };
    // Refusals write a message (they may allocate); the rule is about answers. Keep the frames
    // that are answered, warm up on them, then count.
    let mut frames: Vec<Vec<u8>> = audience_frames(spec.products).into_iter().filter(|f| serve(f)).collect();
    assert!(frames.len() > 1_800, "most audiences are answered ({} of 2,000)", frames.len());
    // And the segments, interleaved: the trained demo model has them.
    for i in (0..frames.len()).step_by(10).rev() {
        let mut frame = Vec::new();
        let r = Request { id: 9_000 + i as u64, op: Some(request::Op::Segments(SegmentsRequest {})) };
        protocol::encode_request_frame(&mut frame, &r);
        assert!(serve(&frame), "segments are answered");
        frames.insert(i, frame);
    }
    let before = allocations();
    let answered = frames.iter().filter(|f| serve(f)).count();
    let made = allocations() - before;
    assert_eq!(answered, frames.len());
    assert_eq!(made, 0, "{made} allocations while serving {answered} audiences and segments after warm-up");
}
