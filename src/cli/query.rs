//! `endcap query`: ask a running server over QUIC and print the answer as a table (with each item's
//! explanation; an audience with its customer type; the segments) or as the HTTP API's JSON.

use anyhow::bail;
use endcap::client::Client;
use endcap::ops::audience::audience_json;
use endcap::ops::json::{ItemJson, RecommendationJson};
use endcap::ops::segments::segments_json;
use endcap::protocol::{AudienceRequest, CustomerType, RecommendRequest, Response, response};
use endcap::transport::tls::{ClientIdentity, Trust};

use super::clip;

/// Connects, giving up after 5 s with a message that says where it looked.
async fn connect(server: &str, trust: Trust, identity: Option<ClientIdentity>) -> anyhow::Result<Client> {
    let connect = Client::connect_as(server, trust, identity.as_ref());
    match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await {
        Ok(client) => Ok(client?),
        Err(_) => bail!("no QUIC answer from {server} within 5 s: is endcap serving there (server.quic_addr)?"),
    }
}

/// The error of a refused answer, as a message naming its code.
fn refused(answer: &Response) -> anyhow::Error {
    match &answer.result {
        Some(response::Result::Error(e)) => {
            anyhow::anyhow!("server refused: {} ({})", e.message, e.code().as_str_name())
        }
        other => anyhow::anyhow!("unexpected answer: {other:?}"),
    }
}

/// `endcap query audience`: the customers, then their customer type.
pub async fn audience(
    server: &str,
    trust: Trust,
    identity: Option<ClientIdentity>,
    request: AudienceRequest,
    json: bool,
) -> anyhow::Result<()> {
    let mut client = connect(server, trust, identity).await?;
    let answer = client.audience(request).await?;
    client.close().await;
    let Some(response::Result::Audience(a)) = &answer.result else { return Err(refused(&answer)) };
    if json {
        println!("{}", serde_json::to_string_pretty(&audience_json(&answer.model_version, a))?);
        return Ok(());
    }
    println!("model {}  ({} customers, {} us in the server)", answer.model_version, a.customers.len(), a.took_us);
    println!("{:>5}  {:<12}  {:>8}  segment", "#", "customer", "score");
    for (i, c) in a.customers.iter().enumerate() {
        let segment = c.segment.map_or(String::new(), |g| g.to_string());
        println!("{:>5}  {:<12}  {:>8.3}  {segment}", i + 1, clip(&c.customer_id, 12), c.score);
    }
    if let Some(t) = &a.customer_type {
        print_type(t);
    }
    Ok(())
}

/// A customer type as two small tables.
fn print_type(t: &CustomerType) {
    println!(
        "\ncustomer type of these {} (of {} customers; lines for groups of at least {}):",
        t.size, t.population, t.min_group
    );
    println!("  {:<28}  {:>6}  {:>9}  {:>8}  {:>6}", "over-represented signal", "count", "audience", "overall", "lift");
    for l in &t.signals {
        println!(
            "  {:<28}  {:>6}  {:>8.1}%  {:>7.1}%  {:>5.1}x",
            clip(&l.signal, 28),
            l.count,
            100.0 * l.share,
            100.0 * l.overall,
            l.lift
        );
    }
    println!("  {:<28}  {:>6}  {:>9}  {:>8}  {:>6}", "segment", "count", "audience", "overall", "lift");
    for l in &t.segments {
        println!(
            "  {:<28}  {:>6}  {:>8.1}%  {:>7.1}%  {:>5.1}x",
            l.segment,
            l.count,
            100.0 * l.share,
            100.0 * l.overall,
            l.lift
        );
    }
}

/// `endcap query segments`: each segment's size, best sellers and over-represented signals.
pub async fn segments(server: &str, trust: Trust, identity: Option<ClientIdentity>, json: bool) -> anyhow::Result<()> {
    let mut client = connect(server, trust, identity).await?;
    let answer = client.segments().await?;
    client.close().await;
    let Some(response::Result::Segments(g)) = &answer.result else { return Err(refused(&answer)) };
    if json {
        println!("{}", serde_json::to_string_pretty(&segments_json(&answer.model_version, g))?);
        return Ok(());
    }
    println!(
        "model {}  ({} segments of {} customers; described when at least {})",
        answer.model_version,
        g.segments.len(),
        g.population,
        g.min_group
    );
    for p in &g.segments {
        println!("\nsegment {}: {} customers ({:.1}%)", p.segment, p.size, 100.0 * p.share);
        let products: Vec<String> = p.top_products.iter().map(|t| format!("{} ({})", t.name, t.product_id)).collect();
        if !products.is_empty() {
            println!("  buys: {}", products.join("; "));
        }
        let signals: Vec<String> = p.signals.iter().map(|l| format!("{} {:.1}x", l.signal, l.lift)).collect();
        if !signals.is_empty() {
            println!("  more often than average: {}", signals.join(", "));
        }
    }
    Ok(())
}

pub async fn query(
    server: &str,
    trust: Trust,
    identity: Option<ClientIdentity>,
    request: RecommendRequest,
    json: bool,
) -> anyhow::Result<()> {
    let mut client = connect(server, trust, identity).await?;
    let answer = client.recommend(request).await?;
    client.close().await;
    let rec = match answer.result {
        Some(response::Result::Recommendation(r)) => r,
        Some(response::Result::Error(e)) => bail!("server refused: {} ({})", e.message, e.code().as_str_name()),
        other => bail!("unexpected answer: {other:?}"),
    };
    if json {
        let doc = RecommendationJson {
            model_version: answer.model_version.as_str().into(),
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
                })
                .collect(),
            took_us: rec.took_us,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("model {}  ({} items, {} us in the server)", answer.model_version, rec.items.len(), rec.took_us);
    println!("{:>3}  {:<8}  {:<40}  {:<24}  {:>8}  reason", "#", "product", "name", "aisle", "score");
    for (i, item) in rec.items.iter().enumerate() {
        println!(
            "{:>3}  {:<8}  {:<40}  {:<24}  {:>8.3}  {}{}",
            i + 1,
            item.product_id,
            clip(&item.name, 40),
            clip(&item.aisle, 24),
            item.score,
            item.reason,
            explanation(item)
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
