//! Codec tests: hand encoders equal prost's bytes, frames round-trip, garbage never panics.

use prost::Message;

use super::*;
use crate::rng::SplitMix64;

fn random_string(rng: &mut SplitMix64) -> String {
    const PARTS: [&str; 8] = ["", "p1", "Cheddar 200g", "Äpfel ü", "日本茶", "x", "aisle with spaces", "🍎"];
    (0..rng.below(3)).map(|_| PARTS[rng.below(PARTS.len())]).collect()
}

fn payload(frame: &[u8]) -> &[u8] {
    let len = frame_len(frame[..4].try_into().expect("prefix"), usize::MAX).expect("len");
    assert_eq!(frame.len(), 4 + len, "one whole frame");
    &frame[4..]
}

#[test]
fn hand_encoded_recommendations_equal_prost_bytes() {
    let mut rng = SplitMix64::new(11);
    for round in 0..2000 {
        let n = rng.below(8);
        let owned: Vec<Item> = (0..n)
            .map(|_| Item {
                product_id: random_string(&mut rng),
                name: random_string(&mut rng),
                aisle: random_string(&mut rng),
                score: [0.0, -1.5, 3.25, f32::MIN_POSITIVE, 1e9][rng.below(5)],
                reason: random_string(&mut rng),
            })
            .collect();
        let id = [0, 1, 300, u64::MAX][round % 4];
        let version = random_string(&mut rng);
        let took = [0, 7, 1 << 40][rng.below(3)];
        let mut out = vec![0xAA]; // appending must leave earlier bytes alone
        let refs = owned.iter().map(|i| ItemRef {
            product_id: &i.product_id,
            name: &i.name,
            aisle: &i.aisle,
            score: i.score,
            reason: &i.reason,
        });
        encode_recommendation(&mut out, id, &version, refs, took);
        assert_eq!(out[0], 0xAA);
        let expected = Response {
            id,
            model_version: version.clone(),
            result: Some(response::Result::Recommendation(Recommendation { items: owned.clone(), took_us: took })),
        };
        assert_eq!(payload(&out[1..]), expected.encode_to_vec().as_slice());
        assert_eq!(decode_response(payload(&out[1..])).expect("decodes"), expected);
    }
}

#[test]
fn pong_error_and_model_info_equal_prost_bytes() {
    let mut out = Vec::new();
    encode_pong(&mut out, 7, "v1", 123);
    let want = Response {
        id: 7,
        model_version: "v1".into(),
        result: Some(response::Result::Pong(Pong { server_time_us: 123 })),
    };
    assert_eq!(payload(&out), want.encode_to_vec().as_slice());
    for code in [ErrorCode::MalformedRequest, ErrorCode::Overloaded] {
        out.clear();
        encode_error(&mut out, 0, "", code, "bad things");
        let want = Response {
            id: 0,
            model_version: String::new(),
            result: Some(response::Result::Error(Error { code: code as i32, message: "bad things".into() })),
        };
        assert_eq!(payload(&out), want.encode_to_vec().as_slice());
        assert_eq!(decode_response(payload(&out)).expect("decodes").result, want.result);
    }
    out.clear();
    let info = ModelInfo { model_version: "m".into(), dim: 64, products: 5, ..ModelInfo::default() };
    encode_model_info(&mut out, 3, &info);
    let got = decode_response(payload(&out)).expect("decodes");
    assert_eq!((got.id, got.model_version.as_str()), (3, "m"));
    assert_eq!(got.result, Some(response::Result::ModelInfo(info)));
}

#[test]
fn ping_example_bytes_in_protocol_md() {
    // PROTOCOL.md shows these exact bytes; keep them in sync.
    let mut out = Vec::new();
    encode_request_frame(&mut out, &Request { id: 7, op: Some(request::Op::Ping(Ping {})) });
    assert_eq!(out, [0, 0, 0, 4, 0x08, 0x07, 0x52, 0x00]);
    out.clear();
    encode_pong(&mut out, 7, "v1", 1_000_000);
    assert_eq!(out, [0, 0, 0, 12, 0x08, 0x07, 0x12, 0x02, b'v', b'1', 0x52, 0x04, 0x08, 0xc0, 0x84, 0x3d]);
}

#[test]
fn split_frames_yields_whole_frames_and_stops_at_a_partial_or_oversize_one() {
    let mut buf = Vec::new();
    for body in [&b"ab"[..], b"", b"xyz"] {
        write_frame(&mut buf, |o| o.extend_from_slice(body));
    }
    let whole = buf.len();
    buf.extend_from_slice(&[0, 0, 0, 5, b'p']); // 1 of 5 payload bytes so far
    let mut seen = Vec::new();
    let (used, err) = split_frames(&buf, 10, |p| seen.push(p.to_vec()));
    assert_eq!((used, err), (whole, None));
    assert_eq!(seen, [b"ab".to_vec(), vec![], b"xyz".to_vec()]);
    assert_eq!(frame_need(&buf[used..]), 9);
    assert_eq!(frame_need(&buf[used..used + 2]), 4, "prefix not complete yet");
    // Every split point of the same bytes gives the same frames, in order.
    for cut in 0..=whole {
        let mut got = Vec::new();
        let (first, _) = split_frames(&buf[..cut], 10, |p| got.push(p.to_vec()));
        let (second, _) = split_frames(&buf[first..whole], 10, |p| got.push(p.to_vec()));
        assert_eq!((first + second, got.len()), (whole, 3), "cut at {cut}");
    }
    // An oversize length stops the split after the frames before it.
    let mut bad = buf[..whole].to_vec();
    bad.extend_from_slice(&11u32.to_be_bytes());
    let (used, err) = split_frames(&bad, 10, |_| {});
    assert_eq!((used, err), (whole, Some(FrameError::TooLarge { len: 11, max: 10 })));
}

#[test]
fn frame_len_limits() {
    assert_eq!(frame_len(0u32.to_be_bytes(), 10), Ok(0));
    assert_eq!(frame_len(10u32.to_be_bytes(), 10), Ok(10));
    assert_eq!(frame_len(11u32.to_be_bytes(), 10), Err(FrameError::TooLarge { len: 11, max: 10 }));
    assert_eq!(
        frame_len(u32::MAX.to_be_bytes(), DEFAULT_MAX_FRAME_BYTES).map_err(|e| e.to_string()),
        Err("frame of 4294967295 bytes is larger than the limit of 65536 bytes".to_string())
    );
}

#[test]
fn request_round_trip_and_reuse_leaves_nothing_stale() {
    let first = Request {
        id: 1,
        op: Some(request::Op::Recommend(RecommendRequest {
            customer: "c1".into(),
            zone: "fresh".into(),
            aisle: "Cheese".into(),
            basket: vec!["p1".into(), "p2".into()],
            k: 9,
        })),
    };
    let second = Request {
        id: 2,
        op: Some(request::Op::Recommend(RecommendRequest { customer: "c2".into(), ..Default::default() })),
    };
    let mut into = Request::default();
    for want in [&first, &second] {
        decode_request(&want.encode_to_vec(), &mut into).expect("decodes");
        assert_eq!(&into, want);
    }
}

#[test]
fn unknown_operations_decode_to_none_and_garbage_never_panics() {
    // id 9, then field 20 (length-delimited, empty): an operation from a newer client.
    let mut into = Request::default();
    decode_request(&[0x08, 0x09, 0xa2, 0x01, 0x00], &mut into).expect("unknown fields are skipped");
    assert_eq!((into.id, into.op.is_none()), (9, true));
    let mut rng = SplitMix64::new(3);
    let mut errors = 0;
    for _ in 0..10_000 {
        let bytes: Vec<u8> = (0..rng.below(64)).map(|_| rng.next_u64() as u8).collect();
        errors += decode_request(&bytes, &mut into).is_err() as usize;
        let _ = decode_response(&bytes);
    }
    assert!(errors > 1000, "random bytes are mostly invalid");
    let good = Request { id: 5, op: Some(request::Op::Ping(Ping {})) }.encode_to_vec();
    assert!(decode_request(&good[..good.len() - 1], &mut into).is_err(), "truncated");
    assert_eq!(into, Request::default(), "a failed decode leaves the message cleared");
}
