//! Refresh: what `fit` learned applied to the data a model is made from. The customers' vectors
//! are folded in on all their orders (one more solve against the learned product vectors), and
//! everything counted is counted again: repeat statistics with their buy-again logits,
//! co-purchase, "also bought", discovery lists, segments, popularity. `assemble` is also the seam
//! for factors trained elsewhere (Spark, say): give it the counts and the factors.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::buy_again::HALF_LIVES;
use super::orders::CustomerOrders;
use super::{
    DiscoverWork, Factors, Interactions, Learned, Steps, TrainData, TrainOptions, TrainReport, also_bought,
    co_purchase, data, discover, fold_in, interactions, segments, utc_stamp,
};
use crate::model::input::{BlendInput, CoPurchase, CustomerInput, Discovery, ModelInput, RepeatPurchase};

/// Which optional parts a model gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// Per-order co-purchase (basket completion; not used by `recommend`).
    pub co_purchase: bool,
    /// Customer segments (`opts.segments` of them).
    pub segments: bool,
}

impl Parts {
    /// Everything: a served model.
    pub const ALL: Parts = Parts { co_purchase: true, segments: true };
    /// What `recommend` reads, for models only evaluated.
    pub const RECOMMEND: Parts = Parts { co_purchase: false, segments: false };
}

/// What is counted from one data set for a model.
pub struct Counted<'a> {
    /// Each customer's orders.
    pub orders: &'a CustomerOrders,
    /// ALS confidences and product repeat propensities.
    pub inter: Interactions,
    /// Per-order co-purchase neighbours (empty when not wanted).
    pub co: Vec<Vec<CoPurchase>>,
    /// Per-customer co-purchase ("also bought") neighbours.
    pub neighbours: Vec<Vec<(u32, f32)>>,
}

/// Counts `orders` (every customer's orders; `data` gives the catalogue, customers and social
/// signals) again, folds the customers in, and assembles the model with what `learned` holds.
pub fn refresh(
    data: &TrainData,
    orders: &CustomerOrders,
    learned: &Learned,
    opts: &TrainOptions,
    mut steps: Steps,
    parts: Parts,
    source: &str,
) -> Result<(ModelInput, TrainReport), String> {
    let np = data.products.len();
    let inter = steps.run("interactions", || interactions(orders, np, opts));
    let factors = steps.run("fold-in", || fold_in(data, &inter, &learned.factors, opts))?;
    let co = if parts.co_purchase { steps.run("co-purchase", || co_purchase(orders, np, opts)) } else { Vec::new() };
    let neighbours = steps.run("also-bought", || also_bought(orders, np, opts));
    let counted = Counted { orders, inter, co, neighbours };
    assemble(data, &counted, factors, learned, opts, steps, parts, source)
}

/// The steps after the factors, whoever made them: repeat statistics and discovery lists,
/// segments, popularity, and the model input with its training summary (`source` says where the
/// factors came from).
#[allow(clippy::too_many_arguments)]
pub fn assemble(
    data: &TrainData,
    counted: &Counted<'_>,
    factors: Factors,
    learned: &Learned,
    opts: &TrainOptions,
    mut steps: Steps,
    parts: Parts,
    source: &str,
) -> Result<(ModelInput, TrainReport), String> {
    factors.check(data)?;
    let dim = factors.dim;
    let (np, nc) = (data.products.len(), data.customers.len());
    let by_customer = &counted.inter.by_customer;
    let has_purchases: Vec<bool> = (0..nc).map(|c| by_customer.offsets[c + 1] > by_customer.offsets[c]).collect();
    let mut has_signals = vec![false; nc];
    for &(c, _, w) in &data.social {
        has_signals[c as usize] |= w > 0.0;
    }
    let pairs = by_customer.cols.len();
    let (repeat, discovery) = steps.run("lists", || customer_lists(counted, learned, opts));
    let (segments, customer_segment) = if parts.segments {
        steps.run("segments", || segments(data, counted.orders, &factors.customers, dim, opts))
    } else {
        (Vec::new(), Vec::new())
    };

    let orders = counted.orders;
    let mut product_purchases = vec![0u64; np];
    for &p in &orders.items {
        product_purchases[p as usize] += 1;
    }
    let (customers, signal_vectors) =
        customer_inputs(&data.customers, &data.signals, &data.social, &factors.signals, dim);

    let (from, to) = (orders.ts.iter().min(), orders.ts.iter().max());
    let ba = &learned.buy_again;
    let mut training = BTreeMap::new();
    training.insert("source".into(), serde_json::json!(source));
    training.insert("order_lines".into(), serde_json::json!(orders.items.len()));
    training.insert("orders".into(), serde_json::json!(orders.ts.len()));
    training.insert("customer_product_pairs".into(), serde_json::json!(pairs));
    training.insert("views".into(), serde_json::json!(orders.viewed.len()));
    training.insert("time_span".into(), serde_json::json!({ "from": from, "to": to }));
    training.insert(
        "options".into(),
        serde_json::json!({
            "dim": opts.dim, "iterations": opts.iterations, "alpha": opts.alpha, "lambda": opts.lambda,
            "cg_steps": opts.cg_steps, "decay_orders": opts.decay_orders, "signal_weight": opts.signal_weight,
            "view_weight": opts.view_weight,
            "co_min_support": opts.co_min_support, "co_top": opts.co_top, "also_min_support": opts.also_min_support,
            "also_top": opts.also_top, "discover_top": opts.discover_top, "segments": opts.segments,
            "seed": opts.seed,
        }),
    );
    training.insert(
        "buy_again".into(),
        serde_json::json!({
            "model": "logistic regression on held-out last baskets",
            "rows": ba.rows, "positive_share": ba.positive_share, "bias": ba.bias,
            "weights": ba.weights, "feature_mean": ba.mean, "feature_scale": ba.scale,
        }),
    );
    training.insert(
        "calibration".into(),
        serde_json::json!({
            "discover": { "knots": learned.discover.knots.len(), "samples": learned.discover.samples, "positives": learned.discover.positives },
            "embedding": { "knots": learned.embedding.knots.len(), "samples": learned.embedding.samples, "positives": learned.embedding.positives },
        }),
    );
    if let Some(check) = &learned.self_check {
        training.insert("self_check".into(), serde_json::json!(check.summary()));
    }
    let skipped: BTreeMap<String, u64> = data
        .files
        .iter()
        .flat_map(|f| {
            let name = data::file_name(&f.path);
            f.skipped.iter().map(move |(reason, n)| (format!("{name}: {reason}"), *n))
        })
        .collect();
    training.insert("rows_skipped".into(), serde_json::json!(skipped));

    let report = TrainReport {
        steps: steps.0,
        customers_with_purchases: has_purchases.iter().filter(|&&b| b).count(),
        customers_social_only: (0..nc).filter(|&c| !has_purchases[c] && has_signals[c]).count(),
        pairs,
        self_check: None,
    };
    let blend = BlendInput {
        time_weights: ba.time_weights(),
        discover: learned.discover.knots.clone(),
        embedding: learned.embedding.knots.clone(),
    };
    let mut input = ModelInput {
        model_version: String::new(),
        builder: "endcap train".into(),
        dim,
        products: data.products.clone(),
        product_vectors: factors.products,
        product_purchases,
        total_orders: orders.ts.len() as u64,
        customers,
        customer_vectors: factors.customers,
        signal_vectors,
        co_purchase: counted.co.clone(),
        also_bought: counted.neighbours.clone(),
        repeat,
        discover: discovery,
        blend: Some(blend),
        data_end_ts: to.copied().unwrap_or(0),
        segments,
        customer_segment,
        training,
        seed: opts.seed,
    };
    input.model_version = if opts.version.is_empty() {
        // The time says when; the content hash keeps two models of the same second apart.
        format!("train-{}-{:012x}", utc_stamp(), input.content_hash() >> 16)
    } else {
        opts.version.clone()
    };
    Ok((input, report))
}

/// Per customer: the repeat statistics with their buy-again logits, and the discovery list.
/// The model's customers with their social signals, and each signal's vector (row `s` of
/// `signal_factors`), from the data contract's ids and social rows.
pub(crate) fn customer_inputs(
    customers: &[String],
    signals: &[String],
    social: &crate::data::SocialRows,
    signal_factors: &[f32],
    dim: usize,
) -> (Vec<CustomerInput>, Vec<(String, Vec<f32>)>) {
    let mut customer_signals: Vec<Vec<(String, f32)>> = vec![Vec::new(); customers.len()];
    for &(c, s, w) in social {
        customer_signals[c as usize].push((signals[s as usize].clone(), w));
    }
    let inputs =
        customers.iter().zip(customer_signals).map(|(id, signals)| CustomerInput { id: id.clone(), signals }).collect();
    let vectors = signals
        .iter()
        .enumerate()
        .map(|(s, name)| (name.clone(), signal_factors[s * dim..(s + 1) * dim].to_vec()))
        .collect();
    (inputs, vectors)
}

fn customer_lists(
    counted: &Counted<'_>,
    learned: &Learned,
    opts: &TrainOptions,
) -> (Vec<Vec<RepeatPurchase>>, Vec<Vec<Discovery>>) {
    let orders = counted.orders;
    let propensity = &counted.inter.propensity;
    (0..orders.customers())
        .into_par_iter()
        .map_init(
            || (Vec::new(), Vec::new(), DiscoverWork::default(), Vec::new()),
            |(work, hist, discover_work, found), c| {
                hist.clear();
                orders.summarise(c, HALF_LIVES, work, hist);
                let n = orders.orders_of(c).len();
                let repeat = learned.buy_again.repeat_list(hist, n, propensity);
                found.clear();
                discover(hist, &counted.neighbours, opts.discover_top, discover_work, found);
                // Exactly sized: the work buffer held every candidate.
                (repeat, found.to_vec())
            },
        )
        .unzip()
}
