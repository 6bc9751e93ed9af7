//! What the simulated devices ask: a fixed, shuffled list of requests, each pre-encoded for QUIC
//! (the protobuf body of a `Request` without its id) and for HTTP (method, path and JSON body), so
//! that sending costs no encoding beyond the id and the frame length.
//!
//! The store-shaped mix has three device classes:
//! - `screen`: an in-aisle screen showing zone recommendations to whoever stands in front of it
//!   (a known customer when their phone or loyalty card was seen, otherwise anonymous), k = 8;
//! - `beacon`: a beacon pinging a known customer's app with a few items from the aisle they
//!   walk past, k = 3;
//! - `checkout`: a checkout terminal with the customer's basket (2-8 products), k = 5;
//! - `screen_rerank`: a share (`rerank_share`) of screens order the 12 products of their shelf for
//!   the shopper in front of them (`rerank`);
//! - `checkout_complete`: a share (`complete_share`) of checkout terminals ask what goes with the
//!   basket (`complete`, k = 5) instead of a recommendation;
//! - `beacon_event` and `screen_event`: a share of beacons report a shopper entering a zone, and of
//!   screens a shopper viewing a product, as `events` (one event each).
//!
//! `--op events` sends only event batches (views and adds of known customers), to measure
//! ingestion.

use std::fmt;

use bytes::Bytes;
use endcap::ops::{Method, OpId};
use endcap::protocol::{
    CompleteRequest, Event, EventKind, EventsRequest, Ping, RecommendRequest, RerankRequest, request,
};
use endcap::rng::SplitMix64;
use prost::Message;

/// Requests generated per workload; devices cycle through them.
pub const DEFAULT_REQUESTS: usize = 8192;

/// A kind of request, reported separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// `ping`.
    Ping,
    /// `recommend` for a customer, no filter.
    Recommend,
    /// In-aisle screen: zone recommendations.
    Screen,
    /// Beacon: aisle recommendations for a known customer.
    Beacon,
    /// Checkout terminal: recommendations with a basket.
    Checkout,
    /// A beacon reporting a zone entry (`events`).
    BeaconEvent,
    /// A screen reporting a view (`events`).
    ScreenEvent,
    /// A batch of events (`--op events`).
    Events,
    /// In-aisle screen ordering its shelf (`rerank`).
    ScreenRerank,
    /// Checkout terminal: what goes with the basket (`complete`).
    CheckoutComplete,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 10] = [
        Class::Ping,
        Class::Recommend,
        Class::Screen,
        Class::Beacon,
        Class::Checkout,
        Class::BeaconEvent,
        Class::ScreenEvent,
        Class::Events,
        Class::ScreenRerank,
        Class::CheckoutComplete,
    ];

    /// The name used in flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            Class::Ping => "ping",
            Class::Recommend => "recommend",
            Class::Screen => "screen",
            Class::Beacon => "beacon",
            Class::Checkout => "checkout",
            Class::BeaconEvent => "beacon_event",
            Class::ScreenEvent => "screen_event",
            Class::Events => "events",
            Class::ScreenRerank => "screen_rerank",
            Class::CheckoutComplete => "checkout_complete",
        }
    }

    /// Index into `ALL`.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One pre-encoded request.
#[derive(Debug, Clone)]
pub struct Template {
    /// Its class.
    pub class: Class,
    /// Protobuf `Request` body without the id field (the op only).
    pub body: Vec<u8>,
    /// HTTP path.
    pub http_path: &'static str,
    /// HTTP JSON body; `None` for a GET.
    pub http_body: Option<Bytes>,
}

impl Template {
    /// A template for one operation; its HTTP route comes from the server's operation list.
    pub fn new(class: Class, op: request::Op) -> Template {
        let body = endcap::protocol::Request { id: 0, op: Some(op.clone()) }.encode_to_vec();
        let known = |tag: u32| OpId::from_tag(tag).is_some();
        let tag = endcap::protocol::request_envelope(&body, known).ok().and_then(|(_, op)| op).map_or(0, |o| o.0);
        let (method, http_path) = OpId::from_tag(tag)
            .and_then(OpId::http_route)
            .expect("every operation the generator sends has an HTTP route");
        let http_body = match (method, op) {
            (Method::Get, _) => None,
            (Method::Post, request::Op::Recommend(r)) => Some(Bytes::from(recommend_json(&r))),
            (Method::Post, request::Op::Events(e)) => Some(Bytes::from(events_json(&e))),
            (Method::Post, request::Op::Rerank(r)) => {
                Some(Bytes::from(serde_json::json!({ "customer": r.customer, "products": r.products }).to_string()))
            }
            (Method::Post, request::Op::Complete(r)) => Some(Bytes::from(
                serde_json::json!({ "customer": r.customer, "basket": r.basket, "k": r.k }).to_string(),
            )),
            (Method::Post, other) => panic!("no JSON body for {other:?} in the generator"),
        };
        Template { class, body, http_path, http_body }
    }

    /// Appends the QUIC frame of this request with `id` to `out`.
    #[inline]
    pub fn write_frame(&self, id: u64, out: &mut Vec<u8>) {
        use prost::encoding::{WireType, encode_key, encode_varint};
        endcap::protocol::write_frame(out, |out| {
            encode_key(endcap::protocol::wire::ID, WireType::Varint, out);
            encode_varint(id, out);
            out.extend_from_slice(&self.body);
        });
    }
}

fn recommend_json(r: &RecommendRequest) -> String {
    let mut v = serde_json::json!({ "customer": r.customer });
    if !r.zone.is_empty() {
        v["zone"] = r.zone.clone().into();
    }
    if !r.aisle.is_empty() {
        v["aisle"] = r.aisle.clone().into();
    }
    if !r.basket.is_empty() {
        v["basket"] = r.basket.clone().into();
    }
    if r.k != 0 {
        v["k"] = r.k.into();
    }
    v.to_string()
}

fn events_json(r: &EventsRequest) -> String {
    let events: Vec<serde_json::Value> = r
        .events
        .iter()
        .map(|e| {
            serde_json::json!({
                "kind": e.kind().name(), "customer": e.customer, "session": e.session,
                "product": e.product, "zone": e.zone,
            })
        })
        .collect();
    serde_json::json!({ "events": events }).to_string()
}

/// One event of `kind` for `customer` (a product or a zone).
fn event(kind: EventKind, customer: String, product: String, zone: String) -> Event {
    Event { kind: kind as i32, customer, product, zone, ..Event::default() }
}

/// The request list the devices cycle through.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Requests, in sending order.
    pub requests: Vec<Template>,
}

/// Which operation to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpChoice {
    /// Only `ping`.
    Ping,
    /// Only unfiltered `recommend` for customers.
    Recommend,
    /// The store-shaped mix.
    Mix,
    /// Only event batches.
    Events,
}

/// Shares of the device classes in the mix (relative weights).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mix {
    /// `screen` weight.
    pub screen: u32,
    /// `beacon` weight.
    pub beacon: u32,
    /// `checkout` weight.
    pub checkout: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix { screen: 40, beacon: 40, checkout: 20 }
    }
}

impl std::str::FromStr for Mix {
    type Err = String;

    /// `screen=40,beacon=40,checkout=20`; classes left out get 0.
    fn from_str(s: &str) -> Result<Mix, String> {
        let mut mix = Mix { screen: 0, beacon: 0, checkout: 0 };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part.split_once('=').ok_or_else(|| format!("`{part}`: expected class=weight"))?;
            let weight: u32 = weight.trim().parse().map_err(|_| format!("`{part}`: weight is not a whole number"))?;
            match name.trim() {
                "screen" => mix.screen = weight,
                "beacon" => mix.beacon = weight,
                "checkout" => mix.checkout = weight,
                other => return Err(format!("unknown class `{other}` (screen, beacon, checkout)")),
            }
        }
        if mix.screen + mix.beacon + mix.checkout == 0 {
            return Err("the mix has no weight".into());
        }
        Ok(mix)
    }
}

/// The ids and layout requests are drawn from.
#[derive(Debug, Clone)]
pub struct Universe {
    /// Known customer ids.
    pub customers: Vec<String>,
    /// Product ids (for baskets).
    pub products: Vec<String>,
    /// Zone names.
    pub zones: Vec<String>,
    /// Aisle names.
    pub aisles: Vec<String>,
}

impl Universe {
    /// The demo store's ids (`c0..`, `p0..`) for the given counts, and its layout.
    pub fn demo(customers: u64, products: u64) -> Universe {
        let zones = endcap::demo::zones();
        Universe {
            customers: (0..customers).map(|c| format!("c{c}")).collect(),
            products: (0..products).map(|p| format!("p{p}")).collect(),
            aisles: zones.iter().flat_map(|z| z.aisles.iter().map(|a| a.to_string())).collect(),
            zones: zones.iter().map(|z| z.name.to_string()).collect(),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    /// Operation.
    pub op: OpChoice,
    /// Class weights for `OpChoice::Mix`.
    pub mix: Mix,
    /// Share of requests (recommend, screen, checkout) from shoppers the model does not know.
    pub unknown_share: f64,
    /// `k` for plain `recommend`.
    pub k: u32,
    /// Requests to generate.
    pub requests: usize,
    /// Events per batch (`OpChoice::Events`).
    pub events_batch: usize,
    /// Share of beacons and screens in the mix that report an event instead of asking.
    pub event_share: f64,
    /// Share of the asking screens that rerank their shelf instead of asking for a zone.
    pub rerank_share: f64,
    /// Share of checkout terminals that ask `complete` instead of `recommend`.
    pub complete_share: f64,
    /// Seed.
    pub seed: u64,
}

impl Workload {
    /// Draws `spec.requests` requests from `universe`.
    pub fn generate(spec: &WorkloadSpec, universe: &Universe) -> Result<Workload, String> {
        if universe.customers.is_empty() && spec.op != OpChoice::Ping {
            return Err("no customer ids to ask for".into());
        }
        if spec.op == OpChoice::Mix && (universe.zones.is_empty() || universe.aisles.is_empty()) {
            return Err("the mix needs zones and aisles".into());
        }
        let mut rng = SplitMix64::new(spec.seed);
        let pick = |rng: &mut SplitMix64, v: &[String]| v[rng.below(v.len())].clone();
        let customer = |rng: &mut SplitMix64, may_be_unknown: bool| {
            if may_be_unknown && rng.chance(spec.unknown_share) {
                format!("unknown-{}", rng.next_u64() % 1_000_000)
            } else {
                pick(rng, &universe.customers)
            }
        };
        let total = spec.mix.screen + spec.mix.beacon + spec.mix.checkout;
        let requests = (0..spec.requests.max(1))
            .map(|_| {
                let recommend = |r: RecommendRequest| request::Op::Recommend(r);
                match spec.op {
                    OpChoice::Ping => Template::new(Class::Ping, request::Op::Ping(Ping {})),
                    OpChoice::Recommend => Template::new(
                        Class::Recommend,
                        recommend(RecommendRequest {
                            customer: customer(&mut rng, true),
                            k: spec.k,
                            ..Default::default()
                        }),
                    ),
                    OpChoice::Events => {
                        let events = (0..spec.events_batch.max(1))
                            .map(|_| {
                                let kind = if rng.chance(0.7) { EventKind::View } else { EventKind::Add };
                                event(
                                    kind,
                                    customer(&mut rng, false),
                                    pick(&mut rng, &universe.products),
                                    String::new(),
                                )
                            })
                            .collect();
                        Template::new(Class::Events, request::Op::Events(EventsRequest { events }))
                    }
                    OpChoice::Mix => {
                        let roll = rng.below(total as usize) as u32;
                        let reports = rng.chance(spec.event_share);
                        if roll < spec.mix.screen && reports && !universe.products.is_empty() {
                            let e = event(
                                EventKind::View,
                                customer(&mut rng, false),
                                pick(&mut rng, &universe.products),
                                String::new(),
                            );
                            Template::new(Class::ScreenEvent, request::Op::Events(EventsRequest { events: vec![e] }))
                        } else if roll >= spec.mix.screen && roll < spec.mix.screen + spec.mix.beacon && reports {
                            let e = event(
                                EventKind::ZoneEnter,
                                customer(&mut rng, false),
                                String::new(),
                                pick(&mut rng, &universe.zones),
                            );
                            Template::new(Class::BeaconEvent, request::Op::Events(EventsRequest { events: vec![e] }))
                        } else if roll < spec.mix.screen
                            && rng.chance(spec.rerank_share)
                            && !universe.products.is_empty()
                        {
                            let shelf = (0..12).map(|_| pick(&mut rng, &universe.products)).collect();
                            let r = RerankRequest {
                                customer: customer(&mut rng, true),
                                products: shelf,
                                ..Default::default()
                            };
                            Template::new(Class::ScreenRerank, request::Op::Rerank(r))
                        } else if roll < spec.mix.screen {
                            let r = RecommendRequest {
                                customer: customer(&mut rng, true),
                                zone: pick(&mut rng, &universe.zones),
                                k: 8,
                                ..Default::default()
                            };
                            Template::new(Class::Screen, recommend(r))
                        } else if roll < spec.mix.screen + spec.mix.beacon {
                            let r = RecommendRequest {
                                customer: customer(&mut rng, false),
                                aisle: pick(&mut rng, &universe.aisles),
                                k: 3,
                                ..Default::default()
                            };
                            Template::new(Class::Beacon, recommend(r))
                        } else {
                            let basket = if universe.products.is_empty() {
                                Vec::new()
                            } else {
                                (0..2 + rng.below(7)).map(|_| pick(&mut rng, &universe.products)).collect()
                            };
                            let customer = customer(&mut rng, true);
                            if !basket.is_empty() && rng.chance(spec.complete_share) {
                                let r = CompleteRequest { customer, basket, k: 5, ..Default::default() };
                                Template::new(Class::CheckoutComplete, request::Op::Complete(r))
                            } else {
                                let r = RecommendRequest { customer, basket, k: 5, ..Default::default() };
                                Template::new(Class::Checkout, recommend(r))
                            }
                        }
                    }
                }
            })
            .collect();
        Ok(Workload { requests })
    }

    /// A workload of exactly these operations, cycled (tests, special runs).
    pub fn of(ops: Vec<(Class, request::Op)>) -> Workload {
        Workload { requests: ops.into_iter().map(|(class, op)| Template::new(class, op)).collect() }
    }

    /// The request for sequence number `seq`.
    #[inline]
    pub fn get(&self, seq: u64) -> &Template {
        &self.requests[(seq % self.requests.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use endcap::protocol::Request;

    #[test]
    fn frames_decode_as_the_request_with_its_id() {
        let t = Template::new(
            Class::Beacon,
            request::Op::Recommend(RecommendRequest {
                customer: "c1".into(),
                aisle: "Milk".into(),
                k: 3,
                ..Default::default()
            }),
        );
        let mut out = Vec::new();
        t.write_frame(300, &mut out);
        let len = u32::from_be_bytes(out[..4].try_into().unwrap()) as usize;
        assert_eq!(len, out.len() - 4);
        let req = Request::decode(&out[4..]).expect("decodes");
        assert_eq!(req.id, 300);
        let Some(request::Op::Recommend(r)) = req.op else { panic!("recommend") };
        assert_eq!((r.customer.as_str(), r.aisle.as_str(), r.k), ("c1", "Milk", 3));
        let json: serde_json::Value = serde_json::from_slice(t.http_body.as_ref().unwrap()).unwrap();
        assert_eq!(json, serde_json::json!({"customer": "c1", "aisle": "Milk", "k": 3}));
    }

    #[test]
    fn the_mix_follows_its_weights_and_is_deterministic() {
        let universe = Universe::demo(100, 50);
        let spec = WorkloadSpec {
            op: OpChoice::Mix,
            mix: "screen=1,beacon=0,checkout=3".parse().unwrap(),
            unknown_share: 0.0,
            k: 5,
            requests: 4000,
            events_batch: 1,
            event_share: 0.0,
            rerank_share: 0.0,
            complete_share: 0.0,
            seed: 7,
        };
        let w = Workload::generate(&spec, &universe).unwrap();
        let count = |c: Class| w.requests.iter().filter(|t| t.class == c).count();
        assert_eq!(count(Class::Beacon), 0);
        assert!((900..1100).contains(&count(Class::Screen)), "{}", count(Class::Screen));
        assert_eq!(count(Class::Screen) + count(Class::Checkout), 4000);
        let again = Workload::generate(&spec, &universe).unwrap();
        assert!(w.requests.iter().zip(&again.requests).all(|(a, b)| a.body == b.body));
        assert!("screen=0".parse::<Mix>().is_err());
        // With shares, screens rerank and terminals complete, from the same weights.
        let spec = WorkloadSpec { rerank_share: 0.5, complete_share: 0.5, ..spec };
        let w = Workload::generate(&spec, &universe).unwrap();
        let count = |c: Class| w.requests.iter().filter(|t| t.class == c).count();
        let (screens, terminals) = (
            count(Class::Screen) + count(Class::ScreenRerank),
            count(Class::Checkout) + count(Class::CheckoutComplete),
        );
        assert!((900..1100).contains(&screens) && screens + terminals == 4000, "{screens} {terminals}");
        assert!((350..650).contains(&count(Class::ScreenRerank)), "{}", count(Class::ScreenRerank));
        assert!((1300..1700).contains(&count(Class::CheckoutComplete)), "{}", count(Class::CheckoutComplete));
        for t in w.requests.iter().filter(|t| matches!(t.class, Class::ScreenRerank | Class::CheckoutComplete)) {
            let body: serde_json::Value = serde_json::from_slice(t.http_body.as_ref().unwrap()).unwrap();
            assert!(body.get("products").is_some() || body.get("basket").is_some(), "{body}");
        }
        assert!("kiosk=1".parse::<Mix>().is_err());
    }
}
