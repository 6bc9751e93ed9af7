//! HTTP/JSON transport: the same operations as QUIC for terminals, scripts and `curl`, plus
//! the ops endpoints `/healthz`, `/readyz` and `/metrics`.
//!
//! Bodies are parsed by hand from bytes (not axum's `Json` extractor) so that every refusal,
//! including a body that is too large or not JSON, gets endcap's error shape and is counted.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::json::{ErrorBody, ErrorJson, ItemJson, RecommendBody, RecommendationJson};
use crate::engine::{Query, Scratch};
use crate::metrics::{Op, Transport};
use crate::protocol::ErrorCode;
use crate::reload::{self, Outcome, ReloadError, Trigger};
use crate::service::{Service, error_code};

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
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

/// Answers an error in endcap's JSON shape and counts it.
fn error(service: &Service, op: Op, code: ErrorCode, message: String, started: Instant) -> Response {
    service.metrics.record(Transport::Http, op, Some(code), started.elapsed());
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
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/ping", get(ping))
        .route("/v1/model", get(model))
        .route("/v1/recommend", post(recommend))
        .route("/v1/admin/reload", post(admin_reload))
        .route("/v1/admin/rollback", post(admin_rollback))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(service)
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
    error(&service, Op::Invalid, ErrorCode::UnknownOperation, msg, Instant::now())
}

async fn ping(State(service): State<Arc<Service>>) -> Response {
    let started = Instant::now();
    let model_version = service.served_version();
    let now_us = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
    service.metrics.record(Transport::Http, Op::Ping, None, started.elapsed());
    json_response(StatusCode::OK, &serde_json::json!({ "model_version": model_version, "server_time_us": now_us }))
}

async fn model(State(service): State<Arc<Service>>) -> Response {
    let started = Instant::now();
    let Some(engine) = service.engine() else {
        return error(&service, Op::ModelInfo, ErrorCode::NotReady, "no model is loaded yet".into(), started);
    };
    let info = service.model_info(&engine);
    service.metrics.record(Transport::Http, Op::ModelInfo, None, started.elapsed());
    json_response(
        StatusCode::OK,
        &serde_json::json!({
            "model_version": info.model_version,
            "format_version": info.format_version,
            "dim": info.dim,
            "products": info.products,
            "customers": info.customers,
            "signals": info.signals,
            "loaded_at_unix_ms": info.loaded_at_unix_ms,
            "source": info.source,
            "index": info.index,
            "built_by": info.built_by,
            "last_load_us": info.last_load_us,
            "previous_version": info.previous_version,
            "refused_loads": info.refused_loads,
            "last_refusal": info.last_refusal,
        }),
    )
}

async fn recommend(State(service): State<Arc<Service>>, body: Result<Bytes, BytesRejection>) -> Response {
    let started = Instant::now();
    let body = match body {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let msg = format!("request body is larger than {} bytes", service.config.server.max_frame_bytes);
            return error(&service, Op::Recommend, ErrorCode::FrameTooLarge, msg, started);
        }
        Err(rejection) => {
            return error(&service, Op::Recommend, ErrorCode::MalformedRequest, rejection.body_text(), started);
        }
    };
    let req: RecommendBody = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("request body is not a valid recommend request: {e}");
            return error(&service, Op::Recommend, ErrorCode::MalformedRequest, msg, started);
        }
    };
    let Some(engine) = service.engine() else {
        return error(&service, Op::Recommend, ErrorCode::NotReady, "no model is loaded yet".into(), started);
    };
    let basket: crate::ids::IdList = req.basket.iter().collect();
    let q = Query {
        customer: &req.customer,
        zone: req.zone.as_deref().unwrap_or(""),
        aisle: req.aisle.as_deref().unwrap_or(""),
        basket: &basket,
        k: req.k.unwrap_or(0),
        mode: crate::engine::Mode::Mixed,
        min_discover: 0,
        now_unix_s: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    };
    SCRATCH.with_borrow_mut(|s| match service.recommend(&engine, &q, s) {
        Ok(()) => {
            let items = s
                .hits()
                .iter()
                .map(|h| {
                    let (id, name, aisle) = engine.describe(h.row);
                    ItemJson {
                        product_id: Cow::Borrowed(id),
                        name: Cow::Borrowed(name),
                        aisle: Cow::Borrowed(aisle),
                        score: h.score,
                        reason: Cow::Borrowed(h.reason.as_str()),
                    }
                })
                .collect();
            let took_us = started.elapsed().as_micros() as u64;
            let answer = RecommendationJson { model_version: Cow::Borrowed(engine.version()), items, took_us };
            let response = json_response(StatusCode::OK, &answer);
            service.metrics.record(Transport::Http, Op::Recommend, None, started.elapsed());
            response
        }
        Err(e) => error(&service, Op::Recommend, error_code(&e), e.to_string(), started),
    })
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
    let result = reload::reload_in_background(service.clone(), path, Trigger::Admin).await;
    admin_answer(&service, result)
}

async fn admin_rollback(State(service): State<Arc<Service>>, headers: HeaderMap) -> Response {
    if let Some(refusal) = admin_refusal(&service, &headers) {
        return refusal;
    }
    let worker = service.clone();
    match tokio::task::spawn_blocking(move || reload::rollback(&worker)).await {
        Ok(result) => admin_answer(&service, result),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
