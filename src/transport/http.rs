//! HTTP/JSON transport: the same operations as QUIC for terminals, scripts and `curl` (one route
//! per operation, from the list in `ops`), the ops endpoints `/healthz`, `/readyz` and `/metrics`,
//! and the admin endpoints `/v1/admin/reload` and `/v1/admin/rollback`.
//!
//! Bodies are read as bytes (not with axum's `Json` extractor) and parsed by the operation, so
//! that every refusal, including a body that is too large or not JSON, gets endcap's error shape
//! and is counted.

use std::cell::RefCell;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::clock::Now;
use crate::live::{self, Outcome, ReloadError, Trigger};
use crate::metrics::Transport;
use crate::ops::json::{ErrorBody, ErrorJson};
use crate::ops::{self, Method, OpId};
use crate::protocol::ErrorCode;
use crate::service::Service;

thread_local! {
    /// Each worker thread's operation buffers (HTTP requests on one thread run one at a time).
    static STATE: RefCell<ops::State> = RefCell::new(ops::State::default());
}

/// The HTTP status for an error code.
pub fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::FrameTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnknownZone | ErrorCode::UnknownAisle | ErrorCode::UnknownOperation => StatusCode::NOT_FOUND,
        ErrorCode::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Overloaded => StatusCode::TOO_MANY_REQUESTS,
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

/// The router for every endpoint.
pub fn router(service: Arc<Service>) -> Router {
    let limit = service.config.server.max_frame_bytes;
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/admin/reload", post(admin_reload))
        .route("/v1/admin/rollback", post(admin_rollback));
    for &(op, method, path) in ops::HTTP_ROUTES {
        let handler = move |state: State<Arc<Service>>, body: Result<Bytes, BytesRejection>| operation(state, op, body);
        router = router.route(
            path,
            match method {
                Method::Get => get(handler),
                Method::Post => post(handler),
            },
        );
    }
    router.fallback(not_found).layer(DefaultBodyLimit::max(limit)).with_state(service)
}

async fn readyz(State(service): State<Arc<Service>>) -> Response {
    if service.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: no model loaded yet\n").into_response()
    }
}

async fn metrics(State(service): State<Arc<Service>>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], service.metrics.encode()).into_response()
}

async fn not_found(State(service): State<Arc<Service>>, uri: axum::http::Uri) -> Response {
    let msg = format!("no endpoint {uri}; see PROTOCOL.md and README.md for the API");
    refuse(&service, OpId::Invalid, ErrorCode::UnknownOperation, msg, Now::read())
}

/// Serves operation `op` from the request body.
async fn operation(State(service): State<Arc<Service>>, op: OpId, body: Result<Bytes, BytesRejection>) -> Response {
    let now = Now::read();
    let body = match body {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let msg = format!("request body is larger than {} bytes", service.config.server.max_frame_bytes);
            return refuse(&service, op, ErrorCode::FrameTooLarge, msg, now);
        }
        Err(rejection) => return refuse(&service, op, ErrorCode::MalformedRequest, rejection.body_text(), now),
    };
    let mut out = Vec::with_capacity(1024);
    match STATE.with_borrow_mut(|state| service.handle_http(now, op, &body, state, &mut out)) {
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
