//! Reads an artifact and validates it completely before anything may serve from it.
//!
//! A model that fails any check is refused with a reason that names the part at fault; the
//! caller keeps serving whatever it had. Checks: magic, format version, manifest, body length
//! (truncation), xxh3 checksums of manifest and body, the model version's form, rkyv structure (bytecheck), then every invariant the engine
//! relies on (lengths against the manifest, offsets, UTF-8, id tables, indexes in range, finite
//! values, index lists covering every product exactly once).

use std::path::Path;

use super::format::{
    ArchivedCsr, ArchivedIdMap, ArchivedModelData, ArchivedStrings, FORMAT_VERSION, HEADER_LEN, MAGIC,
    MAX_MANIFEST_LEN, Manifest, body_offset, check_model_version, checksum_hex, manifest_checksum,
};
use super::view::{f32s, u32s};

/// Why a model was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be opened or read.
    #[error("cannot read model {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bytes are not a valid model.
    #[error("model {source_name} refused: {reason}")]
    Invalid {
        /// The file, or "built-in demo".
        source_name: String,
        /// What is wrong, in words.
        reason: String,
    },
}

impl LoadError {
    /// A short label for metrics: `io` or `invalid`.
    pub fn kind(&self) -> &'static str {
        match self {
            LoadError::Io { .. } => "io",
            LoadError::Invalid { .. } => "invalid",
        }
    }

    /// True for a failure that may pass by itself (too many open files, out of memory for a
    /// moment, interrupted), so the load is worth trying again; a bad or missing file is not.
    pub fn is_transient(&self) -> bool {
        match self {
            LoadError::Io { source, .. } => {
                matches!(
                    source.raw_os_error(),
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::EAGAIN | libc::EINTR)
                ) || matches!(source.kind(), std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock)
            }
            LoadError::Invalid { .. } => false,
        }
    }
}

/// Parses the header and manifest; returns the manifest and where the body starts.
pub fn parse_header(bytes: &[u8]) -> Result<(Manifest, usize), String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!("file is {} bytes, too short for a header", bytes.len()));
    }
    if bytes[..8] != MAGIC {
        return Err("not an endcap model (bad magic bytes)".into());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version < FORMAT_VERSION {
        return Err(format!(
            "format version {version} was written by an older endcap (before bundle counts and the \
             manifest checksum); this build reads version {FORMAT_VERSION}: retrain the model with \
             `endcap train` (or rebuild a planted one with `endcap demo --model`)"
        ));
    }
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version} was written by a newer endcap; this build reads version {FORMAT_VERSION}"
        ));
    }
    let manifest_len = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    if manifest_len > MAX_MANIFEST_LEN || HEADER_LEN + manifest_len > bytes.len() {
        return Err(format!("manifest length {manifest_len} runs past the end of the file (truncated?)"));
    }
    let manifest_bytes = &bytes[HEADER_LEN..HEADER_LEN + manifest_len];
    let expected = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
    let sum = manifest_checksum(manifest_bytes);
    if sum != expected {
        return Err(format!("manifest checksum mismatch: it hashes to {sum:016x}, the header says {expected:016x}"));
    }
    let manifest: Manifest =
        serde_json::from_slice(manifest_bytes).map_err(|e| format!("manifest is not valid: {e}"))?;
    check_model_version(&manifest.model_version)?;
    if manifest.format_version != version {
        return Err(format!("manifest says format {}, header says {version}", manifest.format_version));
    }
    Ok((manifest, body_offset(manifest_len)))
}

/// Validates a whole artifact held in `bytes`; returns the manifest and the body's start.
pub fn validate(bytes: &[u8]) -> Result<(Manifest, usize), String> {
    let (manifest, body_start) = parse_header(bytes)?;
    let body = bytes.get(body_start..).unwrap_or(&[]);
    if body.len() as u64 != manifest.body_len {
        return Err(format!(
            "body is {} bytes but the manifest says {} (truncated or appended to)",
            body.len(),
            manifest.body_len
        ));
    }
    let sum = checksum_hex(body);
    if sum != manifest.body_xxh3 {
        return Err(format!("checksum mismatch: body hashes to {sum}, manifest says {}", manifest.body_xxh3));
    }
    let data = rkyv::access::<ArchivedModelData, rkyv::rancor::Error>(body)
        .map_err(|e| format!("body does not decode: {e}"))?;
    check_data(data, &manifest)?;
    Ok((manifest, body_start))
}

fn check_strings(name: &str, s: &ArchivedStrings, expected: u64) -> Result<(), String> {
    let offsets = u32s(&s.offsets);
    if s.len() as u64 != expected {
        return Err(format!("{name}: {} entries, manifest says {expected}", s.len()));
    }
    if offsets.first().copied().unwrap_or(0) != 0 || offsets.windows(2).any(|w| w[0] > w[1]) {
        return Err(format!("{name}: offsets are not increasing from 0"));
    }
    let text = std::str::from_utf8(s.bytes.as_slice()).map_err(|e| format!("{name}: not UTF-8: {e}"))?;
    if offsets.last().map_or(0, |&o| o as usize) != text.len() {
        return Err(format!("{name}: offsets do not end at the end of the text"));
    }
    if let Some(&o) = offsets.iter().find(|&&o| !text.is_char_boundary(o as usize)) {
        return Err(format!("{name}: offset {o} splits a character"));
    }
    Ok(())
}

fn check_ids(name: &str, ids: &ArchivedIdMap, expected: u64) -> Result<(), String> {
    check_strings(name, &ids.ids, expected)?;
    let slots = u32s(&ids.slots);
    let n = ids.len();
    if !slots.len().is_power_of_two() || slots.len() < 2 * n {
        return Err(format!("{name}: lookup table of {} slots for {n} ids", slots.len()));
    }
    if slots.iter().any(|&s| s as usize > n) || slots.iter().filter(|&&s| s != 0).count() != n {
        return Err(format!("{name}: lookup table does not hold each row once"));
    }
    // Every id must find its own row: this proves the table and the ids agree and ids are unique.
    for row in 0..n as u32 {
        if ids.row(ids.id(row)) != Some(row) {
            return Err(format!("{name}: id {:?} (row {row}) is duplicated or unreachable", ids.id(row)));
        }
    }
    Ok(())
}

fn check_finite(name: &str, v: &[f32], expected_len: usize) -> Result<(), String> {
    if v.len() != expected_len {
        return Err(format!("{name}: {} values, expected {expected_len}", v.len()));
    }
    // Branch-free over blocks (vectorises); the slow search for the culprit only on failure.
    if v.chunks(1024).all(|block| block.iter().fold(true, |ok, x| ok & x.is_finite())) {
        return Ok(());
    }
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(format!("{name}: value {i} is {} (NaN or infinite)", v[i])),
        None => Ok(()),
    }
}

/// `rows`: the row count the relation must have (or it may be absent when `optional`).
fn check_csr(name: &str, c: &ArchivedCsr, rows: usize, bound: usize, optional: bool) -> Result<(), String> {
    let offsets = u32s(&c.offsets);
    let items = u32s(&c.items);
    if offsets.is_empty() && (optional || rows == 0) && items.is_empty() {
        return Ok(());
    }
    if offsets.len() != rows + 1 {
        return Err(format!("{name}: {} rows, expected {rows}", offsets.len().saturating_sub(1)));
    }
    if offsets[0] != 0 || offsets.windows(2).any(|w| w[0] > w[1]) || offsets[rows] as usize != items.len() {
        return Err(format!("{name}: offsets are inconsistent"));
    }
    if let Some(&i) = items.iter().find(|&&i| i as usize >= bound) {
        return Err(format!("{name}: refers to {i}, only {bound} exist"));
    }
    let scores = f32s(&c.scores);
    if !scores.is_empty() {
        check_finite(&format!("{name} scores"), scores, items.len())?;
    }
    Ok(())
}

fn check_index(name: &str, v: &[u32], len: usize, bound: usize) -> Result<(), String> {
    if v.len() != len {
        return Err(format!("{name}: {} entries, expected {len}", v.len()));
    }
    match v.iter().find(|&&i| i as usize >= bound) {
        Some(i) => Err(format!("{name}: {i} is out of range (< {bound})")),
        None => Ok(()),
    }
}

/// Every invariant the engine relies on, against the manifest's counts.
pub fn check_data(d: &ArchivedModelData, m: &Manifest) -> Result<(), String> {
    let dim = d.dim.to_native() as usize;
    if dim == 0 || dim as u32 != m.dim {
        return Err(format!("dimension {dim}, manifest says {}", m.dim));
    }
    let c = &m.counts;
    let p = &d.products;
    let np = c.products as usize;
    check_ids("product ids", &p.ids, c.products)?;
    check_strings("product names", &p.names, c.products)?;
    check_finite("product vectors", f32s(&p.vectors), np * dim)?;
    check_strings("aisle names", &p.aisle_names, c.aisles)?;
    check_strings("department names", &p.department_names, c.departments)?;
    check_strings("tag names", &p.tag_names, c.tags)?;
    check_index("product aisles", u32s(&p.aisle), np, c.aisles as usize)?;
    check_index("product departments", u32s(&p.department), np, c.departments as usize)?;
    if u32s(&p.price_cents).len() != np || u32s(&p.purchases).len() != np {
        return Err("product prices or purchase counts: wrong length".into());
    }
    let words = p.tag_words.to_native() as usize;
    if words < (c.tags as usize).div_ceil(64) || p.tags.len() != np * words {
        return Err(format!("product tags: {} words of {words} per product for {np} products", p.tags.len()));
    }
    check_csr("products by aisle", &p.by_aisle, c.aisles as usize, np, false)?;
    check_csr("products by department", &p.by_department, c.departments as usize, np, false)?;
    check_index("popular products", u32s(&p.popular), np, np)?;
    check_csr("co-purchase", &p.co_purchase, np, np, true)?;
    if p.co_purchase.items.len() as u64 != c.co_purchase_pairs {
        return Err("co-purchase: pair count differs from the manifest".into());
    }
    let together = u32s(&p.co_purchase_together);
    if together.len() != p.co_purchase.items.len() {
        return Err("co-purchase: not one order count per pair".into());
    }
    // A pair's orders cannot outnumber either product's orders, nor all orders.
    let purchases = u32s(&p.purchases);
    let total = p.total_orders.to_native();
    let (rows, items) = (u32s(&p.co_purchase.offsets), u32s(&p.co_purchase.items));
    for (a, w) in rows.windows(2).enumerate() {
        for i in w[0] as usize..w[1] as usize {
            let (b, n) = (items[i] as usize, together[i]);
            if n > purchases[a] || n > purchases[b] || (total > 0 && n as u64 > total) {
                return Err(format!("co-purchase: pair {a}-{b} held by {n} orders, more than either product's"));
            }
        }
    }
    if total > 0 && purchases.iter().any(|&n| n as u64 > total) {
        return Err("product purchase counts exceed the total number of orders".into());
    }
    check_csr("also bought", &p.also_bought, np, np, true)?;
    if p.also_bought.items.len() as u64 != c.also_bought_pairs {
        return Err("also bought: pair count differs from the manifest".into());
    }

    let cu = &d.customers;
    let nc = c.customers as usize;
    check_ids("customer ids", &cu.ids, c.customers)?;
    check_finite("customer vectors", f32s(&cu.vectors), nc * dim)?;
    check_csr("customer signals", &cu.signals, nc, c.signals as usize, false)?;
    if !cu.segment.is_empty() {
        check_index("customer segments", u32s(&cu.segment), nc, c.segments as usize)?;
    }
    check_csr("repeat purchases", &cu.repeat, nc, np, true)?;
    let entries = cu.repeat.items.len();
    if entries as u64 != c.repeat_entries || cu.repeat_last_ts.len() != entries {
        return Err("repeat purchases: entry count differs from the manifest".into());
    }
    // The engine finds a product in a customer's history by binary search.
    if (0..cu.repeat.rows()).any(|r| cu.repeat.row(r).windows(2).any(|w| w[0] >= w[1])) {
        return Err("repeat purchases: a customer's products are not sorted and distinct".into());
    }
    check_finite("repeat buy-again logits", f32s(&cu.repeat_logit), entries)?;
    for (name, v) in [("repeat gap days", &cu.repeat_gap_days), ("repeat gap orders", &cu.repeat_gap_orders)] {
        check_finite(name, f32s(v), entries)?;
        if f32s(v).iter().any(|&x| x < 0.0) {
            return Err(format!("{name}: negative gap"));
        }
    }
    check_csr("discovery lists", &cu.discover, nc, np, true)?;
    if cu.discover.items.len() as u64 != c.discover_entries {
        return Err("discovery lists: entry count differs from the manifest".into());
    }
    if !cu.discover.items.is_empty() && cu.discover.scores.len() != cu.discover.items.len() {
        return Err("discovery lists: one score per entry expected".into());
    }
    check_index("discovery reasons", u32s(&cu.discover_because), cu.discover.items.len(), np)?;

    check_strings("signal names", &d.signals.names, c.signals)?;
    check_finite("signal vectors", f32s(&d.signals.vectors), c.signals as usize * dim)?;
    check_finite("segment centroids", f32s(&d.segments.centroids), c.segments as usize * dim)?;
    check_csr("segment popular lists", &d.segments.popular, c.segments as usize, np, false)?;

    check_blend(d, entries)?;

    let ivf = &d.ivf;
    let offsets = u32s(&ivf.offsets);
    let lists = offsets.len().saturating_sub(1);
    if lists == 0 || lists as u32 != m.index.lists {
        return Err(format!("index: {lists} lists, manifest says {}", m.index.lists));
    }
    if offsets[0] != 0 || offsets.windows(2).any(|w| w[0] > w[1]) || offsets[lists] as usize != np {
        return Err("index: list offsets do not cover every product exactly once".into());
    }
    check_finite("index centroids", f32s(&ivf.centroids), lists * dim)?;
    let nprobe = ivf.nprobe.to_native() as usize;
    if nprobe == 0 || nprobe > lists {
        return Err(format!("index: nprobe {nprobe} outside 1..={lists}"));
    }
    Ok(())
}

/// The blend: time weights present with buy-again statistics, calibrations monotone and finite.
fn check_blend(d: &ArchivedModelData, repeat_entries: usize) -> Result<(), String> {
    let b = &d.blend;
    let weights = f32s(&b.time_weights);
    // Buy-again statistics need their time weights; a model without them has none or both.
    let expected = if repeat_entries > 0 || !weights.is_empty() { 2 } else { 0 };
    check_finite("buy-again time weights", weights, expected)?;
    let tables = [
        ("discovery calibration", &b.discover_scores, &b.discover_probs),
        ("embedding calibration", &b.embedding_scores, &b.embedding_probs),
    ];
    for (name, scores, probs) in tables {
        let (scores, probs) = (f32s(scores), f32s(probs));
        check_finite(&format!("{name} scores"), scores, scores.len())?;
        check_finite(&format!("{name} probabilities"), probs, scores.len())?;
        if scores.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!("{name}: scores are not increasing"));
        }
        if probs.iter().any(|p| !(0.0..=1.0).contains(p)) || probs.windows(2).any(|w| w[0] > w[1]) {
            return Err(format!("{name}: probabilities are not non-decreasing in [0, 1]"));
        }
    }
    Ok(())
}

/// Reads only the header and manifest of the file at `path` (for `endcap model inspect`).
pub fn read_manifest(path: &Path) -> Result<Manifest, LoadError> {
    use std::io::Read;
    let io = |source| LoadError::Io { path: path.display().to_string(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = vec![0u8; HEADER_LEN];
    file.read_exact(&mut head).map_err(io)?;
    if head[..8] != MAGIC {
        return Err(LoadError::Invalid {
            source_name: path.display().to_string(),
            reason: "not an endcap model (bad magic bytes)".into(),
        });
    }
    let len = u32::from_le_bytes(head[12..16].try_into().expect("4 bytes")) as usize;
    file.take(len.min(MAX_MANIFEST_LEN) as u64).read_to_end(&mut head).map_err(io)?;
    parse_header(&head)
        .map(|(m, _)| m)
        .map_err(|reason| LoadError::Invalid { source_name: path.display().to_string(), reason })
}
