//! `endcap train --events DIR`: the event journal (what the server acknowledged today) added to
//! the training data, so the next model learns from it.
//!
//! - A `purchase` of a known customer, later than the newest purchase line of the data (older
//!   ones are taken to be in the retailer's export already), becomes a purchase line. Its order
//!   is the customer's receipt id, or, without one, the customer's purchases in the same fixed
//!   10-minute window of the clock (one checkout; one that spans a window boundary becomes two).
//!   The server accepts purchases only from terminal and ops devices.
//! - A `view` or an `add` (scan) of a known customer becomes a weak interaction (`views`: the
//!   trainer counts it as a fraction of a purchase, `TrainOptions::view_weight`).
//! - A customer with a `forget` record is erased: their purchase lines, social rows and events
//!   are dropped, and they are not in the model (their id is gone from the customer list).
//! - Anonymous sessions' events (no customer to learn a vector for), unknown products, zone
//!   entries and removals are counted and otherwise skipped. Opting out of personalisation does
//!   not remove a customer from training (the server records no events of theirs while they are
//!   opted out; what came before stays, as their purchases in the export do).
//!
//! The journal is only read (a running server may be appending to it): records are verified
//! one by one, a torn tail of the newest segment ends the read, any other damage is an error.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use prost::Message;

use super::TrainData;
use crate::journal::Reader;
use crate::protocol::EventKind;
use crate::shoppers::JournalRecord;

/// Orders without a receipt id: one per customer per window of this many milliseconds.
const CHECKOUT_WINDOW_MS: i64 = 600_000;

/// What the journal gave.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JournalReport {
    /// Records read.
    pub records: u64,
    /// Purchase events added as purchase lines.
    pub purchases: u64,
    /// New orders they make.
    pub orders: u64,
    /// Purchase events at or before the data's newest purchase line (already in the data).
    pub purchases_covered: u64,
    /// Views and scans added as weak interactions.
    pub views: u64,
    /// Customers new to the data (they bought or looked only since the export).
    pub new_customers: u64,
    /// Events of anonymous sessions (no customer).
    pub anonymous: u64,
    /// Events naming a product the catalogue does not have.
    pub unknown_products: u64,
    /// Zone entries and removals (live state only).
    pub live_only: u64,
    /// Customers erased (a `forget` record), and the rows of theirs dropped (purchase lines,
    /// social rows and events).
    pub erased_customers: u64,
    /// See [`JournalReport::erased_customers`].
    pub erased_rows: u64,
    /// The torn tail of the newest segment, if any (a writer stopped mid-record, or is writing).
    pub torn_tail: bool,
}

impl fmt::Display for JournalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} records: {} purchases added ({} orders, {} already in the data), {} views/scans as weak interactions, \
             {} new customers; skipped {} anonymous, {} unknown products, {} zone/remove events; \
             {} customers erased ({} rows dropped){}",
            self.records,
            self.purchases,
            self.orders,
            self.purchases_covered,
            self.views,
            self.new_customers,
            self.anonymous,
            self.unknown_products,
            self.live_only,
            self.erased_customers,
            self.erased_rows,
            if self.torn_tail { "; the newest segment ends in a torn record (not read)" } else { "" }
        )
    }
}

/// Adds the journal in `dir` to `data` (see the module documentation).
pub fn add_journal(data: &mut TrainData, dir: &Path) -> Result<JournalReport, String> {
    let mut report = JournalReport::default();
    let mut reader = Reader::open(dir, 0).map_err(|e| format!("cannot read the journal {}: {e}", dir.display()))?;
    let mut records = Vec::new();
    let mut erased: HashSet<String> = HashSet::new();
    while let Some(r) = reader.next_record().map_err(|e| format!("journal {}: {e}", dir.display()))? {
        report.records += 1;
        let record = JournalRecord::decode(r.payload)
            .map_err(|e| format!("journal {}: record {} is not an endcap record: {e}", dir.display(), r.seq))?;
        if !record.forget.is_empty() {
            erased.insert(record.forget);
        } else if record.event.is_some() {
            records.push(record);
        }
    }
    report.torn_tail = reader.torn_tail().is_some();

    let products: HashMap<&str, u32> =
        data.products.iter().enumerate().map(|(i, p)| (p.id.as_str(), i as u32)).collect();
    let mut customers: HashMap<String, u32> =
        data.customers.iter().enumerate().map(|(i, c)| (c.clone(), i as u32)).collect();
    let data_end_s = data.purchases.ts.iter().copied().max().unwrap_or(i64::MIN);
    let mut orders: HashMap<(String, String, i64), u32> = HashMap::new();
    for record in &records {
        let Some(e) = &record.event else { continue };
        let kind = EventKind::try_from(e.kind).unwrap_or(EventKind::Unspecified);
        if e.customer.is_empty() {
            report.anonymous += 1;
            continue;
        }
        if !matches!(kind, EventKind::Purchase | EventKind::View | EventKind::Add) {
            report.live_only += 1;
            continue;
        }
        if erased.contains(&e.customer) {
            report.erased_rows += 1;
            continue;
        }
        let Some(&product) = products.get(e.product.as_str()) else {
            report.unknown_products += 1;
            continue;
        };
        let ts_s = record.ts_ms.div_euclid(1000);
        if kind == EventKind::Purchase && ts_s <= data_end_s {
            report.purchases_covered += 1;
            continue;
        }
        let customer = *customers.entry(e.customer.clone()).or_insert_with(|| {
            report.new_customers += 1;
            data.customers.push(e.customer.clone());
            data.customers.len() as u32 - 1
        });
        if kind == EventKind::Purchase {
            // (customer, receipt, window): a receipt is one order for its customer; without one,
            // a fixed 10-minute window of the clock is (a checkout across a boundary is two).
            let key = match e.order.as_str() {
                "" => (e.customer.clone(), String::new(), record.ts_ms.div_euclid(CHECKOUT_WINDOW_MS)),
                receipt => (e.customer.clone(), receipt.to_string(), 0),
            };
            let next = (data.orders + orders.len()) as u32;
            let order = *orders.entry(key).or_insert(next);
            data.purchases.push(customer, product, order, ts_s);
            report.purchases += 1;
        } else {
            data.views.push((customer, product));
            report.views += 1;
        }
    }
    report.orders = orders.len() as u64;
    data.orders += orders.len();
    let (customers_dropped, rows_dropped) = erase(data, &erased);
    report.erased_customers = customers_dropped;
    report.erased_rows += rows_dropped;
    Ok(report)
}

/// Removes the customers in `erased` from `data` (their rows, and their ids: the others are
/// renumbered); returns (customers removed, rows dropped).
fn erase(data: &mut TrainData, erased: &HashSet<String>) -> (u64, u64) {
    if !data.customers.iter().any(|c| erased.contains(c)) {
        return (0, 0);
    }
    let mut new_row = vec![u32::MAX; data.customers.len()];
    let mut kept = Vec::with_capacity(data.customers.len());
    for (i, c) in std::mem::take(&mut data.customers).into_iter().enumerate() {
        if !erased.contains(&c) {
            new_row[i] = kept.len() as u32;
            kept.push(c);
        }
    }
    let customers = (new_row.len() - kept.len()) as u64;
    data.customers = kept;
    let mut rows = 0u64;
    let p = std::mem::take(&mut data.purchases);
    for i in 0..p.len() {
        match new_row[p.customer[i] as usize] {
            u32::MAX => rows += 1,
            c => data.purchases.push(c, p.product[i], p.order[i], p.ts[i]),
        }
    }
    let before = data.social.len() + data.views.len();
    data.social.retain_mut(|(c, _, _)| {
        *c = new_row[*c as usize];
        *c != u32::MAX
    });
    data.views.retain_mut(|(c, _)| {
        *c = new_row[*c as usize];
        *c != u32::MAX
    });
    rows += (before - data.social.len() - data.views.len()) as u64;
    (customers, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{self, DemoSpec};
    use crate::journal::{Batch, Journal, JournalConfig};
    use crate::shoppers::EventRef;
    use crate::shoppers::record::{Decision, encode_decision, encode_event};

    fn event<'a>(kind: EventKind, customer: &'a str, product: &'a str, order: &'a str) -> EventRef<'a> {
        EventRef { kind, customer, session: "", product, zone: "", device_ts_ms: 0, order }
    }

    #[test]
    fn purchases_views_and_erasures_reach_the_training_data_and_are_reported() {
        let store = demo::generate(&DemoSpec { products: 200, customers: 50, seed: 3, dim: 8 });
        let mut data = store.train_data();
        let end_ms = data.purchases.ts.iter().copied().max().expect("lines") * 1000;
        let (lines, orders, customers) = (data.purchases.len(), data.orders, data.customers.len());
        let c7_lines = data.purchases.customer.iter().filter(|&&c| data.customers[c as usize] == "c7").count();
        let c7_social = data.social.iter().filter(|s| data.customers[s.0 as usize] == "c7").count();
        assert!(c7_lines > 0);

        let dir = crate::journal::scratch_dir("train-events");
        let journal = Journal::open(JournalConfig::new(&dir)).expect("opens");
        let mut batch = Batch::default();
        let mut buf = Vec::new();
        let mut add = |e: EventRef<'_>, ts_ms: i64| {
            buf.clear();
            encode_event(&mut buf, &e, ts_ms);
            batch.push(&buf).expect("fits");
        };
        let later = end_ms + 86_400_000;
        add(event(EventKind::Purchase, "c1", "p3", ""), later); // a checkout: two lines, one order
        add(event(EventKind::Purchase, "c1", "p4", ""), later + 20_000);
        add(event(EventKind::Purchase, "c2", "p5", "r-9"), later); // by receipt
        add(event(EventKind::Purchase, "new-shopper", "p6", "r-10"), later);
        add(event(EventKind::Purchase, "c1", "p3", ""), end_ms - 5_000); // in the export already
        add(event(EventKind::View, "c1", "p9", ""), later);
        add(event(EventKind::Add, "c2", "p9", ""), later);
        add(event(EventKind::View, "", "p9", ""), later); // anonymous
        add(event(EventKind::View, "c3", "p-unknown", ""), later);
        add(event(EventKind::Remove, "c3", "p9", ""), later);
        add(event(EventKind::Purchase, "c7", "p3", ""), later); // erased below
        buf.clear();
        encode_decision(&mut buf, Decision::Forget, "c7", later);
        batch.push(&buf).expect("fits");
        futures_lite(journal.append(&batch)).expect("appends");
        journal.close().expect("closes");

        let report = add_journal(&mut data, &dir).expect("reads");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(report.records, 12);
        assert_eq!((report.purchases, report.orders, report.purchases_covered), (4, 3, 1));
        assert_eq!((report.views, report.new_customers, report.anonymous), (2, 1, 1));
        assert_eq!((report.unknown_products, report.live_only), (1, 1));
        assert_eq!(report.erased_customers, 1);
        assert_eq!(report.erased_rows, (c7_lines + c7_social) as u64 + 1, "lines, social rows and the event");
        assert_eq!(data.purchases.len(), lines + 4 - c7_lines);
        assert_eq!(data.orders, orders + 3);
        assert_eq!(data.customers.len(), customers + 1 - 1);
        assert!(!data.customers.iter().any(|c| c == "c7"), "the erased id is gone");
        assert!(data.customers.iter().any(|c| c == "new-shopper"));
        assert_eq!(data.views.len(), 2);
        // Rows still point at the right ids after the renumbering.
        let at = |id: &str| data.customers.iter().position(|c| c == id).expect("present") as u32;
        let new = (0..data.purchases.len()).filter(|&i| data.purchases.customer[i] == at("new-shopper")).count();
        assert_eq!(new, 1);
        assert!(data.views.contains(&(at("c1"), 9)) && data.views.contains(&(at("c2"), 9)));
        assert!(report.to_string().contains("1 customers erased"));
    }

    /// Waits for an acknowledgement on the current thread.
    fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(f)
    }
}
