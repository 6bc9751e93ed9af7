//! Recommendation: turns a query (customer, zone, aisle, basket, k) into ranked products.
//!
//! An `Engine` is one loaded model plus the config resolved against it (zones -> aisle numbers,
//! rules -> tag masks); the server swaps whole engines on reload. A request runs:
//! resolve ids -> build the query vector (customer, pulled toward the basket) -> pick a plan
//! (exact scan of a small filtered subset, or the IVF index with the filter and a widened probe)
//! -> hits with score and reason. Shoppers without a vector get popular items in the zone or
//! aisle. Plain synchronous code: no I/O, no locks, no allocation once `Scratch` has warmed up.

use std::collections::HashMap;

use crate::config::{Config, RecommendConfig};
use crate::index::TopK;
use crate::index::exact::scan_rows;
use crate::index::ivf::IvfView;
use crate::model::Model;
use crate::model::view::{f32s, u32s, u64s};
use crate::rules::Rules;

/// Longest customer id accepted.
pub const MAX_ID_BYTES: usize = 256;

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

/// A recommendation request. Empty strings mean "not given", as on the wire.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<'a> {
    /// Customer id.
    pub customer: &'a str,
    /// Zone name (from the config).
    pub zone: &'a str,
    /// Aisle name (from the catalogue).
    pub aisle: &'a str,
    /// Product ids in the shopper's basket.
    pub basket: &'a [String],
    /// Items wanted; 0 means the default, above the maximum is clamped.
    pub k: u32,
    /// Leave out products the customer has bought before (batch inference, e-mail campaigns).
    pub new_only: bool,
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

/// How the last request was answered, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trace {
    /// The customer id was given but is not in the model.
    pub unknown_customer: bool,
    /// Basket ids not in the catalogue (ignored).
    pub unknown_basket_items: u32,
    /// The candidates were scanned exactly (small filtered subset).
    pub exact_scan: bool,
    /// Lists probed in the index (0 when it was not used).
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
    /// Resolves `config` against `model`.
    pub fn new(model: Model, config: &Config) -> Engine {
        let names = &model.data().products.aisle_names;
        let aisles: HashMap<Box<str>, u32> = (0..names.len()).map(|i| (names.get(i).into(), i as u32)).collect();
        let rules = Rules::resolve(&config.rules, &model);
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
        Engine { model, settings: config.recommend.clone(), aisles, zones, rules, nprobe, top_purchases, warnings }
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

    /// Ranks products for `q`; the answer is `scratch.hits()`.
    pub fn recommend(&self, q: &Query<'_>, s: &mut Scratch) -> Result<(), EngineError> {
        s.trace = Trace::default();
        s.hits.clear();
        if q.customer.len() > MAX_ID_BYTES {
            return Err(EngineError::InvalidArgument(format!("customer id is longer than {MAX_ID_BYTES} bytes")));
        }
        if q.basket.len() > self.settings.max_basket {
            return Err(EngineError::InvalidArgument(format!(
                "basket has {} items, at most {} are accepted",
                q.basket.len(),
                self.settings.max_basket
            )));
        }
        let k = self.effective_k(q.k);
        let data = self.model.data();
        let products = &data.products;
        let np = products.ids.len();
        let dim = self.model.dim();

        // Candidate restriction: an aisle, a zone, or both (their intersection).
        let aisle = match q.aisle {
            "" => None,
            name => Some(*self.aisles.get(name).ok_or_else(|| EngineError::UnknownAisle(name.to_string()))?),
        };
        let zone = match q.zone {
            "" => None,
            name => Some(self.zones.get(name).ok_or_else(|| EngineError::UnknownZone(name.to_string()))?),
        };
        s.aisles.clear();
        let restricted = aisle.is_some() || zone.is_some();
        if restricted {
            s.aisles.resize(products.aisle_names.len().div_ceil(64), 0);
            let mut allow = |a: u32| s.aisles[a as usize / 64] |= 1 << (a % 64);
            match (aisle, zone) {
                (Some(a), Some(z)) if z.contains(&a) => allow(a),
                (Some(_), Some(_)) => {}
                (Some(a), None) => allow(a),
                (None, Some(z)) => z.iter().copied().for_each(allow),
                (None, None) => {}
            }
        }

        // Basket: known products are excluded from the answer and pull the query toward them.
        s.basket.clear();
        for id in q.basket {
            match products.ids.row(id) {
                Some(r) => s.basket.push(r),
                None => s.trace.unknown_basket_items += 1,
            }
        }

        // Exclusions from the shopper's signals.
        let words = self.rules.words();
        s.mask.clear();
        s.mask.resize(words, 0);
        let customer = match q.customer {
            "" => None,
            id => {
                let row = data.customers.ids.row(id);
                s.trace.unknown_customer = row.is_none();
                row
            }
        };
        s.exclude.clear();
        if let Some(c) = customer {
            for &sig in data.customers.signals.row(c as usize) {
                self.rules.add_signal(sig, &mut s.mask);
            }
            if q.new_only {
                s.exclude.extend_from_slice(data.customers.repeat.row(c as usize));
                s.exclude.sort_unstable();
            }
        }

        // The query vector: the customer's taste, moved toward the basket; or the basket alone.
        s.query.clear();
        let reason = match (customer, s.basket.is_empty()) {
            (Some(c), _) => {
                s.query.extend_from_slice(self.model.customer_vector(c));
                Reason::Personal
            }
            (None, false) => {
                s.query.resize(dim, 0.0);
                Reason::Basket
            }
            (None, true) => {
                self.popular(k, aisle.is_some(), zone.is_some(), restricted, s);
                return Ok(());
            }
        };
        if !s.basket.is_empty() {
            let weight = if reason == Reason::Basket { 1.0 } else { self.settings.basket_weight };
            let w = weight / s.basket.len() as f32;
            for &r in &s.basket {
                for (q, v) in s.query.iter_mut().zip(self.model.product_vector(r)) {
                    *q += w * v;
                }
            }
        }

        let tags = u64s(&products.tags);
        let product_aisle = u32s(&products.aisle);
        let (mask, basket, allowed, exclude) = (&s.mask[..], &s.basket[..], &s.aisles[..], &s.exclude[..]);
        let accept = |row: u32| {
            let r = row as usize;
            (!restricted || {
                let a = product_aisle[r] as usize;
                allowed[a / 64] & (1 << (a % 64)) != 0
            }) && !Rules::excludes(mask, &tags[r * words..(r + 1) * words])
                && !basket.contains(&row)
                && (exclude.is_empty() || exclude.binary_search(&row).is_err())
        };
        let vectors = f32s(&products.vectors);
        let candidates: usize = if restricted {
            (0..products.aisle_names.len())
                .filter(|&a| allowed[a / 64] & (1 << (a % 64)) != 0)
                .map(|a| products.by_aisle.row(a).len())
                .sum()
        } else {
            np
        };
        let exact_max = (self.settings.exact_scan_fraction * np as f64).max(self.settings.exact_scan_min as f64);
        if restricted && candidates as f64 <= exact_max {
            s.trace.exact_scan = true;
            s.topk.reset(k);
            let rows = (0..products.aisle_names.len())
                .filter(|&a| allowed[a / 64] & (1 << (a % 64)) != 0)
                .flat_map(|a| products.by_aisle.row(a).iter().copied());
            scan_rows(vectors, dim, rows, &s.query, accept, &mut s.topk);
        } else {
            // Widen the probe by the share of products the filter removes, so about as many
            // admitted candidates are scored as for an unfiltered query.
            let kept = (candidates as f64 / np.max(1) as f64) * (1.0 - self.rules.excluded_fraction(mask));
            let nprobe = ((self.nprobe as f64 / kept.max(0.01)).ceil() as usize).max(self.nprobe);
            s.trace.nprobe = nprobe.min(u32::MAX as usize) as u32;
            let view = IvfView {
                vectors,
                dim,
                centroids: f32s(&data.ivf.centroids),
                offsets: u32s(&data.ivf.offsets),
                nprobe,
            };
            view.search_with(&s.query, k, nprobe, accept, &mut s.topk, &mut s.probes);
        }
        s.hits.extend(s.topk.as_slice().iter().map(|&(score, row)| Hit { row, score, reason }));
        Ok(())
    }

    /// Popular items for a shopper without a vector, within the zone or aisle if given.
    fn popular(&self, k: usize, by_aisle: bool, by_zone: bool, restricted: bool, s: &mut Scratch) {
        let products = &self.model.data().products;
        let purchases = u32s(&products.purchases);
        let reason = match (by_aisle, by_zone) {
            (true, _) => Reason::PopularInAisle,
            (false, true) => Reason::PopularInZone,
            _ => Reason::Popular,
        };
        let words = self.rules.words();
        let tags = u64s(&products.tags);
        let (mask, basket, allowed) = (&s.mask[..], &s.basket[..], &s.aisles[..]);
        let admit = |row: u32| {
            let r = row as usize;
            !Rules::excludes(mask, &tags[r * words..(r + 1) * words]) && !basket.contains(&row)
        };
        let score = |row: u32| purchases[row as usize] as f32 / self.top_purchases;
        if restricted {
            // Each aisle's list is sorted by popularity; merge the allowed aisles through a top-k.
            s.topk.reset(k);
            for a in (0..products.aisle_names.len()).filter(|&a| allowed[a / 64] & (1 << (a % 64)) != 0) {
                for &row in products.by_aisle.row(a).iter().filter(|&&r| admit(r)).take(k) {
                    s.topk.push(score(row), row);
                }
            }
            s.hits.extend(s.topk.as_slice().iter().map(|&(score, row)| Hit { row, score, reason }));
        } else {
            let best = u32s(&products.popular).iter().copied().filter(|&r| admit(r)).take(k);
            s.hits.extend(best.map(|row| Hit { row, score: score(row), reason }));
        }
    }
}

#[cfg(test)]
mod tests;
