//! `[recommend]`: defaults and limits of the shopper operations (`recommend`, `similar`,
//! `complete`, `rerank`), and the weights that shape their query.

use serde::{Deserialize, Serialize};

/// Recommendation defaults and limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecommendConfig {
    /// Items returned when a request does not say (`k` = 0).
    pub default_k: u32,
    /// Larger `k` is clamped to this.
    pub max_k: u32,
    /// Most basket items a request may carry.
    pub max_basket: usize,
    /// Filtered candidate sets (aisle, zone) of at most this share of the catalogue are scanned
    /// exactly; larger ones use the index with the filter. Measured crossover in BENCHMARKS.md.
    pub exact_scan_fraction: f64,
    /// Filtered candidate sets of at most this many products are always scanned exactly.
    pub exact_scan_min: usize,
    /// How far the basket pulls a known customer's query vector (0 = ignore the basket's taste).
    pub basket_weight: f32,
    /// Index lists probed per query; 0 uses the value tuned into the model.
    pub nprobe: u32,
    /// Most products a request may list in `exclude`.
    pub max_exclude: usize,
    /// Most signals a shopper may state on one request (`signals`).
    pub max_signals: usize,
    /// Most products a `rerank` request may carry.
    pub max_rerank: usize,
    /// Promoted products never take more than this share of an answer's items (rounded down).
    pub max_promoted_share: f32,
    /// `complete`: a bundle partner needs at least this many orders holding both products (the
    /// trainer's own minimum applies first).
    pub bundle_min_orders: u32,
    /// `complete` for a known customer: the weight of their taste against the basket's
    /// co-purchase evidence (0 = the basket alone).
    pub complete_taste_weight: f32,
    /// How far the products a shopper just looked at or picked up (their live session) pull the
    /// query, next to their taste or basket (0 = not at all).
    pub session_weight: f32,
    /// The zone a shopper walked into counts as where they are for this long, seconds (0 = never).
    pub session_zone_s: u64,
    /// An anonymous shopper with a basket or a live session is answered from the customer
    /// segment that likes those products most: the segment's centroid, at this weight against
    /// the basket's 1, is their taste (0 = never; the basket or session alone is the query).
    pub anonymous_segment_weight: f32,
}

impl Default for RecommendConfig {
    fn default() -> Self {
        Self {
            default_k: 5,
            max_k: 50,
            max_basket: 200,
            exact_scan_fraction: 0.08,
            exact_scan_min: 512,
            basket_weight: 0.5,
            nprobe: 0,
            max_exclude: 200,
            max_signals: 16,
            max_rerank: 200,
            max_promoted_share: 0.2,
            bundle_min_orders: 3,
            complete_taste_weight: 0.3,
            session_weight: 0.3,
            session_zone_s: 900,
            anonymous_segment_weight: 0.15,
        }
    }
}

impl RecommendConfig {
    /// Refuses values the engine cannot use, naming the key.
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.max_k == 0 || self.default_k == 0 || self.default_k > self.max_k {
            return Err(format!("recommend.default_k = {} must be in 1..=max_k ({})", self.default_k, self.max_k));
        }
        if self.max_k > 10_000 {
            return Err(format!("recommend.max_k = {} is above 10000", self.max_k));
        }
        if !(0.0..=1.0).contains(&self.exact_scan_fraction) {
            return Err(format!("recommend.exact_scan_fraction = {} must be in 0..=1", self.exact_scan_fraction));
        }
        if !self.basket_weight.is_finite() || self.basket_weight < 0.0 {
            return Err(format!("recommend.basket_weight = {} must be finite and >= 0", self.basket_weight));
        }
        if !(0.0..=1.0).contains(&self.max_promoted_share) {
            return Err(format!("recommend.max_promoted_share = {} must be in 0..=1", self.max_promoted_share));
        }
        if !self.session_weight.is_finite() || self.session_weight < 0.0 {
            return Err(format!("recommend.session_weight = {} must be finite and >= 0", self.session_weight));
        }
        if !self.anonymous_segment_weight.is_finite() || self.anonymous_segment_weight < 0.0 {
            return Err(format!(
                "recommend.anonymous_segment_weight = {} must be finite and >= 0",
                self.anonymous_segment_weight
            ));
        }
        if !(0.0..=1.0).contains(&self.complete_taste_weight) {
            return Err(format!("recommend.complete_taste_weight = {} must be in 0..=1", self.complete_taste_weight));
        }
        for (key, n) in
            [("max_exclude", self.max_exclude), ("max_signals", self.max_signals), ("max_rerank", self.max_rerank)]
        {
            if n > 10_000 {
                return Err(format!("recommend.{key} = {n} is above 10000"));
            }
        }
        Ok(())
    }
}
