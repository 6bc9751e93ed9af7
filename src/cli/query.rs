//! `endcap query`: ask a running server over QUIC and print the answer as a table (with each item's
//! explanation) or as the HTTP API's JSON.

use anyhow::bail;
use endcap::client::Client;
use endcap::ops::json::{ItemJson, RecommendationJson};
use endcap::protocol::{RecommendRequest, response};
use endcap::transport::tls::{ClientIdentity, Trust};

use super::clip;

pub async fn query(
    server: &str,
    trust: Trust,
    identity: Option<ClientIdentity>,
    request: RecommendRequest,
    json: bool,
) -> anyhow::Result<()> {
    let connect = Client::connect_as(server, trust, identity.as_ref());
    let mut client = match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await {
        Ok(client) => client?,
        Err(_) => bail!("no QUIC answer from {server} within 5 s: is endcap serving there (server.quic_addr)?"),
    };
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
