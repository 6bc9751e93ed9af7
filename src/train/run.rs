//! The trainer's commands (`endcap train`, `eval`, `recommend-batch`): files in, files or
//! reports out, with the summaries a person reads at the end of a long run.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

use super::eval::EvalReport;
use super::orders::CustomerOrders;
use super::{TrainOptions, TrainReport, read_dir, train, train_orders};
use crate::config::Config;
use crate::demo::{self, DemoSpec};
use crate::engine::{CompleteQuery, Engine, Hit, Mode, Query, Reason, RerankQuery, Scratch, SimilarQuery};
use crate::ids::IdList;
use crate::model::{self, Model};

/// Peak resident memory of this process so far, in bytes (Linux; 0 elsewhere).
pub fn peak_rss_bytes() -> u64 {
    rss_bytes().1
}

/// Resident memory of this process now and at its peak, in bytes (Linux; 0 elsewhere).
pub fn rss_bytes() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Generates the demo store of `spec` and trains its model in memory with the trainer's defaults
/// (the same model `endcap demo --out D` then `endcap train --data D` would give): the server's
/// built-in demo.
pub fn demo_model(spec: &DemoSpec) -> Result<Model, String> {
    let started = Instant::now();
    let store = demo::generate(spec);
    let opts = TrainOptions {
        dim: spec.dim,
        version: format!("demo-s{}-p{}-c{}", spec.seed, spec.products, spec.customers),
        seed: spec.seed,
        ..TrainOptions::default()
    };
    let (input, _) = train(&store.train_data(), &opts)?;
    let artifact = model::build(&input).map_err(|e| e.to_string())?;
    let m = Model::from_artifact(artifact, "built-in demo").map_err(|e| e.to_string())?;
    tracing::info!(
        products = spec.products,
        customers = spec.customers,
        took_ms = started.elapsed().as_millis() as u64,
        "generated the demo store and trained its model in memory"
    );
    Ok(m)
}

/// `endcap train`: reads `data`, trains, builds the index, publishes `out` atomically, and prints
/// the summary and the self-check to stderr. `strict` also refuses malformed rows, and refuses
/// to publish a model whose `mixed` answer does not beat personal frequency in the self-check.
/// What `endcap train` reads.
pub struct TrainInputs<'a> {
    /// The data directory (products, purchases, social).
    pub data: &'a Path,
    /// The server's event journal, if given.
    pub events: Option<&'a Path>,
    /// Refuse malformed rows and a model that does not beat personal frequency.
    pub strict: bool,
}

pub fn train_command(
    inputs: &TrainInputs<'_>,
    out: &Path,
    opts: &TrainOptions,
    sign_key: Option<&Path>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    model::check_destination(out)?;
    let t = Instant::now();
    let strict = inputs.strict;
    let mut input_data = read_dir(inputs.data, strict)?;
    if let Some(dir) = inputs.events {
        let report = crate::data::events::add_journal(&mut input_data, dir).map_err(anyhow::Error::msg)?;
        writeln!(std::io::stderr(), "events from {}: {report}", dir.display())?;
    }
    let mut steps = super::Steps::default();
    steps.record("read", t.elapsed());
    let orders = steps.run("orders", || CustomerOrders::new(&input_data));
    // Training reads the grouped orders only: free the purchase lines.
    let lines = input_data.purchases.len();
    input_data.purchases = crate::data::Purchases::default();
    let (input, mut report) = train_orders(&input_data, &orders, opts, steps).map_err(|e| anyhow::anyhow!(e))?;
    drop(orders);
    let mut e = std::io::stderr().lock();
    if let Some(check) = &report.self_check {
        writeln!(e, "\nself-check on held-out baskets (customers the fitting did not see):")?;
        write_eval(&mut e, check)?;
    }
    if strict {
        check_beats_frequency(report.self_check.as_ref())?;
    }
    let t = Instant::now();
    let artifact = model::build_owned(input)?;
    report.steps.push(("index + artifact", t.elapsed()));
    let t = Instant::now();
    if let Some(key) = sign_key {
        // The signature goes first, so a server that requires one never sees the model unsigned.
        let sig =
            model::sign::sign_parts(key, out, &[&artifact.header(), &artifact.body]).map_err(anyhow::Error::msg)?;
        writeln!(std::io::stderr(), "signed: {}", sig.display())?;
    }
    artifact.write_atomic(out)?;
    report.steps.push(("publish", t.elapsed()));
    let m = &artifact.manifest;
    writeln!(e, "\ntrained {} -> {} ({:.0} MB)", m.model_version, out.display(), m.body_len as f64 / 1e6)?;
    summary(&mut e, &input_data, lines, &report)?;
    writeln!(
        e,
        "  index: {} lists, nprobe {}, recall@10 {:.3} against exact search",
        m.index.lists, m.index.nprobe, m.index.recall_at_10
    )?;
    writeln!(
        e,
        "  total {:.1} s, peak memory {:.2} GB",
        started.elapsed().as_secs_f64(),
        peak_rss_bytes() as f64 / 1e9
    )?;
    Ok(())
}

/// `--strict`: the self-check must have run and `mixed` must beat personal frequency on recall.
pub fn check_beats_frequency(check: Option<&EvalReport>) -> anyhow::Result<()> {
    let Some(check) = check else {
        anyhow::bail!("--strict needs the self-check, and there were no held-out baskets to run it on");
    };
    let recall = |name: &str| check.method(name).map_or(0.0, |m| m.all.recall);
    let (mixed, frequency) = (recall(super::eval::MIXED), recall(super::eval::FREQUENCY));
    anyhow::ensure!(
        mixed > frequency,
        "--strict: not published: the model's recall@{} ({mixed:.4}) does not beat personal frequency ({frequency:.4}) on held-out baskets",
        check.k
    );
    Ok(())
}

fn summary(e: &mut impl Write, data: &super::TrainData, lines: usize, report: &TrainReport) -> std::io::Result<()> {
    for f in &data.files {
        writeln!(e, "  {}: {} rows read, {} used, {} skipped", f.path.display(), f.rows, f.used, f.skipped_total())?;
        for (reason, n) in &f.skipped {
            writeln!(e, "      skipped {n:>9} {reason}")?;
        }
        for (line, why) in &f.examples {
            writeln!(e, "      e.g. line {line}: {why}")?;
        }
        for warning in &f.warnings {
            writeln!(e, "      warning: {warning}")?;
        }
    }
    writeln!(
        e,
        "  {} products, {} customers ({} with purchases, {} from social data only), {} orders, {} purchase lines, {} customer-product pairs",
        data.products.len(),
        data.customers.len(),
        report.customers_with_purchases,
        report.customers_social_only,
        data.orders,
        lines,
        report.pairs
    )?;
    let steps: Vec<String> = report.steps.iter().map(|(s, t)| format!("{s} {:.1} s", t.as_secs_f64())).collect();
    writeln!(e, "  time per step: {}", steps.join(", "))
}

/// `endcap eval`: prints the report as a table, or as JSON.
pub fn eval_command(
    data: &Path,
    config: &Config,
    opts: &TrainOptions,
    k: usize,
    holdout: usize,
    json: bool,
) -> anyhow::Result<()> {
    let input_data = read_dir(data, false)?;
    let report = super::eval::evaluate(&input_data, config, opts, k, holdout).map_err(|e| anyhow::anyhow!(e))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "rolling origin over the last {} orders of {} customers ({} baskets, {} products, {:.1}% bought before); model fitted in {:.1} s\n",
            report.holdout,
            report.test_customers,
            report.test_baskets,
            report.test_items,
            100.0 * report.repeat_share,
            report.train_seconds
        )?;
        write_eval(&mut out, &report)?;
    }
    Ok(())
}

/// The evaluation table: one row per method, all items then new items.
pub fn write_eval(out: &mut impl Write, r: &EvalReport) -> std::io::Result<()> {
    let k = r.k;
    writeln!(
        out,
        "{:<24} {:>9} {:>8} {:>8}   {:>9} {:>8} {:>8}   {:>8} {:>10}",
        "",
        format!("recall@{k}"),
        format!("ndcg@{k}"),
        format!("hit@{k}"),
        "new: rec",
        "ndcg",
        "hit",
        "coverage",
        "violations"
    )?;
    for m in &r.methods {
        let new = match m.new_items {
            Some(n) => format!("{:>9.4} {:>8.4} {:>8.4}", n.recall, n.ndcg, n.hit_rate),
            None => format!("{:>9} {:>8} {:>8}", "-", "-", "-"),
        };
        let violations = m.rule_violations.map_or("-".to_string(), |v| v.to_string());
        writeln!(
            out,
            "{:<24} {:>9.4} {:>8.4} {:>8.4}   {new}   {:>7.1}% {:>10}",
            m.name,
            m.all.recall,
            m.all.ndcg,
            m.all.hit_rate,
            100.0 * m.coverage,
            violations
        )?;
    }
    writeln!(
        out,
        "\nmean over customers of each one's mean over their held-out baskets. \"new\": products the customer had not bought before the basket."
    )
}

/// `endcap recommend-batch`: CSV `customer_id,rank,product_id,score,reason` on `out` for every
/// id in `customers` (one per line; blank lines and `#` comments skipped), from operation
/// `batch.op` at `now_unix_s`; with `explain`, also `because,days_since_last,usual_gap_days,
/// usual_gap_orders`. `k` is clamped to the config's `max_k`, as the server clamps it. Returns
/// (customers, unknown).
pub fn recommend_batch(
    model_path: &Path,
    customers: &Path,
    config: &Config,
    batch: &BatchOptions,
    out: &mut impl Write,
) -> anyhow::Result<(u64, u64)> {
    let model = Model::load(model_path)?;
    // A model built from planted vectors (`endcap demo --model`) carries no purchase history, so
    // it could neither leave out past purchases nor remind of them: say so rather than answer
    // something else.
    anyhow::ensure!(
        batch.mode == Mode::Mixed || model.manifest().counts.repeat_entries > 0,
        "{} has no purchase history (it was not built by `endcap train`): --mode {} needs it",
        model_path.display(),
        batch.mode.as_str()
    );
    if batch.k > config.recommend.max_k {
        tracing::warn!(
            k = batch.k,
            max_k = config.recommend.max_k,
            "k is above recommend.max_k: clamped, as the server does"
        );
    }
    let engine = Engine::new(model, &crate::engine::EngineSettings::from_config(config))?;
    let file = std::fs::File::open(customers)
        .map_err(|e| anyhow::anyhow!("cannot read customer ids from {}: {e}", customers.display()))?;
    let ids = &engine.model().data().customers.ids;
    let mut s = Scratch::default();
    let (mut n, mut unknown) = (0u64, 0u64);
    if batch.explain {
        writeln!(
            out,
            "customer_id,rank,product_id,score,reason,because,days_since_last,usual_gap_days,usual_gap_orders"
        )?;
    } else {
        writeln!(out, "customer_id,rank,product_id,score,reason")?;
    }
    for (line_no, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| anyhow::anyhow!("{}:{}: {e}", customers.display(), line_no + 1))?;
        let id = line.trim();
        if id.is_empty() || id.starts_with('#') {
            continue;
        }
        n += 1;
        unknown += u64::from(ids.row(id).is_none());
        let answered =
            match &batch.op {
                BatchOp::Recommend => engine.recommend(
                    &Query {
                        customer: id,
                        k: batch.k,
                        mode: batch.mode,
                        min_discover: batch.min_discover,
                        now_unix_s: batch.now_unix_s,
                        ..Query::default()
                    },
                    &mut s,
                ),
                BatchOp::Similar { product } => engine
                    .similar(&SimilarQuery { product, customer: id, k: batch.k, ..SimilarQuery::default() }, &mut s),
                BatchOp::Complete { basket } => engine
                    .complete(&CompleteQuery { basket, customer: id, k: batch.k, ..CompleteQuery::default() }, &mut s),
                BatchOp::Rerank { products } => engine.rerank(
                    &RerankQuery { customer: id, products, now_unix_s: batch.now_unix_s, ..RerankQuery::default() },
                    &mut s,
                ),
            };
        if let Err(e) = answered {
            anyhow::bail!("{}:{}: {e}", customers.display(), line_no + 1);
        }
        for (rank, hit) in s.hits().iter().enumerate() {
            let product = match (&batch.op, hit.reason) {
                (BatchOp::Rerank { products }, Reason::UnknownProduct) => {
                    products.get(hit.because as usize).unwrap_or("")
                }
                _ => engine.describe(hit.row).0,
            };
            write!(
                out,
                "{},{},{},{:.4},{}",
                csv_field(id),
                rank + 1,
                csv_field(product),
                hit.score,
                hit.reason.as_str()
            )?;
            if batch.explain {
                let because = match hit.because {
                    Hit::NONE => "",
                    _ if hit.reason == Reason::UnknownProduct => "",
                    b => engine.describe(b).0,
                };
                let num = |x: f32| if x < 0.0 { String::new() } else { format!("{x:.1}") };
                write!(
                    out,
                    ",{},{},{},{}",
                    csv_field(because),
                    num(hit.days_since_last),
                    num(hit.usual_gap_days),
                    num(hit.usual_gap_orders)
                )?;
            }
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok((n, unknown))
}

/// Which operation `recommend-batch` asks for each customer.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum BatchOp {
    /// `recommend`.
    #[default]
    Recommend,
    /// `similar` to one product, with each customer's rules.
    Similar {
        /// The product.
        product: String,
    },
    /// `complete` one basket, with each customer's rules and taste.
    Complete {
        /// The basket.
        basket: IdList,
    },
    /// `rerank` one shelf for each customer.
    Rerank {
        /// The shelf.
        products: IdList,
    },
}

/// How `recommend-batch` asks.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOptions {
    /// The operation.
    pub op: BatchOp,
    /// Items per customer.
    pub k: u32,
    /// Which sources.
    pub mode: Mode,
    /// In `mixed`: at least this many products the customer has not bought.
    pub min_discover: u32,
    /// The clock (unix seconds); 0 = the model's newest purchase.
    pub now_unix_s: i64,
    /// Add score, reason and the explanation columns.
    pub explain: bool,
}

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")).into() } else { s.into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::TrainOptions;

    #[test]
    fn batch_applies_the_rules_and_modes_split_past_and_new_purchases() {
        let dir = std::env::temp_dir().join(format!("endcap-batch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let store = demo::generate(&DemoSpec { products: 800, customers: 1_500, seed: 4, dim: 16 });
        let data = store.train_data();
        let opts = TrainOptions { dim: 16, iterations: 4, segments: 4, ..TrainOptions::default() };
        let (input, _) = crate::train::train(&data, &opts).expect("trains");
        let model_path = dir.join("m.endcap");
        model::build(&input).expect("builds").write_atomic(&model_path).expect("writes");
        let config =
            Config::load(Some(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/endcap.toml"))).expect("config");

        let vegetarians: Vec<usize> = (0..store.customers.len())
            .filter(|&c| store.customers[c].signals.iter().any(|(s, _)| *s == "lifestyle:vegetarian"))
            .take(30)
            .collect();
        assert!(!vegetarians.is_empty());
        let ids: Vec<String> = vegetarians.iter().map(|c| format!("c{c}")).chain(["nobody".to_string()]).collect();
        let list = dir.join("ids.txt");
        std::fs::write(&list, format!("# campaign\n{}\n\n", ids.join("\n"))).expect("ids");

        // Mixed with a quota of 3 new products, so it must show both kinds.
        let batch = |mode| BatchOptions {
            op: BatchOp::Recommend,
            k: 12,
            mode,
            min_discover: if mode == Mode::Mixed { 3 } else { 0 },
            now_unix_s: 0,
            explain: false,
        };
        for mode in Mode::ALL {
            let mut out = Vec::new();
            let (n, unknown) = recommend_batch(&model_path, &list, &config, &batch(mode), &mut out).expect("batch");
            assert_eq!((n, unknown), (ids.len() as u64, 1));
            let text = String::from_utf8(out).expect("utf8");
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some("customer_id,rank,product_id,score,reason"));
            let rows: Vec<(String, usize, String)> = lines
                .map(|l| {
                    let f: Vec<&str> = l.split(',').collect();
                    (f[0].to_string(), f[1].parse().expect("rank"), f[2].to_string())
                })
                .collect();
            // Buy-again answers only with what a customer bought, so lists may be shorter (and
            // empty for the unknown customer); the other modes fill 12.
            if mode == Mode::BuyAgain {
                assert!(rows.len() > ids.len() && rows.iter().all(|r| r.0 != "nobody"), "{} rows", rows.len());
            } else {
                assert_eq!(rows.len(), ids.len() * 12, "12 per customer, the unknown one included");
            }
            let (mut repeats, mut fresh) = (0, 0);
            for (customer, _, product) in &rows {
                let p: usize = product[1..].parse().expect("p<n>");
                if customer != "nobody" {
                    let tags = &store.products[p].tags;
                    assert!(!tags.iter().any(|t| t == "meat" || t == "fish"), "{customer} offered {product}");
                }
                if customer != "nobody" {
                    let c: u32 = customer[1..].parse().expect("c<n>");
                    let bought = store.purchases.iter().any(|l| l.customer == c && l.product as usize == p);
                    assert!(!(mode == Mode::Discover && bought), "{customer} already bought {product}");
                    assert!(mode != Mode::BuyAgain || bought, "{customer} never bought {product}");
                    repeats += usize::from(bought);
                    fresh += usize::from(!bought);
                }
            }
            // Mixed suggests both (the quota: at least 3 new per known customer), so the checks
            // above bite.
            assert_eq!((repeats > 0, fresh > 0), (mode != Mode::Discover, mode != Mode::BuyAgain), "{mode:?}");
            if mode == Mode::Mixed {
                assert!(fresh >= 3 * vegetarians.len(), "{fresh} new products for {} customers", vegetarians.len());
            }
        }
        // Explained: reasons, buy-again hits carry how long ago, discovery names its product.
        let explained = |mode| {
            let mut out = Vec::new();
            let explain = BatchOptions { explain: true, ..batch(mode) };
            recommend_batch(&model_path, &list, &config, &explain, &mut out).expect("batch");
            String::from_utf8(out).expect("utf8")
        };
        let text = explained(Mode::Mixed);
        assert!(text.starts_with("customer_id,rank,product_id,score,reason,because,days_since_last,"));
        let again: Vec<&str> = text.lines().filter(|l| l.contains(",buy_again,")).collect();
        assert!(!again.is_empty() && again.iter().all(|l| l.split(',').nth(6).is_some_and(|d| !d.is_empty())));
        let text = explained(Mode::Discover);
        assert!(text.lines().any(|l| l.contains(",also_bought,p")), "discovery names its product");
        // The other per-customer operations, with each customer's rules; k clamped to max_k.
        let meat =
            (0..store.products.len()).find(|&p| store.products[p].tags.iter().any(|t| t == "meat")).expect("meat");
        let meat_id = format!("p{meat}");
        let shelf: IdList = [meat_id.as_str(), "p1", "p2", "p3", "ghost"].into_iter().collect();
        for op in [
            BatchOp::Similar { product: meat_id.clone() },
            BatchOp::Complete { basket: [meat_id.as_str()].into_iter().collect() },
            BatchOp::Rerank { products: shelf.clone() },
        ] {
            let mut out = Vec::new();
            let options = BatchOptions { op: op.clone(), k: 500, ..batch(Mode::Mixed) };
            recommend_batch(&model_path, &list, &config, &options, &mut out).expect("batch");
            let text = String::from_utf8(out).expect("utf8");
            let mut per_customer: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
            for line in text.lines().skip(1) {
                let f: Vec<&str> = line.split(',').collect();
                *per_customer.entry(f[0]).or_default() += 1;
                if f[0] != "nobody" && f[4] != "unknown_product" {
                    let p: usize = f[2][1..].parse().expect("p<n>");
                    let tags = &store.products[p].tags;
                    assert!(!tags.iter().any(|t| t == "meat" || t == "fish"), "{op:?}: {} offered {}", f[0], f[2]);
                }
            }
            let most = per_customer.values().copied().max().unwrap_or(0);
            assert!(most > 0 && most <= config.recommend.max_k as usize, "{op:?}: {most} rows for one customer");
            if let BatchOp::Rerank { .. } = op {
                assert!(text.contains(",ghost,0.0000,unknown_product"), "unknown ids flagged");
            }
        }
        // A model without purchase history cannot honour discover or buy_again: refused, not ignored.
        let planted = dir.join("planted.endcap");
        model::build(&store.model_input()).expect("builds").write_atomic(&planted).expect("writes");
        for mode in [Mode::Discover, Mode::BuyAgain] {
            let e = recommend_batch(&planted, &list, &config, &batch(mode), &mut Vec::new()).expect_err("refused");
            assert!(e.to_string().contains("no purchase history"), "{e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
