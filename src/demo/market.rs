//! The store-wide side of shopping, shared by every customer: which products are everyday
//! staples (the catalogue's head), which are specialty items that sell rarely (its long tail),
//! what each taste's customers are adopting lately (trends), and what is on promotion each week.
//!
//! Real purchase data is skewed: the top 1% of products hold about a quarter of the lines, and a
//! third of the products that sell at all sell once in a season. A per-aisle Zipf alone cannot
//! give the second at every store size (sales per product grow with the number of customers), so
//! specialty products are kept out of the taste tables and drawn only by rare picks whose rate is
//! set from the spec, for about one expected sale per specialty product whatever the scale.

use super::*;

/// Share of each aisle's products (its least popular ones) that are specialty items.
const TAIL_SHARE: f64 = 0.7;
/// Expected sales of a specialty product over the whole history.
const TAIL_SALES: f64 = 0.8;
/// Share of the catalogue that is everyday (the head many customers have staples from).
const HEAD_SHARE: f64 = 0.02;
/// Products trending per taste, as a share of the non-specialty catalogue (at least 8).
const TREND_SHARE: f64 = 0.006;
/// Products on promotion each week, as a share of the non-specialty catalogue (at least 4).
const PROMO_SHARE: f64 = 0.01;

/// Store-wide draw tables (see the module doc). Diet rules are applied by the caller, which
/// rejects a drawn product its customer may not buy.
pub(super) struct Market {
    /// Specialty product flags, by product.
    pub(super) is_tail: Vec<bool>,
    /// Everyday products, most popular first, and cumulative draw weights.
    head: Vec<u32>,
    head_cum: Vec<f64>,
    /// Specialty products and cumulative draw weights (heavy-tailed, so some sell several times).
    tail: Vec<u32>,
    tail_cum: Vec<f64>,
    /// Per taste: products its customers are adopting lately, from any aisle.
    trend: Vec<Vec<u32>>,
    /// Per week of the history: products on promotion.
    promo: Vec<Vec<u32>>,
    /// Chance that an exploration pick is a specialty product.
    pub(super) tail_rate: f64,
}

impl Market {
    /// Builds the tables for `spec`. `traffic` is each aisle's traffic weight, `popularity` each
    /// product's Zipf weight inside its aisle.
    pub(super) fn build(spec: &DemoSpec, product_aisle: &[u16], popularity: &[f32], traffic: &[f64]) -> Market {
        let np = product_aisle.len();
        // Specialty: the least popular TAIL_SHARE of each aisle, never an aisle's best seller.
        let mut by_aisle: Vec<Vec<u32>> = vec![Vec::new(); traffic.len()];
        for (p, &a) in product_aisle.iter().enumerate() {
            by_aisle[a as usize].push(p as u32);
        }
        let mut is_tail = vec![false; np];
        for list in &mut by_aisle {
            list.sort_by(|&x, &y| popularity[y as usize].total_cmp(&popularity[x as usize]).then(x.cmp(&y)));
            let n_tail = ((list.len() as f64 * TAIL_SHARE).floor() as usize).min(list.len().saturating_sub(1));
            for &p in &list[list.len() - n_tail..] {
                is_tail[p as usize] = true;
            }
        }
        // Everyday head: the best-selling regular products by aisle traffic x popularity.
        let weight = |p: u32| popularity[p as usize] as f64 * traffic[product_aisle[p as usize] as usize];
        let mut regular: Vec<u32> = (0..np as u32).filter(|&p| !is_tail[p as usize]).collect();
        regular.sort_by(|&x, &y| weight(y).total_cmp(&weight(x)).then(x.cmp(&y)));
        let n_head = ((np as f64 * HEAD_SHARE).ceil() as usize).min(regular.len());
        let head: Vec<u32> = regular[..n_head].to_vec();
        let head_cum = cumulative((0..n_head).map(|r| 1.0 / ((r + 1) as f64).powf(0.7)));

        let mut rng = stream(spec.seed, SALT_MARKET, 0);
        let tail: Vec<u32> = (0..np as u32).filter(|&p| is_tail[p as usize]).collect();
        let tail_cum = cumulative(tail.iter().map(|_| (rng.normal() * 0.5).exp()));
        // About EXPLORE_PER_CUSTOMER exploration picks per customer (orders x exploration rate).
        let slots = spec.customers as f64 * EXPLORE_PER_CUSTOMER;
        let tail_rate = if slots > 0.0 { (TAIL_SALES * tail.len() as f64 / slots).min(0.5) } else { 0.0 };

        // Trends and promotions draw regular products by weight, from any aisle.
        let regular_cum = cumulative(regular.iter().map(|&p| weight(p)));
        let n_trend = ((regular.len() as f64 * TREND_SHARE).ceil() as usize).max(8);
        let trend = (0..TASTES.len())
            .map(|t| {
                let mut rng = stream(spec.seed, SALT_TREND, t as u64);
                let mut list = Vec::with_capacity(n_trend);
                for _ in 0..n_trend * 4 {
                    if list.len() == n_trend || regular.is_empty() {
                        break;
                    }
                    let p = regular[pick(&regular_cum, &mut rng)];
                    if !list.contains(&p) {
                        list.push(p);
                    }
                }
                list
            })
            .collect();
        let n_promo = ((regular.len() as f64 * PROMO_SHARE).ceil() as usize).max(4);
        let weeks = (HISTORY_DAYS as usize).div_ceil(7);
        let promo = (0..weeks)
            .map(|w| {
                let mut rng = stream(spec.seed, SALT_PROMO, w as u64);
                if regular.is_empty() {
                    return Vec::new();
                }
                (0..n_promo).map(|_| regular[rng.below(regular.len())]).collect()
            })
            .collect();
        Market { is_tail, head, head_cum, tail, tail_cum, trend, promo, tail_rate }
    }

    /// An everyday product (the head, by popularity).
    pub(super) fn head(&self, rng: &mut SplitMix64) -> Option<u32> {
        (!self.head.is_empty()).then(|| self.head[pick(&self.head_cum, rng)])
    }

    /// A specialty product.
    pub(super) fn tail(&self, rng: &mut SplitMix64) -> Option<u32> {
        (!self.tail.is_empty()).then(|| self.tail[pick(&self.tail_cum, rng)])
    }

    /// A product trending among customers of `taste`.
    pub(super) fn trend(&self, taste: usize, rng: &mut SplitMix64) -> Option<u32> {
        let list = &self.trend[taste];
        (!list.is_empty()).then(|| list[rng.below(list.len())])
    }

    /// A product on promotion at `offset_s` seconds into the history.
    pub(super) fn promo(&self, offset_s: u64, rng: &mut SplitMix64) -> Option<u32> {
        let week = ((offset_s / (7 * 86_400)) as usize).min(self.promo.len().saturating_sub(1));
        let list = self.promo.get(week)?;
        (!list.is_empty()).then(|| list[rng.below(list.len())])
    }
}
