//! The protocol messages, derived by hand with prost (no protoc needed) and mirrored field for
//! field in `proto/endcap.proto`, the language-neutral schema. The error codes are in `codes.rs`.

pub use super::codes::ErrorCode;

/// Client -> server.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    /// Chosen by the client, echoed in the answer.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// The operation; `None` when the client sent one this server does not know.
    #[prost(oneof = "request::Op", tags = "10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22")]
    pub op: Option<request::Op>,
}

/// The operations of a `Request`.
pub mod request {
    /// One operation.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Op {
        /// Liveness and round-trip time.
        #[prost(message, tag = "10")]
        Ping(super::Ping),
        /// The served model's description.
        #[prost(message, tag = "11")]
        ModelInfo(super::ModelInfoRequest),
        /// Products for a shopper.
        #[prost(message, tag = "12")]
        Recommend(super::RecommendRequest),
        /// Shopper events.
        #[prost(message, tag = "13")]
        Events(super::EventsRequest),
        /// Forget a customer.
        #[prost(message, tag = "14")]
        Forget(super::ForgetRequest),
        /// Opt a customer out of personalisation, or back in.
        #[prost(message, tag = "15")]
        OptOut(super::OptOutRequest),
        /// The store's layout.
        #[prost(message, tag = "16")]
        Store(super::StoreRequest),
        /// Substitutes for a product.
        #[prost(message, tag = "17")]
        Similar(super::SimilarRequest),
        /// What goes with a basket.
        #[prost(message, tag = "18")]
        Complete(super::CompleteRequest),
        /// A product's bundle partners with their figures.
        #[prost(message, tag = "19")]
        Bundles(super::BundlesRequest),
        /// Products a screen can show, in the shopper's order.
        #[prost(message, tag = "20")]
        Rerank(super::RerankRequest),
        /// Who buys a product (ops).
        #[prost(message, tag = "21")]
        Audience(crate::protocol::AudienceRequest),
        /// The customer segments (ops).
        #[prost(message, tag = "22")]
        Segments(crate::protocol::SegmentsRequest),
    }
}

/// `ping`: no fields.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Ping {}

/// `model_info`: no fields.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct ModelInfoRequest {}

/// `recommend`. Empty strings mean "not given".
#[derive(Clone, PartialEq, prost::Message)]
pub struct RecommendRequest {
    /// Customer id; empty for an anonymous shopper.
    #[prost(string, tag = "1")]
    pub customer: String,
    /// Zone name.
    #[prost(string, tag = "2")]
    pub zone: String,
    /// Aisle name.
    #[prost(string, tag = "3")]
    pub aisle: String,
    /// Product ids in the basket.
    #[prost(string, repeated, tag = "4")]
    pub basket: Vec<String>,
    /// Items wanted; 0 = server default.
    #[prost(uint32, tag = "5")]
    pub k: u32,
    /// `mixed` (default, ""), `buy_again` or `discover`.
    #[prost(string, tag = "6")]
    pub mode: String,
    /// In `mixed`: at least this many products the customer has not bought.
    #[prost(uint32, tag = "7")]
    pub min_discover: u32,
    /// Product ids never to return.
    #[prost(string, repeated, tag = "20")]
    pub exclude: Vec<String>,
    /// Signals the shopper states (hard rules, and taste for an anonymous shopper).
    #[prost(string, repeated, tag = "21")]
    pub signals: Vec<String>,
    /// At most this many items per aisle (0 = no limit).
    #[prost(uint32, tag = "22")]
    pub max_per_aisle: u32,
    /// An anonymous shopper's session id (as in their events): the live session to read.
    #[prost(string, tag = "23")]
    pub session: String,
}

/// `similar`. Empty strings mean "not given".
#[derive(Clone, PartialEq, prost::Message)]
pub struct SimilarRequest {
    /// The product to find substitutes for.
    #[prost(string, tag = "1")]
    pub product: String,
    /// Customer id: their rules apply.
    #[prost(string, tag = "2")]
    pub customer: String,
    /// Zone name: only products in the zone.
    #[prost(string, tag = "3")]
    pub zone: String,
    /// Aisle name: only products in the aisle.
    #[prost(string, tag = "4")]
    pub aisle: String,
    /// Items wanted; 0 = server default.
    #[prost(uint32, tag = "5")]
    pub k: u32,
    /// `aisle` (default, ""), `department` or `store`.
    #[prost(string, tag = "6")]
    pub scope: String,
    /// Product ids never to return.
    #[prost(string, repeated, tag = "20")]
    pub exclude: Vec<String>,
    /// Signals the shopper states.
    #[prost(string, repeated, tag = "21")]
    pub signals: Vec<String>,
    /// At most this many items per aisle (0 = no limit).
    #[prost(uint32, tag = "22")]
    pub max_per_aisle: u32,
    /// An anonymous shopper's session id (as in their events): the live session to read.
    #[prost(string, tag = "23")]
    pub session: String,
}

/// `complete`. Empty strings mean "not given".
#[derive(Clone, PartialEq, prost::Message)]
pub struct CompleteRequest {
    /// Product ids in the basket (at least one).
    #[prost(string, repeated, tag = "1")]
    pub basket: Vec<String>,
    /// Customer id.
    #[prost(string, tag = "2")]
    pub customer: String,
    /// Zone name: only products in the zone.
    #[prost(string, tag = "3")]
    pub zone: String,
    /// Items wanted; 0 = server default.
    #[prost(uint32, tag = "4")]
    pub k: u32,
    /// Product ids never to return.
    #[prost(string, repeated, tag = "20")]
    pub exclude: Vec<String>,
    /// Signals the shopper states.
    #[prost(string, repeated, tag = "21")]
    pub signals: Vec<String>,
    /// At most this many items per aisle (0 = no limit).
    #[prost(uint32, tag = "22")]
    pub max_per_aisle: u32,
    /// An anonymous shopper's session id (as in their events): the live session to read.
    #[prost(string, tag = "23")]
    pub session: String,
}

/// `bundles`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BundlesRequest {
    /// The product.
    #[prost(string, tag = "1")]
    pub product: String,
    /// Partners wanted; 0 = server default.
    #[prost(uint32, tag = "2")]
    pub k: u32,
}

/// `rerank`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RerankRequest {
    /// Customer id; empty for an anonymous shopper.
    #[prost(string, tag = "1")]
    pub customer: String,
    /// The products to order.
    #[prost(string, repeated, tag = "2")]
    pub products: Vec<String>,
    /// Product ids to leave out.
    #[prost(string, repeated, tag = "20")]
    pub exclude: Vec<String>,
    /// Signals the shopper states.
    #[prost(string, repeated, tag = "21")]
    pub signals: Vec<String>,
    /// An anonymous shopper's session id (as in their events): the live session to read.
    #[prost(string, tag = "23")]
    pub session: String,
}

/// Server -> client.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Response {
    /// The request's id (0 when the request could not be read).
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// The model that answered; empty only before a model is loaded.
    #[prost(string, tag = "2")]
    pub model_version: String,
    /// The answer.
    #[prost(oneof = "response::Result", tags = "10, 11, 12, 13, 15, 16, 17, 18, 19")]
    pub result: Option<response::Result>,
}

/// The answers of a `Response`.
pub mod response {
    /// One answer.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Result {
        /// To `ping`.
        #[prost(message, tag = "10")]
        Pong(super::Pong),
        /// To `model_info`.
        #[prost(message, tag = "11")]
        ModelInfo(super::ModelInfo),
        /// To `recommend`, `similar`, `complete`, `rerank`.
        #[prost(message, tag = "12")]
        Recommendation(super::Recommendation),
        /// To `events`, `forget`, `opt_out`.
        #[prost(message, tag = "13")]
        EventsAck(super::EventsAck),
        /// To `store`.
        #[prost(message, tag = "16")]
        Store(super::StoreLayout),
        /// To `bundles`.
        #[prost(message, tag = "17")]
        Bundles(super::Bundles),
        /// To `audience`.
        #[prost(message, tag = "18")]
        Audience(crate::protocol::Audience),
        /// To `segments`.
        #[prost(message, tag = "19")]
        Segments(crate::protocol::Segments),
        /// A refusal.
        #[prost(message, tag = "15")]
        Error(super::Error),
    }
}

/// Answer to `ping`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Pong {
    /// Server wall clock, unix microseconds.
    #[prost(uint64, tag = "1")]
    pub server_time_us: u64,
}

/// Answer to `model_info` (also the JSON of `GET /v1/model`, through serde).
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct ModelInfo {
    /// Model version.
    #[prost(string, tag = "1")]
    pub model_version: String,
    /// Artifact format version.
    #[prost(uint32, tag = "2")]
    pub format_version: u32,
    /// Embedding width.
    #[prost(uint32, tag = "3")]
    pub dim: u32,
    /// Products.
    #[prost(uint64, tag = "4")]
    pub products: u64,
    /// Customers.
    #[prost(uint64, tag = "5")]
    pub customers: u64,
    /// Signals.
    #[prost(uint64, tag = "6")]
    pub signals: u64,
    /// When loaded, unix milliseconds.
    #[prost(int64, tag = "7")]
    pub loaded_at_unix_ms: i64,
    /// File path or "built-in demo".
    #[prost(string, tag = "8")]
    pub source: String,
    /// Index description.
    #[prost(string, tag = "9")]
    pub index: String,
    /// Builder.
    #[prost(string, tag = "10")]
    pub built_by: String,
    /// How long the last successful load, reload or rollback took, microseconds.
    #[prost(uint64, tag = "11")]
    pub last_load_us: u64,
    /// The model kept for rollback; empty when none.
    #[prost(string, tag = "12")]
    pub previous_version: String,
    /// Model loads refused since start (bad files, wrong width).
    #[prost(uint64, tag = "13")]
    pub refused_loads: u64,
    /// Why the last refused load was refused; empty when none since the last success.
    #[prost(string, tag = "14")]
    pub last_refusal: String,
    /// Non-empty while the last-known-good copy serves because the configured model was refused
    /// at start: why, and which copy.
    #[prost(string, tag = "15")]
    pub last_good_fallback: String,
}

/// Answer to `recommend`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Recommendation {
    /// Suggestions, best first.
    #[prost(message, repeated, tag = "1")]
    pub items: Vec<Item>,
    /// Server time spent, microseconds.
    #[prost(uint64, tag = "2")]
    pub took_us: u64,
}

/// One suggested product.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Item {
    /// Product id.
    #[prost(string, tag = "1")]
    pub product_id: String,
    /// Product name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Aisle name.
    #[prost(string, tag = "3")]
    pub aisle: String,
    /// Score.
    #[prost(float, tag = "4")]
    pub score: f32,
    /// Why (`buy_again`, `also_bought`, `personal`, `basket`, `popular`, `popular_in_zone`,
    /// `popular_in_aisle`).
    #[prost(string, tag = "5")]
    pub reason: String,
    /// The product the suggestion comes from (`also_bought`).
    #[prost(string, tag = "6")]
    pub because: String,
    /// `buy_again`: days since the customer last bought it.
    #[prost(float, optional, tag = "7")]
    pub days_since_last: Option<f32>,
    /// `buy_again`: the customer's usual gap between purchases of it, in days.
    #[prost(float, optional, tag = "8")]
    pub usual_gap_days: Option<f32>,
    /// `buy_again`: the usual gap in the customer's visits (2 = every other visit).
    #[prost(float, optional, tag = "9")]
    pub usual_gap_orders: Option<f32>,
    /// Boosted by one of the store's promotions.
    #[prost(bool, tag = "10")]
    pub promoted: bool,
}

/// Answer to `bundles`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Bundles {
    /// The product asked about.
    #[prost(string, tag = "1")]
    pub product_id: String,
    /// Its name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Orders holding it.
    #[prost(uint64, tag = "3")]
    pub orders: u64,
    /// Orders in the model's training data.
    #[prost(uint64, tag = "4")]
    pub total_orders: u64,
    /// Partners, strongest first.
    #[prost(message, repeated, tag = "5")]
    pub partners: Vec<BundlePartner>,
    /// Server time spent, microseconds.
    #[prost(uint64, tag = "6")]
    pub took_us: u64,
}

/// One bundle partner.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BundlePartner {
    /// Product id.
    #[prost(string, tag = "1")]
    pub product_id: String,
    /// Product name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Aisle name.
    #[prost(string, tag = "3")]
    pub aisle: String,
    /// Orders holding both products.
    #[prost(uint64, tag = "4")]
    pub orders: u64,
    /// Share of all orders holding both.
    #[prost(float, tag = "5")]
    pub support: f32,
    /// Share of the product's orders that also hold the partner.
    #[prost(float, tag = "6")]
    pub confidence: f32,
    /// How much likelier the partner is beside the product than in any order (1 = independent).
    #[prost(float, tag = "7")]
    pub lift: f32,
}

/// A refusal.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Error {
    /// What kind.
    #[prost(enumeration = "ErrorCode", tag = "1")]
    pub code: i32,
    /// Explanation for a person.
    #[prost(string, tag = "2")]
    pub message: String,
    /// With `OVERLOADED`: wait at least this long before retrying, milliseconds (0: back off).
    #[prost(uint32, tag = "3")]
    pub retry_after_ms: u32,
}

/// What a shopper did (`Event.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum EventKind {
    /// Not set (refused).
    Unspecified = 0,
    /// Walked into a zone.
    ZoneEnter = 1,
    /// Looked at a product.
    View = 2,
    /// Scanned or put a product in the basket.
    Add = 3,
    /// Took a product out of the basket.
    Remove = 4,
    /// Bought a product at checkout.
    Purchase = 5,
}

impl EventKind {
    /// The name in JSON and logs.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Unspecified => "unspecified",
            EventKind::ZoneEnter => "zone_enter",
            EventKind::View => "view",
            EventKind::Add => "add",
            EventKind::Remove => "remove",
            EventKind::Purchase => "purchase",
        }
    }

    /// The kind called `name`.
    pub fn parse(name: &str) -> Option<EventKind> {
        [EventKind::ZoneEnter, EventKind::View, EventKind::Add, EventKind::Remove, EventKind::Purchase]
            .into_iter()
            .find(|k| k.name() == name || (name == "scan" && *k == EventKind::Add))
    }
}

/// One shopper event (also the journal's record payload).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// What happened.
    #[prost(enumeration = "EventKind", tag = "1")]
    pub kind: i32,
    /// Customer id (or empty with a session).
    #[prost(string, tag = "2")]
    pub customer: String,
    /// Anonymous session id (or empty with a customer).
    #[prost(string, tag = "3")]
    pub session: String,
    /// Product id.
    #[prost(string, tag = "4")]
    pub product: String,
    /// Zone name.
    #[prost(string, tag = "5")]
    pub zone: String,
    /// Device clock, unix milliseconds; 0 = now.
    #[prost(int64, tag = "6")]
    pub device_ts_ms: i64,
    /// Receipt id of a purchase.
    #[prost(string, tag = "7")]
    pub order: String,
}

/// `events`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EventsRequest {
    /// The batch.
    #[prost(message, repeated, tag = "1")]
    pub events: Vec<Event>,
}

/// Answer to `events`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EventsAck {
    /// Events kept.
    #[prost(uint32, tag = "1")]
    pub accepted: u32,
    /// Journal sequence number of the last kept event (0: none).
    #[prost(uint64, tag = "2")]
    pub journal_seq: u64,
    /// Refused events.
    #[prost(message, repeated, tag = "3")]
    pub refused: Vec<EventRefusal>,
}

/// One refused event.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EventRefusal {
    /// Its index in the batch.
    #[prost(uint32, tag = "1")]
    pub index: u32,
    /// Why.
    #[prost(enumeration = "ErrorCode", tag = "2")]
    pub code: i32,
    /// For people.
    #[prost(string, tag = "3")]
    pub message: String,
}

/// `forget`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ForgetRequest {
    /// The customer to forget.
    #[prost(string, tag = "1")]
    pub customer: String,
}

/// `opt_out`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OptOutRequest {
    /// The customer.
    #[prost(string, tag = "1")]
    pub customer: String,
    /// True to opt out, false to opt back in.
    #[prost(bool, tag = "2")]
    pub out: bool,
}

/// `store`: no fields.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct StoreRequest {}

/// Answer to `store`: what a device needs to configure itself.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct StoreLayout {
    /// The zones and their aisles.
    #[prost(message, repeated, tag = "1")]
    pub zones: Vec<StoreZone>,
    /// Every aisle of the served catalogue.
    #[prost(string, repeated, tag = "2")]
    pub aisles: Vec<String>,
    /// Every shopper signal the served model knows.
    #[prost(string, repeated, tag = "3")]
    pub signals: Vec<String>,
    /// The hard rules in force.
    #[prost(message, repeated, tag = "4")]
    pub rules: Vec<StoreRule>,
}

/// One zone.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct StoreZone {
    /// Its name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its aisles (those in the served catalogue).
    #[prost(string, repeated, tag = "2")]
    pub aisles: Vec<String>,
}

/// One hard rule.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct StoreRule {
    /// The signal.
    #[prost(string, tag = "1")]
    pub signal: String,
    /// The tags never offered to a shopper carrying it.
    #[prost(string, repeated, tag = "2")]
    pub exclude_tags: Vec<String>,
}
