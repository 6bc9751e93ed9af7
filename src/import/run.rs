//! The `endcap import` command: one store's tables in, the artifact published atomically, and
//! the summary a person reads at the end.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use super::{assemble, pick_store, read_store, timed};
use crate::model;
use crate::train::TrainOptions;

/// `endcap import`: reads the tables of `store` (or the only store) under `root`, builds the
/// model and publishes it at `out` (checked before any work), signed with `sign_key` when given,
/// printing a summary to stderr.
pub fn import_command(
    root: &Path,
    store: Option<&str>,
    out: &Path,
    opts: &TrainOptions,
    sign_key: Option<&Path>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    model::check_destination(out)?;
    let store = pick_store(root, store)?;
    let mut steps = Vec::new();
    let tables = timed(&mut steps, "read tables", || read_store(root, &store))?;
    let job = tables.summary.clone();
    let (input, mut report) = assemble(tables, opts).map_err(|e| anyhow::anyhow!("store {store}: {e}"))?;
    steps.append(&mut report.steps);
    let artifact = timed(&mut steps, "index + artifact", || model::build_owned(input))?;
    if let Some(key) = sign_key {
        // The signature goes first, so a server that requires one never sees the model unsigned.
        let sig =
            model::sign::sign_parts(key, out, &[&artifact.header(), &artifact.body]).map_err(anyhow::Error::msg)?;
        writeln!(std::io::stderr(), "signed: {}", sig.display())?;
    }
    timed(&mut steps, "publish", || artifact.write_atomic(out))?;
    let m = &artifact.manifest;
    let mut e = std::io::stderr().lock();
    writeln!(
        e,
        "imported store {store}: {} -> {} ({:.0} MB)",
        m.model_version,
        out.display(),
        m.body_len as f64 / 1e6
    )?;
    // What the job read and skipped (its skip report, by table and reason): nothing the job
    // dropped goes unmentioned here either.
    writeln!(
        e,
        "  Spark {} job: {} orders, {} purchase lines, {} customers",
        job.spark_version, job.orders, job.purchase_lines, job.customers
    )?;
    match job.skipped.as_object().filter(|m| !m.is_empty()) {
        None => writeln!(e, "  rows the job skipped: none")?,
        Some(skipped) => {
            for (what, n) in skipped {
                writeln!(e, "  rows the job skipped: {n:>9} {what}")?;
            }
        }
    }
    let rows: Vec<String> = report.rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
    writeln!(e, "  rows read: {}", rows.join(", "))?;
    writeln!(
        e,
        "  {} products, {} customers; buy-again fitted on {} held-out baskets ({} rows)",
        m.counts.products, m.counts.customers, report.fit_baskets, report.buy_again_rows
    )?;
    writeln!(
        e,
        "  index: {} lists, nprobe {}, recall@10 {:.3} against exact search",
        m.index.lists, m.index.nprobe, m.index.recall_at_10
    )?;
    let steps: Vec<String> = steps.iter().map(|(s, t)| format!("{s} {:.1} s", t.as_secs_f64())).collect();
    writeln!(e, "  time per step: {}", steps.join(", "))?;
    writeln!(
        e,
        "  total {:.1} s, peak memory {:.2} GB",
        started.elapsed().as_secs_f64(),
        crate::train::run::peak_rss_bytes() as f64 / 1e9
    )?;
    Ok(())
}
