//! The console page (`GET /`) in a real headless Chromium: it must show, for a demo customer, the
//! same recommendations the server answers over HTTP, and the served model's version.
//!
//! Needs Chromium (`chromium`, `chromium-browser` or `google-chrome` on the PATH, or
//! `ENDCAP_CHROMIUM`); .ci/run installs Debian's `chromium`. Without one the test says so loudly
//! and passes, unless `ENDCAP_REQUIRE_CHROMIUM` is set (CI sets it), when it fails.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TempDir, http, http_with_head, server};

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ENDCAP_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&dirs).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// The page at `query` after its scripts ran, as Chromium serialises it (`--dump-dom`).
fn rendered(browser: &PathBuf, query: &str) -> String {
    let profile = TempDir::new("chromium");
    let url = format!("http://{}/{query}", server().http);
    let mut child = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.0.display()))
        // Virtual time runs the page's timers at once but waits for its requests.
        .args(["--virtual-time-budget=10000", "--dump-dom", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Read both pipes while it runs (a page larger than a pipe's buffer would otherwise block it).
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (dom, log) = (out.join().expect("stdout"), err.join().expect("stderr"));
    assert!(status.success() && !dom.is_empty(), "chromium failed ({status}): {log}");
    dom
}

/// The product ids in the answer table of the page section `id`, in order.
fn shown(dom: &str, id: &str) -> Vec<String> {
    let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no section {id} in {dom}"));
    let section = &dom[start..];
    let section = &section[..section.find("</table>").expect("the section's table")];
    section
        .split("<td class=\"pid\">")
        .skip(1)
        .map(|cell| cell[..cell.find('<').expect("cell end")].to_string())
        .collect()
}

fn product_ids(answer: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(answer).expect("JSON answer");
    v["items"].as_array().expect("items").iter().map(|i| i["product_id"].as_str().expect("id").to_string()).collect()
}

#[test]
fn the_console_shows_a_demo_customers_answers_in_a_real_browser() {
    let s = server();
    // The page and its assets, with a policy that lets it load only itself.
    for (path, kind) in [("/", "text/html"), ("/console.js", "text/javascript"), ("/console.css", "text/css")] {
        let (status, head, body) = http_with_head(s.http, "GET", path, "", "");
        let head = head.to_ascii_lowercase();
        assert_eq!(status, 200, "{path}");
        assert!(head.contains(&format!("content-type: {kind}")), "{path}: {head}");
        assert!(head.contains("content-security-policy: default-src 'none'; script-src 'self'"), "{path}: {head}");
        assert!(!body.is_empty());
    }

    let Some(browser) = chromium() else {
        let msg = "no Chromium (install Debian's chromium, or set ENDCAP_CHROMIUM)";
        return crate::common::skip_unless_required("ENDCAP_REQUIRE_CHROMIUM", "the console in a browser", msg);
    };
    // A customer no other test sends events for, so their answer stays the same meanwhile.
    let asked = r#"{"customer":"c4321","zone":"drinks","basket":["p3240"],"k":6}"#;
    let (status, answer) = http("POST", "/v1/recommend", asked);
    assert_eq!(status, 200, "{answer}");
    let expected = product_ids(&answer);
    assert_eq!(expected.len(), 6);
    let dom = rendered(&browser, "?customer=c4321&zone=drinks&k=6&basket=p3240");
    assert!(dom.contains("data-ready=\"1\""), "the page did not finish: {dom}");
    assert_eq!(shown(&dom, "recommend"), expected, "the page shows what the server answers");
    let version = s.service.served_version();
    assert!(dom.contains(&format!("model {version}")), "model version {version} not shown");

    // The basket's answers: what goes with it (the same as over HTTP), substitutes for its first
    // product, and the basket reordered.
    let (_, complete) = http("POST", "/v1/complete", r#"{"customer":"c4321","basket":["p3240"],"k":6}"#);
    assert_eq!(shown(&dom, "complete"), product_ids(&complete));
    let (_, similar) = http("POST", "/v1/similar", r#"{"product":"p3240","k":6}"#);
    assert_eq!(shown(&dom, "similar"), product_ids(&similar));
    assert_eq!(shown(&dom, "rerank"), ["p3240"]);
    // The zones of the store are listed, and the one asked for is selected.
    assert!(dom.contains("<b>drinks</b>"), "zones not listed");
}

#[test]
fn other_web_sites_cannot_make_a_browser_write_nor_rebind_a_name_to_read() {
    let s = server();
    let refused = r#"endcap_requests_total{transport="http",op="invalid",outcome="permission_denied"}"#;
    let count = || crate::common::metric(&http("GET", "/metrics", "").1, refused);
    let before = count();
    // A page on another site posting a form or a simple fetch to opt a customer out: refused.
    let opt_out = r#"{"customer":"c4999","out":true}"#;
    for headers in ["Origin: http://evil.example\r\n", "Sec-Fetch-Site: cross-site\r\n", "Origin: null\r\n"] {
        let (status, _, body) = http_with_head(s.http, "POST", "/v1/opt-out", headers, opt_out);
        assert_eq!(status, 403, "{headers}: {body}");
        assert!(body.contains("PERMISSION_DENIED"), "{body}");
    }
    // A name rebound to this address: not even reads.
    let (status, _, body) = http_with_head(s.http, "GET", "/v1/model", "Host: evil.example:8080\r\n", "");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("DNS rebinding"), "{body}");
    assert!(count() >= before + 4.0, "refusals are counted");
    // Nor on the admin listener (its /metrics names devices).
    let (status, _, body) = http_with_head(s.admin, "GET", "/metrics", "Host: evil.example:9090\r\n", "");
    assert_eq!(status, 403, "{body}");
    assert_eq!(http_with_head(s.admin, "GET", "/readyz", "", "").0, 200);
    // Nothing was opted out: c4999 still gets their own answer.
    let (_, answer) = http("POST", "/v1/recommend", r#"{"customer":"c4999","k":5}"#);
    assert!(!answer.contains("\"segment\""), "{answer}");
    // The console's own requests (same origin) and devices' (no browser headers) are served.
    let same = format!("Origin: http://{}\r\nSec-Fetch-Site: same-origin\r\n", s.http);
    let (status, _, body) = http_with_head(s.http, "POST", "/v1/recommend", &same, r#"{"customer":"c4999","k":5}"#);
    assert_eq!(status, 200, "{body}");
}
