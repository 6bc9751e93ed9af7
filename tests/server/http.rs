//! The HTTP/JSON API and the ops endpoints over real HTTP.

use endcap::ops::json::{ErrorJson, RecommendationJson};

use crate::common::{block_on, client, http, items, metric, rec, server};

#[test]
fn health_ready_and_metrics() {
    server();
    assert_eq!(http("GET", "/healthz", "").0, 200);
    let (status, body) = http("GET", "/readyz", "");
    assert_eq!((status, body.trim()), (200, "ready"));
    http("POST", "/v1/recommend", r#"{"customer":"c1"}"#);
    let (status, text) = http("GET", "/metrics", "");
    assert_eq!(status, 200);
    assert!(metric(&text, r#"endcap_requests_total{transport="http",op="recommend",outcome="ok"}"#) >= 1.0);
    assert_eq!(metric(&text, "endcap_model_products"), 5000.0);
    assert_eq!(metric(&text, "endcap_model_customers"), 20000.0);
    assert!(text.contains("endcap_model_info{version=\"demo-"), "{text}");
    assert!(text.contains("endcap_request_duration_seconds_bucket"));
    assert!(text.contains(r#"endcap_quic_connections{socket="0"}"#), "the QUIC socket is listed: {text}");
}

#[test]
fn recommend_over_http_matches_quic() {
    let body = r#"{"customer": "c42", "basket": ["p1"], "k": 7}"#;
    let (status, text) = http("POST", "/v1/recommend", body);
    assert_eq!(status, 200, "{text}");
    let over_http: RecommendationJson = serde_json::from_str(&text).expect("answer JSON");
    assert_eq!(over_http.items.len(), 7);
    assert!(over_http.items.iter().all(|i| i.product_id != "p1"), "basket items are not suggested");
    let over_quic = block_on(async {
        let mut c = client().await;
        let mut r = rec("c42", "", "", 7);
        r.basket = vec!["p1".into()];
        c.recommend(r).await.expect("recommend")
    });
    assert_eq!(over_quic.model_version, over_http.model_version);
    let quic_ids: Vec<&str> = items(&over_quic).items.iter().map(|i| i.product_id.as_str()).collect();
    let http_ids: Vec<&str> = over_http.items.iter().map(|i| i.product_id.as_ref()).collect();
    assert_eq!(quic_ids, http_ids);
}

#[test]
fn model_and_ping_endpoints() {
    let (status, text) = http("GET", "/v1/model", "");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["products"], 5000);
    assert!(v["index"].as_str().expect("index").starts_with("ivf-flat-ip"));
    let (status, text) = http("GET", "/v1/ping", "");
    assert_eq!(status, 200);
    assert!(text.contains("server_time_us"));
}

#[test]
fn anonymous_shopper_gets_popular_items_in_the_zone() {
    let (status, text) = http("POST", "/v1/recommend", r#"{"customer": "", "zone": "fresh", "k": 4}"#);
    assert_eq!(status, 200, "{text}");
    let a: RecommendationJson = serde_json::from_str(&text).expect("JSON");
    assert_eq!(a.items.len(), 4);
    let zone = server().config.zones.iter().find(|z| z.name == "fresh").expect("zone");
    assert!(a.items.iter().all(|i| i.reason == "popular_in_zone" && zone.aisles.iter().any(|z| z == &i.aisle)));
    let (_, text) = http("POST", "/v1/recommend", r#"{"customer": "nobody-knows-me"}"#);
    let a: RecommendationJson = serde_json::from_str(&text).expect("JSON");
    assert!(a.items.iter().all(|i| i.reason == "popular"));
    let e: Result<ErrorJson, _> = serde_json::from_str(&text);
    assert!(e.is_err());
}

/// `promtool check metrics` on `text`; `None` when promtool is not installed (`.ci/run` installs
/// it with the `prometheus` package).
pub fn promtool_check(text: &str) -> Option<(bool, String)> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(text.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Some((out.status.success(), said))
}

#[test]
fn metrics_pass_promtool_and_carry_process_queueing_and_model_age() {
    server();
    http("GET", "/v1/ping", "");
    let (status, text) = http("GET", "/metrics", "");
    assert_eq!(status, 200);
    for name in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_max_fds",
        "process_threads",
        "process_start_time_seconds",
        "endcap_model_age_seconds",
    ] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name} missing");
    }
    assert!(metric(&text, "process_resident_memory_bytes") > 1e6);
    let series = r#"endcap_request_total_duration_seconds_count{transport="http",op="ping"}"#;
    assert!(metric(&text, series) >= 1.0, "the arrival-to-answer histogram counts HTTP requests");
    assert!(!text.contains("# EOF"), "plain Prometheus text for a client that does not ask for OpenMetrics");
    match promtool_check(&text) {
        Some((ok, said)) => assert!(ok, "promtool check metrics failed: {said}"),
        None => eprintln!("promtool is not installed here; the exposition format was not checked"),
    }
    let open = crate::common::http_to(
        server().http,
        "GET",
        "/metrics",
        "Accept: application/openmetrics-text;version=1.0.0\r\n",
        "",
    )
    .1;
    assert!(open.ends_with("# EOF\n"), "OpenMetrics for a scraper that asks for it");
}
