//! `endcap audience`: a product's audience read from a model file, as CSV for campaign tools
//! (`customer_id,rank,score,segment` on stdout), with its customer type on stderr. The same
//! engine call as the server's `audience`: rules in reverse, `audience.min_group` from the config,
//! and erased and opted-out customers left out (read from the event journal; with no journal to
//! read it refuses to run unless told the store keeps none). Offline, `audience.max_k` does not
//! cap `--k`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use endcap::config::Config;
use endcap::engine::{AudienceQuery, Engine, EngineSettings, Scratch};
use endcap::model::Model;
use endcap::protocol::AudienceRequest;
use endcap::shoppers::{Choice, read_privacy};

pub fn audience_csv(
    model: &Path,
    cfg: &Config,
    journal: Option<&Path>,
    r: AudienceRequest,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let privacy = match journal {
        Some(dir) if !dir.exists() => bail!(
            "no event journal at {}: erased and opted-out customers could not be left out; pass --journal DIR \
             (the server's events.journal_dir), or --no-journal if this store keeps none",
            dir.display()
        ),
        Some(dir) => Some(read_privacy(dir).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let model = Model::load(model)?;
    let mut settings = EngineSettings::from_config(cfg);
    // The whole customer base at most: the search reserves room for k.
    let customers = model.data().customers.ids.len() as u32;
    settings.audience.max_k = settings.audience.max_k.max(r.k.min(customers));
    let engine = Engine::new(model, &settings)?;
    let products: endcap::ids::IdList = r.products.iter().collect();
    let signals: endcap::ids::IdList = r.signals.iter().collect();
    let q = AudienceQuery {
        product: &r.product,
        products: &products,
        aisle: &r.aisle,
        k: r.k,
        signals: &signals,
        segment: r.segment,
    };
    let withheld = |id: &str| privacy.as_ref().is_some_and(|p| p.choice(id) != Choice::None);
    let mut s = Scratch::default();
    engine.audience(&q, withheld, &mut s).map_err(anyhow::Error::msg)?;
    let a = s.audience();
    writeln!(out, "customer_id,rank,score,segment")?;
    for (rank, &(score, row)) in a.members.iter().enumerate() {
        let segment = engine.customer_segment(row).map_or(String::new(), |g| g.to_string());
        writeln!(out, "{},{},{score:.6},{segment}", engine.customer_id(row), rank + 1)?;
    }
    out.flush().context("writing the CSV")?;
    eprintln!(
        "{} customers of {} (model {}); over-represented signals (groups of at least {}):",
        a.members.len(),
        engine.customers(),
        engine.version(),
        engine.min_group()
    );
    for l in a.signals {
        eprintln!(
            "  {:<28} {:>6.1}% of the audience, {:>5.1}% overall, {:.1}x",
            engine.signal_name(l.group),
            100.0 * l.share,
            100.0 * l.overall,
            l.lift
        );
    }
    Ok(())
}
