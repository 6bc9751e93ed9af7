//! Per-shopper sessions: what each shopper did in the store recently (the zone they are in, what
//! they looked at or scanned, the live basket, what they bought since the model was trained), kept
//! in memory in concurrent maps, one for customers and one for anonymous sessions.
//!
//! Bounded twice: a session with no event for `ttl` is forgotten, and when the sessions' memory
//! goes over `max_bytes` the least recently updated are evicted until it fits; every eviction is
//! counted. Each list inside a session is bounded too. Sessions hold product ids (strings), not
//! model rows, so they stay valid across model swaps. Writers are events (the ingestion path);
//! the request path only reads (a shard read lock, never a write lock).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use dashmap::DashMap;

use crate::protocol::EventKind;

/// Recent views and adds kept per session.
pub const MAX_RECENT: usize = 16;
/// Products in a live basket.
pub const MAX_BASKET: usize = 64;
/// Purchases kept per session.
pub const MAX_BOUGHT: usize = 64;

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shopper<'a> {
    /// A known customer id.
    Customer(&'a str),
    /// An anonymous session id chosen by a device.
    Anonymous(&'a str),
}

/// One shopper's recent behaviour.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    /// The zone entered last, and when (unix ms).
    pub zone: Option<(Box<str>, i64)>,
    /// Products viewed or added, newest last, with when (unix ms) and how.
    pub recent: VecDeque<(Box<str>, i64, EventKind)>,
    /// The live basket (added and not removed), oldest first.
    pub basket: Vec<Box<str>>,
    /// Products bought since the server started (or the model was trained), with when (unix ms).
    pub bought: VecDeque<(Box<str>, i64)>,
    /// The last event's time (unix ms).
    pub updated_ms: i64,
    /// Place in the eviction order.
    order: (i64, u64),
    /// Estimated bytes.
    bytes: usize,
}

impl Session {
    /// Applies one event at `ts_ms`.
    fn apply(&mut self, kind: EventKind, product: &str, zone: &str, ts_ms: i64) {
        match kind {
            EventKind::ZoneEnter => self.zone = Some((zone.into(), ts_ms)),
            EventKind::View | EventKind::Add => {
                if self.recent.len() == MAX_RECENT {
                    self.recent.pop_front();
                }
                self.recent.push_back((product.into(), ts_ms, kind));
                if kind == EventKind::Add && !self.basket.iter().any(|p| &**p == product) {
                    if self.basket.len() == MAX_BASKET {
                        self.basket.remove(0);
                    }
                    self.basket.push(product.into());
                }
            }
            EventKind::Remove => self.basket.retain(|p| &**p != product),
            EventKind::Purchase => {
                self.basket.retain(|p| &**p != product);
                if self.bought.len() == MAX_BOUGHT {
                    self.bought.pop_front();
                }
                self.bought.push_back((product.into(), ts_ms));
            }
            EventKind::Unspecified => {}
        }
        self.updated_ms = self.updated_ms.max(ts_ms);
        self.bytes = self.estimate();
    }

    /// Heap and inline bytes, roughly: what the memory cap counts.
    fn estimate(&self) -> usize {
        let strings = self.zone.as_ref().map_or(0, |z| z.0.len())
            + self.recent.iter().map(|r| r.0.len() + 24).sum::<usize>()
            + self.basket.iter().map(|p| p.len() + 16).sum::<usize>()
            + self.bought.iter().map(|b| b.0.len() + 24).sum::<usize>();
        std::mem::size_of::<Session>() + 64 + strings
    }
}

/// Sessions by last update: (updated ms, tie-break) -> (is a customer, key).
type EvictionOrder = BTreeMap<(i64, u64), (bool, Box<str>)>;

/// The sessions, bounded by age and memory.
#[derive(Debug)]
pub struct Sessions {
    customers: DashMap<Box<str>, Session>,
    anonymous: DashMap<Box<str>, Session>,
    /// Eviction order: (updated ms, tie-break) -> the session's map (customers?) and key.
    order: Mutex<EvictionOrder>,
    next: AtomicU64,
    bytes: AtomicUsize,
    evicted: AtomicU64,
    expired: AtomicU64,
    ttl_ms: i64,
    max_bytes: usize,
}

impl Sessions {
    /// Sessions forgotten after `ttl_s` without an event, evicted past `max_bytes`.
    pub fn new(ttl_s: u64, max_bytes: usize) -> Sessions {
        Sessions {
            customers: DashMap::new(),
            anonymous: DashMap::new(),
            order: Mutex::default(),
            next: AtomicU64::new(0),
            bytes: AtomicUsize::new(0),
            evicted: AtomicU64::new(0),
            expired: AtomicU64::new(0),
            ttl_ms: (ttl_s as i64).saturating_mul(1000),
            max_bytes,
        }
    }

    fn map(&self, customer: bool) -> &DashMap<Box<str>, Session> {
        if customer { &self.customers } else { &self.anonymous }
    }

    /// Applies an event of `shopper` at `ts_ms` (unix ms), then evicts what the bounds require
    /// (`now_ms` decides what has expired).
    pub fn apply(&self, shopper: Shopper<'_>, kind: EventKind, product: &str, zone: &str, ts_ms: i64, now_ms: i64) {
        let (customer, id) = match shopper {
            Shopper::Customer(id) => (true, id),
            Shopper::Anonymous(id) => (false, id),
        };
        let tie = self.next.fetch_add(1, Ordering::Relaxed);
        {
            let mut entry = self.map(customer).entry(id.into()).or_default();
            let session = entry.value_mut();
            let before = session.bytes;
            let old_order = session.order;
            session.apply(kind, product, zone, ts_ms);
            session.order = (session.updated_ms, tie);
            let after = session.bytes;
            if after >= before {
                self.bytes.fetch_add(after - before, Ordering::Relaxed);
            } else {
                self.bytes.fetch_sub(before - after, Ordering::Relaxed);
            }
            let mut order = self.order.lock().unwrap_or_else(|p| p.into_inner());
            if before > 0 {
                order.remove(&old_order);
            }
            order.insert(session.order, (customer, id.into()));
        }
        self.evict(now_ms);
    }

    /// Drops sessions older than the TTL, then the least recently updated while over the memory
    /// cap.
    pub fn evict(&self, now_ms: i64) {
        loop {
            let victim = {
                let mut order = self.order.lock().unwrap_or_else(|p| p.into_inner());
                let Some((&(updated, tie), _)) = order.first_key_value() else { return };
                let expired = updated < now_ms.saturating_sub(self.ttl_ms);
                let over = self.bytes.load(Ordering::Relaxed) > self.max_bytes;
                if !expired && !over {
                    return;
                }
                let (customer, key) = order.remove(&(updated, tie)).expect("the first key is there");
                (customer, key, (updated, tie), expired)
            };
            let (customer, key, order_key, expired) = victim;
            // Remove only if the session was not updated since it was picked.
            if let Some((_, s)) = self.map(customer).remove_if(&key, |_, s| s.order == order_key) {
                self.bytes.fetch_sub(s.bytes, Ordering::Relaxed);
                let counter = if expired { &self.expired } else { &self.evicted };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Forgets one shopper's session (erasure).
    pub fn forget(&self, shopper: Shopper<'_>) {
        let (customer, id) = match shopper {
            Shopper::Customer(id) => (true, id),
            Shopper::Anonymous(id) => (false, id),
        };
        if let Some((_, s)) = self.map(customer).remove(id) {
            self.bytes.fetch_sub(s.bytes, Ordering::Relaxed);
            self.order.lock().unwrap_or_else(|p| p.into_inner()).remove(&s.order);
        }
    }

    /// Reads `shopper`'s session, if there is one, with `f` (a shard read lock for the call).
    #[inline]
    pub fn read<T>(&self, shopper: Shopper<'_>, f: impl FnOnce(&Session) -> T) -> Option<T> {
        let (customer, id) = match shopper {
            Shopper::Customer(id) => (true, id),
            Shopper::Anonymous(id) => (false, id),
        };
        self.map(customer).get(id).map(|s| f(&s))
    }

    /// `read`, for a session still within its time to live at `now_ms` (expiry itself runs when
    /// events arrive, so after a quiet night yesterday's sessions are still held until then).
    pub fn read_live<T>(&self, shopper: Shopper<'_>, now_ms: i64, f: impl FnOnce(&Session) -> T) -> Option<T> {
        let (customer, id) = match shopper {
            Shopper::Customer(id) => (true, id),
            Shopper::Anonymous(id) => (false, id),
        };
        let live = |s: &Session| s.updated_ms >= now_ms.saturating_sub(self.ttl_ms);
        self.map(customer).get(id).filter(|s| live(s)).map(|s| f(&s))
    }

    /// Sessions held.
    pub fn len(&self) -> usize {
        self.customers.len() + self.anonymous.len()
    }

    /// True when no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Estimated bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Sessions evicted for memory, and forgotten for age, since start.
    pub fn dropped(&self) -> (u64, u64) {
        (self.evicted.load(Ordering::Relaxed), self.expired.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_build_the_session() {
        let s = Sessions::new(3600, 1 << 20);
        let me = Shopper::Customer("c1");
        s.apply(me, EventKind::ZoneEnter, "", "fresh", 1_000, 1_000);
        s.apply(me, EventKind::View, "p1", "", 2_000, 2_000);
        s.apply(me, EventKind::Add, "p2", "", 3_000, 3_000);
        s.apply(me, EventKind::Add, "p3", "", 3_500, 3_500);
        s.apply(me, EventKind::Remove, "p3", "", 3_600, 3_600);
        s.apply(me, EventKind::Purchase, "p2", "", 4_000, 4_000);
        let got = s.read(me, Clone::clone).expect("a session");
        assert_eq!(got.zone, Some(("fresh".into(), 1_000)));
        assert_eq!(got.recent.iter().map(|r| &*r.0).collect::<Vec<_>>(), ["p1", "p2", "p3"]);
        assert!(got.basket.is_empty(), "p3 removed, p2 bought");
        assert_eq!(got.bought, [("p2".into(), 4_000)]);
        assert!(s.read(Shopper::Anonymous("c1"), |_| ()).is_none(), "customers and sessions are apart");
    }

    #[test]
    fn sessions_expire_and_the_memory_cap_holds_under_a_flood_of_new_ids() {
        let s = Sessions::new(10, 1 << 20);
        s.apply(Shopper::Anonymous("old"), EventKind::View, "p1", "", 0, 0);
        s.apply(Shopper::Anonymous("new"), EventKind::View, "p1", "", 20_000, 20_000);
        assert!(s.read(Shopper::Anonymous("old"), |_| ()).is_none(), "expired after 10 s");
        // A quiet spell: no event expires "new", but a reader at 31 s does not see it.
        assert!(s.read_live(Shopper::Anonymous("new"), 29_000, |_| ()).is_some());
        assert!(s.read_live(Shopper::Anonymous("new"), 31_000, |_| ()).is_none(), "past its time to live");
        assert_eq!(s.dropped().1, 1);
        for i in 0..100_000 {
            let id = format!("flood-{i}");
            s.apply(Shopper::Anonymous(&id), EventKind::View, "p1234567", "", 30_000 + i, 30_000 + i);
            assert!(s.bytes() <= 1 << 20, "over the cap after {i}");
        }
        assert!(s.len() < 100_000 && s.len() > 1_000, "{} sessions", s.len());
        assert!(s.dropped().0 > 90_000, "evictions are counted");
        assert!(s.read(Shopper::Anonymous("flood-99999"), |_| ()).is_some(), "the newest stay");
        assert!(s.read(Shopper::Anonymous("flood-0"), |_| ()).is_none(), "the oldest go first");
    }

    #[test]
    fn lists_inside_a_session_are_bounded() {
        let s = Sessions::new(3600, 1 << 30);
        let me = Shopper::Customer("c1");
        for i in 0..1_000 {
            s.apply(me, EventKind::Add, &format!("p{i}"), "", i, i);
            s.apply(me, EventKind::Purchase, &format!("q{i}"), "", i, i);
        }
        s.read(me, |x| {
            assert_eq!((x.recent.len(), x.basket.len(), x.bought.len()), (MAX_RECENT, MAX_BASKET, MAX_BOUGHT));
        });
        s.forget(me);
        assert!(s.is_empty() && s.bytes() == 0);
    }
}
