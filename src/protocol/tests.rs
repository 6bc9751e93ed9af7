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
                because: random_string(&mut rng),
                days_since_last: [None, Some(0.0), Some(12.5)][rng.below(3)],
                usual_gap_days: [None, Some(7.0)][rng.below(2)],
                usual_gap_orders: [None, Some(0.0), Some(2.0)][rng.below(3)],
                promoted: rng.chance(0.3),
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
            because: &i.because,
            days_since_last: i.days_since_last.unwrap_or(-1.0),
            usual_gap_days: i.usual_gap_days.unwrap_or(-1.0),
            usual_gap_orders: i.usual_gap_orders.unwrap_or(-1.0),
            promoted: i.promoted,
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
fn errors_equal_prost_bytes() {
    let mut out = Vec::new();
    for code in [ErrorCode::MalformedRequest, ErrorCode::Overloaded] {
        out.clear();
        encode_error(&mut out, 0, "", code, "bad things");
        let want = Response {
            id: 0,
            model_version: String::new(),
            result: Some(response::Result::Error(Error {
                code: code as i32,
                message: "bad things".into(),
                retry_after_ms: 0,
            })),
        };
        assert_eq!(payload(&out), want.encode_to_vec().as_slice());
        assert_eq!(decode_response(payload(&out)).expect("decodes").result, want.result);
    }
    out.clear();
    encode_error_retry(&mut out, 4, "v", ErrorCode::Overloaded, "slow down", 250);
    let want = Response {
        id: 4,
        model_version: "v".into(),
        result: Some(response::Result::Error(Error {
            code: ErrorCode::Overloaded as i32,
            message: "slow down".into(),
            retry_after_ms: 250,
        })),
    };
    assert_eq!(payload(&out), want.encode_to_vec().as_slice());
}

#[test]
fn ping_request_example_bytes_in_protocol_md() {
    // PROTOCOL.md shows these exact bytes (the answer's are checked in `ops`); keep them in sync.
    let mut out = Vec::new();
    encode_request_frame(&mut out, &Request { id: 7, op: Some(request::Op::Ping(Ping {})) });
    assert_eq!(out, [0, 0, 0, 4, 0x08, 0x07, 0x52, 0x00]);
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
fn request_envelopes_find_the_id_and_the_last_known_operation() {
    let known = |tag: u32| (10..=12).contains(&tag);
    let req = Request { id: 9, op: Some(request::Op::Recommend(RecommendRequest { k: 3, ..Default::default() })) };
    let bytes = req.encode_to_vec();
    let (id, op) = request_envelope(&bytes, known).expect("valid");
    assert_eq!(id, 9);
    let (tag, body) = op.expect("an operation");
    assert_eq!(tag, 12);
    assert_eq!(RecommendRequest::decode(body).expect("body"), RecommendRequest { k: 3, ..Default::default() });
    // id 9, then field 99 (length-delimited, empty): an operation from a newer client is skipped.
    assert_eq!(request_envelope(&[0x08, 0x09, 0x9a, 0x06, 0x00], known), Ok((9, None)));
    // A known operation, then an unknown one: the known one stays (prost's oneof does the same).
    let mut two = bytes.clone();
    two.extend_from_slice(&[0x9a, 0x06, 0x00]);
    assert_eq!(request_envelope(&two, known).expect("valid").1.map(|o| o.0), Some(12));
    // A known operation with the wrong wire type is an error, as in prost.
    assert!(matches!(request_envelope(&[0x50, 0x01], known), Err(WireError::WireType(10))));
    assert!(Request::decode(&[0x50u8, 0x01][..]).is_err());
    // Truncated.
    assert!(request_envelope(&bytes[..bytes.len() - 1], known).is_err());
    assert!(request_envelope(&[], known).expect("empty is a valid message").1.is_none());
}

#[test]
fn the_field_walker_agrees_with_prost_on_random_bytes() {
    // Whatever the bytes, the walker and prost accept or refuse the same requests, and agree on
    // the id; garbage never panics.
    let known = |tag: u32| (10..=12).contains(&tag);
    let mut rng = SplitMix64::new(3);
    let (mut errors, mut agreed) = (0, 0);
    for _ in 0..20_000 {
        let bytes: Vec<u8> = (0..rng.below(64)).map(|_| rng.next_u64() as u8).collect();
        let ours = request_envelope(&bytes, known);
        let theirs = Request::decode(&bytes[..]);
        let _ = decode_response(&bytes);
        let _ = response_envelope(&bytes);
        errors += ours.is_err() as usize;
        if let (Ok((id, _)), Ok(r)) = (&ours, &theirs) {
            assert_eq!(*id, r.id);
            agreed += 1;
        }
        // prost also checks the operation's body, which the envelope leaves to the operation.
        if ours.is_err() {
            assert!(theirs.is_err(), "{bytes:?}: the walker refused what prost accepts");
        }
    }
    assert!(errors > 1000 && agreed > 100, "random bytes are mostly invalid: {errors} errors, {agreed} agreed");
}

#[test]
fn response_envelopes_match_prost() {
    let mut rng = SplitMix64::new(5);
    for round in 0..500 {
        let result = match round % 4 {
            0 => response::Result::Pong(Pong { server_time_us: rng.next_u64() }),
            1 => response::Result::Recommendation(Recommendation { items: vec![], took_us: 3 }),
            2 => response::Result::ModelInfo(ModelInfo::default()),
            _ => response::Result::Error(Error {
                code: rng.below(10) as i32,
                message: random_string(&mut rng),
                retry_after_ms: 0,
            }),
        };
        let r = Response { id: rng.next_u64(), model_version: random_string(&mut rng), result: Some(result) };
        let bytes = r.encode_to_vec();
        let e = response_envelope(&bytes).expect("valid");
        assert_eq!((e.id, e.model_version), (r.id, r.model_version.as_str()));
        let (tag, error) = match &r.result {
            Some(response::Result::Pong(_)) => (10, None),
            Some(response::Result::ModelInfo(_)) => (11, None),
            Some(response::Result::Recommendation(_)) => (12, None),
            Some(response::Result::EventsAck(_)) => (13, None),
            Some(response::Result::Store(_)) => (16, None),
            Some(response::Result::Bundles(_)) => (17, None),
            Some(response::Result::Error(x)) => (15, Some(x.code)),
            None => (0, None),
        };
        assert_eq!((e.result, e.error), (tag, error));
    }
    assert!(response_envelope(&[0x08]).is_err(), "cut short");
}

#[test]
fn split_frames_while_stops_after_the_frame_that_says_so() {
    let mut buf = Vec::new();
    for body in [&b"a"[..], b"bb", b"ccc"] {
        write_frame(&mut buf, |o| o.extend_from_slice(body));
    }
    let mut seen = Vec::new();
    let (used, err) = split_frames_while(&buf, 10, |p| {
        seen.push(p.to_vec());
        seen.len() < 2
    });
    assert_eq!((used, err, seen.len()), (5 + 6, None, 2), "two frames consumed, the third left");
    let (rest, _) = split_frames_while(&buf[used..], 10, |_| true);
    assert_eq!(used + rest, buf.len());
}
