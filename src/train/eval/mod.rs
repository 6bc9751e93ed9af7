//! Offline evaluation by rolling origin: each customer's last `holdout` orders are held out, the
//! model is fitted once on the orders before them, and at every origin the model is refreshed
//! on what is known by then (counts, lists and customer vectors; the learned factors and
//! calibrations stay) and asked, through the real engine with the held-out order's time as its
//! clock, for the next basket. Baselines see the same history at every origin.
//!
//! Methods: popularity; personal frequency (the customer's products by the number of orders that
//! held them); decayed frequency (the same, each order weighted by 0.5^(orders since / 4));
//! item-kNN (products bought by the same customers as the customer's products, summed cosine);
//! the embedding alone (ALS, what endcap served before blending); and the model's modes `mixed`,
//! `buy_again` and `discover`. Short lists are padded with popular products.
//!
//! Metrics per basket T and list R (top k): recall@k = |R ∩ T| / min(k, |T|); NDCG@k with binary
//! relevance; hit = R ∩ T non-empty. Each customer's mean over their held-out baskets, then the
//! mean over customers. "New items" scores a method's list of products the customer had not
//! bought against T restricted to those (methods with no such list show none). Coverage is the
//! share of the catalogue in anyone's list; rule violations count (basket, product) pairs whose
//! product carries a tag the config's rules exclude for one of the customer's signals.

mod baselines;
mod check;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use rayon::prelude::*;
use serde::Serialize;

use super::orders::CustomerOrders;
use super::split::Basket;
use super::{Parts, Steps, TrainData, TrainOptions, fit, refresh};
use crate::config::Config;
use crate::engine::{Engine, EngineSettings, Mode, Query, Scratch};
use crate::model::input::ModelInput;
use crate::model::{self, Model};
pub use check::self_check;

/// Half-life in orders of the decayed-frequency baseline.
pub const DECAYED_HALF_LIFE: f64 = 4.0;

/// Popularity (all products by orders holding them).
pub const POPULARITY: &str = "popularity";
/// The customer's products by how many orders held them.
pub const FREQUENCY: &str = "personal frequency";
/// The same, recent orders counting more.
pub const DECAYED: &str = "decayed frequency";
/// Item-based collaborative filtering on customer co-purchase.
pub const ITEM_KNN: &str = "item-kNN";
/// The embedding alone.
pub const ALS: &str = "ALS (embedding alone)";
/// The served answer.
pub const MIXED: &str = "model: mixed";
/// Buy-again alone.
pub const BUY_AGAIN: &str = "model: buy_again";
/// Discovery and embedding, new products only.
pub const DISCOVER: &str = "model: discover";
/// Every method, in table order.
pub const METHODS: [&str; 8] = [POPULARITY, FREQUENCY, DECAYED, ITEM_KNN, ALS, MIXED, BUY_AGAIN, DISCOVER];
const M: usize = METHODS.len();

/// Recall, NDCG and hit rate at k.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Mean recall@k.
    pub recall: f64,
    /// Mean NDCG@k.
    pub ndcg: f64,
    /// Mean share of baskets with a hit.
    pub hit_rate: f64,
    /// Customers scored.
    pub customers: usize,
}

/// One recommender's results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MethodReport {
    /// What it is.
    pub name: &'static str,
    /// Against the whole basket.
    pub all: Scores,
    /// Against the products new to the customer, for methods that list new products.
    pub new_items: Option<Scores>,
    /// Share of the catalogue recommended to anyone (whole-basket lists).
    pub coverage: f64,
    /// (basket, product) pairs breaking a rule, when rules were given.
    pub rule_violations: Option<u64>,
}

/// The evaluation's outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    /// k.
    pub k: usize,
    /// Baskets held out per customer (at most).
    pub holdout: usize,
    /// Customers with a held-out basket.
    pub test_customers: usize,
    /// Held-out baskets.
    pub test_baskets: usize,
    /// Products in held-out baskets.
    pub test_items: usize,
    /// Share of held-out basket products the customer had bought before.
    pub repeat_share: f64,
    /// The methods, in [`METHODS`] order.
    pub methods: Vec<MethodReport>,
    /// Seconds spent fitting the model.
    pub train_seconds: f64,
}

impl EvalReport {
    /// The method called `name`.
    pub fn method(&self, name: &str) -> Option<&MethodReport> {
        self.methods.iter().find(|m| m.name == name)
    }

    /// Recall@k per method (all items, and new items where listed), for the model's manifest.
    pub fn summary(&self) -> serde_json::Value {
        let methods: serde_json::Map<String, serde_json::Value> = self
            .methods
            .iter()
            .map(|m| {
                let v = serde_json::json!({ "recall": m.all.recall, "new_recall": m.new_items.map(|s| s.recall) });
                (m.name.to_string(), v)
            })
            .collect();
        serde_json::json!({ "k": self.k, "customers": self.test_customers, "repeat_share": self.repeat_share, "methods": methods })
    }
}

/// Rolling-origin evaluation of `data` (see the module doc).
pub fn evaluate(
    data: &TrainData,
    config: &Config,
    opts: &TrainOptions,
    k: usize,
    holdout: usize,
) -> Result<EvalReport, String> {
    if k == 0 || holdout == 0 {
        return Err("k and holdout must be at least 1".into());
    }
    opts.check()?;
    let all = CustomerOrders::new(data);
    let started = std::time::Instant::now();
    let fit_opts = TrainOptions { self_check: false, ..opts.clone() };
    let learned = fit(data, &all.known_at(holdout, 0), &fit_opts, &mut Steps::default())?;
    let train_seconds = started.elapsed().as_secs_f64();
    let mut settings = EngineSettings::from_config(config);
    settings.recommend.max_k = settings.recommend.max_k.max(k as u32);
    let banned = banned_tags(data, config);
    let mut acc = Accumulator::new(data.customers.len(), data.products.len(), true);
    for j in 0..holdout {
        let known = all.known_at(holdout, j);
        let (input, _) = refresh(data, &known, &learned, &fit_opts, Steps::default(), Parts::RECOMMEND, "endcap eval")?;
        let origin = Origin::new(data, &known, input, &settings, Some(&banned))?;
        acc.add(origin.score(&all.baskets_at(holdout, j), k));
    }
    Ok(acc.report(k, holdout, train_seconds))
}

/// Scores a model made elsewhere (Spark and `endcap import`, an older artifact) the way
/// `evaluate` scores endcap's own, at one origin: each customer's last basket in `data` is
/// predicted by `model` and by the baselines, which see the orders before it. The model must
/// have been trained without those baskets (on `data` less each customer's last order, see
/// [`CustomerOrders::known_at`]); customers and products it does not know are scored like any
/// other (an unknown customer gets the engine's answer for unknown shoppers).
pub fn evaluate_model(data: &TrainData, model: Model, config: &Config, k: usize) -> Result<EvalReport, String> {
    if k == 0 {
        return Err("k must be at least 1".into());
    }
    let all = CustomerOrders::new(data);
    let known = all.known_at(1, 0);
    let mut settings = EngineSettings::from_config(config);
    settings.recommend.max_k = settings.recommend.max_k.max(k as u32);
    let engine = Engine::new(model, &settings).map_err(|e| e.to_string())?;
    let neighbours = super::also_bought(&known, data.products.len(), &TrainOptions::default());
    let banned = banned_tags(data, config);
    let origin = Origin::with_engine(data, &known, engine, neighbours, Some(&banned));
    let mut acc = Accumulator::new(data.customers.len(), data.products.len(), true);
    acc.add(origin.score(&all.baskets_at(1, 0), k));
    Ok(acc.report(k, 1, 0.0))
}

/// Per customer: the tags the config's rules exclude for them.
fn banned_tags(data: &TrainData, config: &Config) -> Vec<Vec<String>> {
    let mut banned: Vec<Vec<String>> = vec![Vec::new(); data.customers.len()];
    for &(c, s, w) in &data.social {
        if w <= 0.0 {
            continue;
        }
        for rule in config.rules.iter().filter(|r| r.signal == data.signals[s as usize]) {
            banned[c as usize].extend(rule.exclude_tags.iter().cloned());
        }
    }
    banned
}

/// One origin: the data known, the model refreshed on it, the baselines' inputs.
pub(super) struct Origin<'a> {
    data: &'a TrainData,
    orders: &'a CustomerOrders,
    engine: Engine,
    /// Artifact product row -> data product row.
    to_data: Vec<u32>,
    /// Products by orders holding them, most first.
    popular: Vec<u32>,
    /// Per product: also-bought neighbours (item-kNN).
    neighbours: Vec<Vec<(u32, f32)>>,
    /// Per customer, tags they must never be offered (None: rules not checked).
    banned: Option<&'a [Vec<String>]>,
    /// Per product, its tags.
    tags: Vec<HashSet<&'a str>>,
}

impl<'a> Origin<'a> {
    /// Builds the model of `input` and the baselines' inputs from `orders`.
    pub(super) fn new(
        data: &'a TrainData,
        orders: &'a CustomerOrders,
        mut input: ModelInput,
        settings: &EngineSettings,
        banned: Option<&'a [Vec<String>]>,
    ) -> Result<Origin<'a>, String> {
        // The neighbours serve the item-kNN baseline; `recommend` does not read them.
        let neighbours = std::mem::take(&mut input.also_bought);
        let artifact = model::build(&input).map_err(|e| e.to_string())?;
        drop(input);
        let model = Model::from_artifact(artifact, "evaluation").map_err(|e| e.to_string())?;
        let engine = Engine::new(model, settings).map_err(|e| e.to_string())?;
        Ok(Origin::with_engine(data, orders, engine, neighbours, banned))
    }

    /// The origin of a model already built (`engine`), with `neighbours` for item-kNN.
    pub(super) fn with_engine(
        data: &'a TrainData,
        orders: &'a CustomerOrders,
        engine: Engine,
        neighbours: Vec<Vec<(u32, f32)>>,
        banned: Option<&'a [Vec<String>]>,
    ) -> Origin<'a> {
        // The artifact stores products in index order; map its rows back to the data's rows.
        let data_row: std::collections::HashMap<&str, u32> =
            data.products.iter().enumerate().map(|(i, p)| (p.id.as_str(), i as u32)).collect();
        let ids = &engine.model().data().products.ids;
        let to_data = (0..ids.len() as u32).map(|r| data_row.get(ids.id(r)).copied().unwrap_or(u32::MAX)).collect();
        let mut counts = vec![0u64; data.products.len()];
        for &p in &orders.items {
            counts[p as usize] += 1;
        }
        let mut popular: Vec<u32> = (0..data.products.len() as u32).collect();
        popular.sort_unstable_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        let tags = data.products.iter().map(|p| p.tags.iter().map(String::as_str).collect()).collect();
        Origin { data, orders, engine, to_data, popular, neighbours, banned, tags }
    }

    /// Scores every method on `baskets` (customer rows of this origin's data).
    pub(super) fn score(&self, baskets: &[Basket], k: usize) -> Vec<BasketResult> {
        baskets
            .par_iter()
            .map_init(
                || (Scratch::default(), baselines::Work::new(self.data.products.len())),
                |(s, work), b| self.score_basket(b, k, s, work),
            )
            .collect()
    }

    fn score_basket(&self, b: &Basket, k: usize, s: &mut Scratch, work: &mut baselines::Work) -> BasketResult {
        let c = b.customer as usize;
        let hist = work.history(self.orders, c);
        let bought = |p: u32| hist.binary_search_by_key(&p, |h| h.product).is_ok();
        let new_test: Vec<u32> = b.products.iter().copied().filter(|&p| !bought(p)).collect();
        let repeats = b.products.len() - new_test.len();
        let id = self.data.customers[c].as_str();
        let mut engine_list = |mode: Mode, embedding_only: bool| -> Vec<u32> {
            let q = Query { customer: id, k: k as u32, mode, now_unix_s: b.ts, ..Query::default() };
            let ok = if embedding_only { self.engine.recommend_embedding(&q, s) } else { self.engine.recommend(&q, s) };
            match ok {
                Ok(()) => s.hits().iter().map(|h| self.to_data[h.row as usize]).collect(),
                Err(_) => Vec::new(),
            }
        };
        let als_all = engine_list(Mode::Mixed, true);
        let als_new = engine_list(Mode::Discover, true);
        let mixed = engine_list(Mode::Mixed, false);
        let again = engine_list(Mode::BuyAgain, false);
        let disc = engine_list(Mode::Discover, false);
        let (knn_all, knn_new) = work.item_knn(&self.neighbours, &self.popular, k);
        let lists: [(Vec<u32>, Option<Vec<u32>>); M] = [
            (self.popular[..k.min(self.popular.len())].to_vec(), Some(work.popular_new(&self.popular, k))),
            (work.frequency(&self.popular, k, false), None),
            (work.frequency(&self.popular, k, true), None),
            (knn_all, Some(knn_new)),
            (als_all, Some(als_new)),
            (mixed, None),
            (again, None),
            (disc.clone(), Some(disc)),
        ];
        let mut result = BasketResult {
            customer: b.customer,
            all: [(0.0, 0.0, false); M],
            new: [None; M],
            lists: Default::default(),
            violations: [0; M],
            repeats,
            items: b.products.len(),
        };
        for (m, (all, new)) in lists.into_iter().enumerate() {
            result.all[m] = score(&all, &b.products, k);
            if let Some(new) = &new
                && !new_test.is_empty()
            {
                result.new[m] = Some(score(new, &new_test, k));
            }
            result.violations[m] = self.violations(c, &all) + new.as_ref().map_or(0, |n| self.violations(c, n));
            result.lists[m] = all;
        }
        result
    }

    fn violations(&self, c: usize, list: &[u32]) -> u64 {
        let Some(banned) = self.banned else { return 0 };
        list.iter().filter(|&&p| banned[c].iter().any(|t| self.tags[p as usize].contains(t.as_str()))).count() as u64
    }
}

/// recall, NDCG and hit of `list` (top k) against the sorted `test`.
fn score(list: &[u32], test: &[u32], k: usize) -> (f64, f64, bool) {
    let hits: Vec<bool> = list.iter().take(k).map(|p| test.binary_search(p).is_ok()).collect();
    let n_hits = hits.iter().filter(|&&h| h).count();
    let ideal = k.min(test.len());
    let dcg: f64 = hits.iter().enumerate().filter(|(_, h)| **h).map(|(i, _)| 1.0 / (i as f64 + 2.0).log2()).sum();
    let idcg: f64 = (0..ideal).map(|i| 1.0 / (i as f64 + 2.0).log2()).sum();
    (n_hits as f64 / ideal.max(1) as f64, if idcg > 0.0 { dcg / idcg } else { 0.0 }, n_hits > 0)
}

/// Every method's outcome on one basket.
pub(super) struct BasketResult {
    customer: u32,
    all: [(f64, f64, bool); M],
    new: [Option<(f64, f64, bool)>; M],
    lists: [Vec<u32>; M],
    violations: [u64; M],
    repeats: usize,
    items: usize,
}

/// Per customer and method: sums over the customer's baskets.
#[derive(Clone, Copy, Default)]
struct Sums {
    recall: f64,
    ndcg: f64,
    hits: f64,
    n: u32,
}

impl Sums {
    fn add(&mut self, (recall, ndcg, hit): (f64, f64, bool)) {
        self.recall += recall;
        self.ndcg += ndcg;
        self.hits += f64::from(u8::from(hit));
        self.n += 1;
    }
}

/// Results gathered over origins.
pub(super) struct Accumulator {
    all: Vec<[Sums; M]>,
    new: Vec<[Sums; M]>,
    covered: [Vec<bool>; M],
    violations: [u64; M],
    checked_rules: bool,
    baskets: usize,
    items: usize,
    repeats: usize,
}

impl Accumulator {
    /// For `customers` and `products`; `checked_rules` when the baskets' violations were counted.
    pub(super) fn new(customers: usize, products: usize, checked_rules: bool) -> Accumulator {
        Accumulator {
            all: vec![[Sums::default(); M]; customers],
            new: vec![[Sums::default(); M]; customers],
            covered: std::array::from_fn(|_| vec![false; products]),
            violations: [0; M],
            checked_rules,
            baskets: 0,
            items: 0,
            repeats: 0,
        }
    }

    pub(super) fn add(&mut self, results: Vec<BasketResult>) {
        for r in results {
            let c = r.customer as usize;
            for m in 0..M {
                self.all[c][m].add(r.all[m]);
                if let Some(n) = r.new[m] {
                    self.new[c][m].add(n);
                }
                for &p in &r.lists[m] {
                    if let Some(slot) = self.covered[m].get_mut(p as usize) {
                        *slot = true;
                    }
                }
                self.violations[m] += r.violations[m];
            }
            self.baskets += 1;
            self.items += r.items;
            self.repeats += r.repeats;
        }
    }

    pub(super) fn report(&self, k: usize, holdout: usize, train_seconds: f64) -> EvalReport {
        let mean = |per: &[[Sums; M]], m: usize| {
            let (mut sum, mut n) = ((0.0, 0.0, 0.0), 0usize);
            for c in per {
                let s = c[m];
                if s.n > 0 {
                    let d = s.n as f64;
                    sum = (sum.0 + s.recall / d, sum.1 + s.ndcg / d, sum.2 + s.hits / d);
                    n += 1;
                }
            }
            let d = n.max(1) as f64;
            Scores { recall: sum.0 / d, ndcg: sum.1 / d, hit_rate: sum.2 / d, customers: n }
        };
        let has_new = [true, false, false, true, true, false, false, true];
        let methods = (0..M)
            .map(|m| MethodReport {
                name: METHODS[m],
                all: mean(&self.all, m),
                new_items: has_new[m].then(|| mean(&self.new, m)),
                coverage: self.covered[m].iter().filter(|&&b| b).count() as f64 / self.covered[m].len().max(1) as f64,
                rule_violations: self.checked_rules.then_some(self.violations[m]),
            })
            .collect();
        EvalReport {
            k,
            holdout,
            test_customers: self.all.iter().filter(|c| c[0].n > 0).count(),
            test_baskets: self.baskets,
            test_items: self.items,
            repeat_share: self.repeats as f64 / self.items.max(1) as f64,
            methods,
            train_seconds,
        }
    }
}
