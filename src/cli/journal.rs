//! `endcap journal inspect`: list an event journal's records, verifying their checksums.

use std::path::Path;

use super::clip;

/// `endcap journal inspect`: every record from `from`, verified, as a table or JSON lines; the
/// summary (and a torn tail, if any) on stderr.
pub fn journal_inspect(dir: &Path, json: bool, from: u64) -> anyhow::Result<()> {
    use endcap::shoppers::JournalRecord;
    use prost::Message;
    use std::io::Write;
    let mut reader = endcap::journal::Reader::open(dir, from)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if !json {
        writeln!(
            out,
            "{:>10}  {:<24}  {:<11}  {:<16}  {:<16}  {:<12}",
            "seq", "time (UTC)", "kind", "customer/session", "product", "zone/order"
        )?;
    }
    let mut n = 0u64;
    while let Some(r) = reader.next_record()? {
        n += 1;
        let rec = JournalRecord::decode(r.payload)
            .map_err(|e| anyhow::anyhow!("record {} is not a JournalRecord: {e}", r.seq))?;
        let (kind, who, product, place) = match (&rec.event, &rec) {
            (Some(e), _) => {
                let who = if e.customer.is_empty() { format!("session:{}", e.session) } else { e.customer.clone() };
                let place = if e.zone.is_empty() { e.order.clone() } else { e.zone.clone() };
                (e.kind().name().to_string(), who, e.product.clone(), place)
            }
            (None, r) if !r.forget.is_empty() => ("forget".into(), r.forget.clone(), String::new(), String::new()),
            (None, r) if !r.opt_out.is_empty() => ("opt_out".into(), r.opt_out.clone(), String::new(), String::new()),
            (None, r) => ("opt_in".into(), r.opt_in.clone(), String::new(), String::new()),
        };
        let time = utc(r.unix_us / 1_000_000);
        if json {
            let doc = serde_json::json!({
                "seq": r.seq, "unix_us": r.unix_us, "ts_ms": rec.ts_ms, "kind": kind, "shopper": who,
                "product": product, "zone_or_order": place,
            });
            writeln!(out, "{doc}")?;
        } else {
            writeln!(
                out,
                "{:>10}  {:<24}  {:<11}  {:<16}  {:<16}  {:<12}",
                r.seq,
                time,
                kind,
                clip(&who, 16),
                clip(&product, 16),
                clip(&place, 12)
            )?;
        }
    }
    out.flush()?;
    match reader.torn_tail() {
        Some(t) => eprintln!(
            "{n} records, checksums valid; a torn tail at the end of {} (never acknowledged)",
            t.path.display()
        ),
        None => eprintln!("{n} records, checksums valid"),
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS` for unix seconds.
fn utc(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60)
}
