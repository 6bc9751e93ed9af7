//! The data contract's rows: products, purchase lines and social signals parsed from a table's
//! text fields, with the reason for every row skipped; timestamps and prices.

use super::*;

/// An id field: non-empty, at most 256 bytes.
pub(super) fn id_field<'a>(csv: &'a Table, c: usize, what: &'static str) -> Result<&'a str, (&'static str, String)> {
    let id = csv.text(c)?;
    if id.is_empty() {
        return Err(("empty id", what.to_string()));
    }
    if id.len() > crate::ids::MAX_ID_BYTES {
        return Err(("id too long", format!("{what} of {} bytes", id.len())));
    }
    Ok(id)
}

pub(super) fn read_products(
    table: &mut Table,
    strict: bool,
) -> Result<(Vec<ProductInput>, IdRows, FileReport), DataError> {
    let mut report = FileReport::new(&table.path);
    let mut products = Vec::new();
    let mut rows: IdRows = FxHashMap::default();
    table.for_each_row(&mut report, strict, |t, report, line| {
        let parsed = (|| {
            let id = id_field(t, 0, "product_id")?;
            let name = t.text(1)?;
            let aisle = t.text(2)?;
            let department = t.text(3)?;
            if aisle.is_empty() {
                return Err(("empty aisle", String::new()));
            }
            let tags = match t.field(4) {
                Some(tags) => std::str::from_utf8(tags)
                    .map_err(|_| ("not UTF-8", String::new()))?
                    .split(';')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect(),
                None => Vec::new(),
            };
            // `price` is in currency units (3.49), `price_cents` in cents (349); `read_dir`
            // refuses a header with both.
            let price_cents = match (t.field(5), t.field(6)) {
                (Some(p), _) if !p.is_empty() => Some(parse_price(p).ok_or_else(|| bad_price(p))?),
                (_, Some(c)) if !c.is_empty() => Some(parse_cents(c).ok_or_else(|| bad_price(c))?),
                _ => None,
            };
            if let Some(cents) = price_cents.filter(|&c| c > MAX_PRICE_CENTS) {
                return Err((
                    "implausible price",
                    format!("{}.{:02} is above the limit of {}", cents / 100, cents % 100, MAX_PRICE_CENTS / 100),
                ));
            }
            Ok(ProductInput {
                id: id.to_string(),
                name: name.to_string(),
                aisle: aisle.to_string(),
                department: department.to_string(),
                tags,
                price_cents,
            })
        })();
        match parsed {
            Ok(p) if rows.contains_key(p.id.as_str()) => report.skip(strict, line, "duplicate product_id", p.id),
            Ok(p) => {
                rows.insert(p.id.as_str().into(), products.len() as u32);
                products.push(p);
                report.used += 1;
                Ok(())
            }
            Err((reason, detail)) => report.skip(strict, line, reason, detail),
        }
    })?;
    Ok((products, rows, report))
}

/// The highest shelf price accepted, in cents (100,000.00 in the currency): a row above it is a
/// unit mistake or garbage, and is skipped. A whole catalogue in the wrong unit passes this
/// check row by row, so its median is checked too ([`price_warning`]).
pub const MAX_PRICE_CENTS: u32 = 10_000_000;

/// The median shelf price, in cents, from which a catalogue's prices look like cents written in
/// the `price` column (a grocery catalogue's median is a few units of currency; written in cents
/// it is a few hundred).
pub const SUSPICIOUS_MEDIAN_CENTS: u32 = 10_000;

/// The median shelf price, in cents, below which prices look like units written in the
/// `price_cents` column.
pub const SUSPICIOUS_LOW_MEDIAN_CENTS: u32 = 10;

fn bad_price(p: &[u8]) -> (&'static str, String) {
    ("bad price", String::from_utf8_lossy(p).to_string())
}

/// A `price` in currency units, to cents: `3`, `3.5`, `3.49` (at most two decimals; no sign,
/// no thousands separator).
pub(super) fn parse_price(p: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(p).ok()?;
    let (units, cents) = s.split_once('.').unwrap_or((s, ""));
    if units.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if cents.len() > 2 || !cents.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let units: u32 = units.parse().ok()?;
    let cents: u32 = format!("{cents:0<2}").parse().ok()?;
    units.checked_mul(100)?.checked_add(cents)
}

/// A `price_cents`: a whole number of cents (`349`); a Parquet float column renders whole
/// values as `349.0`, which is accepted.
pub(super) fn parse_cents(p: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(p).ok()?;
    let s = s.strip_suffix(".0").unwrap_or(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// When the catalogue's median price is implausible for its column's unit, what to tell the
/// person who wrote the file (`column` is `price` or `price_cents`).
pub(super) fn price_warning(products: &[ProductInput], column: &str) -> Option<String> {
    let mut prices: Vec<u32> = products.iter().filter_map(|p| p.price_cents).collect();
    if prices.is_empty() {
        return None;
    }
    let mid = prices.len() / 2;
    let median = *prices.select_nth_unstable(mid).1;
    let shown = format!("{}.{:02}", median / 100, median % 100);
    if column == "price" && median >= SUSPICIOUS_MEDIAN_CENTS {
        Some(format!(
            "implausible prices: the median `price` is {shown} currency units; `price` is in units (3.49), \
             were these cents? Then name the column `price_cents`"
        ))
    } else if column == "price_cents" && median < SUSPICIOUS_LOW_MEDIAN_CENTS {
        Some(format!(
            "implausible prices: the median `price_cents` is {median} cents ({shown}); `price_cents` is in cents \
             (349), were these currency units? Then name the column `price`"
        ))
    } else {
        None
    }
}

pub(super) fn read_purchases(
    table: &mut Table,
    strict: bool,
    products: &IdRows,
    customers: &mut Interner,
) -> Result<(Purchases, usize, FileReport), DataError> {
    let mut report = FileReport::new(&table.path);
    let mut lines = Purchases::default();
    let mut orders: FxHashMap<Box<str>, u32> = FxHashMap::default();
    table.for_each_row(&mut report, strict, |t, report, line| {
        let parsed = (|| {
            let customer = id_field(t, 0, "customer_id")?;
            let order = id_field(t, 1, "order_id")?;
            let product = id_field(t, 2, "product_id")?;
            let product = *products.get(product).ok_or_else(|| ("unknown product_id", product.to_string()))?;
            let ts_text = t.text(3)?;
            let ts = parse_ts(ts_text).ok_or_else(|| ("bad ts", ts_text.to_string()))?;
            Ok((customer, order, product, ts))
        })();
        match parsed {
            Ok((customer, order, product, ts)) => {
                let customer = customers.get_or_insert(customer);
                let next = orders.len() as u32;
                let order = *orders.entry(order.into()).or_insert(next);
                lines.push(customer, product, order, ts);
                report.used += 1;
                Ok(())
            }
            Err((reason, detail)) => report.skip(strict, line, reason, detail),
        }
    })?;
    Ok((lines, orders.len(), report))
}

pub(super) fn read_social(
    table: &mut Table,
    strict: bool,
    customers: &mut Interner,
    signals: &mut Interner,
) -> Result<(SocialRows, FileReport), DataError> {
    let mut report = FileReport::new(&table.path);
    let mut rows = Vec::new();
    table.for_each_row(&mut report, strict, |t, report, line| {
        let parsed = (|| {
            let customer = id_field(t, 0, "customer_id")?;
            let signal = t.text(1)?;
            match signal.split_once(':') {
                Some((ns, value)) if !ns.is_empty() && !value.is_empty() => {}
                _ => return Err(("signal is not namespace:value", signal.to_string())),
            }
            let weight = match t.field(2) {
                None | Some(b"") => 1.0,
                Some(w) => std::str::from_utf8(w)
                    .ok()
                    .and_then(|w| w.parse::<f32>().ok())
                    .filter(|w| w.is_finite() && *w >= 0.0)
                    .ok_or_else(|| ("bad weight", String::from_utf8_lossy(w).to_string()))?,
            };
            Ok((customer, signal, weight))
        })();
        match parsed {
            Ok((customer, signal, weight)) => {
                rows.push((customers.get_or_insert(customer), signals.get_or_insert(signal), weight));
                report.used += 1;
                Ok(())
            }
            Err((reason, detail)) => report.skip(strict, line, reason, detail),
        }
    })?;
    Ok((rows, report))
}

/// A timestamp, in the forms data tools write, as unix seconds (UTC):
/// - an integer: unix seconds; with 12 or more digits, milliseconds (13 digits: from 2001), 15 or
///   more microseconds, 18 or more nanoseconds (what pandas and Spark write for epoch columns);
/// - ISO 8601 / RFC 3339 date and time, `T` or a space between them, optional fraction, and an
///   optional zone (`Z`, `+02:00`, `+0200`); without a zone the time is UTC (pandas writes
///   `2025-05-28 19:49:27`);
/// - a date alone (`2025-05-28`): midnight UTC.
pub fn parse_ts(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        let digits = n.unsigned_abs().checked_ilog10().map_or(1, |d| d + 1);
        return Some(match digits {
            ..=11 => n,
            12..=14 => n.div_euclid(1_000),
            15..=17 => n.div_euclid(1_000_000),
            _ => n.div_euclid(1_000_000_000),
        });
    }
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let date = days_from_civil(year, month, day) * 86_400;
    if b.len() == 10 {
        return Some(date);
    }
    if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest.as_bytes() {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, rest @ ..] => {
            let minutes = match rest {
                [b':', m1, m2] | [m1, m2] => [*m1, *m2],
                [] => [b'0', b'0'],
                _ => return None,
            };
            let two = |d: [u8; 2]| -> Option<i64> {
                d.iter().all(u8::is_ascii_digit).then(|| i64::from(d[0] - b'0') * 10 + i64::from(d[1] - b'0'))
            };
            let (h, m) = (two([*h1, *h2])?, two(minutes)?);
            if h > 23 || m > 59 {
                return None;
            }
            (if *sign == b'-' { -1 } else { 1 }) * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    Some(date + hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(super) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
