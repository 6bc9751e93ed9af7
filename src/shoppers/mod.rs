//! The live half of the model: what shoppers do now. Events come in (QUIC, HTTP, the store's
//! message bus), are checked one by one, written to the journal (`journal`), and once the journal
//! has acknowledged them, applied to per-shopper sessions that the next answer reads. The shoppers'
//! privacy choices (forget, opt out) go through the same journal, so that both survive a restart:
//! at start the journal is replayed into the privacy sets and the recent sessions.
//!
//! Owns the journal, the sessions and the privacy sets; knows the engine only to check ids against
//! the served catalogue. No transport, no protocol framing.

mod privacy;
pub mod record;
mod sessions;

use std::sync::Arc;

use prost::Message;
use tracing::{info, warn};

use crate::config::{EventsConfig, ZoneConfig};
use crate::engine::Engine;
use crate::ids::MAX_ID_BYTES;
use crate::journal::{Ack, AppendError, Batch, FsyncPolicy, Journal, JournalConfig, Reader};
use crate::protocol::{ErrorCode, EventKind};
pub use privacy::{Choice, Privacy};
pub use record::{EventRef, JournalRecord};
pub use sessions::{MAX_BASKET, MAX_BOUGHT, MAX_RECENT, Session, Sessions, Shopper};

/// The journal, the sessions and the privacy choices.
#[derive(Debug)]
pub struct Shoppers {
    /// Per-shopper sessions.
    pub sessions: Sessions,
    /// Erased and opted-out customers.
    pub privacy: Privacy,
    journal: Journal,
    /// The limits events are checked against.
    pub config: EventsConfig,
    zones: std::collections::HashSet<String>,
}

/// Why an event is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The wire code.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> Result<i64, Refusal> {
    Err(Refusal { code, message: message.into() })
}

impl Shoppers {
    /// Opens (or creates) the journal under `config`, replays it into the privacy sets and the
    /// sessions still within their time to live at `now_ms`, and reports what it found.
    pub fn open(config: &EventsConfig, zones: &[ZoneConfig], now_ms: i64) -> Result<Shoppers, String> {
        let fsync: FsyncPolicy = config.fsync.parse().map_err(|e| format!("events.fsync: {e}"))?;
        let journal_config = JournalConfig {
            fsync,
            segment_bytes: config.segment_bytes,
            max_queued_bytes: config.max_queued_bytes,
            ..JournalConfig::new(&config.journal_dir)
        };
        let journal = Journal::open(journal_config)
            .map_err(|e| format!("cannot open the event journal {}: {e}", config.journal_dir.display()))?;
        if let Some(torn) = &journal.recovery().torn_tail {
            warn!(
                dropped_records = torn.dropped_records,
                dropped_bytes = torn.dropped_bytes,
                "event journal: a torn tail (never acknowledged) was cut off"
            );
        }
        let shoppers = Shoppers {
            sessions: Sessions::new(config.session_ttl_s, config.session_max_bytes),
            privacy: Privacy::default(),
            journal,
            config: config.clone(),
            zones: zones.iter().map(|z| z.name.clone()).collect(),
        };
        let replayed = shoppers.replay(now_ms)?;
        let (erased, opted_out) = shoppers.privacy.counts();
        info!(
            dir = %config.journal_dir.display(),
            records = replayed,
            sessions = shoppers.sessions.len(),
            erased,
            opted_out,
            fsync = %fsync,
            "event journal open; sessions and privacy choices restored"
        );
        Ok(shoppers)
    }

    /// Replays every record: privacy choices, and events recent enough to matter to sessions.
    fn replay(&self, now_ms: i64) -> Result<u64, String> {
        let oldest = now_ms.saturating_sub((self.config.session_ttl_s as i64).saturating_mul(1000));
        let mut reader = Reader::open(&self.config.journal_dir, 1).map_err(|e| e.to_string())?;
        let mut n = 0;
        while let Some(r) = reader.next_record().map_err(|e| e.to_string())? {
            n += 1;
            let Ok(rec) = JournalRecord::decode(r.payload) else {
                warn!(seq = r.seq, "journal record is not a JournalRecord; skipped in replay");
                continue;
            };
            if !rec.forget.is_empty() {
                self.privacy.erase(&rec.forget);
                self.sessions.forget(Shopper::Customer(&rec.forget));
            } else if !rec.opt_out.is_empty() {
                self.privacy.opt_out(&rec.opt_out, true);
            } else if !rec.opt_in.is_empty() {
                self.privacy.opt_out(&rec.opt_in, false);
            } else if let Some(e) = rec.event.filter(|_| rec.ts_ms >= oldest) {
                let shopper =
                    if e.customer.is_empty() { Shopper::Anonymous(&e.session) } else { Shopper::Customer(&e.customer) };
                if !matches!(shopper, Shopper::Customer(c) if self.privacy.choice(c) == Choice::Erased) {
                    self.sessions.apply(shopper, e.kind(), &e.product, &e.zone, rec.ts_ms, now_ms);
                }
            }
        }
        Ok(n)
    }

    /// Checks one event against the limits and the served catalogue; its effective time (the
    /// device's, or `now_ms` when it gave none) when it passes.
    pub fn check(&self, e: &EventRef<'_>, engine: &Engine, now_ms: i64) -> Result<i64, Refusal> {
        let needs_product = !matches!(e.kind, EventKind::ZoneEnter);
        match (e.kind, e.customer.is_empty(), e.session.is_empty()) {
            (EventKind::Unspecified, ..) => return refuse(ErrorCode::InvalidArgument, "the event has no kind"),
            (_, true, true) => return refuse(ErrorCode::InvalidArgument, "the event names no customer and no session"),
            (_, false, false) => {
                return refuse(ErrorCode::InvalidArgument, "the event names both a customer and a session");
            }
            _ => {}
        }
        for (what, id) in [("customer", e.customer), ("session", e.session), ("product", e.product), ("order", e.order)]
        {
            if id.len() > MAX_ID_BYTES {
                return refuse(ErrorCode::InvalidArgument, format!("{what} id is longer than {MAX_ID_BYTES} bytes"));
            }
        }
        if needs_product {
            if e.product.is_empty() {
                return refuse(ErrorCode::InvalidArgument, format!("a {} event needs a product", e.kind.name()));
            }
            if engine.model().data().products.ids.row(e.product).is_none() {
                return refuse(ErrorCode::UnknownProduct, "the product is not in the served catalogue");
            }
        } else {
            if e.zone.is_empty() {
                return refuse(ErrorCode::InvalidArgument, "a zone_enter event needs a zone");
            }
            if e.zone.len() > crate::ops::MAX_NAME_BYTES || !self.zones.contains(e.zone) {
                return refuse(ErrorCode::UnknownZone, "the zone is not in the store layout");
            }
        }
        match e.device_ts_ms {
            0 => Ok(now_ms),
            t if t > now_ms + self.config.max_future_ms => refuse(
                ErrorCode::InvalidArgument,
                format!("device_ts_ms is more than {} ms in the future", self.config.max_future_ms),
            ),
            t if t < now_ms - self.config.max_age_ms => refuse(
                ErrorCode::InvalidArgument,
                format!("device_ts_ms is more than {} ms old", self.config.max_age_ms),
            ),
            t => Ok(t),
        }
    }

    /// Queues `batch` (encoded records) for the journal; the ack resolves once it is written.
    pub fn submit(&self, batch: &Batch) -> Result<Ack, AppendError> {
        self.journal.submit(batch)
    }

    /// Applies an acknowledged event to its shopper's session (erased customers have none).
    pub fn apply(&self, e: &EventRef<'_>, ts_ms: i64, now_ms: i64) {
        let shopper = if e.customer.is_empty() { Shopper::Anonymous(e.session) } else { Shopper::Customer(e.customer) };
        if let Shopper::Customer(c) = shopper
            && self.privacy.choice(c) == Choice::Erased
        {
            return;
        }
        self.sessions.apply(shopper, e.kind, e.product, e.zone, ts_ms, now_ms);
    }

    /// Applies an acknowledged privacy decision.
    pub fn apply_decision(&self, decision: record::Decision, customer: &str) {
        match decision {
            record::Decision::Forget => {
                self.privacy.erase(customer);
                self.sessions.forget(Shopper::Customer(customer));
            }
            record::Decision::OptOut => self.privacy.opt_out(customer, true),
            record::Decision::OptIn => self.privacy.opt_out(customer, false),
        }
    }

    /// The last acknowledged journal sequence number.
    pub fn acked_seq(&self) -> u64 {
        self.journal.acked_seq()
    }
}

/// The privacy choices recorded in the journal at `dir` (forget, opt out, opt in, in order), read
/// without opening it for writing: for tools that run beside the server (`endcap audience`).
pub fn read_privacy(dir: &std::path::Path) -> Result<Privacy, String> {
    let privacy = Privacy::default();
    let mut reader =
        Reader::open(dir, 1).map_err(|e| format!("cannot read the event journal {}: {e}", dir.display()))?;
    while let Some(r) = reader.next_record().map_err(|e| format!("event journal {}: {e}", dir.display()))? {
        let Ok(rec) = JournalRecord::decode(r.payload) else { continue };
        if !rec.forget.is_empty() {
            privacy.erase(&rec.forget);
        } else if !rec.opt_out.is_empty() {
            privacy.opt_out(&rec.opt_out, true);
        } else if !rec.opt_in.is_empty() {
            privacy.opt_out(&rec.opt_in, false);
        }
    }
    Ok(privacy)
}

/// Shared handle.
pub type SharedShoppers = Arc<Shoppers>;
