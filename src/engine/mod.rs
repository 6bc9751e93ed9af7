//! The recommendation engine: one loaded model with the store's settings resolved against it
//! (zones -> aisle numbers, rules -> tag masks), the unit the server swaps on reload.
//!
//! One file per part of the answer (`recommend.rs`: resolving a request and the embedding
//! source; `blend.rs`: the sources merged by probability; `select.rs`: promotions, diversity and
//! the final cut; `similar.rs`, `complete.rs` (with bundles), `rerank.rs`: the store's other
//! questions); this file holds what they share: the settings, the requests (`Query`, `Mode`,
//! `Options`), the per-thread `Scratch`, hits, reasons, plans and errors. Plain synchronous code: no I/O, no locks, no clock (the caller passes its time), no
//! allocation once `Scratch` has warmed up. The engine knows the model and the settings it is
//! given, never the whole config, the protocol or a transport.

mod audience;
mod blend;
mod complete;
mod features;
mod groups;
mod recommend;
mod rerank;
mod select;
mod similar;

pub use audience::{AudienceAnswer, AudienceQuery};
use groups::CustomerGroups;
pub use groups::{SEGMENT_TOP_PRODUCTS, SEGMENT_TOP_SIGNALS, SegmentProfile, Share};

pub use blend::calibrated;
pub use complete::{Bundle, CompleteQuery};
pub use features::{MAX_DAYS, MAX_DUE, time_features};
pub use rerank::RerankQuery;
pub use similar::{Scope, SimilarQuery};

use std::collections::HashMap;

use crate::config::{AudienceConfig, Config, PromotionConfig, RecommendConfig, RuleConfig, ZoneConfig};
use crate::ids::{self, IdList};
use crate::index::TopK;
use crate::index::exact::scan_rows;
use crate::index::ivf::IvfView;
use crate::model::Model;
use crate::model::view::{self, f32s, u32s, u64s};
pub use crate::rules::RuleError;
use crate::rules::Rules;

pub use crate::ids::MAX_ID_BYTES;

/// Why a suggestion was made; shown to the shopper's device as a short code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Bought before and likely due again (`Hit` carries the days since the last purchase and
    /// the usual gap).
    BuyAgain,
    /// Customers who bought one of the shopper's products also bought this (`Hit::because`).
    AlsoBought,
    /// Close to the shopper's own taste.
    Personal,
    /// Close to what is in the basket (shopper unknown).
    Basket,
    /// Popular overall.
    Popular,
    /// Popular in the requested zone.
    PopularInZone,
    /// Popular in the requested aisle.
    PopularInAisle,
    /// Close to another product (`similar`; `Hit::because` names it).
    Similar,
    /// Often in the same order as a basket item (`complete`; `Hit::because` names it).
    BoughtWith,
    /// `rerank`: an id the catalogue does not know, listed last (`Hit::because` is its position
    /// in the request).
    UnknownProduct,
    /// Close to what an anonymous shopper just looked at or picked up (their live session).
    Recent,
    /// What shoppers of the customer's segment like: a customer who opted out of
    /// personalisation, served without their own vector.
    Segment,
}

impl Reason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BuyAgain => "buy_again",
            Reason::AlsoBought => "also_bought",
            Reason::Personal => "personal",
            Reason::Basket => "basket",
            Reason::Popular => "popular",
            Reason::PopularInZone => "popular_in_zone",
            Reason::PopularInAisle => "popular_in_aisle",
            Reason::Similar => "similar",
            Reason::BoughtWith => "bought_with",
            Reason::UnknownProduct => "unknown_product",
            Reason::Recent => "recent",
            Reason::Segment => "segment",
        }
    }
}

/// One suggested product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Product row in the model.
    pub row: u32,
    /// In a blended answer (a known customer and a model trained from purchases): the
    /// estimated probability that the product is in this visit's basket. From the embedding
    /// alone (`recommend_embedding`, or a model without purchase history): the inner product.
    /// For popular items: the share of the top seller's purchases.
    pub score: f32,
    /// Why.
    pub reason: Reason,
    /// For `also_bought`, `similar`, `bought_with`: the product row the suggestion comes from;
    /// else [`Hit::NONE`].
    pub because: u32,
    /// For `buy_again`: days since the customer last bought it (by the request's clock); else -1.
    pub days_since_last: f32,
    /// For `buy_again`: the customer's usual gap between purchases of it in days; -1 when
    /// bought once or not a buy-again hit.
    pub usual_gap_days: f32,
    /// For `buy_again`: the usual gap in the customer's visits (2 = every other visit); -1
    /// when bought once or not a buy-again hit.
    pub usual_gap_orders: f32,
    /// Boosted by a promotion from the config.
    pub promoted: bool,
}

impl Hit {
    /// `because` when there is no product behind the suggestion.
    pub const NONE: u32 = u32::MAX;

    /// A hit without explanation fields.
    pub fn new(row: u32, score: f32, reason: Reason) -> Hit {
        Hit {
            row,
            score,
            reason,
            because: Hit::NONE,
            days_since_last: -1.0,
            usual_gap_days: -1.0,
            usual_gap_orders: -1.0,
            promoted: false,
        }
    }
}

/// Which sources a recommendation draws from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Buy-again, discovery and the embedding, merged by their calibrated probability of being
    /// in this visit's basket.
    #[default]
    Mixed,
    /// Only products the customer bought before, most likely first (checkout reminders: pass
    /// the basket, which is excluded).
    BuyAgain,
    /// Only products the customer has not bought: discovery and the embedding (campaigns,
    /// "something new").
    Discover,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 3] = [Mode::Mixed, Mode::BuyAgain, Mode::Discover];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Mixed => "mixed",
            Mode::BuyAgain => "buy_again",
            Mode::Discover => "discover",
        }
    }

    /// The mode of a wire name; `""` is the default (`mixed`).
    pub fn parse(name: &str) -> Option<Mode> {
        match name {
            "" | "mixed" => Some(Mode::Mixed),
            "buy_again" => Some(Mode::BuyAgain),
            "discover" => Some(Mode::Discover),
            _ => None,
        }
    }
}

/// What the engine needs from the configuration: the recommendation settings, the store layout,
/// the rules and the promotions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineSettings {
    /// Defaults and limits of `recommend`.
    pub recommend: RecommendConfig,
    /// Defaults and limits of `audience` and `segments`.
    pub audience: AudienceConfig,
    /// Zones and their aisles.
    pub zones: Vec<ZoneConfig>,
    /// Signal-driven exclusions.
    pub rules: Vec<RuleConfig>,
    /// Boosted products and aisles.
    pub promotions: Vec<PromotionConfig>,
}

impl EngineSettings {
    /// The engine's part of `config`.
    pub fn from_config(config: &Config) -> EngineSettings {
        EngineSettings {
            recommend: config.recommend.clone(),
            audience: config.audience.clone(),
            zones: config.zones.clone(),
            rules: config.rules.clone(),
            promotions: config.promotions.clone(),
        }
    }
}

/// Request options every operation that suggests products takes (those that apply to it).
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// Product ids never to return.
    pub exclude: &'a IdList,
    /// Signals the shopper states themselves (`lifestyle:vegetarian`): hard rules like a known
    /// customer's, and, for a shopper the model does not know, the taste their vectors carry. A
    /// name neither a rule nor the model knows is refused (`UnknownSignal`): a typo must not
    /// silently serve meat to a vegetarian.
    pub signals: &'a IdList,
    /// At most this many items from one aisle (0 = no limit).
    pub max_per_aisle: u32,
    /// What the shopper did in the store lately (their live session).
    pub context: Context<'a>,
    /// The answer goes to a public device (an in-aisle screen) for a named customer: it must not
    /// tell whether the id is known or which rules apply (PROTOCOL.md, "Privacy of answers"). An
    /// unknown id is answered from a customer segment chosen by the id (not the store's popular
    /// list, which would single it out), and an answer the filters and rules leave short is
    /// topped up to `k` with popular products they admit, from anywhere in the store.
    pub conceal: bool,
    /// With `conceal`: the id the request named, which chooses the segment whenever the engine
    /// has no customer row to answer from (an unknown id, or one that opted out and is passed as
    /// no customer), so those answers do not stand out from one another or from known ones.
    pub asked: &'a str,
    /// `asked` is a customer who opted out of personalisation: answered from their segment,
    /// never their own vector or history (the engine is given no customer).
    pub opted_out: bool,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            exclude: &ids::EMPTY,
            signals: &ids::EMPTY,
            max_per_aisle: 0,
            context: Context::default(),
            conceal: false,
            asked: "",
            opted_out: false,
        }
    }
}

/// What a shopper did in the store lately, copied out of their live session (`shoppers::Sessions`)
/// by the operation: the engine never reads the sessions itself. Ids, not rows, so a session
/// outlives model swaps; ids the model does not know are ignored.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The zone they walked into lately: the default filter when the request names no zone or
    /// aisle ("" = none).
    pub zone: &'a str,
    /// Products they looked at or picked up, newest last: they pull the query toward them, as the
    /// basket does, by `recommend.session_weight`.
    pub recent: &'a IdList,
    /// The live basket (added, not removed or bought): joins the request's basket.
    pub basket: &'a IdList,
    /// Products bought since the model was trained: never offered again while the session
    /// lasts, and their buy-again clock restarts at the purchase.
    pub bought: &'a IdList,
    /// When each of `bought` was bought, unix seconds.
    pub bought_at: &'a [i64],
}

impl Default for Context<'_> {
    fn default() -> Self {
        Context { zone: "", recent: &ids::EMPTY, basket: &ids::EMPTY, bought: &ids::EMPTY, bought_at: &[] }
    }
}

impl Context<'_> {
    /// True when the session holds nothing.
    pub fn is_empty(&self) -> bool {
        self.zone.is_empty() && self.recent.is_empty() && self.basket.is_empty() && self.bought.is_empty()
    }
}

impl Options<'_> {
    /// True when the answer is cut by more than score (so sources gather a wider pool).
    fn reshapes(&self) -> bool {
        self.max_per_aisle > 0
    }
}

/// A recommendation request. Empty strings mean "not given", as on the wire.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// Customer id.
    pub customer: &'a str,
    /// Zone name (from the config).
    pub zone: &'a str,
    /// Aisle name (from the catalogue).
    pub aisle: &'a str,
    /// Product ids in the shopper's basket.
    pub basket: &'a IdList,
    /// Items wanted; 0 means the default, above the maximum is clamped.
    pub k: u32,
    /// Which sources to draw from.
    pub mode: Mode,
    /// In `mixed`: at least this many items the customer has not bought before (when there are
    /// that many), even if buy-again items are likelier. 0 = no quota; clamped to `k`.
    pub min_discover: u32,
    /// The caller's clock (unix seconds): how long ago a past purchase was. The engine never
    /// reads a clock; 0 or less means the model's newest purchase (what it was trained up to).
    pub now_unix_s: i64,
    /// Exclusions, stated signals, diversity.
    pub options: Options<'a>,
}

impl Default for Query<'_> {
    fn default() -> Self {
        Query {
            customer: "",
            zone: "",
            aisle: "",
            basket: &ids::EMPTY,
            k: 0,
            mode: Mode::Mixed,
            min_discover: 0,
            now_unix_s: 0,
            options: Options::default(),
        }
    }
}

/// A request the engine refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The zone is not in the config.
    #[error("unknown zone {0:?}")]
    UnknownZone(String),
    /// The aisle is not in the catalogue.
    #[error("unknown aisle {0:?}")]
    UnknownAisle(String),
    /// A product id the operation needs is not in the catalogue.
    #[error("unknown product {0:?}")]
    UnknownProduct(String),
    /// A stated signal neither a rule nor the model knows.
    #[error("unknown signal {0:?}: neither a rule nor the model knows it (see GET /v1/store)")]
    UnknownSignal(String),
    /// A field is out of range.
    #[error("{0}")]
    InvalidArgument(String),
    /// The group asked about is smaller than `audience.min_group` (k-anonymity).
    #[error("{0}")]
    GroupTooSmall(String),
}

/// How the engine found its candidates: a named plan, counted in `/metrics` by operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Plan {
    /// Nothing was searched (the request was refused).
    #[default]
    None,
    /// A small filtered subset scanned exactly (`exact_scan_fraction`, `exact_scan_min`).
    ExactScan,
    /// The IVF index, with the filter as a predicate and `nprobe` widened by what it removes.
    Ivf,
    /// Popularity lists: a shopper with no vector and no basket.
    Popular,
    /// The customer's own history only (`buy_again`): no search.
    History,
    /// Lists stored in the model (co-purchase for `complete`, the given products for `rerank`).
    Lists,
}

impl Plan {
    /// Every plan, in metric order.
    pub const ALL: [Plan; 6] = [Plan::None, Plan::ExactScan, Plan::Ivf, Plan::Popular, Plan::History, Plan::Lists];

    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Plan::None => "none",
            Plan::ExactScan => "exact_scan",
            Plan::Ivf => "ivf",
            Plan::Popular => "popular",
            Plan::History => "history",
            Plan::Lists => "lists",
        }
    }
}

/// How the last request was answered, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trace {
    /// The customer id was given but is not in the model.
    pub unknown_customer: bool,
    /// Basket ids not in the catalogue (ignored).
    pub unknown_basket_items: u32,
    /// Items a promotion boosted into the answer.
    pub promoted: u32,
    /// The answer read a live session (recent items, live basket, purchases or zone).
    pub session: bool,
    /// The plan that found the candidates.
    pub plan: Plan,
    /// Lists probed in the index (0 unless the plan is `Ivf`).
    pub nprobe: u32,
}

/// Per-thread buffers reused across requests, so the hot path does not allocate.
#[derive(Debug, Default)]
pub struct Scratch {
    topk: TopK,
    probes: Vec<(f32, u32)>,
    query: Vec<f32>,
    mask: Vec<u64>,
    basket: Vec<u32>,
    /// Rows never to return (`exclude`), sorted.
    exclude: Vec<u32>,
    /// Signals the shopper stated that the model has vectors for (signal rows).
    stated: Vec<u32>,
    /// The session's recent products (rows), newest last.
    recent: Vec<u32>,
    /// The session's purchases: (row, unix s), for the buy-again clock.
    bought: Vec<(u32, i64)>,
    aisles: Vec<u64>,
    /// Items taken per aisle while cutting an answer (`max_per_aisle`).
    per_aisle: Vec<u16>,
    /// Rows a promotion may not push out of the answer (habitual items).
    pinned: Vec<u32>,
    /// `complete`: (candidate row, confidence, basket row) before merging by row.
    pairs: Vec<(u32, f32, u32)>,
    hits: Vec<Hit>,
    /// Candidates of a blended answer, with their source's raw score (tie-break) and the order
    /// they are ranked in.
    cands: Vec<Hit>,
    raw: Vec<f32>,
    ranked: Vec<u32>,
    /// An audience's buffers and answer.
    audience: audience::AudienceScratch,
    /// How the last request was answered.
    pub trace: Trace,
}

impl Scratch {
    /// The hits of the last successful `recommend`.
    pub fn hits(&self) -> &[Hit] {
        &self.hits
    }
}

/// A model with the config resolved against it: the unit the server swaps.
#[derive(Debug)]
pub struct Engine {
    model: Model,
    settings: RecommendConfig,
    aisles: HashMap<Box<str>, u32>,
    zones: HashMap<Box<str>, Vec<u32>>,
    rules: Rules,
    nprobe: usize,
    top_purchases: f32,
    /// The model carries a buy-again model and calibrations (trained from purchases).
    blended: bool,
    /// The clock when a request gives none: the model's newest purchase.
    data_end_ts: i64,
    /// Defaults and limits of audiences.
    audience_settings: AudienceConfig,
    /// What audiences need of the model, computed once per model.
    groups: CustomerGroups,
    /// Unit-length product vectors (row order), for `similar`'s cosine.
    unit: Vec<f32>,
    /// `unit` clustered by direction, for the store-wide cosine search (`similar::CosineIndex`).
    cosine: similar::CosineIndex,
    /// Per product row: the promotion boost (1 = none); empty without promotions.
    boost: Vec<f32>,
    /// The highest probability discovery or the embedding can give (their calibrations' tops).
    new_ceiling: f32,
    /// Config entries this model cannot honour (unknown aisles in zones, unknown rule tags).
    pub warnings: Vec<String>,
}

impl Engine {
    /// Resolves `settings` against `model`; refuses rules the model cannot honour (`rules.rs`).
    pub fn new(model: Model, settings: &EngineSettings) -> Result<Engine, RuleError> {
        let config = settings;
        let names = &model.data().products.aisle_names;
        let aisles: HashMap<Box<str>, u32> = (0..names.len()).map(|i| (names.get(i).into(), i as u32)).collect();
        let rules = Rules::resolve(&config.rules, &model)?;
        let mut warnings = rules.warnings.clone();
        let mut zones = HashMap::new();
        for z in &config.zones {
            let mut ids = Vec::new();
            for a in &z.aisles {
                match aisles.get(a.as_str()) {
                    Some(&i) => ids.push(i),
                    None => warnings.push(format!("zone {:?}: aisle {a:?} is not in the catalogue", z.name)),
                }
            }
            zones.insert(z.name.as_str().into(), ids);
        }
        let nprobe = match config.recommend.nprobe {
            0 => model.data().ivf.nprobe.to_native() as usize,
            n => n as usize,
        };
        let top_purchases = u32s(&model.data().products.purchases).iter().copied().max().unwrap_or(0).max(1) as f32;
        let blend = &model.data().blend;
        let blended = !blend.time_weights.is_empty();
        let data_end_ts = blend.data_end_ts.to_native();
        let top = |probs: &[f32]| probs.last().copied().unwrap_or(0.0);
        let new_ceiling = top(f32s(&blend.discover_probs)).max(top(f32s(&blend.embedding_probs)));
        let groups = CustomerGroups::new(&model, &config.audience);
        let unit = similar::unit_vectors(&model);
        let cosine = similar::cosine_index(&unit, model.dim());
        let boost = select::boosts(&config.promotions, &model, &aisles, &mut warnings);
        Ok(Engine {
            audience_settings: config.audience.clone(),
            groups,
            model,
            settings: config.recommend.clone(),
            aisles,
            zones,
            rules,
            nprobe,
            top_purchases,
            blended,
            data_end_ts,
            unit,
            cosine,
            boost,
            new_ceiling,
            warnings,
        })
    }

    /// The model served.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The model's version, carried by every answer.
    pub fn version(&self) -> &str {
        self.model.version()
    }

    /// Product id, name and aisle name of `row`.
    pub fn describe(&self, row: u32) -> (&str, &str, &str) {
        let p = &self.model.data().products;
        let aisle = u32s(&p.aisle).get(row as usize).copied().unwrap_or(u32::MAX);
        (p.ids.id(row), p.names.get(row as usize), p.aisle_names.get(aisle as usize))
    }

    /// The effective `k` for a requested one.
    pub fn effective_k(&self, k: u32) -> usize {
        (if k == 0 { self.settings.default_k } else { k.min(self.settings.max_k) }) as usize
    }
}

#[cfg(test)]
mod audience_tests;
#[cfg(test)]
mod blend_tests;
#[cfg(test)]
mod ops_tests;
#[cfg(test)]
mod segment_tests;
#[cfg(test)]
mod tests;
