//! The request options every operation that suggests products shares: `exclude`, `signals`,
//! `max_per_aisle` and `session` (fields 20-23 of its protobuf message, the same names in JSON),
//! and the shopper's live session, copied out of `Sessions` into reused buffers for the engine.

use serde::Deserialize;

use super::{Cx, OpError, Role};
use crate::engine::{Context, Options};
use crate::ids::IdList;
use crate::protocol::{self, WireError};
use crate::shoppers::Shopper;

/// The request options every product-suggesting operation shares (fields 20-23 of its message,
/// `exclude`, `signals` and `max_per_aisle` in JSON).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptionArgs {
    /// Product ids never to return.
    pub exclude: IdList,
    /// Signals the shopper states.
    pub signals: IdList,
    /// At most this many items per aisle (0 = no limit).
    pub max_per_aisle: u32,
    /// An anonymous shopper's session id (a device-chosen id, as in their events), whose live
    /// session to use; a known customer's session is found by their id.
    pub session: String,
    /// The shopper's live session, copied for this request.
    context: ContextBuf,
}

/// A live session's parts, in buffers reused across requests.
#[derive(Debug, Clone, Default, PartialEq)]
struct ContextBuf {
    zone: String,
    recent: IdList,
    basket: IdList,
    bought: IdList,
    bought_at: Vec<i64>,
}

impl OptionArgs {
    /// Field numbers of the options in every message that carries them.
    pub const EXCLUDE: u32 = 20;
    /// See [`OptionArgs::EXCLUDE`].
    pub const SIGNALS: u32 = 21;
    /// See [`OptionArgs::EXCLUDE`].
    pub const MAX_PER_AISLE: u32 = 22;
    /// See [`OptionArgs::EXCLUDE`].
    pub const SESSION: u32 = 23;

    /// Clears every option.
    pub fn clear(&mut self) {
        self.exclude.clear();
        self.signals.clear();
        self.max_per_aisle = 0;
        self.session.clear();
    }

    /// The common start of every shopper operation, for the customer id the request named
    /// (`asked`, "" for an anonymous shopper): a beacon may not name one (PERMISSION_DENIED), the
    /// live session is copied in (`load_session`), and the id the engine may personalise with is
    /// returned ("" for a customer who opted out or was forgotten: `Cx::personal`).
    pub fn for_shopper<'c>(&mut self, cx: &Cx<'_>, asked: &'c str) -> Result<&'c str, OpError> {
        if cx.caller.role == Some(Role::Beacon) && !asked.is_empty() {
            return Err(cx.denied("ask about a customer by id"));
        }
        self.load_session(cx, asked)?;
        Ok(cx.personal(asked))
    }

    /// Copies the live session of the shopper `asked` (the request's customer id, "" for an
    /// anonymous shopper), or of the anonymous `session` id, out of the server's sessions for
    /// this request. No session is read for an answer that is concealed (a public device naming
    /// a customer: the answer must not reflect what they just did) nor for a customer who opted
    /// out or was forgotten (their events are not kept).
    pub fn load_session(&mut self, cx: &Cx<'_>, asked: &str) -> Result<(), OpError> {
        if self.session.len() > crate::ids::MAX_ID_BYTES {
            let msg = format!("session id is longer than {} bytes", crate::ids::MAX_ID_BYTES);
            return Err(OpError::new(protocol::ErrorCode::InvalidArgument, msg));
        }
        let c = &mut self.context;
        c.zone.clear();
        c.recent.clear();
        c.basket.clear();
        c.bought.clear();
        c.bought_at.clear();
        let Some(shoppers) = cx.shoppers else { return Ok(()) };
        let who = match (asked, cx.personal(asked), self.session.as_str()) {
            ("", _, "") => return Ok(()),
            ("", _, session) => Shopper::Anonymous(session),
            (_, "", _) => return Ok(()),
            (_, _, _) if cx.conceals(asked) => return Ok(()),
            (_, customer, _) => Shopper::Customer(customer),
        };
        let zone_ms = (cx.live.settings().recommend.session_zone_s as i64).saturating_mul(1000);
        let now_ms = (cx.now.unix_us / 1000) as i64;
        shoppers.sessions.read_live(who, now_ms, |s| {
            // Within the last `session_zone_s` (0: never; an entry dated ahead does not count).
            if let Some((zone, at)) = &s.zone
                && (0..zone_ms).contains(&now_ms.saturating_sub(*at))
            {
                c.zone.push_str(zone);
            }
            s.recent.iter().for_each(|(p, _, _)| c.recent.push(p));
            s.basket.iter().for_each(|p| c.basket.push(p));
            for (p, at) in &s.bought {
                c.bought.push(p);
                c.bought_at.push(at / 1000);
            }
        });
        Ok(())
    }

    /// Reads field `tag` if it is an option; false when it is not one.
    pub fn decode_field(&mut self, tag: u32, v: protocol::Value<'_>) -> Result<bool, WireError> {
        match tag {
            Self::EXCLUDE => self.exclude.push(v.str(tag)?),
            Self::SIGNALS => self.signals.push(v.str(tag)?),
            Self::MAX_PER_AISLE => self.max_per_aisle = v.varint(tag)?.min(u32::MAX as u64) as u32,
            Self::SESSION => super::set(&mut self.session, v.str(tag)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Sets the options from their JSON form.
    pub fn set_json(&mut self, j: OptionsJson) {
        self.exclude = j.exclude.iter().collect();
        self.signals = j.signals.iter().collect();
        self.max_per_aisle = j.max_per_aisle;
        self.session = j.session;
    }

    /// Checks the ids' lengths and hands the options to the engine, for the customer id the
    /// request named (`asked`): concealed when the answer goes to a public device
    /// (`Cx::conceals`), from their segment when they opted out of personalisation.
    pub fn checked<'s>(&'s self, cx: &Cx<'_>, asked: &'s str) -> Result<Options<'s>, OpError> {
        super::check_ids("excluded product", &self.exclude)?;
        super::check_ids("signal", &self.signals)?;
        let c = &self.context;
        let context =
            Context { zone: &c.zone, recent: &c.recent, basket: &c.basket, bought: &c.bought, bought_at: &c.bought_at };
        Ok(Options {
            exclude: &self.exclude,
            signals: &self.signals,
            max_per_aisle: self.max_per_aisle,
            context,
            conceal: cx.conceals(asked),
            asked,
            opted_out: cx.opted_out(asked),
        })
    }
}

/// The options in a JSON body (flattened into each operation's body).
#[derive(Debug, Default, Deserialize)]
pub struct OptionsJson {
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    signals: Vec<String>,
    #[serde(default)]
    max_per_aisle: u32,
    #[serde(default)]
    session: String,
}
