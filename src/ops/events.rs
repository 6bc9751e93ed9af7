//! `events`: a batch of shopper events (zone_enter, view, add/scan, remove, purchase). Each event
//! is checked on its own (kind, shopper, ids, product in the catalogue, zone in the layout, device
//! time neither in the future nor too old); the good ones are written to the journal in one batch
//! and the answer (the count kept and the journal sequence number of the last) waits for the
//! journal's acknowledgement; only then are they applied to the shoppers' sessions. The bad ones
//! are refused one by one with codes. Events of customers who opted out or asked to be forgotten
//! are neither kept nor refused: the device cannot tell (and need not know) who opted out.

use serde::{Deserialize, Serialize};

use super::json;
use super::{Cx, Form, OpError, Operation, Role, Served};
use crate::engine::Scratch;
use crate::journal::{AppendError, Appended, Batch};
use crate::protocol::pb::{put_message_header, put_str, put_u64, str_len, u64_len};
use crate::protocol::{self, ErrorCode, EventKind, WireError};
use crate::shoppers::{Choice, EventRef, record};

/// `events`.
pub struct Events;

/// One event, decoded into reused strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventArgs {
    /// `EventKind` as on the wire.
    pub kind: i32,
    /// Customer id.
    pub customer: String,
    /// Anonymous session id.
    pub session: String,
    /// Product id.
    pub product: String,
    /// Zone.
    pub zone: String,
    /// Device time, unix ms; 0 = now.
    pub device_ts_ms: i64,
    /// Receipt id.
    pub order: String,
}

impl EventArgs {
    fn clear(&mut self) {
        self.kind = 0;
        self.customer.clear();
        self.session.clear();
        self.product.clear();
        self.zone.clear();
        self.device_ts_ms = 0;
        self.order.clear();
    }

    fn as_ref(&self) -> EventRef<'_> {
        EventRef {
            kind: EventKind::try_from(self.kind).unwrap_or(EventKind::Unspecified),
            customer: &self.customer,
            session: &self.session,
            product: &self.product,
            zone: &self.zone,
            device_ts_ms: self.device_ts_ms,
            order: &self.order,
        }
    }
}

/// What became of one event of the batch.
#[derive(Debug, Clone, PartialEq)]
enum Fate {
    /// Journaled, effective at this time (unix ms).
    Kept(i64),
    /// A customer who opted out or was forgotten: dropped without a word.
    Dropped,
    /// Refused with a code.
    Refused(ErrorCode, String),
}

/// `events`' arguments and the batch's working buffers (all reused).
#[derive(Debug, Default)]
pub struct EventsArgs {
    events: Vec<EventArgs>,
    len: usize,
    fates: Vec<Fate>,
    batch: Batch,
}

impl EventsArgs {
    fn next(&mut self) -> &mut EventArgs {
        if self.len == self.events.len() {
            self.events.push(EventArgs::default());
        }
        let e = &mut self.events[self.len];
        e.clear();
        self.len += 1;
        e
    }
}

/// `POST /v1/events` body: `{"events": [{"kind": "view", "customer": "c42", "product": "p7"}]}`.
#[derive(Debug, Deserialize)]
struct EventsBody {
    events: Vec<EventJson>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EventJson {
    kind: String,
    customer: String,
    session: String,
    product: String,
    zone: String,
    device_ts_ms: i64,
    order: String,
}

#[derive(Serialize)]
struct RefusalJson<'a> {
    index: usize,
    code: &'static str,
    message: &'a str,
}

#[derive(Serialize)]
struct AckJson<'a> {
    model_version: &'a str,
    accepted: u32,
    journal_seq: u64,
    refused: Vec<RefusalJson<'a>>,
}

/// Overwrites `s` with `v`.
fn set(s: &mut String, v: &str) {
    s.clear();
    s.push_str(v);
}

/// Decodes one `Event` message into `e`.
fn decode_event(body: &[u8], e: &mut EventArgs) -> Result<(), WireError> {
    protocol::for_each_field(body, |tag, v| {
        match tag {
            1 => e.kind = v.varint(tag)? as i32,
            2 => set(&mut e.customer, v.str(tag)?),
            3 => set(&mut e.session, v.str(tag)?),
            4 => set(&mut e.product, v.str(tag)?),
            5 => set(&mut e.zone, v.str(tag)?),
            6 => e.device_ts_ms = v.varint(tag)? as i64,
            7 => set(&mut e.order, v.str(tag)?),
            _ => {}
        }
        Ok(())
    })
}

impl Operation for Events {
    type Args = EventsArgs;

    fn decode(body: &[u8], a: &mut EventsArgs) -> Result<(), WireError> {
        a.len = 0;
        protocol::for_each_field(body, |tag, v| {
            if tag == 1 {
                let bytes = v.bytes(tag)?;
                decode_event(bytes, a.next())?;
            }
            Ok(())
        })
    }

    fn parse_json(body: &[u8], a: &mut EventsArgs) -> Result<(), String> {
        let b: EventsBody =
            serde_json::from_slice(body).map_err(|e| format!("request body is not a valid events batch: {e}"))?;
        a.len = 0;
        for j in b.events {
            let e = a.next();
            // An unknown kind name stays 0 and is refused on its own, like a bad protobuf kind.
            e.kind = EventKind::parse(&j.kind).map_or(0, |k| k as i32);
            e.customer = j.customer;
            e.session = j.session;
            e.product = j.product;
            e.zone = j.zone;
            e.device_ts_ms = j.device_ts_ms;
            e.order = j.order;
        }
        Ok(())
    }

    fn serve(
        cx: &Cx<'_>,
        a: &mut EventsArgs,
        _: &mut Scratch,
        form: Form,
        out: &mut Vec<u8>,
    ) -> Result<Served, OpError> {
        let shoppers = cx.shoppers()?;
        let engine = cx.engine()?;
        let now_ms = (cx.now.unix_us / 1000) as i64;
        let max = shoppers.config.max_batch;
        a.fates.clear();
        a.batch.clear();
        for (i, e) in a.events[..a.len].iter().enumerate() {
            let r = e.as_ref();
            let fate = if i >= max {
                Fate::Refused(ErrorCode::InvalidArgument, format!("the batch is over {max} events"))
            } else if r.kind == EventKind::Purchase && matches!(cx.caller.role, Some(Role::Screen | Role::Beacon)) {
                // A purchase is a till's word: it trains the next model and hides the product
                // from the shopper's answers, so a screen or beacon cannot claim one.
                Fate::Refused(ErrorCode::PermissionDenied, "only terminal and ops devices report purchases".into())
            } else if !r.customer.is_empty() && shoppers.privacy.choice(r.customer) != Choice::None {
                Fate::Dropped
            } else {
                match shoppers.check(&r, engine, now_ms) {
                    Ok(ts) => match a.batch.push_with(|buf| record::encode_event(buf, &r, ts)) {
                        Ok(()) => Fate::Kept(ts),
                        Err(e) => Fate::Refused(ErrorCode::InvalidArgument, e.to_string()),
                    },
                    Err(refusal) => Fate::Refused(refusal.code, refusal.message),
                }
            };
            a.fates.push(fate);
        }
        if a.batch.is_empty() {
            write_ack(a, 0, form, cx.version(), out);
            return Ok(Served::Done);
        }
        match shoppers.submit(&a.batch) {
            Ok(ack) => Ok(Served::Wait(ack)),
            Err(AppendError::Overloaded { .. }) => {
                Err(OpError::new(ErrorCode::Overloaded, "the event journal is behind; retry the batch shortly"))
            }
            Err(e) => Err(OpError::new(ErrorCode::Internal, format!("the event journal refused the batch: {e}"))),
        }
    }

    fn complete(
        cx: &Cx<'_>,
        a: &mut EventsArgs,
        appended: Result<Appended, AppendError>,
        form: Form,
        out: &mut Vec<u8>,
    ) -> Result<(), OpError> {
        let appended =
            appended.map_err(|e| OpError::new(ErrorCode::Internal, format!("the event journal failed: {e}")))?;
        let shoppers = cx.shoppers()?;
        let now_ms = (cx.now.unix_us / 1000) as i64;
        for (e, fate) in a.events[..a.len].iter().zip(&a.fates) {
            if let Fate::Kept(ts) = fate {
                shoppers.apply(&e.as_ref(), *ts, now_ms);
            }
        }
        write_ack(a, appended.last_seq, form, cx.version(), out);
        Ok(())
    }
}

/// Appends the `EventsAck` for the batch's fates.
fn write_ack(a: &EventsArgs, journal_seq: u64, form: Form, version: &str, out: &mut Vec<u8>) {
    // Dropped events (opted out, forgotten) count as accepted: the device cannot tell them apart.
    let accepted = a.fates.iter().filter(|f| !matches!(f, Fate::Refused(..))).count() as u32;
    let refused = a.fates.iter().enumerate().filter_map(|(i, f)| match f {
        Fate::Refused(code, message) => Some((i, *code, message.as_str())),
        _ => None,
    });
    match form {
        Form::Protobuf { id } => {
            let refusal_len = |&(i, code, m): &(usize, ErrorCode, &str)| {
                u64_len(1, i as u64) + u64_len(2, code as i32 as u64) + str_len(3, m)
            };
            let body = u64_len(1, accepted as u64)
                + u64_len(2, journal_seq)
                + refused
                    .clone()
                    .map(|r| {
                        let n = refusal_len(&r);
                        1 + prost::encoding::encoded_len_varint(n as u64) + n
                    })
                    .sum::<usize>();
            protocol::write_frame(out, |out| {
                protocol::pb::put_envelope(id, version, out);
                put_message_header(EVENTS_ACK, body, out);
                put_u64(1, accepted as u64, out);
                put_u64(2, journal_seq, out);
                for r in refused {
                    put_message_header(3, refusal_len(&r), out);
                    put_u64(1, r.0 as u64, out);
                    put_u64(2, r.1 as i32 as u64, out);
                    put_str(3, r.2, out);
                }
            });
        }
        Form::Json => {
            let refused =
                refused.map(|(index, code, message)| RefusalJson { index, code: code.as_str_name(), message });
            json::write(out, &AckJson { model_version: version, accepted, journal_seq, refused: refused.collect() });
        }
    }
}

/// `Response.events_ack`.
const EVENTS_ACK: u32 = 13;
