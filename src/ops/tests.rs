//! Operation tests without a transport: the hand-written decoders against prost, the hand-written
//! answers against prost's bytes, and `Service::handle_frame` replayed with a given clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;

use super::*;
use crate::config::Config;
use crate::live::Source;
use crate::model::tests::tiny_input;
use crate::model::{Model, build};
use crate::protocol::{
    self, ModelInfoRequest, Ping as PingMessage, RecommendRequest, Request, Response, request, response,
};
use crate::rng::SplitMix64;
use crate::service::Service;

fn payload(frame: &[u8]) -> &[u8] {
    let len = protocol::frame_len(frame[..4].try_into().expect("prefix"), usize::MAX).expect("len");
    assert_eq!(frame.len(), 4 + len, "one whole frame");
    &frame[4..]
}

fn random_string(rng: &mut SplitMix64) -> String {
    const PARTS: [&str; 7] = ["", "p1", "Cheddar 200g", "Äpfel ü", "日本茶", "fresh", "🍎"];
    (0..rng.below(3)).map(|_| PARTS[rng.below(PARTS.len())]).collect()
}

/// A service serving the tiny test model, with the vegetarian rule and one zone.
fn service() -> Arc<Service> {
    let mut config = Config::default();
    config.rules.push(crate::config::RuleConfig {
        signal: "lifestyle:vegetarian".into(),
        exclude_tags: vec!["meat".into()],
        optional: false,
    });
    config.zones.push(crate::config::ZoneConfig { name: "front".into(), aisles: vec!["Aisle 0".into()] });
    let service = Service::new(config);
    let model = Model::from_artifact(build(&tiny_input()).expect("builds"), "test").expect("valid");
    service.live.load(Source::loaded(model), crate::live::Trigger::Start).expect("loads");
    service
}

fn frame(req: &Request) -> Vec<u8> {
    req.encode_to_vec()
}

fn answer(service: &Service, now: Now, req: &Request, state: &mut State) -> Response {
    let mut out = Vec::new();
    service.handle_frame(now, Caller::OPEN, &frame(req), state, &mut out);
    protocol::decode_response(payload(&out)).expect("a valid answer")
}

#[test]
fn recommend_args_decode_like_prost_and_reuse_leaves_nothing_stale() {
    let mut rng = SplitMix64::new(9);
    let mut args = RecommendArgs::default();
    for _ in 0..2_000 {
        let want = RecommendRequest {
            customer: random_string(&mut rng),
            zone: random_string(&mut rng),
            aisle: random_string(&mut rng),
            basket: (0..rng.below(4)).map(|_| random_string(&mut rng)).collect(),
            k: [0, 1, 9, u32::MAX][rng.below(4)],
            mode: ["", "buy_again", "discover"][rng.below(3)].into(),
            min_discover: [0, 3][rng.below(2)],
            exclude: (0..rng.below(3)).map(|_| random_string(&mut rng)).collect(),
            signals: (0..rng.below(3)).map(|_| random_string(&mut rng)).collect(),
            max_per_aisle: [0, 2][rng.below(2)],
            session: random_string(&mut rng),
        };
        let mut bytes = want.encode_to_vec();
        if rng.chance(0.3) {
            bytes.extend_from_slice(&[0xa2, 0x06, 0x01, 0x00]); // field 100 from a newer client
        }
        recommend::Recommend::decode(&bytes, &mut args).expect("decodes");
        assert_eq!(args.customer, want.customer);
        assert_eq!(args.zone, want.zone);
        assert_eq!(args.aisle, want.aisle);
        assert_eq!(args.basket.iter().collect::<Vec<_>>(), want.basket);
        assert_eq!(args.k, want.k);
        assert_eq!((args.mode.as_str(), args.min_discover), (want.mode.as_str(), want.min_discover));
        assert_eq!(args.options.exclude.iter().collect::<Vec<_>>(), want.exclude);
        assert_eq!(args.options.signals.iter().collect::<Vec<_>>(), want.signals);
        assert_eq!(args.options.max_per_aisle, want.max_per_aisle);
        assert_eq!(args.options.session, want.session);
    }
    // A repeated scalar: the last one wins, as in prost.
    let twice = [0x0a, 0x01, b'a', 0x0a, 0x02, b'b', b'c'];
    recommend::Recommend::decode(&twice, &mut args).expect("decodes");
    assert_eq!(args.customer, RecommendRequest::decode(&twice[..]).expect("prost").customer);
    // Invalid UTF-8 and a wrong wire type are refused, as prost refuses them.
    for bad in [&[0x0a, 0x01, 0xff][..], &[0x08, 0x01]] {
        assert!(recommend::Recommend::decode(bad, &mut args).is_err());
        assert!(RecommendRequest::decode(bad).is_err());
    }
}

#[test]
fn pong_is_prosts_bytes_and_the_protocol_md_example() {
    let mut out = Vec::new();
    ping::encode_pong(&mut out, 7, "v1", 123);
    let want = Response {
        id: 7,
        model_version: "v1".into(),
        result: Some(response::Result::Pong(protocol::Pong { server_time_us: 123 })),
    };
    assert_eq!(payload(&out), want.encode_to_vec().as_slice());
    // PROTOCOL.md shows these exact bytes; keep them in sync.
    out.clear();
    ping::encode_pong(&mut out, 7, "v1", 1_000_000);
    assert_eq!(out, [0, 0, 0, 12, 0x08, 0x07, 0x12, 0x02, b'v', b'1', 0x52, 0x04, 0x08, 0xc0, 0x84, 0x3d]);
}

#[test]
fn handle_frame_answers_every_operation_with_the_clock_it_is_given() {
    let s = service();
    let mut state = State::default();
    let now = Now { at: Instant::now(), unix_us: 1_000_000 };
    let ping = Request { id: 1, op: Some(request::Op::Ping(PingMessage {})) };
    let got = answer(&s, now, &ping, &mut state);
    assert_eq!((got.id, got.model_version.as_str()), (1, "tiny-1"));
    assert_eq!(got.result, Some(response::Result::Pong(protocol::Pong { server_time_us: 1_000_000 })));

    let info = answer(&s, now, &Request { id: 2, op: Some(request::Op::ModelInfo(ModelInfoRequest {})) }, &mut state);
    let engine = s.engine().expect("serving");
    assert_eq!(info.result, Some(response::Result::ModelInfo(s.model_info(&engine))));

    // Replaying a request with the same clock gives the same answer (took_us aside).
    let rec = Request {
        id: 3,
        op: Some(request::Op::Recommend(RecommendRequest {
            customer: "cust-004".into(),
            basket: vec!["prod-001".into()],
            k: 7,
            ..Default::default()
        })),
    };
    let items = |r: Response| match r.result {
        Some(response::Result::Recommendation(mut rec)) => {
            rec.took_us = 0;
            rec
        }
        other => panic!("expected a recommendation, got {other:?}"),
    };
    let first = items(answer(&s, now, &rec, &mut state));
    assert_eq!(first.items.len(), 7);
    assert!(first.items.iter().all(|i| i.product_id != "prod-001" && i.reason == "personal"));
    let later = Now { at: now.at + Duration::from_secs(5), unix_us: now.unix_us };
    assert_eq!(items(answer(&s, later, &rec, &mut state)), first);

    // Errors: a known operation with a bad body keeps its id and is counted under it; a frame
    // that is not a Request at all answers id 0.
    let mut out = Vec::new();
    s.handle_frame(now, Caller::OPEN, &[0x08, 0x05, 0x62, 0x02, 0x0a, 0xff], &mut state, &mut out);
    let bad = protocol::response_envelope(payload(&out)).expect("envelope");
    assert_eq!((bad.id, bad.error), (5, Some(ErrorCode::MalformedRequest as i32)));
    out.clear();
    s.handle_frame(now, Caller::OPEN, &[0xff], &mut state, &mut out);
    assert_eq!(protocol::response_envelope(payload(&out)).expect("envelope").error, Some(1));
    out.clear();
    s.handle_frame(now, Caller::OPEN, &[], &mut state, &mut out);
    assert_eq!(
        protocol::response_envelope(payload(&out)).expect("envelope").error,
        Some(ErrorCode::UnknownOperation as i32)
    );
    let text = s.metrics.encode();
    for series in [
        r#"endcap_requests_total{transport="quic",op="recommend",outcome="ok"} 2"#,
        r#"endcap_requests_total{transport="quic",op="recommend",outcome="malformed_request"} 1"#,
        r#"endcap_requests_total{transport="quic",op="invalid",outcome="malformed_request"} 1"#,
        r#"endcap_requests_total{transport="quic",op="invalid",outcome="unknown_operation"} 1"#,
        r#"endcap_plans_total{op="recommend",plan="ivf"} 2"#,
    ] {
        assert!(text.contains(series), "{series} in {text}");
    }
}

#[test]
fn json_answers_match_the_protobuf_ones() {
    let s = service();
    let mut state = State::default();
    let now = Now::read();
    let mut out = Vec::new();
    let body = br#"{"customer":"cust-008","zone":"front","k":4}"#;
    s.handle_http(now, Caller::OPEN, OpId::Recommend, body, &mut state, &mut out).expect("served");
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(doc["model_version"], "tiny-1");
    let items = doc["items"].as_array().expect("items");
    assert_eq!(items.len(), 4);
    assert!(items.iter().all(|i| i["aisle"] == "Aisle 0" && i["reason"] == "personal"));
    // cust-008 is vegetarian in the tiny model: nothing tagged meat (every fifth product).
    assert!(items.iter().all(|i| i["product_id"].as_str().is_some_and(|p| p[5..].parse::<u32>().expect("n") % 5 != 0)));
    let e = s.handle_http(
        now,
        Caller::OPEN,
        OpId::Recommend,
        br#"{"customer":"c","zone":"nowhere"}"#,
        &mut state,
        &mut Vec::new(),
    );
    assert_eq!(e.map_err(|e| e.code), Err(ErrorCode::UnknownZone));
    let e = s.handle_http(now, Caller::OPEN, OpId::Recommend, b"{", &mut state, &mut Vec::new());
    assert_eq!(e.map_err(|e| e.code), Err(ErrorCode::MalformedRequest));
}

#[test]
fn every_operation_has_one_label_one_number_and_one_route() {
    let mut tags = std::collections::HashSet::new();
    for &op in OpId::ALL {
        assert_eq!(OpId::LABELS[op as usize], op.label());
        if op != OpId::Invalid {
            assert!(tags.insert(op.tag()) && op.tag() >= protocol::wire::FIRST_OP, "{op:?}");
            assert_eq!(OpId::from_tag(op.tag()), Some(op));
            assert_eq!(HTTP_ROUTES.iter().filter(|r| r.0 == op).count(), 1, "{op:?} has one route");
        }
    }
    assert_eq!(OpId::ALL.last(), Some(&OpId::Invalid));
}
