//! One open-loop run: a pacer thread releases requests at their intended send times, lanes (QUIC
//! streams or HTTP connections) send them, and each answer's latency is taken from the intended
//! time, so a stall delays the clock of every request scheduled during it (no coordinated
//! omission).
//!
//! QUIC lanes pipeline: the writer sends each request when it is due without waiting for earlier
//! answers, and a reader matches the in-order answers to what was sent. HTTP/1.1 lanes cannot
//! pipeline, so a late answer holds the requests queued behind it, and their wait is counted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use endcap::protocol::ErrorCode;
use endcap::transport::tls::{ClientIdentity, Trust};
use http_body_util::{BodyExt, Full};
use quinn::{RecvStream, SendStream};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::timeout_at;

use crate::stats::{Stats, Summary};
use crate::workload::{Class, Workload};

/// Largest answer frame accepted.
const MAX_ANSWER: usize = 16 << 20;
/// Requests a QUIC lane writes in one go when several are due.
const MAX_BATCH: usize = 64;

/// How to reach the server.
#[derive(Debug, Clone)]
pub enum Transport {
    /// QUIC with this trust, presenting this device certificate (servers with a store CA).
    Quic(Trust, Option<ClientIdentity>),
    /// HTTP/1.1 JSON.
    Http,
}

/// One run.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// `host:port` (the QUIC port, or the HTTP port with `Transport::Http`).
    pub server: String,
    /// Transport.
    pub transport: Transport,
    /// Connections (simulated devices).
    pub connections: usize,
    /// QUIC streams per connection (HTTP: TCP connections per device).
    pub streams: usize,
    /// Requests per second, over all lanes.
    pub rate: f64,
    /// Measured time.
    pub duration: Duration,
    /// Time at the start whose requests are sent but not timed.
    pub warmup: Duration,
    /// How long to wait for outstanding answers after the schedule ends.
    pub drain: Duration,
    /// The operation's name for the report.
    pub op: String,
    /// How requests are released.
    pub pacer: Pacer,
    /// Keep every answer's (time, latency) for `plot` (memory grows with rate x duration).
    pub keep_samples: bool,
}

/// When the run's phases end.
#[derive(Debug, Clone, Copy)]
struct Clock {
    start: Instant,
    warm_end: Instant,
    window_end: Instant,
    deadline: Instant,
    keep_samples: bool,
}

impl Clock {
    #[inline]
    fn record(&self, stats: &mut Stats, class: Class, intended: Instant, now: Instant) {
        let measured = intended >= self.warm_end;
        let sample = measured && self.keep_samples;
        stats.answer(class, intended - self.start, now - intended, now <= self.window_end, measured, sample);
    }

    /// Records a request unanswered at the deadline (see `Stats::timed_out`).
    fn timed_out(&self, stats: &mut Stats, class: Class, intended: Instant) {
        stats.timed_out(class, intended.elapsed(), intended >= self.warm_end);
    }

    /// Records how late a request left the generator.
    #[inline]
    fn lag(&self, stats: &mut Stats, intended: Instant, sent: Instant) {
        if intended >= self.warm_end {
            stats.send_lag.saturating_record((sent.saturating_duration_since(intended).as_micros() as u64).max(1));
        }
    }
}

/// Intended send time and sequence number of one request.
type Due = (Instant, u64);

/// Runs `spec` with `workload`; connections are opened before the clock starts.
pub async fn run(spec: &RunSpec, workload: Arc<Workload>) -> anyhow::Result<Summary> {
    anyhow::ensure!(spec.rate > 0.0 && spec.rate.is_finite(), "the rate must be a positive number");
    anyhow::ensure!(spec.connections > 0 && spec.streams > 0, "at least one connection and one stream");
    anyhow::ensure!(!workload.requests.is_empty(), "the workload is empty");
    let lanes = spec.connections * spec.streams;
    let mut senders = Vec::with_capacity(lanes);
    let mut receivers = Vec::with_capacity(lanes);
    for _ in 0..lanes {
        let (tx, rx) = unbounded_channel::<Due>();
        senders.push(tx);
        receivers.push(rx);
    }
    // Open every lane before the clock starts, so set-up time is not charged to requests.
    enum Lane {
        Quic(SendStream, RecvStream),
        Http(HttpSender),
    }
    let mut opened = Vec::with_capacity(lanes);
    let mut keep = Vec::new();
    match &spec.transport {
        Transport::Quic(trust, identity) => {
            for _ in 0..spec.connections {
                let (endpoint, conn) = endcap::client::connect_quic_as(&spec.server, trust.clone(), identity.as_ref())
                    .await
                    .with_context(|| format!("connecting to {}", spec.server))?;
                for _ in 0..spec.streams {
                    let (send, recv) = conn.open_bi().await.context("opening a stream")?;
                    opened.push(Lane::Quic(send, recv));
                }
                keep.push((endpoint, conn));
            }
        }
        Transport::Http => {
            let addr = resolve(&spec.server).await?;
            for _ in 0..lanes {
                opened.push(Lane::Http(http_connect(addr).await?));
            }
        }
    }
    // Start a little ahead so every lane task is parked on its channel when the first is due.
    let start = Instant::now() + Duration::from_millis(20);
    let clock = Clock {
        start,
        warm_end: start + spec.warmup,
        window_end: start + spec.warmup + spec.duration,
        deadline: start + spec.warmup + spec.duration + spec.drain,
        keep_samples: spec.keep_samples,
    };
    let tasks: Vec<_> = opened
        .into_iter()
        .zip(receivers)
        .map(|(lane, rx)| match lane {
            Lane::Quic(send, recv) => tokio::spawn(quic_lane(send, recv, workload.clone(), rx, clock)),
            Lane::Http(sender) => tokio::spawn(http_lane(sender, spec.server.clone(), workload.clone(), rx, clock)),
        })
        .collect();
    let total = (spec.rate * (spec.warmup + spec.duration).as_secs_f64()).round() as u64;
    let schedule = Schedule { lanes: senders, start, rate: spec.rate, total, seq: 0 };
    let pacer = match spec.pacer {
        Pacer::Sleep => PacerHandle::Thread(
            std::thread::Builder::new()
                .name("pacer".into())
                .spawn(move || pace(schedule))
                .context("starting the pacer thread")?,
        ),
        Pacer::Spin => PacerHandle::Task(tokio::spawn(pace_polling(schedule))),
    };

    let mut stats = Stats::default();
    for task in tasks {
        stats.merge(task.await.context("a lane panicked")?);
    }
    match pacer {
        PacerHandle::Thread(t) => t.join().map_err(|_| anyhow::anyhow!("the pacer panicked"))?,
        PacerHandle::Task(t) => t.await.context("the pacer panicked")?,
    }
    for (endpoint, conn) in keep {
        conn.close(0u8.into(), b"done");
        endpoint.wait_idle().await;
    }
    Ok(Summary {
        transport: match spec.transport {
            Transport::Quic(..) => "quic",
            Transport::Http => "http",
        },
        op: spec.op.clone(),
        connections: spec.connections,
        streams: spec.streams,
        offered_rate: spec.rate,
        window: spec.duration,
        warmup: spec.warmup,
        stats,
    })
}

/// How the pacer waits for the next due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pacer {
    /// Sleep until it (costs no CPU; wakes as late as the OS lets it, see BENCHMARKS.md).
    #[default]
    Sleep,
    /// Busy-poll: the pacer is a task on the generator's runtime that yields until the due time,
    /// so the runtime never sleeps and no thread has to be woken between a due time and its
    /// send (nor for an answer). Punctual, but keeps one core busy.
    Spin,
}

enum PacerHandle {
    Thread(std::thread::JoinHandle<()>),
    Task(tokio::task::JoinHandle<()>),
}

/// The schedule: request `seq` is due at `start + seq / rate` and goes to lane `seq % lanes`.
struct Schedule {
    lanes: Vec<UnboundedSender<Due>>,
    start: Instant,
    rate: f64,
    total: u64,
    seq: u64,
}

impl Schedule {
    fn at(&self, seq: u64) -> Instant {
        self.start + Duration::from_secs_f64(seq as f64 / self.rate)
    }

    /// Releases every request due by now; the next due time, or `None` once all are released
    /// (dropping the schedule then closes the lanes).
    fn release_due(&mut self) -> Option<Instant> {
        let now = Instant::now();
        let n = self.lanes.len() as u64;
        while self.seq < self.total && self.at(self.seq) <= now {
            // A lane that has stopped (its stream failed) counts what it misses itself; a closed
            // channel here only means it has already ended.
            let _ = self.lanes[(self.seq % n) as usize].send((self.at(self.seq), self.seq));
            self.seq += 1;
        }
        (self.seq < self.total).then(|| self.at(self.seq))
    }
}

/// `Pacer::Spin`: a task that yields between due times (tokio polls the I/O driver without
/// blocking before it resumes a yielded task, so the runtime busy-polls its sockets meanwhile).
/// Sleeps only when the next request is far off.
async fn pace_polling(mut schedule: Schedule) {
    while let Some(next) = schedule.release_due() {
        if next > Instant::now() + Duration::from_millis(5) {
            tokio::time::sleep_until((next - Duration::from_millis(2)).into()).await;
        } else {
            tokio::task::yield_now().await;
        }
    }
}

/// `Pacer::Sleep`: runs on its own thread with a 1 us timer slack, so that a sleep ends as soon
/// as the OS wakes the thread instead of at the 1 ms granularity of the async timer; when several
/// requests are due at once (high rates, late wake-ups) they are released together.
fn pace(mut schedule: Schedule) {
    // SAFETY: prctl(PR_SET_TIMERSLACK) only changes this thread's timer slack.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1_000u64);
    }
    while let Some(next) = schedule.release_due() {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
    }
}

async fn quic_lane(
    mut send: SendStream,
    recv: RecvStream,
    workload: Arc<Workload>,
    mut due: UnboundedReceiver<Due>,
    clock: Clock,
) -> Stats {
    let (inflight_tx, inflight_rx) = unbounded_channel::<(Instant, Class, u64)>();
    let reader = tokio::spawn(quic_reader(recv, inflight_rx, clock));
    let (mut scheduled, mut sent) = (0u64, 0u64);
    let mut failed = false;
    let mut out = Vec::with_capacity(4096);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut lag = Stats::default();
    while let Some(first) = due.recv().await {
        out.clear();
        batch.clear();
        let mut next = Some(first);
        let mut n = 0u64;
        while let Some((intended, seq)) = next {
            n += 1;
            let t = workload.get(seq);
            if failed {
                lag.error("STREAM", 1);
            } else {
                t.write_frame(seq + 1, &mut out);
                batch.push(intended);
                let _ = inflight_tx.send((intended, t.class, seq + 1));
            }
            next = if n < MAX_BATCH as u64 { due.try_recv().ok() } else { None };
        }
        scheduled += n;
        if failed {
            continue;
        }
        // The frames just handed to the reader are counted there if they are never answered.
        match timeout_at(clock.deadline.into(), send.write_all(&out)).await {
            Ok(Ok(())) => {
                sent += n;
                let now = Instant::now();
                for &intended in &batch {
                    clock.lag(&mut lag, intended, now);
                }
            }
            // The server stopped reading (it is behind, or the reader gave up and stopped the
            // stream): give up on this stream.
            Ok(Err(_)) => failed = true,
            Err(_) => {
                let _ = send.reset(0u8.into());
                failed = true;
            }
        }
    }
    let _ = send.finish();
    drop(inflight_tx);
    let mut stats = match reader.await {
        Ok(stats) => stats,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    // The writer's own statistics: send lag, and the requests it never sent on a failed stream.
    lag.scheduled = scheduled;
    lag.sent = sent;
    stats.merge(lag);
    stats
}

async fn quic_reader(
    mut recv: RecvStream,
    mut inflight: UnboundedReceiver<(Instant, Class, u64)>,
    clock: Clock,
) -> Stats {
    let mut stats = Stats::default();
    let mut payload = Vec::new();
    let leftover = loop {
        let mut prefix = [0u8; 4];
        match timeout_at(clock.deadline.into(), recv.read_exact(&mut prefix)).await {
            Err(_) => break "TIMEOUT",
            // The server ended the stream (or it failed) with answers still owed.
            Ok(Err(_)) => break "STREAM",
            Ok(Ok(())) => {}
        }
        let len = u32::from_be_bytes(prefix) as usize;
        if len > MAX_ANSWER {
            if inflight.recv().await.is_some() {
                stats.error("BAD_ANSWER", 1);
            }
            break "STREAM";
        }
        payload.resize(len, 0);
        match timeout_at(clock.deadline.into(), recv.read_exact(&mut payload)).await {
            Err(_) => break "TIMEOUT",
            Ok(Err(_)) => break "STREAM",
            Ok(Ok(())) => {}
        }
        let now = Instant::now();
        let Some((intended, class, id)) = inflight.recv().await else {
            stats.error("BAD_ANSWER", 1);
            break "STREAM";
        };
        clock.record(&mut stats, class, intended, now);
        match parse_answer(&payload) {
            Some(a) if a.id == id => {
                stats.version(a.version);
                match a.error {
                    None => stats.ok += 1,
                    Some(code) => stats.error(error_name(code), 1),
                }
            }
            _ => stats.error("BAD_ANSWER", 1),
        }
    };
    // Whatever was sent and not answered: the stream failed, or the drain time ran out. Stop the
    // server's side first, so that a writer blocked on a full stream fails instead of waiting.
    let _ = recv.stop(0u8.into());
    while let Some((intended, class, _)) = inflight.recv().await {
        match leftover {
            "TIMEOUT" => clock.timed_out(&mut stats, class, intended),
            code => stats.error(code, 1),
        }
    }
    stats
}

fn error_name(code: i32) -> &'static str {
    ErrorCode::try_from(code).map_or("UNKNOWN_ERROR_CODE", ErrorCode::as_str_name)
}

/// The parts of a `Response` the generator looks at.
#[derive(Debug, PartialEq)]
pub struct Answer<'a> {
    /// Echoed request id.
    pub id: u64,
    /// Model version.
    pub version: &'a str,
    /// The error code, for an error answer.
    pub error: Option<i32>,
}

/// Reads the envelope of a `Response` without decoding the items (no allocation); `None` when
/// the bytes are not a valid answer or carry no result.
pub fn parse_answer(buf: &[u8]) -> Option<Answer<'_>> {
    let e = endcap::protocol::response_envelope(buf).ok()?;
    (e.result != 0).then_some(Answer { id: e.id, version: e.model_version, error: e.error })
}

async fn resolve(server: &str) -> anyhow::Result<SocketAddr> {
    tokio::net::lookup_host(server)
        .await
        .with_context(|| format!("resolving {server}"))?
        .next()
        .with_context(|| format!("{server} has no address"))
}

type HttpSender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn http_connect(addr: SocketAddr) -> anyhow::Result<HttpSender> {
    let tcp = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    tcp.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// `GET path` over a fresh HTTP connection, as JSON (the model description before a run).
pub async fn http_get_json(server: &str, path: &str) -> anyhow::Result<serde_json::Value> {
    let mut sender = http_connect(resolve(server).await?).await?;
    let req = hyper::Request::get(path).header(hyper::header::HOST, server).body(Full::new(Bytes::new()))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    anyhow::ensure!(status.is_success(), "GET {path}: {status}: {}", String::from_utf8_lossy(&body));
    Ok(serde_json::from_slice(&body)?)
}

async fn http_lane(
    mut sender: HttpSender,
    host: String,
    workload: Arc<Workload>,
    mut due: UnboundedReceiver<Due>,
    clock: Clock,
) -> Stats {
    let mut stats = Stats::default();
    let mut failed = false;
    while let Some((intended, seq)) = due.recv().await {
        stats.scheduled += 1;
        let t = workload.get(seq);
        if failed {
            stats.error("STREAM", 1);
            continue;
        }
        let builder = hyper::Request::builder().uri(t.http_path).header(hyper::header::HOST, &host);
        let req = match &t.http_body {
            Some(body) => builder
                .method(hyper::Method::POST)
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .body(Full::new(body.clone())),
            None => builder.method(hyper::Method::GET).body(Full::new(Bytes::new())),
        };
        let Ok(req) = req else {
            stats.error("BAD_REQUEST", 1);
            continue;
        };
        let (lag, sent) = (&mut stats.send_lag, &mut stats.sent);
        let exchange = async {
            sender.ready().await?;
            *sent += 1;
            if intended >= clock.warm_end {
                lag.saturating_record((intended.elapsed().as_micros() as u64).max(1));
            }
            let resp = sender.send_request(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, body))
        };
        match timeout_at(clock.deadline.into(), exchange).await {
            Err(_) => clock.timed_out(&mut stats, t.class, intended),
            Ok(Err(_)) => {
                failed = true;
                stats.error("STREAM", 1);
            }
            Ok(Ok((status, body))) => {
                clock.record(&mut stats, t.class, intended, Instant::now());
                if let Some(v) = json_str(&body, r#""model_version":""#) {
                    stats.version(v);
                }
                if status.is_success() {
                    stats.ok += 1;
                } else {
                    match json_str(&body, r#""code":""#) {
                        Some(code) => stats.error(code, 1),
                        None => stats.error(&format!("HTTP_{}", status.as_u16()), 1),
                    }
                }
            }
        }
    }
    stats
}

/// The value of the first `"key":"value"` in a JSON text, `key_colon_quote` being `"key":"`
/// (enough for endcap's flat answers, without parsing them or allocating on the hot path).
fn json_str<'a>(body: &'a [u8], key_colon_quote: &str) -> Option<&'a str> {
    let text = std::str::from_utf8(body).ok()?;
    let at = text.find(key_colon_quote)? + key_colon_quote.len();
    let end = text[at..].find('"')?;
    Some(&text[at..at + end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use endcap::protocol::{self, ItemRef};

    fn payload(frame: &[u8]) -> &[u8] {
        &frame[4..]
    }

    #[test]
    fn answers_are_read_like_the_server_writes_them() {
        let mut out = Vec::new();
        let item = ItemRef::plain("p1", "Milk", "Dairy", 1.5, "personal");
        protocol::encode_recommendation(&mut out, 77, "v3", [item].into_iter(), 12);
        assert_eq!(parse_answer(payload(&out)), Some(Answer { id: 77, version: "v3", error: None }));
        out.clear();
        protocol::encode_error(&mut out, 78, "v3", ErrorCode::UnknownZone, "no zone `x`");
        let a = parse_answer(payload(&out)).expect("parses");
        assert_eq!((a.id, a.error.map(error_name)), (78, Some("UNKNOWN_ZONE")));
        out.clear();
        let pong = protocol::Response {
            id: 1,
            model_version: String::new(),
            result: Some(protocol::response::Result::Pong(protocol::Pong { server_time_us: 5 })),
        };
        assert_eq!(
            parse_answer(&prost::Message::encode_to_vec(&pong)),
            Some(Answer { id: 1, version: "", error: None })
        );
        assert_eq!(parse_answer(&[]), None, "no result is not an answer");
        assert_eq!(parse_answer(&[0x12, 0x09, b'x']), None, "truncated");
    }

    #[test]
    fn json_fields_are_found() {
        let body = br#"{"error":{"code":"UNKNOWN_AISLE","message":"x"},"model_version":"v9"}"#;
        assert_eq!(json_str(body, r#""code":""#), Some("UNKNOWN_AISLE"));
        assert_eq!(json_str(body, r#""model_version":""#), Some("v9"));
        assert_eq!(json_str(body, r#""absent":""#), None);
    }

    #[test]
    fn the_pacer_releases_every_request_once_in_order_over_the_lanes() {
        let (a_tx, mut a) = unbounded_channel();
        let (b_tx, mut b) = unbounded_channel();
        let start = Instant::now();
        pace(Schedule { lanes: vec![a_tx, b_tx], start, rate: 20_000.0, total: 1_001, seq: 0 });
        let mut seen = Vec::new();
        while let Ok((at, seq)) = a.try_recv() {
            assert_eq!(seq % 2, 0);
            seen.push((at, seq));
        }
        while let Ok((at, seq)) = b.try_recv() {
            assert_eq!(seq % 2, 1);
            seen.push((at, seq));
        }
        seen.sort_by_key(|s| s.1);
        assert_eq!(seen.len(), 1_001);
        assert!(seen.iter().enumerate().all(|(i, s)| s.1 == i as u64));
        assert_eq!(seen[1_000].0 - start, Duration::from_millis(50), "request n is due at n / rate");
        assert!(Instant::now() >= start + Duration::from_millis(50), "and not released before");
    }
}
