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
use crate::ops::{self, Body, Caller, Cx, Form, OpError, OpId, Pending, Served, State};
use crate::protocol::{self, ErrorCode};
use crate::shoppers::Shoppers;

/// The shared state of a running server.
#[derive(Debug)]
pub struct Service {
    /// The configuration the server started with.
    pub config: Config,
    /// Every metric.
    pub metrics: Arc<Metrics>,
    /// The served engine, the one kept for rollback, the reload status.
    pub live: Arc<Live>,
    /// Events, sessions and privacy choices; `None` for a server without an event journal.
    pub shoppers: Option<Arc<Shoppers>>,
}

impl Service {
    /// A service with no model yet (not ready) and no event journal.
    pub fn new(config: Config) -> Arc<Service> {
        Service::with_shoppers(config, None)
    }

    /// A service with no model yet, taking events into `shoppers`.
    pub fn with_shoppers(config: Config, shoppers: Option<Arc<Shoppers>>) -> Arc<Service> {
        let metrics = Arc::new(Metrics::new(OpId::LABELS));
        let live = Arc::new(Live::new(config.model.clone(), EngineSettings::from_config(&config), metrics.clone()));
        Arc::new(Service { config, metrics, live, shoppers })
    }

    fn cx<'a>(&'a self, engine: Option<&'a Engine>, caller: Caller, now: Now) -> Cx<'a> {
        Cx { engine, live: &self.live, caller, shoppers: self.shoppers.as_deref(), now }
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
    /// transport observes). `state` is the stream's reusable buffers. When the operation waits for
    /// the journal (`state.pending` is set), nothing is written yet: the transport awaits
    /// [`finish`](Self::finish) before it serves the stream's next frame.
    pub fn handle_frame(&self, now: Now, caller: Caller, payload: &[u8], state: &mut State, out: &mut Vec<u8>) -> OpId {
        let live = self.live.current();
        let cx = self.cx(live.as_deref(), caller, now);
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
        match result {
            Ok(Served::Done) => self.count(Transport::Quic, op, caller, &Ok(()), state, now),
            Ok(Served::Wait(ack)) => state.pending = Some(Pending { op, form: Form::Protobuf { id }, ack }),
            Err(e) => {
                protocol::encode_error(out, id, cx.version(), e.code, &e.message);
                self.count(Transport::Quic, op, caller, &Err(e), state, now);
            }
        }
        op
    }

    /// Finishes the operation waiting in `state.pending` (if any) once its journal acknowledgement
    /// resolves: writes its answer to `out` (an error answer on failure) and counts it.
    pub async fn finish(
        &self,
        transport: Transport,
        now: Now,
        caller: Caller,
        state: &mut State,
        out: &mut Vec<u8>,
    ) -> Result<(), OpError> {
        let Some(Pending { op, form, ack }) = state.pending.take() else { return Ok(()) };
        let appended = ack.wait().await;
        let live = self.live.current();
        let cx = self.cx(live.as_deref(), caller, now);
        let result = ops::complete(op, &cx, state, appended, form, out);
        if let (Err(e), Form::Protobuf { id }) = (&result, form) {
            protocol::encode_error(out, id, cx.version(), e.code, &e.message);
        }
        self.count(transport, op, caller, &result, state, now);
        result
    }

    /// Serves an HTTP request for `op` with JSON `body` into `out` (the answer's JSON on success)
    /// and counts it; on error `out` is untouched and the caller writes the error. When the
    /// operation waits for the journal (`state.pending` is set), the caller awaits
    /// [`finish`](Self::finish).
    pub fn handle_http(
        &self,
        now: Now,
        caller: Caller,
        op: OpId,
        body: &[u8],
        state: &mut State,
        out: &mut Vec<u8>,
    ) -> Result<(), OpError> {
        self.handle_json(Transport::Http, now, caller, op, body, state, out)
    }

    /// As [`handle_http`](Self::handle_http), for a JSON request from `transport` (HTTP, the
    /// message bus).
    #[allow(clippy::too_many_arguments)]
    pub fn handle_json(
        &self,
        transport: Transport,
        now: Now,
        caller: Caller,
        op: OpId,
        body: &[u8],
        state: &mut State,
        out: &mut Vec<u8>,
    ) -> Result<(), OpError> {
        let live = self.live.current();
        let cx = self.cx(live.as_deref(), caller, now);
        state.scratch.trace = Default::default();
        let result = ops::serve(op, Body::Json(body), &cx, state, out);
        match result {
            Ok(Served::Done) => {
                self.count(transport, op, caller, &Ok(()), state, now);
                Ok(())
            }
            Ok(Served::Wait(ack)) => {
                state.pending = Some(Pending { op, form: Form::Json, ack });
                Ok(())
            }
            Err(e) => {
                let result = Err(e);
                self.count(transport, op, caller, &result, state, now);
                result
            }
        }
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

    fn count(
        &self,
        transport: Transport,
        op: OpId,
        caller: Caller,
        result: &Result<(), OpError>,
        state: &State,
        now: Now,
    ) {
        if op.counted_by_caller() {
            let error = result.as_ref().err().map(|e| e.code);
            self.metrics.caller_request(op as usize, caller.role, caller.device, error);
        }
        let trace = &state.scratch.trace;
        if trace.plan != Plan::None {
            self.metrics.plan(op as usize, trace.plan);
        }
        self.metrics.unknown_id(UnknownId::Customer, trace.unknown_customer as u64);
        self.metrics.unknown_id(UnknownId::BasketProduct, trace.unknown_basket_items as u64);
        self.metrics.record(transport, op as usize, result.as_ref().err().map(|e| e.code), now.at.elapsed());
    }
}
