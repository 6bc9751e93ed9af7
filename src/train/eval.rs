//! Offline evaluation: each customer's last order is held out as the test basket, the model is
//! trained on everything else and served through the real engine (rules, index and all), and its
//! top-k is scored against the held-out basket beside two baselines on the same split.
//!
//! Metrics, per customer with a test basket T and a top-k list R, averaged over customers:
//! recall@k = |R ∩ T| / min(k, |T|); NDCG@k with binary relevance; hit-rate@k = share of customers
//! with at least one hit. "New items" repeats all three with T restricted to products the customer
//! had not bought in the training part, and R with those products left out. Coverage is the share
//! of the catalogue that appears in anyone's list; rule violations count (customer, product) pairs
//! where the product carries a tag the config's rules exclude for one of the customer's signals.

use std::collections::HashSet;

use rayon::prelude::*;
use serde::Serialize;

use super::{TrainData, TrainOptions, train};
use crate::config::Config;
use crate::engine::{Engine, Query, Scratch};
use crate::model::{self, Model};

/// Recall, NDCG and hit rate at k.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Mean recall@k.
    pub recall: f64,
    /// Mean NDCG@k.
    pub ndcg: f64,
    /// Share of customers with a hit.
    pub hit_rate: f64,
    /// Customers scored.
    pub customers: usize,
}

/// One recommender's results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MethodReport {
    /// What it is.
    pub name: &'static str,
    /// Against the whole test basket.
    pub all: Scores,
    /// Against the products new to each customer.
    pub new_items: Scores,
    /// Share of the catalogue recommended to anyone (whole-basket lists).
    pub coverage: f64,
    /// (customer, product) pairs breaking a rule.
    pub rule_violations: u64,
}

/// The evaluation's outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    /// k.
    pub k: usize,
    /// Customers with a held-out order.
    pub test_customers: usize,
    /// Products in held-out orders.
    pub test_items: usize,
    /// The trained model, then the baselines.
    pub methods: Vec<MethodReport>,
    /// Seconds spent training on the split.
    pub train_seconds: f64,
}

/// Splits off each customer's last order (latest timestamp; ties: the later order id). Customers
/// with a single order keep it for training and are not tested. Returns the training data and,
/// per customer, the sorted distinct products of the held-out order (empty when not tested).
pub fn split_last_order(data: &TrainData) -> (TrainData, Vec<Vec<u32>>) {
    let p = &data.purchases;
    let nc = data.customers.len();
    let mut last: Vec<Option<(i64, u32)>> = vec![None; nc];
    let mut first: Vec<Option<u32>> = vec![None; nc];
    let mut several = vec![false; nc];
    for i in 0..p.len() {
        let c = p.customer[i] as usize;
        let key = (p.ts[i], p.order[i]);
        match first[c] {
            None => first[c] = Some(p.order[i]),
            Some(o) if o != p.order[i] => several[c] = true,
            _ => {}
        }
        if last[c].is_none_or(|l| key > l) {
            last[c] = Some(key);
        }
    }
    let mut train_data = data.clone();
    let mut test: Vec<Vec<u32>> = vec![Vec::new(); nc];
    let tp = &mut train_data.purchases;
    tp.customer.clear();
    tp.product.clear();
    tp.order.clear();
    tp.ts.clear();
    for i in 0..p.len() {
        let c = p.customer[i] as usize;
        if several[c] && last[c].is_some_and(|(_, o)| o == p.order[i]) {
            test[c].push(p.product[i]);
        } else {
            tp.customer.push(p.customer[i]);
            tp.product.push(p.product[i]);
            tp.order.push(p.order[i]);
            tp.ts.push(p.ts[i]);
        }
    }
    for t in &mut test {
        t.sort_unstable();
        t.dedup();
    }
    (train_data, test)
}

fn score(list: &[u32], test: &[u32], k: usize) -> (f64, f64, bool) {
    let hits: Vec<bool> = list.iter().take(k).map(|p| test.binary_search(p).is_ok()).collect();
    let n_hits = hits.iter().filter(|&&h| h).count();
    let ideal = k.min(test.len());
    let dcg: f64 = hits.iter().enumerate().filter(|(_, h)| **h).map(|(i, _)| 1.0 / (i as f64 + 2.0).log2()).sum();
    let idcg: f64 = (0..ideal).map(|i| 1.0 / (i as f64 + 2.0).log2()).sum();
    (n_hits as f64 / ideal.max(1) as f64, if idcg > 0.0 { dcg / idcg } else { 0.0 }, n_hits > 0)
}

/// Accumulates scores over customers.
#[derive(Default)]
struct Tally {
    recall: f64,
    ndcg: f64,
    hits: usize,
    n: usize,
}

impl Tally {
    fn add(&mut self, (recall, ndcg, hit): (f64, f64, bool)) {
        self.recall += recall;
        self.ndcg += ndcg;
        self.hits += usize::from(hit);
        self.n += 1;
    }

    fn merge(mut self, o: Tally) -> Tally {
        self.recall += o.recall;
        self.ndcg += o.ndcg;
        self.hits += o.hits;
        self.n += o.n;
        self
    }

    fn scores(&self) -> Scores {
        let n = self.n.max(1) as f64;
        Scores { recall: self.recall / n, ndcg: self.ndcg / n, hit_rate: self.hits as f64 / n, customers: self.n }
    }
}

/// Trains on `data` minus each customer's last order and scores the model and two baselines.
pub fn evaluate(data: &TrainData, config: &Config, opts: &TrainOptions, k: usize) -> Result<EvalReport, String> {
    if k == 0 {
        return Err("k must be at least 1".into());
    }
    let (train_data, test) = split_last_order(data);
    let started = std::time::Instant::now();
    let (input, _) = train(&train_data, opts)?;
    let artifact = model::build(&input).map_err(|e| e.to_string())?;
    let model = Model::from_artifact(artifact, "evaluation").map_err(|e| e.to_string())?;
    let train_seconds = started.elapsed().as_secs_f64();
    let mut config = config.clone();
    config.recommend.max_k = config.recommend.max_k.max(k as u32);
    let engine = Engine::new(model, &crate::engine::EngineSettings::from_config(&config)).map_err(|e| e.to_string())?;
    // The artifact stores products in index order; map its rows back to the data's rows.
    let data_row: std::collections::HashMap<&str, u32> =
        data.products.iter().enumerate().map(|(i, p)| (p.id.as_str(), i as u32)).collect();
    let products = &engine.model().data().products;
    let to_data: Vec<u32> = (0..products.ids.len() as u32).map(|r| data_row[products.ids.id(r)]).collect();

    let np = data.products.len();
    // Training-part history per customer (sorted product lists) and popularity.
    let mut bought: Vec<Vec<(u32, u32)>> = vec![Vec::new(); data.customers.len()];
    let mut popularity = vec![0u64; np];
    for (&c, &p) in train_data.purchases.customer.iter().zip(&train_data.purchases.product) {
        bought[c as usize].push((p, 0));
        popularity[p as usize] += 1;
    }
    for b in &mut bought {
        b.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(b.len());
        for &(p, _) in b.iter() {
            match merged.last_mut() {
                Some((q, n)) if *q == p => *n += 1,
                _ => merged.push((p, 1)),
            }
        }
        *b = merged;
    }
    let mut popular: Vec<u32> = (0..np as u32).collect();
    popular.sort_unstable_by(|&a, &b| popularity[b as usize].cmp(&popularity[a as usize]).then(a.cmp(&b)));

    // The config's rules, resolved: per customer, the tags they must never be offered.
    let tag_sets: Vec<HashSet<&str>> =
        data.products.iter().map(|p| p.tags.iter().map(String::as_str).collect()).collect();
    let mut banned: Vec<Vec<&str>> = vec![Vec::new(); data.customers.len()];
    for &(c, s, w) in &data.social {
        if w <= 0.0 {
            continue;
        }
        for rule in config.rules.iter().filter(|r| r.signal == data.signals[s as usize]) {
            banned[c as usize].extend(rule.exclude_tags.iter().map(String::as_str));
        }
    }
    let violations = |c: usize, list: &[u32]| -> u64 {
        list.iter().filter(|&&p| banned[c].iter().any(|t| tag_sets[p as usize].contains(t))).count() as u64
    };

    let tested: Vec<usize> = (0..data.customers.len()).filter(|&c| !test[c].is_empty()).collect();
    struct Acc {
        all: [Tally; 3],
        new: [Tally; 3],
        covered: [Vec<bool>; 3],
        violations: [u64; 3],
    }
    let empty = || Acc {
        all: Default::default(),
        new: Default::default(),
        covered: [vec![false; np], vec![false; np], vec![false; np]],
        violations: [0; 3],
    };
    let acc = tested
        .par_iter()
        .fold(
            || (empty(), Scratch::default()),
            |(mut acc, mut s), &c| {
                let id = data.customers[c].as_str();
                let history = &bought[c];
                let was_bought = |p: &u32| history.binary_search_by_key(p, |e| e.0).is_ok();
                let new_test: Vec<u32> = test[c].iter().copied().filter(|p| !was_bought(p)).collect();
                let mut frequent: Vec<(u32, u32)> = history.clone();
                frequent.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let personal: Vec<u32> = frequent
                    .iter()
                    .map(|e| e.0)
                    .chain(popular.iter().copied().filter(|p| !was_bought(p)))
                    .take(k)
                    .collect();
                let pop_all: Vec<u32> = popular.iter().copied().take(k).collect();
                let pop_new: Vec<u32> = popular.iter().copied().filter(|p| !was_bought(p)).take(k).collect();
                let mut model_list = |new_only: bool| -> Vec<u32> {
                    let q = Query { customer: id, k: k as u32, new_only, ..Query::default() };
                    match engine.recommend(&q, &mut s) {
                        Ok(()) => s.hits().iter().map(|h| to_data[h.row as usize]).collect(),
                        Err(_) => Vec::new(),
                    }
                };
                let (m_all, m_new) = (model_list(false), model_list(true));
                let lists_all = [&m_all, &pop_all, &personal];
                let lists_new = [&m_new, &pop_new, &pop_new];
                for m in 0..3 {
                    acc.all[m].add(score(lists_all[m], &test[c], k));
                    if !new_test.is_empty() {
                        acc.new[m].add(score(lists_new[m], &new_test, k));
                    }
                    for &p in lists_all[m] {
                        acc.covered[m][p as usize] = true;
                    }
                    acc.violations[m] += violations(c, lists_all[m]) + violations(c, lists_new[m]);
                }
                (acc, s)
            },
        )
        .map(|(acc, _)| acc)
        .reduce(empty, |a, b| {
            let merge_cov = |x: Vec<bool>, y: &Vec<bool>| x.into_iter().zip(y).map(|(p, q)| p || *q).collect();
            let [a0, a1, a2] = a.all;
            let [b0, b1, b2] = b.all;
            let [n0, n1, n2] = a.new;
            let [m0, m1, m2] = b.new;
            let [c0, c1, c2] = a.covered;
            Acc {
                all: [a0.merge(b0), a1.merge(b1), a2.merge(b2)],
                new: [n0.merge(m0), n1.merge(m1), n2.merge(m2)],
                covered: [merge_cov(c0, &b.covered[0]), merge_cov(c1, &b.covered[1]), merge_cov(c2, &b.covered[2])],
                violations: [0, 1, 2].map(|m| a.violations[m] + b.violations[m]),
            }
        });
    let names = ["model (ALS + signals)", "baseline: global popularity", "baseline: personal frequency + popularity"];
    let methods = (0..3)
        .map(|m| MethodReport {
            name: names[m],
            all: acc.all[m].scores(),
            new_items: acc.new[m].scores(),
            coverage: acc.covered[m].iter().filter(|&&b| b).count() as f64 / np.max(1) as f64,
            rule_violations: acc.violations[m],
        })
        .collect();
    Ok(EvalReport {
        k,
        test_customers: tested.len(),
        test_items: tested.iter().map(|&c| test[c].len()).sum(),
        methods,
        train_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{self, DemoSpec};

    #[test]
    fn the_last_order_is_held_out_and_nothing_else() {
        let store = demo::generate(&DemoSpec { products: 300, customers: 200, seed: 3, dim: 8 });
        let data = store.train_data();
        let (train_part, test) = split_last_order(&data);
        let held: usize = test.iter().map(Vec::len).sum();
        assert!(held > 0);
        assert!(train_part.purchases.len() < data.purchases.len());
        for (c, held_out) in test.iter().enumerate() {
            if held_out.is_empty() {
                continue;
            }
            let last_ts = (0..data.purchases.len())
                .filter(|&i| data.purchases.customer[i] as usize == c)
                .map(|i| data.purchases.ts[i])
                .max()
                .expect("has purchases");
            // Every training line of a tested customer is no later than the held-out order.
            assert!(
                (0..train_part.purchases.len())
                    .filter(|&i| train_part.purchases.customer[i] as usize == c)
                    .all(|i| train_part.purchases.ts[i] <= last_ts)
            );
        }
    }

    #[test]
    fn the_model_beats_both_baselines_on_new_items_and_breaks_no_rule() {
        let store = demo::generate(&DemoSpec { products: 2_000, customers: 5_000, seed: 11, dim: 32 });
        let config = Config::load(Some(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/endcap.toml")))
            .expect("shipped config");
        let opts = TrainOptions { dim: 32, iterations: 8, segments: 8, ..TrainOptions::default() };
        let report = evaluate(&store.train_data(), &config, &opts, 10).expect("evaluates");
        let [model, popularity, personal] = &report.methods[..] else { panic!("three methods") };
        assert!(report.test_customers > 1_000);
        assert!(
            model.new_items.recall > popularity.new_items.recall && model.new_items.recall > personal.new_items.recall,
            "new-item recall@10: model {:.4}, popularity {:.4}, personal {:.4}",
            model.new_items.recall,
            popularity.new_items.recall,
            personal.new_items.recall
        );
        assert_eq!(model.rule_violations, 0);
        assert!(popularity.rule_violations > 0, "the check must be able to see violations");
    }
}
