//! `endcap query <operation>`: ask a running server over QUIC and print the answer as a table
//! (with each item's explanation) or as the HTTP API's JSON; and `endcap bundles`, the same
//! figures as the `bundles` operation straight from a model file, as CSV.

use std::path::Path;

use anyhow::bail;
use endcap::client::Client;
use endcap::config::Config;
use endcap::engine::{Engine, EngineSettings};
use endcap::model::Model;
use endcap::ops::json::{ItemJson, RecommendationJson};
use endcap::protocol::{
    Bundles, BundlesRequest, CompleteRequest, RecommendRequest, Recommendation, RerankRequest, SimilarRequest,
    StoreRequest, request, response,
};
use endcap::transport::tls::{ClientIdentity, Trust};

use super::args::{OptionFlags, QueryOp};
use super::clip;

/// The request for `op`.
pub fn request(op: QueryOp) -> request::Op {
    let opts = |o: OptionFlags| (o.exclude, o.signal, o.max_per_aisle, o.session);
    match op {
        QueryOp::Recommend { customer, zone, aisle, basket, k, mode, min_discover, options } => {
            let (exclude, signals, max_per_aisle, session) = opts(options);
            request::Op::Recommend(RecommendRequest {
                customer,
                zone,
                aisle,
                basket,
                k,
                mode,
                min_discover,
                exclude,
                signals,
                max_per_aisle,
                session,
            })
        }
        QueryOp::Similar { product, customer, zone, aisle, k, scope, options } => {
            let (exclude, signals, max_per_aisle, session) = opts(options);
            request::Op::Similar(SimilarRequest {
                product,
                customer,
                zone,
                aisle,
                k,
                scope,
                exclude,
                signals,
                max_per_aisle,
                session,
            })
        }
        QueryOp::Complete { basket, customer, zone, k, options } => {
            let (exclude, signals, max_per_aisle, session) = opts(options);
            request::Op::Complete(CompleteRequest {
                basket,
                customer,
                zone,
                k,
                exclude,
                signals,
                max_per_aisle,
                session,
            })
        }
        QueryOp::Bundles { product, k } => request::Op::Bundles(BundlesRequest { product, k }),
        QueryOp::Rerank { customer, product, exclude, signal, session } => {
            request::Op::Rerank(RerankRequest { customer, products: product, exclude, signals: signal, session })
        }
        QueryOp::Store => request::Op::Store(StoreRequest {}),
    }
}

pub async fn query(
    server: &str,
    trust: Trust,
    identity: Option<ClientIdentity>,
    op: request::Op,
    json: bool,
) -> anyhow::Result<()> {
    let connect = Client::connect_as(server, trust, identity.as_ref());
    let mut client = match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await {
        Ok(client) => client?,
        Err(_) => bail!("no QUIC answer from {server} within 5 s: is endcap serving there (server.quic_addr)?"),
    };
    let answer = client.call(op).await?;
    client.close().await;
    let version = answer.model_version.as_str();
    match answer.result {
        Some(response::Result::Recommendation(r)) => print_items(version, &r, json),
        Some(response::Result::Bundles(b)) => print_bundles(version, &b, json),
        Some(response::Result::Store(layout)) => {
            let mut doc = serde_json::to_value(&layout)?;
            doc["model_version"] = version.into();
            println!("{}", serde_json::to_string_pretty(&doc)?);
            Ok(())
        }
        Some(response::Result::Error(e)) => bail!("server refused: {} ({})", e.message, e.code().as_str_name()),
        other => bail!("unexpected answer: {other:?}"),
    }
}

fn print_items(version: &str, rec: &Recommendation, json: bool) -> anyhow::Result<()> {
    if json {
        let doc = RecommendationJson {
            model_version: version.into(),
            items: rec
                .items
                .iter()
                .map(|i| ItemJson {
                    product_id: i.product_id.as_str().into(),
                    name: i.name.as_str().into(),
                    aisle: i.aisle.as_str().into(),
                    score: i.score,
                    reason: i.reason.as_str().into(),
                    because: i.because.as_str().into(),
                    days_since_last: i.days_since_last,
                    usual_gap_days: i.usual_gap_days,
                    usual_gap_orders: i.usual_gap_orders,
                    promoted: i.promoted,
                })
                .collect(),
            took_us: rec.took_us,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("model {version}  ({} items, {} us in the server)", rec.items.len(), rec.took_us);
    println!("{:>3}  {:<8}  {:<40}  {:<24}  {:>8}  reason", "#", "product", "name", "aisle", "score");
    for (i, item) in rec.items.iter().enumerate() {
        println!(
            "{:>3}  {:<8}  {:<40}  {:<24}  {:>8.3}  {}{}{}",
            i + 1,
            item.product_id,
            clip(&item.name, 40),
            clip(&item.aisle, 24),
            item.score,
            item.reason,
            if item.promoted { " [promoted]" } else { "" },
            explanation(item)
        );
    }
    Ok(())
}

fn print_bundles(version: &str, b: &Bundles, json: bool) -> anyhow::Result<()> {
    if json {
        let doc = serde_json::json!({
            "model_version": version,
            "product_id": b.product_id,
            "name": b.name,
            "orders": b.orders,
            "total_orders": b.total_orders,
            "partners": b.partners.iter().map(|p| serde_json::json!({
                "product_id": p.product_id, "name": p.name, "aisle": p.aisle, "orders": p.orders,
                "support": p.support, "confidence": p.confidence, "lift": p.lift,
            })).collect::<Vec<_>>(),
            "took_us": b.took_us,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "model {version}  {} {} in {} of {} orders ({} us in the server)",
        b.product_id, b.name, b.orders, b.total_orders, b.took_us
    );
    println!(
        "{:>3}  {:<8}  {:<36}  {:<22}  {:>7}  {:>8}  {:>10}  {:>6}",
        "#", "product", "name", "aisle", "orders", "support", "confidence", "lift"
    );
    for (i, p) in b.partners.iter().enumerate() {
        println!(
            "{:>3}  {:<8}  {:<36}  {:<22}  {:>7}  {:>8.5}  {:>10.3}  {:>6.1}",
            i + 1,
            p.product_id,
            clip(&p.name, 36),
            clip(&p.aisle, 22),
            p.orders,
            p.support,
            p.confidence,
            p.lift
        );
    }
    Ok(())
}

/// "because you bought p12", "usually every 2 visits, last 9 days ago".
fn explanation(item: &endcap::protocol::Item) -> String {
    if !item.because.is_empty() {
        return format!(" (because of {})", item.because);
    }
    match (item.usual_gap_orders, item.days_since_last) {
        (Some(gap), Some(days)) => format!(" (usually every {gap:.0} visits, last {days:.0} days ago)"),
        (None, Some(days)) => format!(" (last bought {days:.0} days ago)"),
        _ => String::new(),
    }
}

/// `endcap bundles`: CSV `product_id,partner_id,partner_name,aisle,orders,support,confidence,lift`.
pub fn bundles_csv(model: &Path, product: &str, k: u32, config: &Config) -> anyhow::Result<()> {
    use std::io::Write;
    let model = Model::load(model)?;
    anyhow::ensure!(
        model.manifest().counts.co_purchase_pairs > 0,
        "the model has no co-purchase lists (it was not built by `endcap train`)"
    );
    let engine = Engine::new(model, &EngineSettings::from_config(config))?;
    let mut found = Vec::new();
    engine.bundles(product, k, &mut found)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "product_id,partner_id,partner_name,aisle,orders,support,confidence,lift")?;
    for b in &found {
        let (id, name, aisle) = engine.describe(b.row);
        writeln!(
            out,
            "{},{},{},{},{},{:.6},{:.4},{:.3}",
            csv(product),
            csv(id),
            csv(name),
            csv(aisle),
            b.orders,
            b.support,
            b.confidence,
            b.lift
        )?;
    }
    out.flush()?;
    Ok(())
}

fn csv(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")).into() } else { s.into() }
}
