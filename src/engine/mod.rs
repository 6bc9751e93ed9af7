//! The recommendation engine: one loaded model with the store's settings resolved against it
//! (zones -> aisle numbers, rules -> tag masks), the unit the server swaps on reload.
//!
//! One file per question the engine answers (`recommend.rs`, ...); this file holds what they
//! share: the settings, the per-thread `Scratch`, hits, reasons, plans and errors. Plain
//! synchronous code: no I/O, no locks, no allocation once `Scratch` has warmed up. The engine
//! knows the model and the settings it is given, never the whole config, the protocol or a
//! transport.

mod recommend;

use std::collections::HashMap;

use crate::config::{Config, RecommendConfig, RuleConfig, ZoneConfig};
use crate::ids::{self, IdList};
use crate::index::TopK;
use crate::index::exact::scan_rows;
use crate::index::ivf::IvfView;
use crate::model::Model;
use crate::model::view::{f32s, u32s, u64s};
pub use crate::rules::RuleError;
use crate::rules::Rules;

pub use crate::ids::MAX_ID_BYTES;

/// Why a suggestion was made; shown to the shopper's device as a short code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
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
}

impl Reason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Personal => "personal",
            Reason::Basket => "basket",
            Reason::Popular => "popular",
            Reason::PopularInZone => "popular_in_zone",
            Reason::PopularInAisle => "popular_in_aisle",
        }
    }
}

/// One suggested product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Product row in the model.
    pub row: u32,
    /// Inner product for personal and basket suggestions; share of the top seller's purchases
    /// for popular ones.
    pub score: f32,
    /// Why.
    pub reason: Reason,
}

/// What the engine needs from the configuration: the recommendation settings, the store layout
/// and the rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineSettings {
    /// Defaults and limits of `recommend`.
    pub recommend: RecommendConfig,
    /// Zones and their aisles.
    pub zones: Vec<ZoneConfig>,
    /// Signal-driven exclusions.
    pub rules: Vec<RuleConfig>,
}

impl EngineSettings {
    /// The engine's part of `config`.
    pub fn from_config(config: &Config) -> EngineSettings {
        EngineSettings { recommend: config.recommend.clone(), zones: config.zones.clone(), rules: config.rules.clone() }
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
    /// Leave out products the customer has bought before (batch inference, e-mail campaigns).
    pub new_only: bool,
}

impl Default for Query<'_> {
    fn default() -> Self {
        Query { customer: "", zone: "", aisle: "", basket: &ids::EMPTY, k: 0, new_only: false }
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
    /// A field is out of range.
    #[error("{0}")]
    InvalidArgument(String),
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
}

impl Plan {
    /// Every plan, in metric order.
    pub const ALL: [Plan; 4] = [Plan::None, Plan::ExactScan, Plan::Ivf, Plan::Popular];

    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Plan::None => "none",
            Plan::ExactScan => "exact_scan",
            Plan::Ivf => "ivf",
            Plan::Popular => "popular",
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
    /// Rows never to return besides the basket (sorted): the customer's past purchases for
    /// `new_only`.
    exclude: Vec<u32>,
    aisles: Vec<u64>,
    hits: Vec<Hit>,
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
        Ok(Engine { model, settings: config.recommend.clone(), aisles, zones, rules, nprobe, top_purchases, warnings })
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
mod tests;
