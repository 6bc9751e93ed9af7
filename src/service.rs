//! The operations, independent of transport: decode a request, run it on the current engine,
//! encode the answer, count it.
//!
//! `Service` holds the live engine behind an `ArcSwapOption`: a request loads the current engine
//! once (a lock-free pointer read) and finishes on it even if a reload swaps in a new one
//! meanwhile; the old engine is freed when its last request ends. QUIC frames come in through
//! `handle_frame`; HTTP handlers call `recommend` and the accessors and encode JSON themselves.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;

use crate::config::Config;
use crate::engine::{Engine, EngineError, Query, Scratch};
use crate::metrics::{Metrics, Op, Transport};
use crate::protocol::{self, ErrorCode, ItemRef, ModelInfo, Request, request};
use crate::reload::{ReloadError, Trigger};

/// The shared state of a running server.
#[derive(Debug)]
pub struct Service {
    live: ArcSwapOption<Engine>,
    /// The configuration the server started with.
    pub config: Config,
    /// Every metric.
    pub metrics: Metrics,
    /// Reload bookkeeping; touched by reloads and `model_info`, never by the request path.
    reloads: Mutex<ReloadState>,
    /// Held for the whole of a reload or rollback so they run one at a time.
    reload_lock: Mutex<()>,
}

#[derive(Debug, Default)]
struct ReloadState {
    /// The engine the last swap replaced, kept for rollback (`model.keep_previous`).
    previous: Option<Arc<Engine>>,
    /// Duration of the last successful load and swap.
    last_took: Duration,
    /// Refused loads since start (all triggers).
    refused: u64,
    /// The last refusal, for `/v1/model`.
    last_error: Option<String>,
}

/// Maps an engine refusal to its wire code.
pub fn error_code(e: &EngineError) -> ErrorCode {
    match e {
        EngineError::UnknownZone(_) => ErrorCode::UnknownZone,
        EngineError::UnknownAisle(_) => ErrorCode::UnknownAisle,
        EngineError::InvalidArgument(_) => ErrorCode::InvalidArgument,
    }
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Service {
    /// A service with no model yet (not ready).
    pub fn new(config: Config) -> Arc<Service> {
        Arc::new(Service {
            live: ArcSwapOption::empty(),
            config,
            metrics: Metrics::new(),
            reloads: Mutex::default(),
            reload_lock: Mutex::default(),
        })
    }

    /// The engine serving now, if a model is loaded.
    #[inline]
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.live.load_full()
    }

    /// The served model's version, or "" before the first model.
    pub fn served_version(&self) -> String {
        self.engine().map(|e| e.version().to_string()).unwrap_or_default()
    }

    /// True once a model is being served.
    pub fn is_ready(&self) -> bool {
        self.live.load().is_some()
    }

    /// Makes `engine` the one serving (one atomic pointer swap); returns the one it replaced,
    /// which requests already running keep using until they end.
    pub fn install(&self, engine: Arc<Engine>, took: Duration, trigger: Trigger) -> Option<Arc<Engine>> {
        let m = engine.model();
        let counts = &m.manifest().counts;
        self.metrics.set_model(m.version(), counts.products, counts.customers, unix_ms(m.loaded_at()) / 1000);
        self.metrics.set_last_load(took.as_secs_f64());
        self.metrics.model_load(trigger.label(), "ok");
        let mut state = self.lock_reloads();
        state.last_took = took;
        state.last_error = None;
        drop(state);
        self.live.swap(Some(engine))
    }

    /// Counts and remembers a refused load.
    pub fn refused(&self, trigger: Trigger, error: &ReloadError) {
        self.metrics.model_load(trigger.label(), error.label());
        let mut state = self.lock_reloads();
        state.refused += 1;
        state.last_error = Some(error.to_string());
    }

    /// Keeps `engine` for rollback, freeing the one kept before (once its requests end).
    pub fn keep_previous(&self, engine: Option<Arc<Engine>>) {
        let old = std::mem::replace(&mut self.lock_reloads().previous, engine);
        drop(old);
    }

    /// Takes the engine kept for rollback.
    pub fn take_previous(&self) -> Option<Arc<Engine>> {
        self.lock_reloads().previous.take()
    }

    /// Serialises reloads.
    pub fn reload_lock(&self) -> MutexGuard<'_, ()> {
        self.reload_lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_reloads(&self) -> MutexGuard<'_, ReloadState> {
        self.reloads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reload status for `model_info`: (last load duration, previous version, refusals, last
    /// refusal).
    pub fn reload_status(&self) -> (Duration, Option<String>, u64, Option<String>) {
        let state = self.lock_reloads();
        let previous = state.previous.as_ref().map(|e| e.version().to_string());
        (state.last_took, previous, state.refused, state.last_error.clone())
    }

    /// The served model's description.
    pub fn model_info(&self, engine: &Engine) -> ModelInfo {
        let (last_load, previous, refused_loads, last_refusal) = self.reload_status();
        let m = engine.model();
        let man = m.manifest();
        ModelInfo {
            model_version: man.model_version.clone(),
            format_version: man.format_version,
            dim: man.dim,
            products: man.counts.products,
            customers: man.counts.customers,
            signals: man.counts.signals,
            loaded_at_unix_ms: unix_ms(m.loaded_at()),
            source: m.source().to_string(),
            index: format!(
                "{} lists={} nprobe={} recall@10={:.3}",
                man.index.kind, man.index.lists, man.index.nprobe, man.index.recall_at_10
            ),
            built_by: man.built_by.clone(),
            last_load_us: last_load.as_micros() as u64,
            previous_version: previous.unwrap_or_default(),
            refused_loads,
            last_refusal: last_refusal.unwrap_or_default(),
        }
    }

    /// Runs a recommendation on `engine` and counts unknown ids.
    pub fn recommend(&self, engine: &Engine, q: &Query<'_>, s: &mut Scratch) -> Result<(), EngineError> {
        let r = engine.recommend(q, s);
        self.metrics.unknown_id("customer", s.trace.unknown_customer as u64);
        self.metrics.unknown_id("basket_product", s.trace.unknown_basket_items as u64);
        r
    }

    /// Answers one QUIC request frame payload into `out` (a whole response frame) and counts it.
    /// `req` and `s` are the stream's reusable buffers.
    pub fn handle_frame(&self, payload: &[u8], req: &mut Request, s: &mut Scratch, out: &mut Vec<u8>) {
        let started = Instant::now();
        let live = self.live.load();
        let engine = live.as_deref();
        let version = engine.map_or("", |e| e.version());
        let (op, error) = if protocol::decode_request(payload, req).is_err() {
            let msg = "request frame is not a valid endcap.v1.Request";
            protocol::encode_error(out, 0, version, ErrorCode::MalformedRequest, msg);
            (Op::Invalid, Some(ErrorCode::MalformedRequest))
        } else {
            self.dispatch(req, engine, s, out, started)
        };
        self.metrics.record(Transport::Quic, op, error, started.elapsed());
    }

    fn dispatch(
        &self,
        req: &Request,
        engine: Option<&Engine>,
        s: &mut Scratch,
        out: &mut Vec<u8>,
        started: Instant,
    ) -> (Op, Option<ErrorCode>) {
        let id = req.id;
        let version = engine.map_or("", |e| e.version());
        let op = match &req.op {
            Some(request::Op::Ping(_)) => Op::Ping,
            Some(request::Op::ModelInfo(_)) => Op::ModelInfo,
            Some(request::Op::Recommend(_)) => Op::Recommend,
            None => {
                let msg = "the request carries no operation this server knows (newer client?)";
                protocol::encode_error(out, id, version, ErrorCode::UnknownOperation, msg);
                return (Op::Invalid, Some(ErrorCode::UnknownOperation));
            }
        };
        if op == Op::Ping {
            let now_us = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
            protocol::encode_pong(out, id, version, now_us);
            return (op, None);
        }
        let Some(engine) = engine else {
            protocol::encode_error(out, id, version, ErrorCode::NotReady, "no model is loaded yet");
            return (op, Some(ErrorCode::NotReady));
        };
        match &req.op {
            Some(request::Op::Recommend(r)) => {
                let basket: crate::ids::IdList = r.basket.iter().collect();
                let q = Query {
                    customer: &r.customer,
                    zone: &r.zone,
                    aisle: &r.aisle,
                    basket: &basket,
                    k: r.k,
                    mode: crate::engine::Mode::Mixed,
                    min_discover: 0,
                    now_unix_s: std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64),
                };
                match self.recommend(engine, &q, s) {
                    Ok(()) => {
                        let items = s.hits().iter().map(|h| {
                            let (product_id, name, aisle) = engine.describe(h.row);
                            ItemRef { product_id, name, aisle, score: h.score, reason: h.reason.as_str() }
                        });
                        let took_us = started.elapsed().as_micros() as u64;
                        protocol::encode_recommendation(out, id, version, items, took_us);
                        (op, None)
                    }
                    Err(e) => {
                        let code = error_code(&e);
                        protocol::encode_error(out, id, version, code, &e.to_string());
                        (op, Some(code))
                    }
                }
            }
            _ => {
                protocol::encode_model_info(out, id, &self.model_info(engine));
                (op, None)
            }
        }
    }
}
