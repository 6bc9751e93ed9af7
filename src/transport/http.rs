//! HTTP/JSON routes: on the public listener the same operations as QUIC for terminals, scripts and
//! `curl` (one route per operation, from the list in `ops`), the ops endpoints `/healthz`,
//! `/readyz` and `/metrics`, and the console page (`console.rs`); on the admin listener
//! `/v1/admin/reload` and `/v1/admin/rollback` beside the ops endpoints. Connections, TLS and time limits are `listen.rs`.
//!
//! Bodies are read as bytes (not with axum's `Json` extractor) and parsed by the operation, so
//! that every refusal, including a body that is too large or not JSON, gets endcap's error shape
//! and is counted.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use super::listen::{Arrived, OverTls};
use crate::clock::Now;
use crate::live::{self, Outcome, ReloadError, Trigger};
use crate::metrics::Transport;
use crate::ops::json::{ErrorBody, ErrorJson};
use crate::ops::{self, Caller, Method, OpId, Role};
use crate::protocol::ErrorCode;
use crate::service::Service;

/// The HTTP status for an error code.
pub fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::FrameTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnknownZone
        | ErrorCode::UnknownAisle
        | ErrorCode::UnknownOperation
        | ErrorCode::UnknownProduct
        | ErrorCode::UnknownSignal => StatusCode::NOT_FOUND,
        ErrorCode::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Overloaded => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::PermissionDenied => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Answers a refusal that never reached an operation in endcap's JSON shape, and counts it.
fn refuse(service: &Service, op: OpId, code: ErrorCode, message: String, now: Now) -> Response {
    service.count_refused(Transport::Http, op, code, now);
    error_json(service, status(code), code.as_str_name(), message)
}

/// The JSON error body every endpoint answers with, carrying the served model's version.
fn error_json(service: &Service, status: StatusCode, code: &str, message: String) -> Response {
    let model_version = service.served_version();
    json_response(status, &ErrorJson { model_version, error: ErrorBody { code: code.to_string(), message } })
}

/// The ops endpoints both listeners serve.
fn ops_endpoints() -> Router<Arc<Service>> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The public listener: one route per operation, and the ops endpoints.
pub fn router(service: Arc<Service>) -> Router {
    let limit = service.config.server.max_frame_bytes;
    let mut router = ops_endpoints().merge(super::console::routes());
    for &(op, method, path) in ops::HTTP_ROUTES {
        let handler = move |state: State<Arc<Service>>,
                            caller: Option<Extension<Caller>>,
                            arrived: Option<Extension<Arrived>>,
                            uri: axum::http::Uri,
                            body: Result<Bytes, BytesRejection>| {
            // Every connection's requests carry their caller (`listen`); one without is treated
            // as the least trusted device, never as an open server.
            let caller = caller.map_or(Caller::role(Role::Beacon), |Extension(c)| c);
            let arrived = arrived.map_or_else(std::time::Instant::now, |Extension(Arrived(t))| t);
            // A GET operation's arguments are its query string, read as a JSON object of strings.
            let body = match (method, uri.query()) {
                (Method::Get, Some(_)) => query_as_json(&uri),
                _ => body,
            };
            async move {
                let service = state.0.clone();
                let response = operation(state, caller, op, body).await;
                service.metrics.observe_total(Transport::Http, op as usize, arrived.elapsed());
                response
            }
        };
        router = router.route(
            path,
            match method {
                Method::Get => get(handler),
                Method::Post => post(handler),
            },
        );
    }
    // REST forms of the privacy operations: the customer in the path.
    let decision = |op: OpId, out: bool| {
        move |state: State<Arc<Service>>, caller: Option<Extension<Caller>>, Path(customer): Path<String>| {
            let caller = caller.map_or(Caller::role(Role::Beacon), |Extension(c)| c);
            let body = serde_json::json!({ "customer": customer, "out": out }).to_string();
            operation(state, caller, op, Ok(Bytes::from(body)))
        }
    };
    router
        .route("/v1/customers/{customer}", delete(decision(OpId::Forget, true)))
        .route("/v1/customers/{customer}/opt-out", post(decision(OpId::OptOut, true)))
        .route("/v1/customers/{customer}/opt-in", post(decision(OpId::OptOut, false)))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(service.clone(), browser_guard))
        .with_state(service)
}

/// Refuses what another web site could make a browser send (`browser.rs`), as PERMISSION_DENIED.
async fn browser_guard(
    State(service): State<Arc<Service>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let tls = request.extensions().get::<OverTls>().is_some_and(|t| t.0);
    match super::browser::check(request.method(), request.headers(), tls) {
        Ok(()) => next.run(request).await,
        Err(msg) => refuse(&service, OpId::Invalid, ErrorCode::PermissionDenied, msg, Now::read()),
    }
}

/// The query string of `uri` as a JSON object of strings (`?product=p1&k=5` ->
/// `{"product":"p1","k":"5"}`); a malformed one is a body the operation refuses.
fn query_as_json(uri: &axum::http::Uri) -> Result<Bytes, BytesRejection> {
    let json = match axum::extract::Query::<std::collections::BTreeMap<String, String>>::try_from_uri(uri) {
        Ok(axum::extract::Query(map)) => serde_json::to_vec(&map).unwrap_or_default(),
        Err(e) => serde_json::to_vec(&serde_json::json!({ "invalid query string": e.body_text() })).unwrap_or_default(),
    };
    Ok(Bytes::from(json))
}

/// The admin listener (loopback by default): reload and rollback behind the bearer token, and
/// the ops endpoints; like the public one, not for other web sites (`browser.rs`).
pub fn admin_router(service: Arc<Service>) -> Router {
    ops_endpoints()
        .route("/v1/admin/reload", post(admin_reload))
        .route("/v1/admin/rollback", post(admin_rollback))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(service.clone(), browser_guard))
        .with_state(service)
}

async fn readyz(State(service): State<Arc<Service>>) -> Response {
    if service.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: no model loaded yet\n").into_response()
    }
}

/// OpenMetrics when the scraper asks for it (Prometheus does), else the Prometheus text format
/// 0.0.4 (curl, promtool, older scrapers).
async fn metrics(State(service): State<Arc<Service>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.contains("application/openmetrics-text") {
        let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
        ([(header::CONTENT_TYPE, content_type)], service.metrics.encode()).into_response()
    } else {
        let content_type = "text/plain; version=0.0.4; charset=utf-8";
        ([(header::CONTENT_TYPE, content_type)], service.metrics.encode_prometheus()).into_response()
    }
}

async fn not_found(State(service): State<Arc<Service>>, uri: axum::http::Uri) -> Response {
    let msg = format!(
        "no endpoint {uri}; see PROTOCOL.md and README.md for the API (admin endpoints are on server.admin_addr)"
    );
    refuse(&service, OpId::Invalid, ErrorCode::UnknownOperation, msg, Now::read())
}

async fn method_not_allowed(
    State(service): State<Arc<Service>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> Response {
    let msg = format!("{method} is not allowed on {uri}; see PROTOCOL.md for each endpoint's method");
    service.count_refused(Transport::Http, OpId::Invalid, ErrorCode::UnknownOperation, Now::read());
    error_json(&service, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", msg)
}

/// Serves operation `op` from the request body for `caller`.
async fn operation(
    State(service): State<Arc<Service>>,
    caller: Caller,
    op: OpId,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = Now::read();
    let body = match body {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let msg = format!("request body is larger than {} bytes", service.config.server.max_frame_bytes);
            return refuse(&service, op, ErrorCode::FrameTooLarge, msg, now);
        }
        Err(rejection) => return refuse(&service, op, ErrorCode::MalformedRequest, rejection.body_text(), now),
    };
    // A state per request: an operation may wait for the journal across an await, and HTTP is
    // for terminals and scripts, not the allocation-free device path.
    let mut state = ops::State::default();
    let mut out = Vec::with_capacity(1024);
    let mut result = service.handle_http(now, caller, op, &body, &mut state, &mut out);
    if result.is_ok() && state.pending.is_some() {
        result = service.finish(Transport::Http, now, caller, &mut state, &mut out).await;
    }
    match result {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], out).into_response(),
        Err(e) => error_json(&service, status(e.code), e.code.as_str_name(), e.message),
    }
}

/// Admin answers: `{"result", "model_version", "previous_version", "took_ms"}`, or an error.
fn admin_answer(service: &Service, result: Result<Outcome, ReloadError>) -> Response {
    match result {
        Ok(Outcome::Swapped { version, previous, took }) => json_response(
            StatusCode::OK,
            &serde_json::json!({
                "result": "swapped",
                "model_version": version,
                "previous_version": previous,
                "took_ms": took.as_secs_f64() * 1e3,
            }),
        ),
        Ok(Outcome::Unchanged { version }) => {
            json_response(StatusCode::OK, &serde_json::json!({ "result": "unchanged", "model_version": version }))
        }
        Err(e) => {
            let (status, code) = match e {
                ReloadError::NoPrevious => (StatusCode::CONFLICT, "NO_PREVIOUS_MODEL"),
                ReloadError::Aborted => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
                _ => (StatusCode::UNPROCESSABLE_ENTITY, "MODEL_REFUSED"),
            };
            error_json(service, status, code, e.to_string())
        }
    }
}

/// `None` when the request may use the admin API; otherwise the refusal.
fn admin_refusal(service: &Service, headers: &HeaderMap) -> Option<Response> {
    let refuse = |status: StatusCode, code: &str, message: &str| {
        let mut response = error_json(service, status, code, message.to_string());
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        Some(response)
    };
    let Some(token) = service.config.server.admin_token.as_deref() else {
        let msg = "admin endpoints are off; set server.admin_token in the config to turn them on";
        return refuse(StatusCode::NOT_FOUND, "ADMIN_DISABLED", msg);
    };
    let given =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(given) if constant_time_eq(given.as_bytes(), token.as_bytes()) => None,
        _ => refuse(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "missing or wrong bearer token"),
    }
}

/// Compares without an early exit, so the time taken does not reveal how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn admin_reload(State(service): State<Arc<Service>>, headers: HeaderMap) -> Response {
    if let Some(refusal) = admin_refusal(&service, &headers) {
        return refusal;
    }
    let path = service.config.model.path.clone();
    let result = live::reload_in_background(service.live.clone(), path, Trigger::Admin).await;
    admin_answer(&service, result)
}

async fn admin_rollback(State(service): State<Arc<Service>>, headers: HeaderMap) -> Response {
    if let Some(refusal) = admin_refusal(&service, &headers) {
        return refusal;
    }
    let live = service.live.clone();
    match tokio::task::spawn_blocking(move || live.rollback()).await {
        Ok(result) => admin_answer(&service, result),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
