//! The trainer's commands (`endcap train`, `eval`, `recommend-batch`): files in, files or
//! reports out, with the summaries a person reads at the end of a long run.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

use super::eval::EvalReport;
use super::{TrainOptions, TrainReport, read_dir, train};
use crate::config::Config;
use crate::demo::{self, DemoSpec};
use crate::engine::{Engine, Query, Scratch};
use crate::model::{self, Model};

/// Peak resident memory of this process so far, in bytes (Linux; 0 elsewhere).
pub fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
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
/// the summary to stderr.
pub fn train_command(data: &Path, out: &Path, opts: &TrainOptions, strict: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let t = Instant::now();
    let input_data = read_dir(data, strict)?;
    let read_took = t.elapsed();
    let (input, mut report) = train(&input_data, opts).map_err(|e| anyhow::anyhow!(e))?;
    report.steps.insert(0, ("read", read_took));
    let t = Instant::now();
    let artifact = model::build(&input)?;
    report.steps.push(("index + artifact", t.elapsed()));
    let t = Instant::now();
    artifact.write_atomic(out)?;
    report.steps.push(("publish", t.elapsed()));
    let m = &artifact.manifest;
    let mut e = std::io::stderr().lock();
    writeln!(e, "\ntrained {} -> {} ({:.0} MB)", m.model_version, out.display(), m.body_len as f64 / 1e6)?;
    summary(&mut e, &input_data, &report)?;
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

fn summary(e: &mut impl Write, data: &super::TrainData, report: &TrainReport) -> std::io::Result<()> {
    for f in &data.files {
        writeln!(e, "  {}: {} rows read, {} used, {} skipped", f.path.display(), f.rows, f.used, f.skipped_total())?;
        for (reason, n) in &f.skipped {
            writeln!(e, "      skipped {n:>9} {reason}")?;
        }
        for (line, why) in &f.examples {
            writeln!(e, "      e.g. line {line}: {why}")?;
        }
    }
    writeln!(
        e,
        "  {} products, {} customers ({} with purchases, {} from social data only), {} orders, {} customer-product pairs",
        data.products.len(),
        data.customers.len(),
        report.customers_with_purchases,
        report.customers_social_only,
        data.orders,
        report.pairs
    )?;
    let steps: Vec<String> = report.steps.iter().map(|(s, t)| format!("{s} {:.1} s", t.as_secs_f64())).collect();
    writeln!(e, "  time per step: {}", steps.join(", "))
}

/// `endcap eval`: prints the report as a table, or as JSON.
pub fn eval_command(data: &Path, config: &Config, opts: &TrainOptions, k: usize, json: bool) -> anyhow::Result<()> {
    let input_data = read_dir(data, false)?;
    let report = super::eval::evaluate(&input_data, config, opts, k).map_err(|e| anyhow::anyhow!(e))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_eval(&report);
    }
    Ok(())
}

fn print_eval(r: &EvalReport) {
    let k = r.k;
    println!(
        "held out the last order of {} customers ({} products); trained on the rest in {:.1} s\n",
        r.test_customers, r.test_items, r.train_seconds
    );
    println!(
        "{:<44} {:>9} {:>8} {:>8}   {:>9} {:>8} {:>8}   {:>8} {:>10}",
        "",
        format!("recall@{k}"),
        format!("ndcg@{k}"),
        format!("hit@{k}"),
        "new: rec",
        "ndcg",
        "hit",
        "coverage",
        "violations"
    );
    for m in &r.methods {
        println!(
            "{:<44} {:>9.4} {:>8.4} {:>8.4}   {:>9.4} {:>8.4} {:>8.4}   {:>7.1}% {:>10}",
            m.name,
            m.all.recall,
            m.all.ndcg,
            m.all.hit_rate,
            m.new_items.recall,
            m.new_items.ndcg,
            m.new_items.hit_rate,
            100.0 * m.coverage,
            m.rule_violations
        );
    }
    println!("\n\"new\": products the customer had not bought before the held-out order, with bought ones left out.");
}

/// `endcap recommend-batch`: CSV `customer_id,rank,product_id` on `out` for every id in
/// `customers` (one per line; blank lines and `#` comments skipped). Returns (customers, unknown).
pub fn recommend_batch(
    model_path: &Path,
    customers: &Path,
    config: &Config,
    k: u32,
    new_only: bool,
    out: &mut impl Write,
) -> anyhow::Result<(u64, u64)> {
    let model = Model::load(model_path)?;
    // A model built from planted vectors (`endcap demo --model`) carries no purchase history, so
    // --new-only could not leave anything out: say so rather than print past purchases.
    anyhow::ensure!(
        !new_only || model.manifest().counts.repeat_entries > 0,
        "{} has no purchase history (it was not built by `endcap train`): --new-only cannot leave out past purchases",
        model_path.display()
    );
    let mut config = config.clone();
    config.recommend.max_k = config.recommend.max_k.max(k);
    let engine = Engine::new(model, &crate::engine::EngineSettings::from_config(&config))?;
    let file = std::fs::File::open(customers)
        .map_err(|e| anyhow::anyhow!("cannot read customer ids from {}: {e}", customers.display()))?;
    let ids = &engine.model().data().customers.ids;
    let mut s = Scratch::default();
    let (mut n, mut unknown) = (0u64, 0u64);
    writeln!(out, "customer_id,rank,product_id")?;
    for (line_no, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| anyhow::anyhow!("{}:{}: {e}", customers.display(), line_no + 1))?;
        let id = line.trim();
        if id.is_empty() || id.starts_with('#') {
            continue;
        }
        n += 1;
        unknown += u64::from(ids.row(id).is_none());
        let q = Query { customer: id, k, new_only, ..Query::default() };
        if let Err(e) = engine.recommend(&q, &mut s) {
            anyhow::bail!("{}:{}: {e}", customers.display(), line_no + 1);
        }
        for (rank, hit) in s.hits().iter().enumerate() {
            let (product, _, _) = engine.describe(hit.row);
            writeln!(out, "{},{},{}", csv_field(id), rank + 1, csv_field(product))?;
        }
    }
    out.flush()?;
    Ok((n, unknown))
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
    fn batch_applies_the_rules_and_new_only_leaves_out_past_purchases() {
        let dir = std::env::temp_dir().join(format!("endcap-batch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let store = demo::generate(&DemoSpec { products: 800, customers: 1_500, seed: 4, dim: 16 });
        let data = store.train_data();
        let opts = TrainOptions { dim: 16, iterations: 4, segments: 4, ..TrainOptions::default() };
        let (input, _) = train(&data, &opts).expect("trains");
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

        for new_only in [false, true] {
            let mut out = Vec::new();
            let (n, unknown) = recommend_batch(&model_path, &list, &config, 12, new_only, &mut out).expect("batch");
            assert_eq!((n, unknown), (ids.len() as u64, 1));
            let text = String::from_utf8(out).expect("utf8");
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some("customer_id,rank,product_id"));
            let rows: Vec<(String, usize, String)> = lines
                .map(|l| {
                    let f: Vec<&str> = l.split(',').collect();
                    (f[0].to_string(), f[1].parse().expect("rank"), f[2].to_string())
                })
                .collect();
            assert_eq!(rows.len(), ids.len() * 12, "12 per customer, the unknown one included");
            let mut repeats = 0;
            for (customer, _, product) in &rows {
                let p: usize = product[1..].parse().expect("p<n>");
                if customer != "nobody" {
                    let tags = &store.products[p].tags;
                    assert!(!tags.iter().any(|t| t == "meat" || t == "fish"), "{customer} offered {product}");
                }
                if customer != "nobody" {
                    let c: u32 = customer[1..].parse().expect("c<n>");
                    let bought = store.purchases.iter().any(|l| l.customer == c && l.product as usize == p);
                    assert!(!(new_only && bought), "{customer} already bought {product}");
                    repeats += usize::from(bought);
                }
            }
            // Without --new-only the model does suggest past purchases, so the check above bites.
            assert_eq!(repeats > 0, !new_only);
        }
        // A model without purchase history cannot honour --new-only: refused, not ignored.
        let planted = dir.join("planted.endcap");
        model::build(&store.model_input()).expect("builds").write_atomic(&planted).expect("writes");
        let e = recommend_batch(&planted, &list, &config, 12, true, &mut Vec::new()).expect_err("refused");
        assert!(e.to_string().contains("no purchase history"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
