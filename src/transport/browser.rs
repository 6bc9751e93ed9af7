//! What a web page in someone's browser could make it send to endcap, refused. A browser carries
//! the identity of whoever runs it (on a server with a store CA, plain HTTP on loopback is ops), so
//! any site it visits could otherwise:
//!
//! - **forge a request** (a cross-site form or `fetch` with a simple content type: no CORS
//!   preflight) that forgets a customer, opts one out or reports events. Refused: a request that
//!   is not `GET` or `HEAD` and that the browser marks as cross-site (`Sec-Fetch-Site` other than
//!   `same-origin` or `none`) or whose `Origin` is not the address it was sent to (`Host`).
//! - **rebind a name** to 127.0.0.1 (DNS rebinding), making endcap its own origin and reading
//!   answers, audiences included. Refused: a plain-HTTP request whose `Host` is a name other than
//!   `localhost` (an IP address cannot be rebound; over TLS the certificate would not match).
//!
//! Clients that are not browsers (devices, `curl`, scripts) send neither header and address the
//! server as they please over TLS; over plain HTTP, by IP address or `localhost`.

use axum::http::{HeaderMap, Method, header};

/// Why a request is refused as one a browser was made to send, or `Ok`.
pub fn check(method: &Method, headers: &HeaderMap, tls: bool) -> Result<(), String> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let from_browser = headers.contains_key(header::ORIGIN) || headers.contains_key("sec-fetch-site");
    if !tls && (!host.is_empty() || from_browser) && !is_address(host) {
        let shown: String = host.chars().take(100).collect();
        return Err(format!(
            "Host {shown:?} is a name: plain HTTP answers only requests addressed to an IP address or localhost \
             (a guard against DNS rebinding); use the address, or HTTPS for a name"
        ));
    }
    if method == Method::GET || method == Method::HEAD {
        return Ok(());
    }
    let site = headers.get("sec-fetch-site").map(|v| v.to_str().unwrap_or("?"));
    if let Some(site) = site.filter(|s| *s != "same-origin" && *s != "none") {
        let shown: String = site.chars().take(20).collect();
        return Err(format!("a {shown} browser request: endcap takes requests from other web sites only as reads"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let authority = origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, a)| a);
        if authority != Some(host) {
            return Err("the request's Origin is not this server: refused as a cross-site request".into());
        }
    }
    Ok(())
}

/// `host` (`name[:port]` or `[v6]:port`) is an IP address or `localhost`.
fn is_address(host: &str) -> bool {
    let port_ok = |port: &str| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    let name = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, "")) => v6,
            Some((v6, tail)) if tail.strip_prefix(':').is_some_and(port_ok) => v6,
            _ => return false,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) if port_ok(port) => name,
            Some(_) => return false,
            None => host,
        },
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for &(k, v) in pairs {
            h.insert(k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn hosts_that_cannot_be_rebound_are_addresses_and_localhost() {
        for host in ["127.0.0.1:8080", "127.0.0.1", "[::1]:8080", "[::1]", "localhost:8080", "LOCALHOST", "10.1.2.3:80"]
        {
            assert!(is_address(host), "{host}");
        }
        let refused = ["evil.example:8080", "evil.example", "127.0.0.1.nip.io:8080", "[::1", "localhost.evil:80", ""];
        for host in refused.into_iter().chain(["[::1]evil.example", "[::1]:80x", "localhost:", "127.0.0.1:x"]) {
            assert!(!is_address(host), "{host}");
        }
    }

    #[test]
    fn cross_site_writes_and_rebound_names_are_refused() {
        let post = Method::POST;
        let local = ("host", "127.0.0.1:8080");
        // Devices and curl: no browser headers.
        assert!(check(&post, &headers(&[local]), false).is_ok());
        assert!(check(&post, &HeaderMap::new(), false).is_ok());
        // The console itself: same origin.
        let same = [local, ("origin", "http://127.0.0.1:8080"), ("sec-fetch-site", "same-origin")];
        assert!(check(&post, &headers(&same), false).is_ok());
        // Another site's page.
        assert!(check(&post, &headers(&[local, ("sec-fetch-site", "cross-site")]), false).is_err());
        assert!(check(&post, &headers(&[local, ("sec-fetch-site", "same-site")]), false).is_err());
        assert!(check(&post, &headers(&[local, ("origin", "http://evil.example")]), false).is_err());
        assert!(check(&Method::DELETE, &headers(&[local, ("origin", "null")]), false).is_err());
        // Reads may come from anywhere (the browser does not let the other site see them)...
        assert!(check(&Method::GET, &headers(&[local, ("sec-fetch-site", "cross-site")]), false).is_ok());
        // ...but not through a rebound name, unless over TLS.
        let rebound = [("host", "evil.example:8080"), ("origin", "http://evil.example:8080")];
        assert!(check(&Method::GET, &headers(&rebound), false).is_err());
        assert!(check(&post, &headers(&rebound), false).is_err());
        assert!(check(&post, &headers(&[("host", "store-7.example:8443")]), true).is_ok());
        // A browser request with no Host at all is not let through on plain HTTP.
        assert!(check(&Method::GET, &headers(&[("sec-fetch-site", "none")]), false).is_err());
    }
}
