//! The model lifecycle: the engine being served, the one kept for rollback, and the reload
//! status, in one place.
//!
//! Every model enters through the same path, whatever brought it (start-up, a file event,
//! SIGHUP, the admin API): obtain a `Model` (which validates every byte) -> check its embedding
//! width -> build the `Engine` against the settings -> log what the settings name that the model
//! lacks -> swap it in with one atomic pointer store. Start-up is a load from nothing
//! (`Trigger::Start`). A refused model changes nothing but the counters and the status: the
//! served one keeps serving. Requests in flight finish on the engine they loaded; an engine (and
//! its mmap) is freed when the last `Arc` to it goes, that is when its last request ends and it is
//! neither serving nor kept for rollback.
//!
//! Loads are blocking (a load maps and checks every byte of the file) and run one at a time under
//! `lock`; the request path only ever reads the current engine (`ArcSwapOption::load`). This
//! module knows models, engines and metrics; it does not know the trainer, the operations or any
//! transport. The reload triggers (file watch, SIGHUP, background thread) are in `triggers.rs`.

mod triggers;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::{ArcSwapOption, Guard};
use tracing::{info, warn};

use crate::config::ModelConfig;
use crate::engine::{Engine, EngineSettings};
use crate::metrics::Metrics;
use crate::model::{LoadError, Model};
pub use triggers::{reload_in_background, reload_on_sighup, watch};

/// What started a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The first model, at start.
    Start,
    /// The watched model file changed.
    Watch,
    /// SIGHUP.
    Signal,
    /// `POST /v1/admin/reload`.
    Admin,
    /// `POST /v1/admin/rollback`.
    Rollback,
}

impl Trigger {
    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Watch => "watch",
            Trigger::Signal => "signal",
            Trigger::Admin => "admin",
            Trigger::Rollback => "rollback",
        }
    }
}

/// A load that did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A new model serves now.
    Swapped {
        /// The model serving now.
        version: String,
        /// The model it replaced, if any.
        previous: Option<String>,
        /// Load, validation and engine build (up to the swap).
        took: Duration,
    },
    /// The file holds the model already serving; nothing was done.
    Unchanged {
        /// The model serving.
        version: String,
    },
}

/// Why a load or rollback changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The artifact could not be read or failed validation.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The config's rules name what the model does not know.
    #[error("model {source_name} refused: {error}")]
    Rules {
        /// The file.
        source_name: String,
        /// Which rules.
        error: crate::engine::RuleError,
    },
    /// A model built in memory (the built-in demo) could not be made.
    #[error("cannot build the model: {0}")]
    Build(String),
    /// The artifact's embedding width is not the one required.
    #[error("model {source_name} refused: embedding width {got}, required {expected} ({why})")]
    Dimension {
        /// The file.
        source_name: String,
        /// Its width.
        got: u32,
        /// The width required.
        expected: u32,
        /// Where the requirement comes from.
        why: &'static str,
    },
    /// Rollback with nothing to return to.
    #[error("no previous model to roll back to")]
    NoPrevious,
    /// The reload thread could not start or died.
    #[error("the reload thread could not run")]
    Aborted,
}

impl ReloadError {
    /// Metric label: `io`, `invalid`, `rules`, `dimension`, `no_previous`, `aborted`.
    pub fn label(&self) -> &'static str {
        match self {
            ReloadError::Load(e) => e.kind(),
            ReloadError::Build(_) => "invalid",
            ReloadError::Rules { .. } => "rules",
            ReloadError::Dimension { .. } => "dimension",
            ReloadError::NoPrevious => "no_previous",
            ReloadError::Aborted => "aborted",
        }
    }
}

/// Where a model comes from.
pub enum Source {
    /// The artifact at a path. A reload skips it when it is the very file already mapped.
    File(PathBuf),
    /// A model made by the caller (the built-in demo store, a model loaded by a test or tool).
    Made(Box<dyn FnOnce() -> Result<Model, String> + Send>),
}

impl Source {
    /// A source for a model already loaded.
    pub fn loaded(model: Model) -> Source {
        Source::Made(Box::new(move || Ok(model)))
    }
}

/// The reload status, for `model_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Duration of the last successful load and swap.
    pub last_took: Duration,
    /// The version kept for rollback.
    pub previous: Option<String>,
    /// Refused loads since start (all triggers).
    pub refused: u64,
    /// The last refusal, cleared by the next success.
    pub last_error: Option<String>,
    /// Set while the server serves the last-known-good copy because the configured model was
    /// refused at start: why, and which copy. Cleared when a model from the configured path
    /// swaps in.
    pub last_good_fallback: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    /// The engine the last swap replaced, kept for rollback (`model.keep_previous`).
    previous: Option<Arc<Engine>>,
    last_took: Duration,
    refused: u64,
    last_error: Option<String>,
    last_good_fallback: Option<String>,
}

/// The served engine and its lifecycle.
#[derive(Debug)]
pub struct Live {
    engine: ArcSwapOption<Engine>,
    state: Mutex<State>,
    /// Held for the whole of a load or rollback so they run one at a time.
    lock: Mutex<()>,
    model: ModelConfig,
    settings: EngineSettings,
    metrics: Arc<Metrics>,
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Live {
    /// Nothing served yet (not ready).
    pub fn new(model: ModelConfig, settings: EngineSettings, metrics: Arc<Metrics>) -> Live {
        Live {
            engine: ArcSwapOption::empty(),
            state: Mutex::default(),
            lock: Mutex::default(),
            model,
            settings,
            metrics,
        }
    }

    /// The engine serving now, for one request: a lock-free pointer read that keeps the engine
    /// alive until the guard is dropped.
    #[inline]
    pub fn current(&self) -> Guard<Option<Arc<Engine>>> {
        self.engine.load()
    }

    /// The engine serving now, as an owned handle (for work that outlives a request).
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.load_full()
    }

    /// The served model's version, or "" before the first model.
    pub fn served_version(&self) -> String {
        self.engine.load().as_ref().map(|e| e.version().to_string()).unwrap_or_default()
    }

    /// True once a model is being served.
    pub fn is_ready(&self) -> bool {
        self.engine.load().is_some()
    }

    /// The model settings this lifecycle runs with.
    pub fn model_config(&self) -> &ModelConfig {
        &self.model
    }

    /// The store settings every engine is built with (layout, rules, recommend limits).
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The reload status.
    pub fn status(&self) -> Status {
        let state = self.lock_state();
        Status {
            last_took: state.last_took,
            previous: state.previous.as_ref().map(|e| e.version().to_string()),
            refused: state.refused,
            last_error: state.last_error.clone(),
            last_good_fallback: state.last_good_fallback.clone(),
        }
    }

    /// Loads a model from `source` and serves it; the one path for every trigger. Blocking: call
    /// it from a blocking thread. At start, a model installed meanwhile by another trigger wins
    /// (the start-up load is skipped).
    pub fn load(&self, source: Source, trigger: Trigger) -> Result<Outcome, ReloadError> {
        let _one_at_a_time = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if trigger == Trigger::Start && self.is_ready() {
            info!("a reload installed a model during start-up; the start-up load is skipped");
            return Ok(Outcome::Unchanged { version: self.served_version() });
        }
        let started = Instant::now();
        let (label, path) = match &source {
            Source::File(p) => (p.display().to_string(), Some(p.clone())),
            Source::Made(_) => ("a model built in memory".to_string(), None),
        };
        match self.checked(source) {
            Ok(Some(engine)) => {
                let engine = Arc::new(engine);
                let outcome = self.swap_in(engine.clone(), trigger, started, "ok");
                if path.as_deref() == Some(self.model.path.as_path()) {
                    self.lock_state().last_good_fallback = None;
                    self.keep_last_good(&engine);
                }
                Ok(outcome)
            }
            Ok(None) => {
                let version = self.served_version();
                info!(trigger = trigger.label(), %version, path = %label, "model file unchanged; not reloaded");
                self.metrics.model_load(trigger.label(), "unchanged");
                Ok(Outcome::Unchanged { version })
            }
            Err(e) => {
                match (trigger, &path) {
                    (Trigger::Start, _) => warn!(source = %label, "cannot load the first model: {e}"),
                    _ => warn!(trigger = trigger.label(), path = %label, "model refused, the served model stays: {e}"),
                }
                self.metrics.model_load(trigger.label(), e.label());
                {
                    let mut state = self.lock_state();
                    state.refused += 1;
                    state.last_error = Some(e.to_string());
                }
                if trigger == Trigger::Start && path.as_deref() == Some(self.model.path.as_path()) {
                    return self.fall_back_to_last_good(e, started);
                }
                Err(e)
            }
        }
    }

    /// At start, after the configured model was refused with `refusal`: serves the last-known-good
    /// copy if there is one and it loads, and says so (log, metric, status); otherwise returns
    /// `refusal`.
    fn fall_back_to_last_good(&self, refusal: ReloadError, started: Instant) -> Result<Outcome, ReloadError> {
        let Some(copy) = self.model.last_good_path().filter(|p| p.exists()) else {
            return Err(refusal);
        };
        match self.checked(Source::File(copy.clone())) {
            Ok(Some(engine)) => {
                let outcome = self.swap_in(Arc::new(engine), Trigger::Start, started, "last_good");
                let why = format!(
                    "the configured model {} was refused ({refusal}); serving the last known good copy {}",
                    self.model.path.display(),
                    copy.display()
                );
                warn!(version = %self.served_version(), "{why}");
                let mut state = self.lock_state();
                state.last_good_fallback = Some(why);
                state.last_error = Some(refusal.to_string());
                Ok(outcome)
            }
            Ok(None) => Err(refusal),
            Err(e) => {
                warn!(path = %copy.display(), "the last known good copy is refused too: {e}");
                self.metrics.model_load(Trigger::Start.label(), e.label());
                self.lock_state().refused += 1;
                Err(refusal)
            }
        }
    }

    /// Writes the bytes `engine`'s model was validated from to the last-known-good path
    /// (temporary name, fsync, rename). A failure is logged; serving goes on.
    fn keep_last_good(&self, engine: &Engine) {
        let Some(copy) = self.model.last_good_path() else { return };
        let started = Instant::now();
        // With a publisher's key, the copy keeps its signature, or a start that falls back to it
        // would refuse it as unsigned: the signature beside the served path, checked again
        // against the bytes kept, is copied first.
        if let Some(key) = &self.model.signing_key {
            let sig = crate::model::sign::Verifier::from_file(key)
                .and_then(|v| v.verify(&self.model.path, engine.model().file_bytes()))
                .and_then(|()| {
                    let sig_file = crate::model::sign::sig_path(&self.model.path);
                    std::fs::read(&sig_file).map_err(|e| format!("{}: {e}", sig_file.display()))
                })
                .and_then(|text| write_copy(&text, &crate::model::sign::sig_path(&copy)).map_err(|e| e.to_string()));
            if let Err(e) = sig {
                warn!(path = %copy.display(), "no last known good copy kept: its signature cannot be kept: {e}");
                return;
            }
        }
        match write_copy(engine.model().file_bytes(), &copy) {
            Ok(()) => info!(
                path = %copy.display(),
                version = %engine.version(),
                took_ms = started.elapsed().as_millis() as u64,
                "kept a copy of the model as the last known good"
            ),
            Err(e) => warn!(path = %copy.display(), "cannot keep a copy of the model as the last known good: {e}"),
        }
    }

    /// Returns to the model the last swap replaced; the current one becomes the previous (so a
    /// second rollback swaps back).
    pub fn rollback(&self) -> Result<Outcome, ReloadError> {
        let _one_at_a_time = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let Some(previous) = self.lock_state().previous.take() else {
            self.metrics.model_load(Trigger::Rollback.label(), ReloadError::NoPrevious.label());
            return Err(ReloadError::NoPrevious);
        };
        Ok(self.swap_in(previous, Trigger::Rollback, started, "ok"))
    }

    /// The model from `source`, checked and wrapped in an engine; `Ok(None)` when `source` is the
    /// file already served.
    fn checked(&self, source: Source) -> Result<Option<Engine>, ReloadError> {
        let current = self.engine();
        let model = match source {
            Source::File(path) => {
                if current.as_ref().is_some_and(|c| c.model().is_file(&path)) {
                    return Ok(None);
                }
                // With a publisher's key configured, only models it signed are served (the key
                // is read on every load, so a rotated key needs no restart).
                let verifier = match &self.model.signing_key {
                    Some(key) => Some(crate::model::sign::Verifier::from_file(key).map_err(|reason| {
                        crate::model::LoadError::Invalid { source_name: path.display().to_string(), reason }
                    })?),
                    None => None,
                };
                Model::load_signed(&path, verifier.as_ref())?
            }
            Source::Made(make) => make().map_err(ReloadError::Build)?,
        };
        let got = model.manifest().dim;
        let required = match (self.model.dim, &current) {
            (0, Some(c)) => Some((c.model().manifest().dim, "the served model's width; set model.dim to change it")),
            (0, None) => None,
            (d, _) => Some((d, "model.dim in the config")),
        };
        if let Some((expected, why)) = required.filter(|&(d, _)| d != got) {
            return Err(ReloadError::Dimension { source_name: model.source().to_string(), got, expected, why });
        }
        let source_name = model.source().to_string();
        let engine = Engine::new(model, &self.settings).map_err(|error| ReloadError::Rules { source_name, error })?;
        for w in &engine.warnings {
            warn!("config vs model: {w}");
        }
        Ok(Some(engine))
    }

    /// Serves `engine` (one atomic pointer swap), keeps the one it replaced for rollback, counts
    /// and logs the swap.
    /// `result` labels the load in the metrics (`ok`, or `last_good` for a fallback at start).
    fn swap_in(&self, engine: Arc<Engine>, trigger: Trigger, started: Instant, result: &'static str) -> Outcome {
        let took = started.elapsed();
        let version = engine.version().to_string();
        let m = engine.model();
        let counts = &m.manifest().counts;
        let created = m.manifest().created_unix;
        self.metrics.set_model(m.version(), counts.products, counts.customers, unix_ms(m.loaded_at()) / 1000, created);
        self.metrics.set_last_load(took.as_secs_f64());
        self.metrics.model_load(trigger.label(), result);
        let (source, products, customers) = (m.source().to_string(), counts.products, counts.customers);
        let replaced = self.engine.swap(Some(engine));
        info!(
            trigger = trigger.label(),
            %version,
            %source,
            products,
            customers,
            took_ms = took.as_millis() as u64,
            "model swapped in; serving"
        );
        let previous = replaced.as_ref().map(|e| e.version().to_string());
        let mut state = self.lock_state();
        state.last_took = took;
        state.last_error = None;
        // The engine dropped here (the one kept before) is freed once its last request ends.
        let dropped =
            if self.model.keep_previous { std::mem::replace(&mut state.previous, replaced) } else { replaced };
        drop(state);
        drop(dropped);
        if let Some(p) = &previous {
            info!(previous = %p, kept_for_rollback = self.model.keep_previous, "model replaced");
        }
        Outcome::Swapped { version, previous, took }
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The served model's path from the config.
    pub fn path(&self) -> &Path {
        &self.model.path
    }
}

/// Writes `bytes` to `path` atomically (temporary name in the same directory, fsync, rename,
/// fsync of the directory), creating the directory.
fn write_copy(bytes: &[u8], path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
