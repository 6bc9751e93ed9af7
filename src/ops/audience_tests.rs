//! `audience` and `segments` without a transport: the decoder against prost, the hand-written
//! answer against prost's bytes, and both operations through `handle_frame`/`handle_http` on
//! the tiny test model (roles, codes, the count by caller, JSON against protobuf).

use std::time::Instant;

use prost::Message;

use super::tests::{payload, service};
use super::*;
use crate::protocol::{
    self, Audience as AudienceMessage, AudienceMember, AudienceRequest, CustomerType, GroupRef, MemberRef, ProductLine,
    ProductRef, Request, Response, SegmentProfile, SegmentRef, SegmentShare, Segments as SegmentsMessage,
    SegmentsRequest, ShareRef, SignalShare, request, response,
};
use crate::rng::SplitMix64;

fn word(rng: &mut SplitMix64) -> String {
    const PARTS: [&str; 6] = ["", "p1", "lifestyle:vegan", "Äpfel ü", "日本茶", "🍎"];
    (0..rng.below(3)).map(|_| PARTS[rng.below(PARTS.len())]).collect()
}

#[test]
fn audience_args_decode_like_prost_and_reuse_leaves_nothing_stale() {
    let mut rng = SplitMix64::new(21);
    let mut args = audience::AudienceArgs::default();
    for _ in 0..2_000 {
        let want = AudienceRequest {
            product: word(&mut rng),
            products: (0..rng.below(4)).map(|_| word(&mut rng)).collect(),
            aisle: word(&mut rng),
            k: [0, 20, 1_000, u32::MAX][rng.below(4)],
            signals: (0..rng.below(3)).map(|_| word(&mut rng)).collect(),
            segment: [None, Some(0), Some(7)][rng.below(3)],
        };
        let mut bytes = want.encode_to_vec();
        if rng.chance(0.3) {
            bytes.extend_from_slice(&[0xa2, 0x06, 0x01, 0x00]); // field 100 from a newer client
        }
        audience::Audience::decode(&bytes, &mut args).expect("decodes");
        assert_eq!((args.product.as_str(), args.aisle.as_str()), (want.product.as_str(), want.aisle.as_str()));
        assert_eq!(args.products.iter().collect::<Vec<_>>(), want.products);
        assert_eq!(args.signals.iter().collect::<Vec<_>>(), want.signals);
        assert_eq!((args.k, args.segment), (want.k, want.segment));
    }
    for bad in [&[0x0a, 0x01, 0xff][..], &[0x30, 0x80]] {
        assert!(audience::Audience::decode(bad, &mut args).is_err());
        assert!(AudienceRequest::decode(bad).is_err());
    }
}

#[test]
fn the_audience_answer_is_prosts_bytes() {
    let mut rng = SplitMix64::new(4);
    for round in 0..300 {
        let f = |rng: &mut SplitMix64| [0.0, -0.0, 1.5, -2.25, f32::MIN_POSITIVE][rng.below(5)];
        let members: Vec<(String, f32, Option<u32>)> = (0..rng.below(6))
            .map(|i| (format!("c{i}{}", word(&mut rng)), f(&mut rng), [None, Some(0), Some(300)][rng.below(3)]))
            .collect();
        let lines: Vec<(String, u32, u32, f32)> = (0..rng.below(4))
            .map(|_| (word(&mut rng), rng.below(3) as u32, [0, 1, 70_000][rng.below(3)], f(&mut rng)))
            .collect();
        let group = GroupRef { size: [0, 20, 5000][round % 3], population: [0, 1 << 40][round % 2], min_group: 20 };
        let (id, version, took) = (rng.next_u64(), word(&mut rng), [0, 17][round % 2]);
        let mut ours = Vec::new();
        protocol::encode_audience(
            &mut ours,
            id,
            &version,
            members.iter().map(|m| MemberRef { customer_id: &m.0, score: m.1, segment: m.2 }),
            group,
            lines.iter().map(|l| ShareRef {
                signal: &l.0,
                segment: 0,
                count: l.2,
                share: l.3,
                overall: l.3,
                lift: l.3,
            }),
            lines.iter().map(|l| ShareRef {
                signal: "",
                segment: l.1,
                count: l.2,
                share: l.3,
                overall: 0.5,
                lift: l.3,
            }),
            took,
        );
        let answer = AudienceMessage {
            customers: members
                .iter()
                .map(|m| AudienceMember { customer_id: m.0.clone(), score: m.1, segment: m.2 })
                .collect(),
            customer_type: Some(CustomerType {
                size: group.size,
                population: group.population,
                min_group: group.min_group,
                signals: lines
                    .iter()
                    .map(|l| SignalShare { signal: l.0.clone(), count: l.2, share: l.3, overall: l.3, lift: l.3 })
                    .collect(),
                segments: lines
                    .iter()
                    .map(|l| SegmentShare { segment: l.1, count: l.2, share: l.3, overall: 0.5, lift: l.3 })
                    .collect(),
            }),
            took_us: took,
        };
        let want = Response { id, model_version: version, result: Some(response::Result::Audience(answer)) };
        assert_eq!(payload(&ours), want.encode_to_vec().as_slice(), "round {round}");
    }
}

#[test]
fn the_segments_answer_is_prosts_bytes() {
    let mut rng = SplitMix64::new(9);
    for round in 0..300 {
        let f = |rng: &mut SplitMix64| [0.0, -0.0, 0.25, 3.5, f32::MIN_POSITIVE][rng.below(5)];
        type Profile = (u32, u32, f32, Vec<(String, String, String)>, Vec<(String, u32, f32)>);
        let profiles: Vec<Profile> = (0..rng.below(5))
            .map(|g| {
                let products = (0..rng.below(4)).map(|_| (word(&mut rng), word(&mut rng), word(&mut rng))).collect();
                let signals =
                    (0..rng.below(4)).map(|_| (word(&mut rng), [0, 20, 70_000][rng.below(3)], f(&mut rng))).collect();
                (g as u32, [0, 1, 300_000][rng.below(3)], f(&mut rng), products, signals)
            })
            .collect();
        let (id, version) = (rng.next_u64(), word(&mut rng));
        let (population, min_group) = ([0, 1 << 40][round % 2], [0, 20][rng.below(2)]);
        let mut ours = Vec::new();
        protocol::encode_segments(
            &mut ours,
            id,
            &version,
            profiles.iter().map(|p| SegmentRef {
                segment: p.0,
                size: p.1,
                share: p.2,
                top_products: p.3.iter().map(|t| ProductLine { product_id: &t.0, name: &t.1, aisle: &t.2 }),
                signals: p.4.iter().map(|l| ShareRef {
                    signal: &l.0,
                    segment: 0,
                    count: l.1,
                    share: l.2,
                    overall: l.2,
                    lift: l.2,
                }),
            }),
            population,
            min_group,
        );
        let answer = SegmentsMessage {
            segments: profiles
                .iter()
                .map(|p| SegmentProfile {
                    segment: p.0,
                    size: p.1,
                    share: p.2,
                    top_products: p
                        .3
                        .iter()
                        .map(|t| ProductRef { product_id: t.0.clone(), name: t.1.clone(), aisle: t.2.clone() })
                        .collect(),
                    signals: p
                        .4
                        .iter()
                        .map(|l| SignalShare { signal: l.0.clone(), count: l.1, share: l.2, overall: l.2, lift: l.2 })
                        .collect(),
                })
                .collect(),
            population,
            min_group,
        };
        let want = Response { id, model_version: version, result: Some(response::Result::Segments(answer)) };
        assert_eq!(payload(&ours), want.encode_to_vec().as_slice(), "round {round}");
    }
}

fn ask(s: &crate::service::Service, caller: Caller, req: AudienceRequest, state: &mut State) -> Response {
    let mut out = Vec::new();
    let frame = Request { id: 9, op: Some(request::Op::Audience(req)) }.encode_to_vec();
    s.handle_frame(Now::read(), caller, &frame, state, &mut out);
    protocol::decode_response(payload(&out)).expect("a valid answer")
}

fn code(r: &Response) -> Option<ErrorCode> {
    match &r.result {
        Some(response::Result::Error(e)) => Some(e.code()),
        _ => None,
    }
}

#[test]
fn audience_answers_ops_only_counts_callers_and_refuses_bad_input_with_its_code() {
    let s = service();
    let mut state = State::default();
    let ops = Caller { role: Some(Role::Ops), device: DeviceName::new("hq-1") };
    let screen = Caller { role: Some(Role::Screen), device: DeviceName::new("aisle-3") };
    let req = |product: &str, k: u32| AudienceRequest { product: product.into(), k, ..Default::default() };

    // prod-000 is tagged meat: no vegetarian (every fourth customer of the tiny model) in it.
    let got = ask(&s, ops, req("prod-000", 60), &mut state);
    let Some(response::Result::Audience(a)) = &got.result else { panic!("expected an audience, got {got:?}") };
    assert_eq!(a.customers.len(), 60);
    let number = |id: &str| id[5..].parse::<u32>().expect("cust-NNN");
    assert!(a.customers.iter().all(|c| number(&c.customer_id) % 4 != 0), "no vegetarian");
    assert!(a.customers.windows(2).all(|w| w[0].score >= w[1].score));
    let t = a.customer_type.as_ref().expect("a customer type");
    assert_eq!((t.size, t.population, t.min_group), (60, 200, 20));
    assert!(t.signals.iter().all(|l| l.signal != "lifestyle:vegetarian"));

    // The same request as JSON gives the same customers.
    let mut out = Vec::new();
    s.handle_http(Now::read(), ops, OpId::Audience, br#"{"product":"prod-000","k":60}"#, &mut state, &mut out)
        .expect("served");
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(doc["model_version"], "tiny-1");
    let ids: Vec<&str> =
        doc["customers"].as_array().expect("customers").iter().filter_map(|c| c["customer_id"].as_str()).collect();
    assert_eq!(ids, a.customers.iter().map(|c| c.customer_id.as_str()).collect::<Vec<_>>());
    assert_eq!(doc["customer_type"]["size"], 60);

    // Only ops devices may ask; refusals are counted by caller too.
    assert_eq!(code(&ask(&s, screen, req("prod-000", 60), &mut state)), Some(ErrorCode::PermissionDenied));
    assert_eq!(
        code(&ask(&s, Caller::role(Role::Beacon), req("prod-000", 60), &mut state)),
        Some(ErrorCode::PermissionDenied)
    );
    let segments = Request { id: 3, op: Some(request::Op::Segments(SegmentsRequest {})) }.encode_to_vec();
    let mut out = Vec::new();
    s.handle_frame(Now::read(), screen, &segments, &mut state, &mut out);
    assert_eq!(
        protocol::response_envelope(payload(&out)).expect("envelope").error,
        Some(ErrorCode::PermissionDenied as i32)
    );

    // Bad inputs, each with its code.
    for (r, want) in [
        (req("nope", 60), ErrorCode::UnknownProduct),
        (AudienceRequest { aisle: "Moon Cheese".into(), ..Default::default() }, ErrorCode::UnknownAisle),
        (req("prod-001", 5_001), ErrorCode::InvalidArgument),
        (req("prod-001", 19), ErrorCode::GroupTooSmall),
        (AudienceRequest { k: 60, ..Default::default() }, ErrorCode::InvalidArgument),
        (AudienceRequest { aisle: "x".repeat(200), ..Default::default() }, ErrorCode::InvalidArgument),
        (AudienceRequest { segment: Some(0), ..req("prod-001", 60) }, ErrorCode::InvalidArgument),
        // 50 vegetarians, none of them in the audience of meat: fewer than 20 left.
        (
            AudienceRequest { signals: vec!["lifestyle:vegetarian".into()], ..req("prod-000", 40) },
            ErrorCode::GroupTooSmall,
        ),
    ] {
        assert_eq!(code(&ask(&s, ops, r.clone(), &mut state)), Some(want), "{r:?}");
    }
    let text = s.metrics.encode();
    for series in [
        r#"endcap_caller_requests_total{op="audience",role="ops",device="hq-1",outcome="ok"} 2"#,
        r#"endcap_caller_requests_total{op="audience",role="screen",device="aisle-3",outcome="permission_denied"} 1"#,
        r#"endcap_caller_requests_total{op="audience",role="beacon",device="",outcome="permission_denied"} 1"#,
        r#"endcap_caller_requests_total{op="segments",role="screen",device="aisle-3",outcome="permission_denied"} 1"#,
        r#"endcap_caller_requests_total{op="audience",role="ops",device="hq-1",outcome="group_too_small"} 2"#,
        r#"endcap_requests_total{transport="quic",op="audience",outcome="unknown_product"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == series), "{series} in {text}");
    }
    assert!(!text.contains(r#"op="recommend",role="#), "only the operations that describe customers");
}

#[test]
fn segments_answer_every_segment_of_the_model() {
    let s = service();
    let mut state = State::default();
    let mut out = Vec::new();
    let frame = Request { id: 4, op: Some(request::Op::Segments(SegmentsRequest {})) }.encode_to_vec();
    s.handle_frame(Now { at: Instant::now(), unix_us: 0 }, Caller::OPEN, &frame, &mut state, &mut out);
    let got = protocol::decode_response(payload(&out)).expect("answer");
    let Some(response::Result::Segments(g)) = got.result else { panic!("expected segments, got {got:?}") };
    // The tiny model has no segments; the answer says so rather than failing.
    assert_eq!((g.segments.len(), g.population, g.min_group), (0, 200, 20));
    let mut out = Vec::new();
    s.handle_http(Now::read(), Caller::OPEN, OpId::Segments, b"", &mut state, &mut out).expect("served");
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!((doc["population"].as_u64(), doc["segments"].as_array().map(Vec::len)), (Some(200), Some(0)));
}
