//! The shared state of a running server (config, metrics, the model lifecycle) and the two entry
//! points the transports call: `handle_frame` for a QUIC request frame, `handle_http` for an HTTP
//! request. Both load the current engine once (a lock-free pointer read), go through the one
//! dispatch in `ops`, and count the request (transport, operation, outcome, latency, plan,
//! unknown ids). Sans-IO: the caller passes the bytes and the clock.

use std::sync::Arc;

use crate::clock::Now;
use crate::config::Config;
use crate::engine::{Engine, EngineSettings, Plan};
use crate::live::Live;
use crate::metrics::{Metrics, Transport, UnknownId};
use crate::ops::{self, Body, Caller, Cx, OpError, OpId, State};
use crate::protocol::{self, ErrorCode};

/// The shared state of a running server.
#[derive(Debug)]
pub struct Service {
    /// The configuration the server started with.
    pub config: Config,
    /// Every metric.
    pub metrics: Arc<Metrics>,
    /// The served engine, the one kept for rollback, the reload status.
    pub live: Arc<Live>,
}

impl Service {
    /// A service with no model yet (not ready).
    pub fn new(config: Config) -> Arc<Service> {
        let metrics = Arc::new(Metrics::new(OpId::LABELS));
        let live = Arc::new(Live::new(config.model.clone(), EngineSettings::from_config(&config), metrics.clone()));
        Arc::new(Service { config, metrics, live })
    }

    /// The engine serving now, if a model is loaded.
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.live.engine()
    }

    /// True once a model is being served.
    pub fn is_ready(&self) -> bool {
        self.live.is_ready()
    }

    /// The served model's version, or "" before the first model.
    pub fn served_version(&self) -> String {
        self.live.served_version()
    }

    /// The served model's description and reload status (`model_info`).
    pub fn model_info(&self, engine: &Engine) -> protocol::ModelInfo {
        ops::model_info(engine, &self.live.status())
    }

    /// Answers one QUIC request frame payload from `caller` into `out` (a whole response frame)
    /// and counts it; returns the operation it was (for the arrival-to-write latency the
    /// transport observes). `state` is the stream's reusable buffers.
    pub fn handle_frame(&self, now: Now, caller: Caller, payload: &[u8], state: &mut State, out: &mut Vec<u8>) -> OpId {
        let live = self.live.current();
        let cx = Cx { engine: live.as_deref(), live: &self.live, caller, now };
        state.scratch.trace = Default::default();
        let (id, op, result) = match protocol::request_envelope(payload, |tag| OpId::from_tag(tag).is_some()) {
            Err(e) => {
                let msg = format!("request frame is not a valid endcap.v1.Request: {e}");
                (0, OpId::Invalid, Err(OpError::new(ErrorCode::MalformedRequest, msg)))
            }
            Ok((id, op)) => {
                let (op, body) = match op {
                    Some((tag, body)) => (OpId::from_tag(tag).unwrap_or(OpId::Invalid), body),
                    None => (OpId::Invalid, &[][..]),
                };
                (id, op, ops::serve(op, Body::Protobuf { id, body }, &cx, state, out))
            }
        };
        if let Err(e) = &result {
            protocol::encode_error(out, id, cx.version(), e.code, &e.message);
        }
        self.count(Transport::Quic, op, &result, state, now);
        op
    }

    /// Serves an HTTP request for `op` with JSON `body` into `out` (the answer's JSON on success)
    /// and counts it; on error `out` is untouched and the caller writes the error.
    pub fn handle_http(
        &self,
        now: Now,
        caller: Caller,
        op: OpId,
        body: &[u8],
        state: &mut State,
        out: &mut Vec<u8>,
    ) -> Result<(), OpError> {
        let live = self.live.current();
        let cx = Cx { engine: live.as_deref(), live: &self.live, caller, now };
        state.scratch.trace = Default::default();
        let result = ops::serve(op, Body::Json(body), &cx, state, out);
        self.count(Transport::Http, op, &result, state, now);
        result
    }

    /// Answers a QUIC request frame that the transport refuses before serving it (over a rate limit,
    /// say) with `code`, echoing its id, and counts it under its operation.
    pub fn refuse_frame(
        &self,
        now: Now,
        payload: &[u8],
        code: ErrorCode,
        message: &str,
        retry_after_ms: u32,
        out: &mut Vec<u8>,
    ) -> OpId {
        let (id, op) = match protocol::request_envelope(payload, |tag| OpId::from_tag(tag).is_some()) {
            Ok((id, op)) => (id, op.and_then(|(tag, _)| OpId::from_tag(tag)).unwrap_or(OpId::Invalid)),
            Err(_) => (0, OpId::Invalid),
        };
        let version = self.live.current();
        let version = version.as_deref().map_or("", Engine::version);
        protocol::encode_error_retry(out, id, version, code, message, retry_after_ms);
        self.count_refused(Transport::Quic, op, code, now);
        op
    }

    /// Counts a request refused by a transport before it reached an operation (a frame over the
    /// limit, a body that could not be read, a path with no operation).
    pub fn count_refused(&self, transport: Transport, op: OpId, code: ErrorCode, now: Now) {
        self.metrics.record(transport, op as usize, Some(code), now.at.elapsed());
    }

    fn count(&self, transport: Transport, op: OpId, result: &Result<(), OpError>, state: &State, now: Now) {
        let trace = &state.scratch.trace;
        if trace.plan != Plan::None {
            self.metrics.plan(op as usize, trace.plan);
        }
        self.metrics.unknown_id(UnknownId::Customer, trace.unknown_customer as u64);
        self.metrics.unknown_id(UnknownId::BasketProduct, trace.unknown_basket_items as u64);
        self.metrics.record(transport, op as usize, result.as_ref().err().map(|e| e.code), now.at.elapsed());
    }
}
