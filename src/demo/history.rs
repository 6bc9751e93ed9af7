//! One customer's purchase history: when they shop, their staples and how those come and go,
//! and what else lands in the basket.
//!
//! What real grocery histories look like, and what is modelled here:
//! - **Long, heavy-tailed histories**: a median of about 11 orders in the half year, a few
//!   customers with dozens, one in ten an occasional shopper with one to a few.
//! - **Own cadence**: each customer shops every `span / orders` days on average, with gamma
//!   distributed gaps; one in five joined partway through the half year.
//! - **Personal staples**: 10-20 products per customer, drawn mostly from their tastes (so
//!   different customers have different staples), some from the store's everyday head, some
//!   from what their taste's customers are adopting (trends). Each staple has its own loyalty
//!   and repeat cycle in days (about one in seven is bought on almost every visit, the others every few
//!   visits); the chance of buying it grows as it becomes due.
//! - **Drift**: a third of the staples are adopted partway through, after a trial purchase;
//!   every staple can be dropped at any order, and some drops are replaced by a new staple, so
//!   the chance of re-buying falls with the orders since the last purchase.
//! - **Exploration that is only partly predictable**: besides staples, each order explores
//!   (a per-customer rate): taste picks, trends, the week's promotions, store-wide best sellers,
//!   rare specialty items, and now and then something bought before outside the staples.
//! - The planted bundles: a drawn bundle member brings the other members along often.
//!
//! Everything is drawn from the customer's own stream, so the result does not depend on threads.

use super::*;

/// Occasional shoppers: one to a few orders.
const OCCASIONAL_SHARE: f64 = 0.1;
/// Median orders of a regular shopper, and the spread of its log.
const ORDERS_MEDIAN: f64 = 12.0;
const ORDERS_SIGMA: f64 = 0.65;
/// Most orders a customer can have.
const ORDERS_MAX: usize = 120;
/// Customers who joined partway through the history.
const LATE_JOINERS: f64 = 0.2;
/// Staples per customer (inclusive range).
const STAPLES: (usize, usize) = (10, 20);
/// Share of staples drawn from the everyday head and from the taste's trends (the rest: taste).
const STAPLE_HEAD: f64 = 0.15;
const STAPLE_TREND: f64 = 0.15;
/// Share of staples already adopted when the history starts (the rest are adopted after a trial).
const ACTIVE_AT_START: f64 = 0.65;
/// Share of staples bought on almost every visit.
const EVERY_VISIT: f64 = 0.15;
/// When a dropped staple is replaced by a new one.
const REPLACE: f64 = 0.5;
/// Median exploration picks per order and the spread of its log (per customer).
const EXPLORE_MEDIAN: f64 = 1.6;
const EXPLORE_SIGMA: f64 = 0.5;
/// What an exploration pick is: something bought before, a trend, a promotion, a store-wide best
/// seller (the rest: taste, or a specialty item at the market's tail rate).
const EXPLORE_OWN: f64 = 0.15;
const EXPLORE_TREND: f64 = 0.15;
const EXPLORE_PROMO: f64 = 0.2;
const EXPLORE_POPULAR: f64 = 0.15;
/// Expected exploration picks per customer over the history: the mean order count (about 13.7)
/// times the mean exploration rate (about 1.8). The market sets its specialty rate from it.
pub(super) const EXPLORE_PER_CUSTOMER: f64 = 25.0;

/// A staple while the history is generated.
struct Staple {
    product: u32,
    /// Chance of buying it once it is fully due.
    loyalty: f64,
    /// Repeat cycle, seconds.
    cycle_s: f64,
    /// Last purchase, seconds from the window start (negative: before the window).
    last_s: f64,
    /// Order index of its adoption: bought as a trial then, a staple from then on.
    adopt_at: usize,
    dropped: bool,
}

/// Buffers reused across the customers of one range.
#[derive(Default)]
pub(super) struct HistoryScratch {
    times: Vec<f64>,
    staples: Vec<Staple>,
    explored: Vec<u32>,
    order: Vec<u32>,
    picks: Vec<u32>,
}

/// What one customer's history needs to know about them.
pub(super) struct Shopper<'a> {
    pub(super) customer: u32,
    pub(super) tastes: &'a [(u8, f32)],
    pub(super) diet_class: usize,
}

fn lognormal(rng: &mut SplitMix64, median: f64, sigma: f64) -> f64 {
    median * (sigma * rng.normal()).exp()
}

impl CustomerContext<'_> {
    /// May a customer of `diet_class` buy `product`?
    fn allowed(&self, diet_class: usize, product: u32) -> bool {
        diet_class == 0 || self.diet_masks[product as usize] & (1 << (diet_class - 1)) == 0
    }

    /// A product for the shopper's tastes (weighted by taste mix), from the taste tables.
    fn taste_pick(&self, who: &Shopper<'_>, taste_cum: &[f64], rng: &mut SplitMix64) -> Option<u32> {
        let taste = who.tastes[pick(taste_cum, rng)].0 as usize;
        self.classes[who.diet_class].product_for(taste, rng)
    }

    /// `draw` until it gives a product the shopper may buy (a few tries), else a taste pick.
    fn allowed_or_taste(
        &self,
        who: &Shopper<'_>,
        taste_cum: &[f64],
        rng: &mut SplitMix64,
        draw: impl Fn(&mut SplitMix64) -> Option<u32>,
    ) -> Option<u32> {
        for _ in 0..8 {
            match draw(rng) {
                Some(p) if self.allowed(who.diet_class, p) => return Some(p),
                Some(_) => continue,
                None => break,
            }
        }
        self.taste_pick(who, taste_cum, rng)
    }

    /// A new staple's product: everyday head, a trend of the shopper's taste, or a taste pick.
    fn staple_product(&self, who: &Shopper<'_>, taste_cum: &[f64], rng: &mut SplitMix64) -> Option<u32> {
        let x = rng.next_f64();
        if x < STAPLE_HEAD {
            self.allowed_or_taste(who, taste_cum, rng, |r| self.market.head(r))
        } else if x < STAPLE_HEAD + STAPLE_TREND {
            let taste = who.tastes[pick(taste_cum, rng)].0 as usize;
            self.allowed_or_taste(who, taste_cum, rng, |r| self.market.trend(taste, r))
        } else {
            self.taste_pick(who, taste_cum, rng)
        }
    }

    /// Adds a staple for `product` unless the shopper already has it.
    fn add_staple(
        &self,
        scratch: &mut HistoryScratch,
        product: u32,
        adopt_at: usize,
        gap_s: f64,
        rng: &mut SplitMix64,
    ) {
        if scratch.staples.iter().any(|s| s.product == product && !s.dropped) {
            return;
        }
        // Every-visit staples (milk, bread) are bought almost always; the others come round
        // every few visits.
        let (cycle_visits, loyalty) = if rng.chance(EVERY_VISIT) {
            (0.3 + 0.3 * rng.next_f64(), 0.85 + 0.15 * rng.next_f64())
        } else {
            (lognormal(rng, 2.5, 0.6).clamp(0.7, 8.0), 0.45 + 0.5 * rng.next_f64().sqrt())
        };
        let cycle_s = cycle_visits * gap_s;
        scratch.staples.push(Staple {
            product,
            loyalty,
            cycle_s,
            // An adopted staple starts part-way through its cycle.
            last_s: -rng.next_f64() * cycle_s,
            adopt_at,
            dropped: false,
        });
    }

    /// One exploration pick at `offset_s` into the history.
    fn explore_pick(
        &self,
        who: &Shopper<'_>,
        taste_cum: &[f64],
        explored: &[u32],
        offset_s: u64,
        rng: &mut SplitMix64,
    ) -> Option<u32> {
        let mut x = rng.next_f64();
        if x < EXPLORE_OWN {
            if !explored.is_empty() {
                return Some(explored[rng.below(explored.len())]);
            }
            return self.taste_pick(who, taste_cum, rng);
        }
        x -= EXPLORE_OWN;
        if x < self.market.tail_rate {
            return self.allowed_or_taste(who, taste_cum, rng, |r| self.market.tail(r));
        }
        x -= self.market.tail_rate;
        if x < EXPLORE_TREND {
            let taste = who.tastes[pick(taste_cum, rng)].0 as usize;
            return self.allowed_or_taste(who, taste_cum, rng, |r| self.market.trend(taste, r));
        }
        x -= EXPLORE_TREND;
        if x < EXPLORE_PROMO {
            return self.allowed_or_taste(who, taste_cum, rng, |r| self.market.promo(offset_s, r));
        }
        x -= EXPLORE_PROMO;
        if x < EXPLORE_POPULAR {
            return self.allowed_or_taste(who, taste_cum, rng, |r| self.market.head(r));
        }
        self.taste_pick(who, taste_cum, rng)
    }

    /// Generates the shopper's orders, appending their lines to `purchases` with order numbers
    /// from `*orders` on.
    pub(super) fn history(
        &self,
        who: &Shopper<'_>,
        rng: &mut SplitMix64,
        scratch: &mut HistoryScratch,
        purchases: &mut Vec<Purchase>,
        orders: &mut u32,
    ) {
        let window_s = (HISTORY_DAYS * 86_400) as f64;
        let start_ts = EPOCH_TS - HISTORY_DAYS * 86_400;
        let taste_cum = cumulative(who.tastes.iter().map(|&(_, w)| w as f64));

        // How many orders, over which span, at which times.
        let n_orders = if rng.chance(OCCASIONAL_SHARE) {
            1 + poisson(rng, 1.5)
        } else {
            (lognormal(rng, ORDERS_MEDIAN, ORDERS_SIGMA).round() as usize).clamp(2, ORDERS_MAX)
        };
        let span_s = if rng.chance(LATE_JOINERS) { window_s * (0.2 + 0.8 * rng.next_f64()) } else { window_s };
        let gap_s = span_s / n_orders as f64;
        scratch.times.clear();
        let mut t = rng.next_f64() * gap_s;
        for _ in 0..n_orders {
            scratch.times.push(t);
            // Gamma(3) gaps around the customer's cadence.
            let g: f64 = (0..3).map(|_| -(rng.next_f64().max(f64::MIN_POSITIVE)).ln()).sum::<f64>() / 3.0;
            t += g * gap_s;
        }
        // Fit the orders into the customer's span at the end of the window (times stay ordered).
        let scale = (span_s - 64.0).max(0.0) / t.max(1.0);
        let first = window_s - span_s;
        for x in &mut scratch.times {
            *x = first + *x * scale;
        }

        // Staples: some adopted from the start, some later after a trial.
        scratch.staples.clear();
        let n_staples = STAPLES.0 + rng.below(STAPLES.1 - STAPLES.0 + 1);
        for _ in 0..n_staples {
            let adopt_at = if rng.chance(ACTIVE_AT_START) { 0 } else { 1 + rng.below(n_orders) };
            if let Some(p) = self.staple_product(who, &taste_cum, rng) {
                self.add_staple(scratch, p, adopt_at, gap_s, rng);
            }
        }
        let drop_rate = 0.01 + 0.04 * rng.next_f64();
        let explore_rate = lognormal(rng, EXPLORE_MEDIAN, EXPLORE_SIGMA).clamp(0.3, 10.0);

        scratch.explored.clear();
        let mut last_offset: u64 = 0;
        for j in 0..n_orders {
            let now_s = scratch.times[j];
            scratch.order.clear();
            scratch.picks.clear();
            let mut replacements = 0;
            for s in scratch.staples.iter_mut() {
                if s.dropped || j < s.adopt_at {
                    continue;
                }
                if j == s.adopt_at && j > 0 {
                    // The trial purchase that starts the habit.
                    scratch.picks.push(s.product);
                    s.last_s = now_s;
                    continue;
                }
                if j > 0 && rng.chance(drop_rate) {
                    s.dropped = true;
                    replacements += usize::from(rng.chance(REPLACE));
                    continue;
                }
                let due = (now_s - s.last_s) / s.cycle_s;
                if rng.chance(s.loyalty * (1.0 - (-due * due).exp())) {
                    scratch.picks.push(s.product);
                    s.last_s = now_s;
                }
            }
            for _ in 0..replacements {
                if let Some(p) = self.staple_product(who, &taste_cum, rng) {
                    let adopt_at = j + 1 + rng.below(6);
                    self.add_staple(scratch, p, adopt_at, gap_s, rng);
                }
            }
            let staple_picks = scratch.picks.len();
            let offset_s = (now_s.max(0.0) as u64).max(last_offset + u64::from(j > 0));
            let mut n_explore = poisson(rng, explore_rate);
            if staple_picks == 0 && n_explore == 0 {
                n_explore = 1;
            }
            for _ in 0..n_explore {
                if let Some(p) = self.explore_pick(who, &taste_cum, &scratch.explored, offset_s, rng) {
                    scratch.picks.push(p);
                }
            }
            // Exploration is remembered for the occasional re-buy outside the staples.
            for i in staple_picks..scratch.picks.len() {
                scratch.explored.push(scratch.picks[i]);
            }
            for i in 0..scratch.picks.len() {
                let product = scratch.picks[i];
                add_line(&mut scratch.order, product);
                let b = self.bundle_of[product as usize];
                if b != u32::MAX {
                    for &other in &self.bundles[b as usize] {
                        if other != product && self.allowed(who.diet_class, other) && rng.chance(BUNDLE_JOIN) {
                            add_line(&mut scratch.order, other);
                        }
                    }
                }
            }
            if scratch.order.is_empty() {
                continue;
            }
            last_offset = offset_s;
            let ts = (start_ts + offset_s as i64) as u32;
            purchases.extend(scratch.order.iter().map(|&product| Purchase {
                customer: who.customer,
                order: *orders,
                product,
                ts,
            }));
            *orders += 1;
        }
    }
}
