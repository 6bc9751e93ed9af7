//! The trainer's self-check: the model assembled from the orders before each held-out basket,
//! for customers the fitting did not see, scored against the baselines on those baskets (one
//! origin). `endcap train` prints it, stores its summary in the manifest, and with `--strict`
//! refuses to publish a model whose `mixed` answer does not beat personal frequency.

use super::super::assemble::{Counted, Parts, assemble};
use super::super::{Factors, Interactions, Learned, Steps, TrainData, TrainOptions, fold_in, interactions};
use super::{Accumulator, EvalReport, Origin};
use crate::engine::EngineSettings;
use crate::train::split::Basket;

/// List length the self-check scores.
pub const CHECK_K: usize = 10;

/// Evaluates `learned` on the `check` baskets; `counted` holds the orders before them and their
/// counts (all customers), `data` the catalogue, customers and social signals.
pub fn self_check(
    data: &TrainData,
    counted: &Counted,
    check: &[&Basket],
    learned: &Learned,
    opts: &TrainOptions,
) -> Result<EvalReport, String> {
    let started = std::time::Instant::now();
    // The checked customers alone, renumbered 0.., with their history and learned vectors.
    let rows: Vec<u32> = check.iter().map(|b| b.customer).collect();
    let sub = subset(data, &rows);
    let orders = counted.orders.subset(&rows);
    let dim = learned.factors.dim;
    let factors = Factors {
        dim,
        customers: rows
            .iter()
            .flat_map(|&c| &learned.factors.customers[c as usize * dim..(c as usize + 1) * dim])
            .copied()
            .collect(),
        products: learned.factors.products.clone(),
        signals: learned.factors.signals.clone(),
    };
    let np = data.products.len();
    let inter = interactions(&orders, np, opts);
    let factors = fold_in(&sub, &inter, &factors, opts)?;
    // Product statistics stay those of every customer: a product's repeat propensity and its
    // neighbours do not come from the checked customers alone.
    let sub_counted = Counted {
        orders: &orders,
        inter: Interactions { by_customer: inter.by_customer, propensity: counted.inter.propensity.clone() },
        co: Vec::new(),
        neighbours: counted.neighbours.clone(),
    };
    let check_opts = TrainOptions { version: "self-check".into(), ..opts.clone() };
    let (input, _) =
        assemble(&sub, &sub_counted, factors, learned, &check_opts, Steps::default(), Parts::RECOMMEND, "self-check")?;
    let mut origin = Origin::new(&sub, &orders, input, &EngineSettings::default(), None)?;
    // Popularity from every customer's history, not the checked ones' (item-kNN already is).
    let mut counts = vec![0u64; np];
    for &p in &counted.orders.items {
        counts[p as usize] += 1;
    }
    origin.popular.sort_unstable_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
    let baskets: Vec<Basket> = check
        .iter()
        .enumerate()
        .map(|(i, b)| Basket { customer: i as u32, ts: b.ts, products: b.products.clone() })
        .collect();
    let mut acc = Accumulator::new(rows.len(), np, false);
    acc.add(origin.score(&baskets, CHECK_K));
    Ok(acc.report(CHECK_K, 1, started.elapsed().as_secs_f64()))
}

/// `data`'s customers and social signals restricted to `customers` (rows of `data`), renumbered
/// in that order (no purchase lines).
fn subset(data: &TrainData, customers: &[u32]) -> TrainData {
    let mut new_row = vec![u32::MAX; data.customers.len()];
    for (i, &c) in customers.iter().enumerate() {
        new_row[c as usize] = i as u32;
    }
    let mut out =
        TrainData { products: data.products.clone(), signals: data.signals.clone(), orders: 0, ..TrainData::default() };
    out.customers = customers.iter().map(|&c| data.customers[c as usize].clone()).collect();
    out.social = data
        .social
        .iter()
        .filter(|s| new_row[s.0 as usize] != u32::MAX)
        .map(|&(c, s, w)| (new_row[c as usize], s, w))
        .collect();
    out
}
