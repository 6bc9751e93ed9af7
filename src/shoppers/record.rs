//! The journal's records: a shopper event, or a privacy choice (forget, opt out, opt in), as a
//! protobuf `JournalRecord`, written by hand from borrowed fields (no allocation per event) and
//! read back with prost (tools, replay, the trainer).
//!
//! ```text
//! message JournalRecord {
//!   Event event = 1;          // an event (the Event message of proto/endcap.proto)
//!   string forget = 2;        // a customer who asked to be forgotten
//!   string opt_out = 3;       // a customer who opted out of personalisation
//!   string opt_in = 4;        // ... and back in
//!   int64 ts_ms = 5;          // when it counts: the device's time of an event, else the server's
//! }
//! ```

use crate::protocol::pb::{put_message_header, put_str, put_u64, str_len, u64_len};
use crate::protocol::{Event, EventKind};

/// A journal record, owned (read side).
#[derive(Clone, PartialEq, prost::Message)]
pub struct JournalRecord {
    /// An event.
    #[prost(message, optional, tag = "1")]
    pub event: Option<Event>,
    /// A customer to forget.
    #[prost(string, tag = "2")]
    pub forget: String,
    /// A customer who opted out.
    #[prost(string, tag = "3")]
    pub opt_out: String,
    /// A customer who opted back in.
    #[prost(string, tag = "4")]
    pub opt_in: String,
    /// When it counts, unix milliseconds.
    #[prost(int64, tag = "5")]
    pub ts_ms: i64,
}

/// An event's fields, borrowed (write side).
#[derive(Debug, Clone, Copy)]
pub struct EventRef<'a> {
    /// What happened.
    pub kind: EventKind,
    /// Customer id, or "".
    pub customer: &'a str,
    /// Anonymous session id, or "".
    pub session: &'a str,
    /// Product id, or "".
    pub product: &'a str,
    /// Zone, or "".
    pub zone: &'a str,
    /// The device's time, unix ms (0: none given).
    pub device_ts_ms: i64,
    /// Receipt id, or "".
    pub order: &'a str,
}

fn i64_len(tag: u32, v: i64) -> usize {
    u64_len(tag, v as u64)
}

/// Appends the `JournalRecord` of `event`, effective at `ts_ms`, to `out`.
pub fn encode_event(out: &mut Vec<u8>, e: &EventRef<'_>, ts_ms: i64) {
    let kind = e.kind as i32 as u64;
    let body = u64_len(1, kind)
        + str_len(2, e.customer)
        + str_len(3, e.session)
        + str_len(4, e.product)
        + str_len(5, e.zone)
        + i64_len(6, e.device_ts_ms)
        + str_len(7, e.order);
    put_message_header(1, body, out);
    put_u64(1, kind, out);
    put_str(2, e.customer, out);
    put_str(3, e.session, out);
    put_str(4, e.product, out);
    put_str(5, e.zone, out);
    put_u64(6, e.device_ts_ms as u64, out);
    put_str(7, e.order, out);
    put_u64(5, ts_ms as u64, out);
}

/// A privacy decision of a customer (what the journal records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Forget them.
    Forget,
    /// Opt out of personalisation.
    OptOut,
    /// Opt back in.
    OptIn,
}

/// Appends the `JournalRecord` of a privacy decision to `out`.
pub fn encode_decision(out: &mut Vec<u8>, choice: Decision, customer: &str, ts_ms: i64) {
    let tag = match choice {
        Decision::Forget => 2,
        Decision::OptOut => 3,
        Decision::OptIn => 4,
    };
    put_str(tag, customer, out);
    put_u64(5, ts_ms as u64, out);
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn hand_encoded_records_are_what_prost_reads() {
        let mut out = Vec::new();
        let e = EventRef {
            kind: EventKind::Purchase,
            customer: "c42",
            session: "",
            product: "p7",
            zone: "",
            device_ts_ms: 1_700_000_000_123,
            order: "r-9",
        };
        encode_event(&mut out, &e, 1_700_000_000_456);
        let got = JournalRecord::decode(&out[..]).expect("decodes");
        let want = JournalRecord {
            event: Some(Event {
                kind: EventKind::Purchase as i32,
                customer: "c42".into(),
                session: String::new(),
                product: "p7".into(),
                zone: String::new(),
                device_ts_ms: 1_700_000_000_123,
                order: "r-9".into(),
            }),
            ts_ms: 1_700_000_000_456,
            ..JournalRecord::default()
        };
        assert_eq!(got, want);
        assert_eq!(out, want.encode_to_vec(), "byte for byte");
        for (choice, field) in [(Decision::Forget, 0), (Decision::OptOut, 1), (Decision::OptIn, 2)] {
            out.clear();
            encode_decision(&mut out, choice, "c1", 5);
            let r = JournalRecord::decode(&out[..]).expect("decodes");
            assert_eq!([&r.forget, &r.opt_out, &r.opt_in][field], "c1");
            assert_eq!((r.event, r.ts_ms), (None, 5));
        }
    }
}
