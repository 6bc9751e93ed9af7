//! Bad input gets a clear, counted error; the stream, connection and process live on.

use endcap::protocol::{ErrorCode, encode_request_frame, request};

use crate::common::{block_on, client, error, http, items, metric, rec};

#[test]
fn malformed_frame_is_answered_and_the_stream_continues() {
    block_on(async {
        let mut c = client().await;
        let garbage = [0u8, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff];
        let a = c.send_raw(&garbage).await.expect("answer");
        assert_eq!(error(&a).code(), ErrorCode::MalformedRequest);
        let a = c.recommend(rec("c1", "", "", 3)).await.expect("same stream still works");
        assert_eq!(items(&a).items.len(), 3);
    });
}

#[test]
fn oversize_frame_ends_only_that_stream() {
    block_on(async {
        let mut c = client().await;
        let mut other = client().await;
        let huge = (10u32 << 20).to_be_bytes();
        let a = c.send_raw(&huge).await.expect("answer");
        assert_eq!(error(&a).code(), ErrorCode::FrameTooLarge);
        assert!(error(&a).message.contains("65536"), "{}", error(&a).message);
        c.new_stream().await.expect("the connection lives on");
        assert_eq!(items(&c.recommend(rec("c2", "", "", 2)).await.expect("new stream")).items.len(), 2);
        assert!(other.ping().await.is_ok(), "other connections are untouched");
    });
}

#[test]
fn unknown_operation_keeps_the_request_id() {
    block_on(async {
        let mut c = client().await;
        // Field 1 = id 9, then field 99 (an operation from the future) as an empty message.
        let payload = [0x08, 0x09, 0x9a, 0x06, 0x00];
        let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&payload);
        let a = c.send_raw(&frame).await.expect("answer");
        assert_eq!(a.id, 9);
        assert_eq!(error(&a).code(), ErrorCode::UnknownOperation);
        let mut ok = Vec::new();
        encode_request_frame(
            &mut ok,
            &endcap::protocol::Request { id: 10, op: Some(request::Op::Ping(Default::default())) },
        );
        assert_eq!(c.send_raw(&ok).await.expect("answer").id, 10);
    });
}

#[test]
fn unknown_names_huge_k_and_huge_baskets() {
    block_on(async {
        let mut c = client().await;
        let a = c.recommend(rec("c1", "", "Moon Rocks", 3)).await.expect("answer");
        assert_eq!(error(&a).code(), ErrorCode::UnknownAisle);
        assert!(error(&a).message.contains("Moon Rocks"));
        let a = c.recommend(rec("c1", "mezzanine", "", 3)).await.expect("answer");
        assert_eq!(error(&a).code(), ErrorCode::UnknownZone);
        let a = c.recommend(rec("c1", "", "", u32::MAX)).await.expect("answer");
        assert_eq!(items(&a).items.len(), 50, "k is clamped to max_k");
        let a = c.recommend(rec("stranger-123", "", "", 3)).await.expect("answer");
        assert!(items(&a).items.iter().all(|i| i.reason == "popular"));
        let mut big = rec("c1", "", "", 3);
        big.basket = (0..500).map(|i| format!("p{i}")).collect();
        let a = c.recommend(big).await.expect("answer");
        assert_eq!(error(&a).code(), ErrorCode::InvalidArgument);
        assert!(c.ping().await.is_ok());
    });
}

#[test]
fn http_bad_requests_get_json_errors_and_are_counted() {
    let before = http("GET", "/metrics", "").1;
    let series = r#"endcap_requests_total{transport="http",op="recommend",outcome="malformed_request"}"#;
    let cases = [
        ("{not json", 400, "MALFORMED_REQUEST"),
        (r#"{"customer": "c1", "k": -3}"#, 400, "MALFORMED_REQUEST"),
        (r#"{"customer": "c1", "k": 99999999999}"#, 400, "MALFORMED_REQUEST"),
        (r#"{"customer": 42, "zone": "fresh"}"#, 400, "MALFORMED_REQUEST"),
        (r#"{"customer": "c1", "aisle": "Moon Rocks"}"#, 404, "UNKNOWN_AISLE"),
        (r#"{"customer": "c1", "zone": "mezzanine"}"#, 404, "UNKNOWN_ZONE"),
        (&format!(r#"{{"customer": "c1", "zone": "{}"}}"#, "z".repeat(129)), 400, "INVALID_ARGUMENT"),
        (&format!(r#"{{"customer": "c1", "basket": ["{}"]}}"#, "p".repeat(257)), 400, "INVALID_ARGUMENT"),
    ];
    for (body, status, code) in cases {
        let (got, text) = http("POST", "/v1/recommend", body);
        assert_eq!(got, status, "{body} -> {text}");
        let e: endcap::ops::json::ErrorJson = serde_json::from_str(&text).expect("error JSON");
        assert_eq!(e.error.code, code, "{body}");
        assert!(!e.error.message.is_empty());
    }
    // A request without a customer is an anonymous shopper: answered, not refused.
    assert_eq!(http("POST", "/v1/recommend", r#"{"zone": "fresh"}"#).0, 200);
    // Unknown fields are ignored, as protobuf ignores them: a newer client still gets answers.
    assert_eq!(http("POST", "/v1/recommend", r#"{"customer": "c1", "colour": "red"}"#).0, 200);
    let huge = format!(r#"{{"customer": "{}"}}"#, "x".repeat(100_000));
    assert_eq!(http("POST", "/v1/recommend", &huge).0, 413);
    assert_eq!(http("GET", "/v2/teleport", "").0, 404);
    let after = http("GET", "/metrics", "").1;
    assert!(metric(&after, series) >= metric(&before, series) + 4.0);
    assert_eq!(http("GET", "/healthz", "").0, 200);
}

/// Opens a bare stream on a new connection to the shared server.
async fn raw_stream() -> (quinn::Endpoint, quinn::Connection, quinn::SendStream, quinn::RecvStream) {
    let s = crate::common::server();
    let trust = endcap::transport::tls::Trust::pinned(&s.fingerprint).expect("fingerprint");
    let (endpoint, conn) = endcap::client::connect_quic(&s.quic, trust).await.expect("connects");
    let (send, recv) = conn.open_bi().await.expect("stream");
    (endpoint, conn, send, recv)
}

/// Reads every answer frame until the server finishes the stream.
async fn answers(recv: &mut quinn::RecvStream) -> Vec<endcap::protocol::Response> {
    let bytes = recv.read_to_end(1 << 20).await.expect("the server finishes the stream");
    let mut out = Vec::new();
    let (used, err) = endcap::protocol::split_frames(&bytes, 1 << 20, |p| {
        out.push(endcap::protocol::decode_response(p).expect("an answer"));
    });
    assert_eq!((used, err), (bytes.len(), None), "whole frames only");
    out
}

#[test]
fn pipelined_frames_in_one_write_are_answered_in_order() {
    block_on(async {
        let (_endpoint, _conn, mut send, mut recv) = raw_stream().await;
        let mut out = Vec::new();
        let ping = |id| endcap::protocol::Request { id, op: Some(request::Op::Ping(endcap::protocol::Ping {})) };
        encode_request_frame(&mut out, &ping(1));
        out.extend_from_slice(&[0, 0, 0, 2, 0xff, 0xff]); // a malformed message between good ones
        encode_request_frame(
            &mut out,
            &endcap::protocol::Request { id: 3, op: Some(request::Op::Recommend(rec("c5", "", "", 2))) },
        );
        encode_request_frame(&mut out, &ping(4));
        send.write_all(&out).await.expect("write");
        send.finish().expect("finish");
        let got = answers(&mut recv).await;
        assert_eq!(got.iter().map(|a| a.id).collect::<Vec<_>>(), [1, 0, 3, 4], "one answer each, in order");
        assert_eq!(error(&got[1]).code(), ErrorCode::MalformedRequest);
        assert_eq!(items(&got[2]).items.len(), 2);
    });
}

#[test]
fn a_stream_that_ends_inside_a_frame_is_told_so() {
    block_on(async {
        for (bytes, says) in
            [(&[0u8, 0][..], "inside a frame length prefix"), (&[0, 0, 0, 9, 1, 2], "2 bytes into a 9-byte frame")]
        {
            let (_endpoint, _conn, mut send, mut recv) = raw_stream().await;
            send.write_all(bytes).await.expect("write");
            send.finish().expect("finish");
            let got = answers(&mut recv).await;
            assert_eq!(got.len(), 1);
            assert_eq!(error(&got[0]).code(), ErrorCode::MalformedRequest);
            assert!(error(&got[0]).message.contains(says), "{}", error(&got[0]).message);
        }
    });
}
