//! One store's tables to a [`ModelInput`], with the trainer's code for everything it shares with
//! `endcap train`: the buy-again features and model, the calibration tables, the discovery lists,
//! the fold-in of customer vectors and the signal vectors.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::{ImportReport, StoreTables, timed};
use crate::data::TrainData;
use crate::index::{Kernel, TopK};
use crate::model::input::{BlendInput, CoPurchase, Discovery, ModelInput, RepeatPurchase, SegmentInput};
use crate::train::als::Sparse;
use crate::train::buy_again::propensity;
use crate::train::calibrate::fit as calibrate;
use crate::train::fit::{
    EMBEDDING_CANDIDATES, EMBEDDING_CUSTOMERS, KNOTS, basket_buy_again_rows, basket_discover_samples,
    basket_embedding_samples,
};
use crate::train::{
    BuyAgainModel, DiscoverWork, Factors, Interactions, TrainOptions, discover, fold_in, signal_vectors,
};

/// The model input of one store's tables. `opts` gives what the import decides (fold-in
/// `lambda`, `cg_steps` and `signal_weight`, `discover_top`, `seed`, `version`); the job's own
/// `alpha` (in the summary) scales the confidences, as it did in ALS.
pub fn assemble(t: StoreTables, opts: &TrainOptions) -> Result<(ModelInput, ImportReport), String> {
    let mut steps = Vec::new();
    let (np, nc, dim) = (t.products.len(), t.customers.len(), t.dim);
    let opts = TrainOptions { dim, alpha: t.summary.option("alpha", opts.alpha as f64) as f32, ..opts.clone() };
    opts.check()?;

    // The catalogue, customers and signals as the trainer's data (no purchase lines: the
    // counts are in the tables).
    let data = TrainData {
        products: t.products.clone(),
        customers: t.customers.clone(),
        orders: t.summary.orders as usize,
        signals: t.signals.clone(),
        social: t.social.clone(),
        ..TrainData::default()
    };
    let has_purchases: Vec<bool> = t.repeat.iter().map(|r| !r.is_empty()).collect();

    // Each product's repeat propensity, from every customer's counts.
    let (mut repeats, mut all) = (vec![0u64; np], vec![0u64; np]);
    for (h, _) in t.repeat.iter().flatten() {
        repeats[h.product as usize] += u64::from(h.count - 1);
        all[h.product as usize] += u64::from(h.count);
    }
    let propensity = propensity(&repeats, &all);

    // What the job's ALS learned without the held-out baskets, with signal vectors from it.
    let signals = signal_vectors(&data, &t.customer_vectors, dim, &has_purchases);
    let learned = Factors { dim, customers: t.customer_vectors.clone(), products: t.product_vectors.clone(), signals };
    learned.check(&data)?;

    // Fit on the held-out baskets, as `train::fit` does.
    let rows: Vec<_> = timed(&mut steps, "buy-again rows", || {
        t.holdout
            .par_iter()
            .zip(&t.fit_history)
            .flat_map_iter(|((b, n), hist)| basket_buy_again_rows(hist, *n, &propensity, b))
            .collect()
    });
    let buy_again = timed(&mut steps, "buy-again model", || BuyAgainModel::fit(&rows));
    let (discover_cal, embedding_cal) = timed(&mut steps, "calibration", || {
        let mut d: Vec<(f32, bool)> = t
            .holdout
            .par_iter()
            .zip(&t.fit_history)
            .map_init(
                || (DiscoverWork::default(), Vec::new()),
                |(w, found), ((b, _), hist)| {
                    basket_discover_samples(hist, &t.also_bought, opts.discover_top, w, found, b)
                },
            )
            .flatten()
            .collect();
        let kernel = Kernel::detect();
        let n = t.holdout.len().min(EMBEDDING_CUSTOMERS);
        let mut e: Vec<(f32, bool)> = t.holdout[..n]
            .par_iter()
            .zip(&t.fit_history[..n])
            .map_init(
                || (TopK::new(EMBEDDING_CANDIDATES), Vec::new()),
                |(top, bought), ((b, _), hist)| {
                    bought.clear();
                    bought.extend(hist.iter().map(|h| h.product));
                    let c = b.customer as usize;
                    let x = &learned.customers[c * dim..(c + 1) * dim];
                    basket_embedding_samples(x, &learned.products, dim, bought, kernel, top, b)
                },
            )
            .flatten()
            .collect();
        (calibrate(&mut d, KNOTS), calibrate(&mut e, KNOTS))
    });

    // Refresh on every order: confidences from the decayed counts, customers folded in.
    let factors = timed(&mut steps, "fold-in", || {
        let mut by_customer = Sparse { offsets: Vec::with_capacity(nc + 1), cols: Vec::new(), conf: Vec::new() };
        by_customer.offsets.push(0);
        for list in &t.repeat {
            for (h, decayed) in list {
                by_customer.cols.push(h.product);
                by_customer.conf.push(opts.alpha * decayed.ln_1p());
            }
            by_customer.offsets.push(by_customer.cols.len());
        }
        let inter = Interactions { by_customer, propensity: propensity.clone() };
        fold_in(&data, &inter, &learned, &opts)
    })?;

    let (repeat, discovery): (Vec<Vec<RepeatPurchase>>, Vec<Vec<Discovery>>) = timed(&mut steps, "lists", || {
        t.repeat
            .par_iter()
            .zip(&t.customer_orders)
            .map_init(
                || (Vec::new(), DiscoverWork::default(), Vec::new()),
                |(hist, work, found), (list, &n)| {
                    hist.clear();
                    hist.extend(list.iter().map(|(h, _)| *h));
                    let repeat = buy_again.repeat_list(hist, n as usize, &propensity);
                    found.clear();
                    discover(hist, &t.also_bought, opts.discover_top, work, found);
                    (repeat, found.to_vec())
                },
            )
            .unzip()
    });

    // Segments: the job's, and for a customer it did not place (no ALS vector) the nearest
    // centroid to their folded-in vector.
    let (segments, customer_segment) = if t.segments.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let nearest = |x: &[f32]| -> u32 {
            let d = |c: &[f32]| x.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum::<f32>();
            (0..t.segments.len()).min_by(|&a, &b| d(&t.segments[a].0).total_cmp(&d(&t.segments[b].0))).unwrap_or(0)
                as u32
        };
        let assigned = (0..nc)
            .map(|c| t.customer_segment[c].unwrap_or_else(|| nearest(&factors.customers[c * dim..(c + 1) * dim])))
            .collect();
        let segments = t
            .segments
            .iter()
            .map(|(centroid, popular)| SegmentInput { centroid: centroid.clone(), popular: popular.clone() });
        (segments.collect(), assigned)
    };

    let (customers, signal_vectors) =
        crate::train::assemble::customer_inputs(&t.customers, &t.signals, &t.social, &factors.signals, dim);

    let report = ImportReport {
        store: t.store.clone(),
        rows: t.rows.clone(),
        steps,
        fit_baskets: t.holdout.len(),
        buy_again_rows: rows.len(),
    };
    let mut training = BTreeMap::new();
    let s = &t.summary;
    training.insert("source".into(), serde_json::json!("spark/train.py (Spark MLlib implicit ALS) + endcap import"));
    training.insert("store".into(), serde_json::json!(t.store));
    training.insert("spark_version".into(), serde_json::json!(s.spark_version));
    training.insert("orders".into(), serde_json::json!(s.orders));
    training.insert("order_lines".into(), serde_json::json!(s.order_lines));
    training.insert("purchase_lines".into(), serde_json::json!(s.purchase_lines));
    training.insert("time_span".into(), serde_json::json!({ "from": s.data_start_ts, "to": s.data_end_ts }));
    training.insert("spark_options".into(), s.options.clone());
    training.insert("spark_steps_seconds".into(), s.steps.clone());
    training.insert("rows_skipped".into(), s.skipped.clone());
    training.insert(
        "import_options".into(),
        serde_json::json!({ "lambda": opts.lambda, "cg_steps": opts.cg_steps, "signal_weight": opts.signal_weight,
            "discover_top": opts.discover_top, "seed": opts.seed }),
    );
    training.insert(
        "buy_again".into(),
        serde_json::json!({
            "model": "logistic regression on held-out last baskets (sampled by the Spark job)",
            "rows": buy_again.rows, "baskets": t.holdout.len(), "positive_share": buy_again.positive_share,
            "bias": buy_again.bias, "weights": buy_again.weights,
        }),
    );
    training.insert(
        "calibration".into(),
        serde_json::json!({
            "discover": { "knots": discover_cal.knots.len(), "samples": discover_cal.samples, "positives": discover_cal.positives },
            "embedding": { "knots": embedding_cal.knots.len(), "samples": embedding_cal.samples, "positives": embedding_cal.positives },
        }),
    );
    let mut input = ModelInput {
        model_version: String::new(),
        builder: "endcap import".into(),
        dim,
        products: t.products,
        product_vectors: factors.products,
        product_purchases: t.product_orders,
        customers,
        customer_vectors: factors.customers,
        signal_vectors,
        total_orders: t.total_orders,
        co_purchase: t
            .co_purchase
            .into_iter()
            .map(|l| l.into_iter().map(|(product, score, together)| CoPurchase { product, score, together }).collect())
            .collect(),
        also_bought: t.also_bought,
        repeat,
        discover: discovery,
        blend: Some(BlendInput {
            time_weights: buy_again.time_weights(),
            discover: discover_cal.knots,
            embedding: embedding_cal.knots,
        }),
        data_end_ts: s.data_end_ts,
        segments,
        customer_segment,
        training,
        seed: opts.seed,
    };
    input.model_version = if opts.version.is_empty() {
        let store: String = t
            .store
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
            .take(40)
            .collect();
        format!("spark-{store}-{}-{:012x}", crate::train::utc_stamp(), input.content_hash() >> 16)
    } else {
        opts.version.clone()
    };
    Ok((input, report))
}
