//! The Prometheus registry and the name of every metric endcap exports.
//!
//! Request counters, latency histograms, plan counters and unknown-id counters are created for
//! every label at start and kept as plain handles, so recording a request is a few relaxed atomic
//! adds: no map lookup, no lock. (prometheus-client's own histogram takes a mutex per
//! observation, hence `LatencyHistogram` here.) Operation labels are given by the caller (the
//! operation list in `ops`), so this module names no operation itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

mod process;

use crate::ca::{DeviceName, Role};
use crate::engine::Plan;
use crate::protocol::ErrorCode;

/// The transports requests arrive on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// QUIC, the binary protocol.
    Quic = 0,
    /// HTTP/JSON.
    Http = 1,
    /// The store's message bus (events published to an MQTT broker).
    Mqtt = 2,
}
const TRANSPORTS: [&str; 3] = ["quic", "http", "mqtt"];

/// Ids a request named that the model does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownId {
    /// A customer id (served popular items).
    Customer = 0,
    /// A basket product id (ignored).
    BasketProduct = 1,
}
const UNKNOWN_IDS: [&str; 2] = ["customer", "basket_product"];

/// A limit that refused something (a connection, a request, a stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A QUIC connection over `server.max_connections`.
    QuicConnections = 0,
    /// A QUIC handshake without a usable device certificate.
    NoIdentity,
    /// A connection of a revoked device (refused, or closed when the list changed).
    Revoked,
    /// A request over its connection's rate.
    ConnectionRate,
    /// A request over its device's rate.
    DeviceRate,
    /// A stream whose answers were not read in time (reset).
    WriteTimeout,
    /// A stream that left a frame half-sent too long (ended).
    FrameTimeout,
    /// An HTTP connection over `server.http_max_connections`.
    HttpConnections,
    /// An HTTP connection that did not send its headers in time (or idled too long).
    HttpHeaderTimeout,
    /// An HTTP request not received and answered in time.
    HttpRequestTimeout,
    /// An HTTPS handshake that failed or timed out.
    HttpHandshake,
    /// An HTTP accept that failed (out of file descriptors, say).
    HttpAccept,
}

impl Limit {
    /// Every limit, in label order.
    pub const ALL: [Limit; 12] = [
        Limit::QuicConnections,
        Limit::NoIdentity,
        Limit::Revoked,
        Limit::ConnectionRate,
        Limit::DeviceRate,
        Limit::WriteTimeout,
        Limit::FrameTimeout,
        Limit::HttpConnections,
        Limit::HttpHeaderTimeout,
        Limit::HttpRequestTimeout,
        Limit::HttpHandshake,
        Limit::HttpAccept,
    ];

    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Limit::QuicConnections => "quic_connections",
            Limit::NoIdentity => "no_identity",
            Limit::Revoked => "revoked",
            Limit::ConnectionRate => "connection_rate",
            Limit::DeviceRate => "device_rate",
            Limit::WriteTimeout => "write_timeout",
            Limit::FrameTimeout => "frame_timeout",
            Limit::HttpConnections => "http_connections",
            Limit::HttpHeaderTimeout => "http_header_timeout",
            Limit::HttpRequestTimeout => "http_request_timeout",
            Limit::HttpHandshake => "http_handshake",
            Limit::HttpAccept => "http_accept",
        }
    }
}

/// Outcome labels: `ok`, then every error code by its number.
const OUTCOMES: [ErrorCode; 14] = [
    ErrorCode::Unspecified,
    ErrorCode::MalformedRequest,
    ErrorCode::FrameTooLarge,
    ErrorCode::UnknownOperation,
    ErrorCode::InvalidArgument,
    ErrorCode::UnknownZone,
    ErrorCode::UnknownAisle,
    ErrorCode::NotReady,
    ErrorCode::Internal,
    ErrorCode::Overloaded,
    ErrorCode::PermissionDenied,
    ErrorCode::UnknownProduct,
    ErrorCode::UnknownSignal,
    ErrorCode::GroupTooSmall,
];

/// Latency bucket bounds, seconds: fine below a millisecond, where the budget is.
const BUCKETS: [f64; 16] =
    [25e-6, 50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 750e-6, 1e-3, 2e-3, 5e-3, 10e-3, 25e-3, 50e-3, 0.1, 0.25, 1.0];

/// A fixed-bucket latency histogram updated with relaxed atomics.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_ns: AtomicU64,
}

impl LatencyHistogram {
    /// Records one observation.
    #[inline]
    pub fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let i = BUCKETS.partition_point(|&b| b < secs);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(took.as_nanos().min(u64::MAX as u128) as u64, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // Per-bucket counts: the encoder makes them cumulative (`le`) itself.
        let mut count = 0;
        let mut buckets = Vec::with_capacity(BUCKETS.len() + 1);
        for (i, c) in self.counts.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            count += n;
            buckets.push((BUCKETS.get(i).copied().unwrap_or(f64::INFINITY), n));
        }
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    transport: &'static str,
    op: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallerLabels {
    op: &'static str,
    role: &'static str,
    device: DeviceLabel,
    outcome: &'static str,
}

/// A device name as a label value; empty for a caller without a certificate.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct DeviceLabel(Option<DeviceName>);

impl EncodeLabelValue for DeviceLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        encoder.write_str(self.0.as_ref().map_or("", DeviceName::as_str))
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    transport: &'static str,
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PlanLabels {
    op: &'static str,
    plan: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SocketLabels {
    socket: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoadLabels {
    trigger: &'static str,
    result: &'static str,
}

/// Every metric endcap exports.
pub struct Metrics {
    registry: Registry,
    /// Operation labels, indexed by operation number.
    ops: &'static [&'static str],
    requests: Vec<Counter>,
    latency: Vec<Arc<LatencyHistogram>>,
    /// From arrival to answer written, queueing included.
    total_latency: Vec<Arc<LatencyHistogram>>,
    /// When the served model was built (trained), unix seconds; 0 before the first model.
    model_created: std::sync::atomic::AtomicI64,
    plans: Vec<Counter>,
    unknown_ids: Vec<Counter>,
    limited: Vec<Counter>,
    model_info: Family<VersionLabels, Gauge>,
    model_loads: Family<LoadLabels, Counter>,
    products: Gauge,
    customers: Gauge,
    loaded_at: Gauge,
    last_load_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    connections: Family<SocketLabels, Gauge>,
    /// Requests of the operations counted by caller (audiences), by role and device.
    by_caller: Family<CallerLabels, Counter>,
    current_version: std::sync::Mutex<String>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Registers every metric and pre-creates the per-request handles for operations labelled
    /// `ops` (operation `i` is `ops[i]`).
    pub fn new(ops: &'static [&'static str]) -> Metrics {
        let mut registry = Registry::with_prefix("endcap");
        let requests_family = Family::<RequestLabels, Counter>::default();
        let mut requests = Vec::new();
        let mut latency = Vec::new();
        let mut total_latency = Vec::new();
        for transport in TRANSPORTS {
            for &op in ops {
                for outcome in OUTCOMES {
                    let outcome = if outcome == ErrorCode::Unspecified { "ok" } else { outcome.label() };
                    requests.push(requests_family.get_or_create(&RequestLabels { transport, op, outcome }).clone());
                }
                latency.push(Arc::new(LatencyHistogram::default()));
                total_latency.push(Arc::new(LatencyHistogram::default()));
            }
        }
        registry.register("requests", "Requests answered, by transport, operation and outcome", requests_family);
        let plans_family = Family::<PlanLabels, Counter>::default();
        let plans = ops
            .iter()
            .flat_map(|&op| Plan::ALL.map(|p| (op, p.label())))
            .map(|(op, plan)| plans_family.get_or_create(&PlanLabels { op, plan }).clone())
            .collect();
        registry.register(
            "plans",
            "How the engine found each answer's candidates (exact_scan, ivf, popular; none: refused), by operation",
            plans_family,
        );
        let unknown_family = Family::<KindLabels, Counter>::default();
        let unknown_ids = UNKNOWN_IDS.map(|kind| unknown_family.get_or_create(&KindLabels { kind }).clone()).to_vec();
        registry.register(
            "unknown_ids",
            "Ids not in the model (customers fall back to popular; basket items are ignored)",
            unknown_family,
        );
        let limited_family = Family::<LimitLabels, Counter>::default();
        let limited =
            Limit::ALL.map(|l| limited_family.get_or_create(&LimitLabels { limit: l.label() }).clone()).to_vec();
        registry.register(
            "limited",
            "Connections, requests and streams refused or ended by a limit (rates, caps, deadlines, identity)",
            limited_family,
        );
        let mut m = Metrics {
            ops,
            limited,
            requests,
            latency,
            total_latency,
            model_created: std::sync::atomic::AtomicI64::new(0),
            plans,
            unknown_ids,
            model_info: Family::default(),
            model_loads: Family::default(),
            products: Gauge::default(),
            customers: Gauge::default(),
            loaded_at: Gauge::default(),
            last_load_seconds: Gauge::default(),
            connections: Family::default(),
            by_caller: Family::default(),
            current_version: std::sync::Mutex::new(String::new()),
            registry,
        };
        let r = &mut m.registry;
        r.register(
            "request_duration_seconds",
            "Time from request decoded to answer encoded, by transport and operation",
            LatencyFamily { ops, histograms: m.latency.clone() },
        );
        r.register(
            "request_total_duration_seconds",
            "Time from a request's arrival (its QUIC frame read from the stream, its HTTP head parsed) to its answer written, by transport and operation: queueing included",
            LatencyFamily { ops, histograms: m.total_latency.clone() },
        );
        r.register("model_info", "The model being served (value 1, version in the label)", m.model_info.clone());
        r.register(
            "model_loads",
            "Model loads, reloads and rollbacks by trigger and result; result != ok/unchanged is a refusal",
            m.model_loads.clone(),
        );
        r.register("model_products", "Products in the served model", m.products.clone());
        r.register("model_customers", "Customers in the served model", m.customers.clone());
        r.register(
            "model_loaded_timestamp_seconds",
            "When the served model was loaded, unix seconds",
            m.loaded_at.clone(),
        );
        r.register(
            "model_last_load_duration_seconds",
            "How long the last successful load, reload or rollback took (read, validate, build the engine; the swap itself is an atomic store)",
            m.last_load_seconds.clone(),
        );
        r.register(
            "caller_requests",
            "Requests of the operations that describe customers (audience, segments) by caller: the device's role and certificate name (empty without a certificate; role open on a server without device identity), operation and outcome",
            m.by_caller.clone(),
        );
        r.register(
            "quic_connections",
            "Open QUIC connections by socket (one socket unless server.quic_threads is above 1)",
            m.connections.clone(),
        );
        m
    }

    /// Records one answered request of operation number `op`.
    #[inline]
    pub fn record(&self, transport: Transport, op: usize, error: Option<ErrorCode>, took: Duration) {
        let op = op.min(self.ops.len() - 1);
        let outcome = error.map_or(0, |e| (e as usize).min(OUTCOMES.len() - 1));
        let at = (transport as usize * self.ops.len() + op) * OUTCOMES.len() + outcome;
        self.requests[at].inc();
        self.latency[transport as usize * self.ops.len() + op].observe(took);
    }

    /// Counts one request of operation number `op` by its caller. A labelled family (a read lock
    /// to find the series, a write lock the first time a device calls): for the operations that
    /// describe customers (ops and back office), never a device's request path.
    pub fn caller_request(&self, op: usize, role: Option<Role>, device: Option<DeviceName>, error: Option<ErrorCode>) {
        let op = self.ops[op.min(self.ops.len() - 1)];
        let outcome = error.map_or("ok", ErrorCode::label);
        let role = role.map_or("open", Role::name);
        self.by_caller.get_or_create(&CallerLabels { op, role, device: DeviceLabel(device), outcome }).inc();
    }

    /// Observes the time from a request's arrival to its answer's write.
    #[inline]
    pub fn observe_total(&self, transport: Transport, op: usize, took: Duration) {
        let op = op.min(self.ops.len() - 1);
        self.total_latency[transport as usize * self.ops.len() + op].observe(took);
    }

    /// Counts the plan that answered a request of operation number `op`.
    #[inline]
    pub fn plan(&self, op: usize, plan: Plan) {
        let op = op.min(self.ops.len() - 1);
        self.plans[op * Plan::ALL.len() + plan as usize].inc();
    }

    /// Counts one refusal by `limit`.
    #[inline]
    pub fn limited(&self, limit: Limit) {
        self.limited[limit as usize].inc();
    }

    /// Counts `n` ids of `kind` that were not in the model.
    #[inline]
    pub fn unknown_id(&self, kind: UnknownId, n: u64) {
        if n > 0 {
            self.unknown_ids[kind as usize].inc_by(n);
        }
    }

    /// Counts a model load attempt by trigger (`start`, `watch`, `signal`, `admin`, `rollback`)
    /// and result (`ok`, `unchanged`, `io`, `invalid`, `dimension`, `no_previous`).
    pub fn model_load(&self, trigger: &'static str, result: &'static str) {
        self.model_loads.get_or_create(&LoadLabels { trigger, result }).inc();
    }

    /// Records how long the last successful load (or rollback) took.
    pub fn set_last_load(&self, seconds: f64) {
        self.last_load_seconds.set(seconds);
    }

    /// Publishes the served model's identity and size.
    pub fn set_model(&self, version: &str, products: u64, customers: u64, loaded_unix: i64, created_unix: i64) {
        self.model_created.store(created_unix, Ordering::Relaxed);
        let mut current = self.current_version.lock().unwrap_or_else(|p| p.into_inner());
        if !current.is_empty() {
            self.model_info.remove(&VersionLabels { version: current.clone() });
        }
        *current = version.to_string();
        self.model_info.get_or_create(&VersionLabels { version: version.to_string() }).set(1);
        self.products.set(products as i64);
        self.customers.set(customers as i64);
        self.loaded_at.set(loaded_unix);
    }

    /// Shows QUIC socket `socket` in `quic_connections` (at 0) before its first connection.
    pub fn quic_socket(&self, socket: u32) {
        drop(self.connections.get_or_create(&SocketLabels { socket }));
    }

    /// Tracks open QUIC connections on QUIC socket `socket`.
    pub fn connection_opened(&self, socket: u32) {
        self.connections.get_or_create(&SocketLabels { socket }).inc();
    }

    /// Tracks open QUIC connections on QUIC socket `socket`.
    pub fn connection_closed(&self, socket: u32) {
        self.connections.get_or_create(&SocketLabels { socket }).dec();
    }

    /// Every metric in the OpenMetrics text format (what Prometheus asks for): the registry,
    /// then the model's age and the process metrics.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 << 10);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        if out.ends_with("# EOF\n") {
            out.truncate(out.len() - "# EOF\n".len());
        }
        let created = self.model_created.load(Ordering::Relaxed);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let age = if created > 0 { (now - created).max(0) } else { 0 };
        gauge(
            &mut out,
            "endcap_model_age_seconds",
            "Seconds since the served model was built (0 before the first model)",
            age as f64,
        );
        crate::metrics::process::encode(&mut out);
        out.push_str("# EOF\n");
        out
    }

    /// Every metric in the Prometheus text format 0.0.4 (what `promtool check metrics` and
    /// older scrapers read): as [`encode`](Self::encode), with counters' HELP and TYPE named by
    /// their `_total` samples and no `# EOF`.
    pub fn encode_prometheus(&self) -> String {
        to_prometheus_text(&self.encode())
    }
}

/// Writes one unlabelled gauge in OpenMetrics text.
fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    use std::fmt::Write;
    let _ = write!(out, "# HELP {name} {help}.\n# TYPE {name} gauge\n{name} {value}\n");
}

/// OpenMetrics text to Prometheus text 0.0.4: a counter family `x` whose samples are `x_total`
/// gets its HELP and TYPE lines renamed to `x_total`; `# EOF` goes.
pub fn to_prometheus_text(open_metrics: &str) -> String {
    let counters: std::collections::HashSet<&str> =
        open_metrics.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter")).collect();
    let mut out = String::with_capacity(open_metrics.len() + 1024);
    for line in open_metrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters.contains(name).then(|| format!("{p}{name}_total {tail}"))
        });
        match renamed {
            Some(l) => out.push_str(&l),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The latency histograms as one labelled family, encoded from the pre-created handles.
#[derive(Debug)]
struct LatencyFamily {
    ops: &'static [&'static str],
    histograms: Vec<Arc<LatencyHistogram>>,
}

impl TypedMetric for LatencyFamily {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyFamily {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let n = self.ops.len();
        for (i, h) in self.histograms.iter().enumerate() {
            let labels = LatencyLabels { transport: TRANSPORTS[i / n], op: self.ops[i % n] };
            h.encode(encoder.encode_family(&labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPS: &[&str] = &["ping", "recommend", "invalid"];
    const RECOMMEND: usize = 1;
    const INVALID: usize = 2;

    #[test]
    fn records_land_under_their_labels() {
        let m = Metrics::new(OPS);
        m.record(Transport::Quic, RECOMMEND, None, Duration::from_micros(80));
        m.record(Transport::Quic, RECOMMEND, None, Duration::from_millis(3));
        m.record(Transport::Http, INVALID, Some(ErrorCode::MalformedRequest), Duration::from_micros(10));
        m.unknown_id(UnknownId::Customer, 2);
        m.plan(RECOMMEND, Plan::Ivf);
        m.set_model("v1", 10, 20, 1_700_000_000, 1_699_000_000);
        m.set_model("v2", 10, 20, 1_700_000_001, 1_699_000_000);
        let text = m.encode();
        assert!(text.contains(r#"endcap_requests_total{transport="quic",op="recommend",outcome="ok"} 2"#), "{text}");
        assert!(text.contains(r#"endcap_requests_total{transport="http",op="invalid",outcome="malformed_request"} 1"#));
        // Buckets are cumulative: each `le` counts every observation at or below it, once.
        let bucket = |le: &str| {
            let series =
                format!(r#"endcap_request_duration_seconds_bucket{{le="{le}",transport="quic",op="recommend"}} "#);
            let at = text.find(&series).unwrap_or_else(|| panic!("no {series} in {text}")) + series.len();
            text[at..].split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).expect("a count")
        };
        assert_eq!(
            [bucket("0.00005"), bucket("0.0001"), bucket("0.002"), bucket("0.005"), bucket("+Inf")],
            [0, 1, 1, 2, 2]
        );
        assert!(text.contains(r#"endcap_request_duration_seconds_count{transport="quic",op="recommend"} 2"#));
        assert!(text.contains(r#"endcap_unknown_ids_total{kind="customer"} 2"#));
        assert!(text.contains(r#"endcap_unknown_ids_total{kind="basket_product"} 0"#), "listed before the first");
        assert!(text.contains(r#"endcap_plans_total{op="recommend",plan="ivf"} 1"#), "{text}");
        assert!(text.contains(r#"endcap_plans_total{op="recommend",plan="exact_scan"} 0"#));
        assert!(text.contains(r#"endcap_model_info{version="v2"} 1"#) && !text.contains(r#"version="v1""#));
    }

    #[test]
    fn caller_requests_are_counted_by_role_and_device() {
        let m = Metrics::new(OPS);
        let hq = DeviceName::new("hq-laptop.1");
        m.caller_request(RECOMMEND, Some(Role::Ops), hq, None);
        m.caller_request(RECOMMEND, Some(Role::Ops), hq, None);
        m.caller_request(RECOMMEND, Some(Role::Screen), DeviceName::new("aisle-7"), Some(ErrorCode::PermissionDenied));
        m.caller_request(RECOMMEND, None, None, None);
        let text = m.encode();
        let line = |l: &str| text.lines().any(|x| x == l);
        assert!(
            line(r#"endcap_caller_requests_total{op="recommend",role="ops",device="hq-laptop.1",outcome="ok"} 2"#),
            "{text}"
        );
        assert!(line(
            r#"endcap_caller_requests_total{op="recommend",role="screen",device="aisle-7",outcome="permission_denied"} 1"#
        ));
        assert!(line(r#"endcap_caller_requests_total{op="recommend",role="open",device="",outcome="ok"} 1"#));
    }
}
