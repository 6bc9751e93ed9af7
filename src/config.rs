//! The TOML configuration: every setting, its default, and validation with readable errors.
//!
//! `config/endcap.toml` documents every key. Command-line flags (and their `ENDCAP_*`
//! environment variables) override the file; see `main.rs`. Invalid configuration fails at start
//! with the file, the key and what is wrong.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod audience;
mod recommend;
pub use audience::AudienceConfig;
pub use recommend::RecommendConfig;

/// Where `serve` looks for its config when `--config` is not given.
pub const DEFAULT_PATH: &str = "config/endcap.toml";

/// The shipped config, compiled in: what a server started from any directory runs with when
/// neither `--config` nor `config/endcap.toml` is there (the demo store's layout and rules).
pub const SHIPPED: &str = include_str!("../config/endcap.toml");

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Listeners, TLS and connection limits.
    pub server: ServerConfig,
    /// Which model to serve.
    pub model: ModelConfig,
    /// Recommendation defaults and limits.
    pub recommend: RecommendConfig,
    /// Audiences (who buys a product) and customer types: defaults, limits, the minimum group.
    pub audience: AudienceConfig,
    /// Store layout: zones and the aisles in them.
    pub zones: Vec<ZoneConfig>,
    /// Rules driven by shopper signals (hard exclusions).
    pub rules: Vec<RuleConfig>,
    /// Products or aisles the store promotes (bounded boosts, marked in answers).
    pub promotions: Vec<PromotionConfig>,
    /// Shopper events: the journal, the sessions they build, the message-bus subscriber.
    pub events: EventsConfig,
}

/// Shopper events and the live sessions they build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Directory of the event journal (created if missing); every acknowledged event is in it.
    pub journal_dir: PathBuf,
    /// When the journal syncs: `always` (before every acknowledgement: survives power loss),
    /// `interval_ms(N)` (every N ms: survives a process crash, may lose the last N ms on power
    /// loss), `never` (the OS decides).
    pub fsync: String,
    /// Journal segment size, bytes.
    pub segment_bytes: u64,
    /// Bytes of events accepted but not yet written beyond which a batch is refused (OVERLOADED).
    pub max_queued_bytes: usize,
    /// Most events in one batch; more are refused one by one.
    pub max_batch: usize,
    /// How far ahead of the server's clock a device timestamp may be, milliseconds.
    pub max_future_ms: i64,
    /// How far behind the server's clock a device timestamp may be, milliseconds.
    pub max_age_ms: i64,
    /// A session with no event for this long is forgotten, seconds.
    pub session_ttl_s: u64,
    /// Memory the sessions may take, bytes; past it the least recently updated are evicted.
    pub session_max_bytes: usize,
    /// MQTT broker to subscribe to (`mqtt://host:port`); unset: no subscriber.
    pub mqtt_url: Option<String>,
    /// MQTT topic filter events are published on (JSON bodies as for `POST /v1/events`).
    pub mqtt_topic: String,
    /// MQTT client id.
    pub mqtt_client_id: String,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            journal_dir: PathBuf::from("journal"),
            fsync: "interval_ms(5)".into(),
            segment_bytes: 64 << 20,
            max_queued_bytes: 16 << 20,
            max_batch: 256,
            max_future_ms: 5 * 60_000,
            max_age_ms: 30 * 86_400_000,
            session_ttl_s: 4 * 3600,
            session_max_bytes: 256 << 20,
            mqtt_url: None,
            mqtt_topic: "endcap/events".into(),
            mqtt_client_id: "endcap".into(),
        }
    }
}

/// Listeners, TLS and connection limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// UDP address for QUIC.
    pub quic_addr: SocketAddr,
    /// TCP address for HTTP/JSON, metrics and health.
    pub http_addr: SocketAddr,
    /// PEM certificate chain for QUIC; with `tls_key`. Unset: a self-signed certificate is made.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Names the self-signed certificate is issued for.
    pub server_names: Vec<String>,
    /// Largest request frame accepted, in bytes.
    pub max_frame_bytes: usize,
    /// Concurrent bidirectional streams a QUIC connection may open.
    pub max_streams_per_connection: u32,
    /// Connections idle this long are closed, in milliseconds.
    pub idle_timeout_ms: u64,
    /// Runtime worker threads; 0 means one per core.
    pub workers: usize,
    /// Threads that serve QUIC on sockets of their own. 0: QUIC runs on the shared runtime's
    /// workers through one socket. N: N threads, each with a single-threaded runtime and its own
    /// socket bound to `quic_addr` with `SO_REUSEPORT` (Linux), so a connection's packets, its
    /// streams and its requests stay on one thread; the kernel spreads connections over the
    /// sockets by address hash.
    pub quic_threads: usize,
    /// Keep the threads that serve QUIC (the runtime workers, or the `quic_threads`) polling
    /// their sockets instead of sleeping between packets: lower and steadier latency on machines
    /// where waking a sleeping thread is slow (VMs), for the price of one busy core per thread.
    pub busy_poll: bool,
    /// Bearer token for `/v1/admin/*`; unset turns admin endpoints off. Better kept out of the
    /// config: `admin_token_file`, or the `ENDCAP_ADMIN_TOKEN` environment variable (which wins).
    pub admin_token: Option<String>,
    /// A file holding the admin token (one line; a trailing newline is ignored).
    pub admin_token_file: Option<PathBuf>,
    /// PEM file of the store CA (`endcap ca init`). Set: devices present a certificate it issued
    /// (`endcap ca issue`), whose role decides what they may call. Unset: no device identity
    /// (open; refused on a non-loopback address unless `allow_open`).
    pub client_ca: Option<PathBuf>,
    /// With `client_ca`: refuse QUIC connections without a client certificate (true), or serve
    /// them as anonymous beacons (false, while a fleet migrates).
    pub require_client_cert: bool,
    /// File of revoked device names, one per line (`#` comments). Re-read when it changes;
    /// connections of a newly revoked device are closed.
    pub revoked_devices: Option<PathBuf>,
    /// Serve without device identity on an address other than loopback.
    pub allow_open: bool,
    /// Most QUIC connections open at once; more are refused.
    pub max_connections: u32,
    /// Bytes a QUIC connection may have in flight toward the server (flow-control window).
    pub connection_window_bytes: u64,
    /// Bytes one QUIC stream may have in flight toward the server.
    pub stream_window_bytes: u64,
    /// Bytes of answers a QUIC connection may have unacknowledged toward the device.
    pub send_window_bytes: u64,
    /// A stream whose answers the device does not read within this long is reset, milliseconds.
    pub write_timeout_ms: u64,
    /// A frame begun but not finished within this long ends its stream, milliseconds.
    pub frame_timeout_ms: u64,
    /// Requests per second one QUIC connection may send (token bucket); 0 = no limit.
    pub rate_per_connection: f64,
    /// Requests a connection may send at once above its rate.
    pub burst_per_connection: u32,
    /// Requests per second one device (certificate name) may send over all its connections;
    /// 0 = no limit. Without device identity only the per-connection limit applies.
    pub rate_per_device: f64,
    /// Requests a device may send at once above its rate.
    pub burst_per_device: u32,
    /// Most HTTP connections open at once (public listener); more are closed at once.
    pub http_max_connections: u32,
    /// Time to receive an HTTP request's headers (also how long an idle keep-alive connection
    /// stays), milliseconds.
    pub http_header_timeout_ms: u64,
    /// Time to receive an HTTP request's body and answer it, milliseconds.
    pub http_request_timeout_ms: u64,
    /// Serve the public HTTP listener over TLS with the QUIC certificate (and, with `client_ca`,
    /// client certificates and roles as on QUIC).
    pub http_tls: bool,
    /// TCP address of the admin listener: `/v1/admin/*`, `/metrics`, `/healthz`, `/readyz`.
    pub admin_addr: SocketAddr,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            quic_addr: "127.0.0.1:4433".parse().expect("valid literal"),
            http_addr: "127.0.0.1:8080".parse().expect("valid literal"),
            tls_cert: None,
            tls_key: None,
            server_names: vec!["localhost".into()],
            max_frame_bytes: 65_536,
            max_streams_per_connection: 64,
            idle_timeout_ms: 30_000,
            workers: 0,
            quic_threads: 0,
            busy_poll: false,
            admin_token: None,
            admin_token_file: None,
            client_ca: None,
            require_client_cert: true,
            revoked_devices: None,
            allow_open: false,
            max_connections: 1024,
            connection_window_bytes: 2 << 20,
            stream_window_bytes: 256 << 10,
            send_window_bytes: 1 << 20,
            write_timeout_ms: 10_000,
            frame_timeout_ms: 10_000,
            rate_per_connection: 10_000.0,
            burst_per_connection: 2_000,
            rate_per_device: 1_000.0,
            burst_per_device: 200,
            http_max_connections: 256,
            http_header_timeout_ms: 5_000,
            http_request_timeout_ms: 10_000,
            http_tls: false,
            admin_addr: "127.0.0.1:9090".parse().expect("valid literal"),
        }
    }
}

/// Which model to serve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// The artifact to serve.
    pub path: PathBuf,
    /// When `path` does not exist, build the default demo store in memory instead of failing.
    pub demo_when_missing: bool,
    /// Reload when a new artifact is published at `path` (renamed over it, or written).
    pub watch: bool,
    /// Quiet time after the last file event before reloading, in milliseconds.
    pub watch_debounce_ms: u64,
    /// Embedding width every model must have; 0: a reload must keep the served model's width.
    pub dim: u32,
    /// Keep the model a reload replaced, for `POST /v1/admin/rollback`.
    pub keep_previous: bool,
    /// Nice value (0-19) of the thread that loads and checks a new model (Linux).
    pub reload_nice: i32,
    /// Keep a copy of the last model that loaded from `path` and validated, and serve it at
    /// start when the file at `path` is refused (or missing).
    pub keep_last_good: bool,
    /// Where that copy is kept; empty: `last-good/` beside `path`.
    pub last_good_dir: PathBuf,
    /// The model publisher's Ed25519 public key (`endcap model keygen`): when set, only models
    /// with a valid signature (`MODEL.sig`) are served.
    pub signing_key: Option<PathBuf>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("models/current.endcap"),
            demo_when_missing: true,
            watch: true,
            watch_debounce_ms: 250,
            dim: 0,
            keep_previous: true,
            reload_nice: 10,
            keep_last_good: true,
            last_good_dir: PathBuf::new(),
            signing_key: None,
        }
    }
}

impl ModelConfig {
    /// The last-known-good copy of the model at `path` (`None` when `keep_last_good` is off or
    /// `path` names no file): `last_good_dir` (or `last-good/` beside `path`) and `path`'s file name.
    pub fn last_good_path(&self) -> Option<PathBuf> {
        if !self.keep_last_good {
            return None;
        }
        let name = self.path.file_name()?;
        let dir = if self.last_good_dir.as_os_str().is_empty() {
            self.path.parent().unwrap_or(Path::new("")).join("last-good")
        } else {
            self.last_good_dir.clone()
        };
        Some(dir.join(name))
    }
}

/// A physical zone of the store and the aisles in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// Zone name as devices send it (e.g. `fresh`).
    pub name: String,
    /// Aisle names, as in the catalogue.
    pub aisles: Vec<String>,
}

/// A hard rule: shoppers carrying `signal` are never offered products with any of the tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Signal, `namespace:value` (e.g. `lifestyle:vegetarian`).
    pub signal: String,
    /// Product tags to exclude (e.g. `meat`, `fish`).
    pub exclude_tags: Vec<String>,
    /// A model may lack the signal or tags (the rule is then skipped, with a warning). Off: a
    /// model that lacks them is refused, since the rule could not be enforced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// A promotion: its products and aisles are boosted by a factor in `recommend`, `similar` and
/// `complete` answers, within `recommend.max_promoted_share` of an answer and never in place of
/// an item the shopper habitually buys; promoted items are marked `promoted`. A boost only
/// reorders candidates the shopper's filters and rules already admit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionConfig {
    /// Name, for logs and the store layout.
    pub name: String,
    /// Product ids promoted.
    #[serde(default)]
    pub products: Vec<String>,
    /// Aisles whose every product is promoted.
    #[serde(default)]
    pub aisles: Vec<String>,
    /// Score multiplier, 1 to 10.
    pub boost: f32,
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("config {path} is invalid: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("config is invalid: {0}")]
    Invalid(String),
}

impl Config {
    /// Resolves the admin token from `ENDCAP_ADMIN_TOKEN` (`env`), else `admin_token_file`, else
    /// the inline value, and validates the result.
    pub fn resolve_admin_token(&mut self, env: Option<String>) -> Result<(), ConfigError> {
        let s = &mut self.server;
        if let Some(token) = env.filter(|t| !t.is_empty()) {
            s.admin_token = Some(token);
        } else if let Some(path) = &s.admin_token_file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
            s.admin_token = Some(text.trim_end_matches(['\n', '\r']).to_string());
        }
        self.validate()
    }

    /// Reads `path`, or `DEFAULT_PATH` if it exists, or the shipped config compiled in.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with_origin(path).map(|(config, _)| config)
    }

    /// As [`load`](Self::load), also saying where the config came from (for the start-up log).
    /// A `path` that was given and cannot be read is an error, never a fallback.
    pub fn load_with_origin(path: Option<&Path>) -> Result<(Config, String), ConfigError> {
        let path = match path {
            Some(p) => p,
            None if Path::new(DEFAULT_PATH).exists() => Path::new(DEFAULT_PATH),
            None => {
                let config = Self::parse(SHIPPED)?;
                return Ok((config, "the shipped config/endcap.toml, compiled in (no config file here)".into()));
            }
        };
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        let config = Self::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse { path: path.display().to_string(), message },
            other => other,
        })?;
        Ok((config, path.display().to_string()))
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::Parse { path: "<text>".into(), message: e.to_string() })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and consistency.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        let s = &self.server;
        if !(1024..=16 << 20).contains(&s.max_frame_bytes) {
            return bad(format!("server.max_frame_bytes = {} (allowed 1024 to 16777216)", s.max_frame_bytes));
        }
        if s.max_streams_per_connection == 0 {
            return bad("server.max_streams_per_connection must be at least 1".into());
        }
        if s.tls_cert.is_some() != s.tls_key.is_some() {
            return bad("server.tls_cert and server.tls_key must be set together".into());
        }
        if s.quic_threads > 256 {
            return bad(format!("server.quic_threads = {} is above 256", s.quic_threads));
        }
        if s.quic_threads > 1 && !cfg!(target_os = "linux") {
            return bad("server.quic_threads above 1 needs Linux (SO_REUSEPORT balancing)".into());
        }
        if s.admin_token.as_deref().is_some_and(|t| t.len() < 16) {
            return bad("server.admin_token must be at least 16 characters".into());
        }
        if !(1..=1_000_000).contains(&s.max_connections) || !(1..=1_000_000).contains(&s.http_max_connections) {
            return bad("server.max_connections and server.http_max_connections must be 1 to 1000000".into());
        }
        let window = |name: &str, v: u64, min: u64| {
            if v < min || v > 1 << 30 {
                Err(ConfigError::Invalid(format!("server.{name} = {v} must be {min} to 1073741824 bytes")))
            } else {
                Ok(())
            }
        };
        window("connection_window_bytes", s.connection_window_bytes, s.max_frame_bytes as u64 + 4)?;
        window("stream_window_bytes", s.stream_window_bytes, s.max_frame_bytes as u64 + 4)?;
        window("send_window_bytes", s.send_window_bytes, 16 << 10)?;
        for (name, ms) in [
            ("write_timeout_ms", s.write_timeout_ms),
            ("frame_timeout_ms", s.frame_timeout_ms),
            ("http_header_timeout_ms", s.http_header_timeout_ms),
            ("http_request_timeout_ms", s.http_request_timeout_ms),
        ] {
            if !(100..=600_000).contains(&ms) {
                return bad(format!("server.{name} = {ms} must be 100 to 600000 milliseconds"));
            }
        }
        for (name, rate) in [("rate_per_connection", s.rate_per_connection), ("rate_per_device", s.rate_per_device)] {
            if !rate.is_finite() || rate < 0.0 {
                return bad(format!("server.{name} = {rate} must be 0 (no limit) or a positive number"));
            }
        }
        if s.client_ca.is_none() && s.revoked_devices.is_some() {
            return bad(
                "server.revoked_devices needs server.client_ca (devices are named by their certificates)".into()
            );
        }
        if !(0..=19).contains(&self.model.reload_nice) {
            return bad(format!("model.reload_nice = {} must be 0 to 19", self.model.reload_nice));
        }
        if self.model.watch_debounce_ms > 60_000 {
            return bad(format!("model.watch_debounce_ms = {} is above 60000", self.model.watch_debounce_ms));
        }
        let e = &self.events;
        if e.fsync.parse::<crate::journal::FsyncPolicy>().is_err() {
            return bad(format!("events.fsync = {:?} must be always, interval_ms(N) or never", e.fsync));
        }
        if !(1..=10_000).contains(&e.max_batch) {
            return bad(format!("events.max_batch = {} must be 1 to 10000", e.max_batch));
        }
        if e.session_ttl_s == 0 || e.session_max_bytes < 1 << 20 {
            return bad("events.session_ttl_s must be above 0 and events.session_max_bytes at least 1 MiB".into());
        }
        if let Some(url) = &e.mqtt_url
            && !url.starts_with("mqtt://")
        {
            return bad(format!("events.mqtt_url = {url:?} must be mqtt://host:port"));
        }
        self.recommend.validate().map_err(ConfigError::Invalid)?;
        for p in &self.promotions {
            if !(1.0..=10.0).contains(&p.boost) {
                return bad(format!("promotion {:?}: boost = {} must be 1 to 10", p.name, p.boost));
            }
            if p.products.is_empty() && p.aisles.is_empty() {
                return bad(format!("promotion {:?} names no products and no aisles", p.name));
            }
        }
        self.audience.validate().map_err(ConfigError::Invalid)?;
        let mut names = std::collections::HashSet::new();
        for z in &self.zones {
            if z.name.is_empty() || !names.insert(z.name.as_str()) {
                return bad(format!("zone name {:?} is empty or repeated", z.name));
            }
        }
        for rule in &self.rules {
            if !rule.signal.contains(':') {
                return bad(format!("rule signal {:?} must be namespace:value", rule.signal));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_empty_text_gives_defaults() {
        Config::default().validate().expect("defaults valid");
        assert_eq!(Config::parse("").expect("empty is fine"), Config::default());
    }

    #[test]
    fn errors_name_the_key_and_the_line() {
        let e = Config::parse("[server]\nmax_frame_bytes = 12\n").unwrap_err().to_string();
        assert!(e.contains("max_frame_bytes = 12"), "{e}");
        let e = Config::parse("[server]\nquic_adr = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("quic_adr") && e.contains("line 2"), "{e}");
        let e = Config::parse("[recommend]\ndefault_k = 80\n").unwrap_err().to_string();
        assert!(e.contains("default_k"), "{e}");
        let e = Config::parse("[[rules]]\nsignal = \"vegetarian\"\nexclude_tags = []\n").unwrap_err().to_string();
        assert!(e.contains("namespace:value"), "{e}");
        let e = Config::parse("[server]\nquic_threads = 300\n").unwrap_err().to_string();
        assert!(e.contains("quic_threads = 300"), "{e}");
    }

    #[test]
    fn the_compiled_in_config_is_the_shipped_file_and_a_missing_given_path_is_an_error() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_PATH);
        assert_eq!(Config::parse(SHIPPED).expect("valid"), Config::load(Some(&path)).expect("valid"));
        let e = Config::load(Some(Path::new("/no/such/endcap.toml"))).expect_err("missing");
        assert!(e.to_string().contains("cannot read config /no/such/endcap.toml"), "{e}");
    }

    #[test]
    fn the_admin_token_comes_from_the_environment_then_a_file_then_the_config() {
        let file = std::env::temp_dir().join(format!("endcap-token-{}", std::process::id()));
        std::fs::write(&file, "from-the-file-0123456789\n").expect("write");
        let mut c = Config::default();
        c.server.admin_token = Some("inline-token-0123456789".into());
        c.server.admin_token_file = Some(file.clone());
        c.resolve_admin_token(Some("from-the-environment-0123".into())).expect("valid");
        assert_eq!(c.server.admin_token.as_deref(), Some("from-the-environment-0123"));
        c.resolve_admin_token(None).expect("valid");
        assert_eq!(c.server.admin_token.as_deref(), Some("from-the-file-0123456789"), "newline trimmed");
        let e = c.resolve_admin_token(Some("short".into())).expect_err("too short");
        assert!(e.to_string().contains("at least 16"), "{e}");
        c.server.admin_token_file = Some(file.with_extension("missing"));
        assert!(c.resolve_admin_token(None).is_err(), "a token file that cannot be read is an error");
        let _ = std::fs::remove_file(&file);
    }

    #[test]
    fn shipped_config_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_PATH);
        let config = Config::load(Some(&path)).expect("config/endcap.toml is valid");
        assert!(config.rules.iter().any(|r| r.signal == "lifestyle:vegetarian"));
    }

    #[test]
    fn shipped_layout_matches_the_demo_store() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_PATH);
        let shipped = Config::load(Some(&path)).expect("valid");
        let demo = Config::parse(&crate::demo::layout_toml()).expect("demo layout parses");
        assert_eq!(shipped.zones, demo.zones, "regenerate config/endcap.toml's layout from demo::layout_toml()");
        assert_eq!(shipped.rules, demo.rules);
    }
}
