//! The artifact's on-disk layout: a small header, a JSON manifest, and an rkyv body.
//!
//! ```text
//! offset 0   magic  b"ENDCAPMD"                  8 bytes
//! offset 8   format version, u32 little-endian   (FORMAT_VERSION)
//! offset 12  manifest length, u32 little-endian
//! offset 16  xxh3-64 of the manifest bytes, u64 little-endian
//! offset 24  manifest: UTF-8 JSON (`Manifest`)
//! ...        zero padding up to a multiple of BODY_ALIGN
//! body       rkyv archive of `ModelData`, to the end of the file
//! ```
//!
//! The manifest is readable without touching the body (`endcap model inspect`) and carries the
//! body's length and xxh3-64 checksum; the header carries the manifest's, so no byte of the file
//! goes unchecked. (A checksum catches corruption, not forgery: that is the optional signature's
//! job, see `model::load`.) The body is used in place (zero-copy) from an mmap, so every
//! array a request touches is a slice into the file. This module only defines shapes; building
//! is `model::build`, reading and validation is `model::load`.

use std::collections::BTreeMap;

use rkyv::{Archive, Serialize};
use serde::{Deserialize as SerdeDeserialize, Serialize as SerdeSerialize};

/// First eight bytes of every artifact.
pub const MAGIC: [u8; 8] = *b"ENDCAPMD";
/// The layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 3;
/// The body starts at a multiple of this, so archived arrays are aligned in an mmap.
pub const BODY_ALIGN: usize = 64;
/// Fixed header before the manifest.
pub const HEADER_LEN: usize = 24;
/// Upper bound on the manifest, so a corrupt length cannot make us read gigabytes of "JSON".
pub const MAX_MANIFEST_LEN: usize = 16 << 20;

/// Human-readable description of an artifact, stored as JSON ahead of the body.
#[derive(Debug, Clone, PartialEq, SerdeSerialize, SerdeDeserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Layout version (`FORMAT_VERSION` when written by this build).
    pub format_version: u32,
    /// The version every answer carries.
    pub model_version: String,
    /// Who built it (`endcap demo`, `endcap train`) and with which endcap version.
    pub built_by: String,
    /// When it was built, unix seconds.
    pub created_unix: i64,
    /// Embedding width.
    pub dim: u32,
    /// Sizes of everything in the body; validation checks the body against them.
    pub counts: Counts,
    /// The product index and its measured recall at build time.
    pub index: IndexSummary,
    /// Free-form summary of the training data.
    #[serde(default)]
    pub training: BTreeMap<String, serde_json::Value>,
    /// Length of the body in bytes.
    pub body_len: u64,
    /// xxh3-64 of the body, as 16 lower-case hex digits.
    pub body_xxh3: String,
}

/// Sizes of the model's parts.
#[derive(Debug, Clone, Default, PartialEq, SerdeSerialize, SerdeDeserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Products in the catalogue.
    pub products: u64,
    /// Customers with a vector.
    pub customers: u64,
    /// Distinct social signals.
    pub signals: u64,
    /// Distinct aisles.
    pub aisles: u64,
    /// Distinct departments.
    pub departments: u64,
    /// Distinct product tags.
    pub tags: u64,
    /// Customer segments.
    pub segments: u64,
    /// Frequently-bought-together pairs stored (directed).
    pub co_purchase_pairs: u64,
    /// Customer-product repeat-purchase entries.
    pub repeat_entries: u64,
    /// "Also bought" pairs stored (directed, counted per customer).
    pub also_bought_pairs: u64,
    /// Entries of the customers' discovery lists.
    pub discover_entries: u64,
}

/// What the product index is and how well it did when built.
#[derive(Debug, Clone, Default, PartialEq, SerdeSerialize, SerdeDeserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSummary {
    /// Index kind, e.g. `ivf-flat-ip`.
    pub kind: String,
    /// Number of inverted lists.
    pub lists: u32,
    /// Lists probed per query by default.
    pub nprobe: u32,
    /// recall@10 against exact search, measured at build time on `recall_queries` customers.
    pub recall_at_10: f64,
    /// How many sample queries the recall was measured on.
    pub recall_queries: u32,
}

/// A list of strings stored as one byte blob plus `n + 1` offsets into it.
#[derive(Debug, Default, Archive, Serialize)]
pub struct Strings {
    /// `offsets[i]..offsets[i + 1]` is string `i`; `offsets[0] == 0`.
    pub offsets: Vec<u32>,
    /// UTF-8 bytes of all strings, concatenated.
    pub bytes: Vec<u8>,
}

/// Ids with a prebuilt open-addressing hash table, so lookups need no table built at load.
#[derive(Debug, Default, Archive, Serialize)]
pub struct IdMap {
    /// The ids in row order.
    pub ids: Strings,
    /// Power-of-two table; a slot holds `row + 1`, or 0 when empty. Probed linearly from
    /// `xxh3_64(id) & (len - 1)`.
    pub slots: Vec<u32>,
}

/// Compressed sparse rows: row `i` owns `items[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Default, Archive, Serialize)]
pub struct Csr {
    /// `rows + 1` offsets; empty when the whole relation is absent.
    pub offsets: Vec<u32>,
    /// Column indexes.
    pub items: Vec<u32>,
    /// One score per item, or empty when the relation carries no scores.
    pub scores: Vec<f32>,
}

/// The catalogue. Product rows are in index-list order (see `Ivf`), not input order.
#[derive(Debug, Default, Archive, Serialize)]
pub struct Products {
    /// Product ids and their lookup table.
    pub ids: IdMap,
    /// Display names.
    pub names: Strings,
    /// `rows * dim` values.
    pub vectors: Vec<f32>,
    /// Aisle index per product.
    pub aisle: Vec<u32>,
    /// Department index per product.
    pub department: Vec<u32>,
    /// Price in cents, `u32::MAX` when unknown.
    pub price_cents: Vec<u32>,
    /// Orders holding each product (popularity; the denominator of a bundle's confidence).
    pub purchases: Vec<u32>,
    /// Orders in the training data, 0 when unknown (the denominator of a bundle's support).
    pub total_orders: u64,
    /// `rows * tag_words` bitset words: bit `t` set when the product has tag `t`.
    pub tags: Vec<u64>,
    /// Words per product in `tags`.
    pub tag_words: u32,
    /// Tag names.
    pub tag_names: Strings,
    /// Aisle names.
    pub aisle_names: Strings,
    /// Department names.
    pub department_names: Strings,
    /// Products of each aisle, most purchased first.
    pub by_aisle: Csr,
    /// Products of each department, most purchased first.
    pub by_department: Csr,
    /// Every product, most purchased first.
    pub popular: Vec<u32>,
    /// Frequently bought together: per product, neighbour rows with scores, best first.
    pub co_purchase: Csr,
    /// Orders holding both products, parallel to `co_purchase.items` (empty without co-purchase).
    pub co_purchase_together: Vec<u32>,
    /// Bought by the same customers (counted per customer, not per order): per product,
    /// neighbour rows with similarities, best first.
    pub also_bought: Csr,
}

/// Customers known to the model.
#[derive(Debug, Default, Archive, Serialize)]
pub struct Customers {
    /// Customer ids and their lookup table.
    pub ids: IdMap,
    /// `rows * dim` values.
    pub vectors: Vec<f32>,
    /// Per customer: signal indexes with weights.
    pub signals: Csr,
    /// Segment per customer, or empty without segments.
    pub segment: Vec<u32>,
    /// Per customer: product rows bought before (each row sorted by product row, so it can be
    /// searched), with the number of orders that held each in `scores` (as f32).
    pub repeat: Csr,
    /// Last purchase time (unix s), parallel to `repeat.items`.
    pub repeat_last_ts: Vec<i64>,
    /// Buy-again logit without its time part, parallel to `repeat.items` (see `Blend`).
    pub repeat_logit: Vec<f32>,
    /// Usual gap between purchases in days (0 when bought once), parallel to `repeat.items`.
    pub repeat_gap_days: Vec<f32>,
    /// Usual gap between purchases in the customer's orders (0 when bought once), parallel.
    pub repeat_gap_orders: Vec<f32>,
    /// Per customer: products not bought before that customers like them bought, with the
    /// source's score, best first.
    pub discover: Csr,
    /// The bought product row each discovery entry comes from, parallel to `discover.items`.
    pub discover_because: Vec<u32>,
}

/// How the engine merges its sources, fitted by the trainer on held-out baskets. Empty arrays
/// when the model has no purchase history (then it answers from the embedding alone).
#[derive(Debug, Default, Archive, Serialize)]
pub struct Blend {
    /// Weights of the buy-again time features (log days since the last purchase, log
    /// dueness), added to `repeat_logit`; empty without purchase history.
    pub time_weights: Vec<f32>,
    /// Discovery calibration: knot scores (increasing) and probabilities (non-decreasing).
    pub discover_scores: Vec<f32>,
    /// Probabilities at `discover_scores`.
    pub discover_probs: Vec<f32>,
    /// Embedding calibration: knot inner products (increasing).
    pub embedding_scores: Vec<f32>,
    /// Probabilities at `embedding_scores`.
    pub embedding_probs: Vec<f32>,
    /// Newest purchase the model knows of (unix s): the clock when a request gives none.
    pub data_end_ts: i64,
}

/// Social signals (`namespace:value`) and their learned vectors.
#[derive(Debug, Default, Archive, Serialize)]
pub struct Signals {
    /// Signal names.
    pub names: Strings,
    /// `signals * dim` values.
    pub vectors: Vec<f32>,
}

/// Customer segments for anonymous or opted-out shoppers.
#[derive(Debug, Default, Archive, Serialize)]
pub struct Segments {
    /// `segments * dim` values.
    pub centroids: Vec<f32>,
    /// Per segment: product rows, most popular first.
    pub popular: Csr,
}

/// Inverted-file index over the products: k-means lists; list `l` owns product rows
/// `offsets[l]..offsets[l + 1]` (rows are sorted by list, so a list is one contiguous scan).
#[derive(Debug, Default, Archive, Serialize)]
pub struct Ivf {
    /// `lists * dim` centroid values.
    pub centroids: Vec<f32>,
    /// `lists + 1` row offsets.
    pub offsets: Vec<u32>,
    /// Lists probed by default (tuned at build time for recall@10).
    pub nprobe: u32,
}

/// The whole body of an artifact.
#[derive(Debug, Default, Archive, Serialize)]
pub struct ModelData {
    /// Embedding width.
    pub dim: u32,
    /// The catalogue.
    pub products: Products,
    /// Known customers.
    pub customers: Customers,
    /// Social signals.
    pub signals: Signals,
    /// Customer segments.
    pub segments: Segments,
    /// The product index.
    pub ivf: Ivf,
    /// Source merging: buy-again time weights, calibrations.
    pub blend: Blend,
}

// The archived arrays are read as plain slices (see `model::view`), which relies on the
// archive's default little-endian, naturally aligned primitives.
#[cfg(not(target_endian = "little"))]
compile_error!("endcap's model artifact is read in place and needs a little-endian target");
const _: () = {
    assert!(std::mem::size_of::<rkyv::Archived<f32>>() == 4);
    assert!(std::mem::align_of::<rkyv::Archived<f32>>() == 4);
    assert!(std::mem::size_of::<rkyv::Archived<u32>>() == 4);
    assert!(std::mem::align_of::<rkyv::Archived<u32>>() == 4);
    assert!(std::mem::size_of::<rkyv::Archived<u64>>() == 8);
    assert!(std::mem::align_of::<rkyv::Archived<u64>>() == 8);
    assert!(std::mem::size_of::<rkyv::Archived<i64>>() == 8);
};

/// Rounds `n` up to the next multiple of `BODY_ALIGN`.
pub fn body_offset(manifest_len: usize) -> usize {
    (HEADER_LEN + manifest_len).div_ceil(BODY_ALIGN) * BODY_ALIGN
}

/// The header's checksum of the manifest bytes.
pub fn manifest_checksum(manifest: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(manifest)
}

/// Longest `model_version` accepted: it travels in every answer and in log lines.
pub const MAX_MODEL_VERSION_LEN: usize = 128;

/// Checks a model version: 1 to `MAX_MODEL_VERSION_LEN` bytes of printable ASCII (letters,
/// digits, punctuation and inner spaces), so it cannot forge a log line or bloat every answer.
pub fn check_model_version(version: &str) -> Result<(), String> {
    if version.is_empty() || version.len() > MAX_MODEL_VERSION_LEN {
        return Err(format!("model_version is {} bytes; 1 to {MAX_MODEL_VERSION_LEN} are allowed", version.len()));
    }
    if let Some(c) = version.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
        return Err(format!("model_version holds {c:?}; only printable ASCII is allowed"));
    }
    if version.starts_with(' ') || version.ends_with(' ') {
        return Err("model_version starts or ends with a space".into());
    }
    Ok(())
}

/// Lower-case hex of an xxh3-64 digest, as stored in the manifest.
pub fn checksum_hex(body: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(body))
}
