//! Builds an artifact from a `ModelInput`: vocabularies, id tables, popularity lists, the IVF
//! index (clustered, rows reordered by list, `nprobe` tuned against exact search), then the rkyv
//! body and its manifest. Writing to disk is atomic: temporary name, fsync, rename.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rkyv::util::AlignedVec;

use super::format::{
    BODY_ALIGN, Blend, Counts, Csr, Customers, FORMAT_VERSION, IdMap, IndexSummary, Ivf, MAGIC, Manifest, ModelData,
    Products, Segments, Signals, Strings, body_offset, check_model_version, checksum_hex, manifest_checksum,
};
use super::input::{Discovery, ModelInput, RepeatPurchase};
use crate::index::ivf::{self, IvfView};

/// recall@10 the build tunes `nprobe` for; above the 0.95 bar so filtered queries keep margin.
pub const TARGET_RECALL: f64 = 0.97;
/// Sample queries used to tune and report recall.
const RECALL_QUERIES: usize = 300;
/// k-means iterations for the index lists.
const KMEANS_ITERATIONS: usize = 10;

/// Why a model could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The input breaks an invariant (lengths, ids, values).
    #[error("invalid model input: {0}")]
    Invalid(String),
    /// rkyv could not serialise the body.
    #[error("could not serialise the model: {0}")]
    Serialize(String),
    /// Writing the file failed.
    #[error("could not write {path}: {source}")]
    Io {
        /// The file being written.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A built model: manifest and body, ready to be served from memory or written to a file.
#[derive(Debug)]
pub struct Artifact {
    /// The manifest (checksum included).
    pub manifest: Manifest,
    /// The rkyv body.
    pub body: AlignedVec,
}

impl Artifact {
    /// The header (magic, version, manifest, padding) that precedes the body in a file.
    pub fn header(&self) -> Vec<u8> {
        let json = serde_json::to_vec_pretty(&self.manifest).expect("manifest serialises");
        let mut head = Vec::with_capacity(body_offset(json.len()));
        head.extend_from_slice(&MAGIC);
        head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        head.extend_from_slice(&(json.len() as u32).to_le_bytes());
        head.extend_from_slice(&manifest_checksum(&json).to_le_bytes());
        head.extend_from_slice(&json);
        head.resize(body_offset(json.len()), 0);
        head
    }

    /// The whole file in one aligned buffer, for serving a model that never touches the disk.
    pub fn into_file_bytes(self) -> AlignedVec<BODY_ALIGN> {
        let head = self.header();
        let mut all = AlignedVec::<BODY_ALIGN>::with_capacity(head.len() + self.body.len());
        all.extend_from_slice(&head);
        all.extend_from_slice(&self.body);
        all
    }

    /// Publishes the artifact at `path` atomically: writes `path.tmp`, fsyncs it, renames it over
    /// `path`, and fsyncs the directory, so a reader sees the old file or the new one, never half.
    pub fn write_atomic(&self, path: &Path) -> Result<(), BuildError> {
        let io = |source| BuildError::Io { path: path.display().to_string(), source };
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(&self.header()).map_err(io)?;
        file.write_all(&self.body).map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        Ok(())
    }
}

fn invalid(msg: impl Into<String>) -> BuildError {
    BuildError::Invalid(msg.into())
}

/// A customer list part of the input: borrowed, or owned so it can be freed as it is converted.
enum Lists<'a, T> {
    Borrowed(&'a [Vec<T>]),
    Owned(Vec<Vec<T>>),
}

impl<T> Lists<'_, T> {
    fn as_slice(&self) -> &[Vec<T>] {
        match self {
            Lists::Borrowed(l) => l,
            Lists::Owned(l) => l,
        }
    }

    /// Calls `f` on every list in order, freeing owned ones as it goes.
    fn drain(self, mut f: impl FnMut(&[T])) {
        match self {
            Lists::Borrowed(l) => l.iter().for_each(|x| f(x)),
            Lists::Owned(l) => l.into_iter().for_each(|x| f(&x)),
        }
    }
}

fn check(input: &ModelInput, repeat: &[Vec<RepeatPurchase>], discover: &[Vec<Discovery>]) -> Result<(), BuildError> {
    let (dim, np, nc) = (input.dim, input.products.len(), input.customers.len());
    if dim == 0 {
        return Err(invalid("dim is 0"));
    }
    check_model_version(&input.model_version).map_err(invalid)?;
    if np == 0 {
        return Err(invalid("the catalogue is empty"));
    }
    if np >= u32::MAX as usize / 2 || nc >= u32::MAX as usize / 2 {
        return Err(invalid("more than 2^31 products or customers"));
    }
    if input.product_vectors.len() != np * dim {
        return Err(invalid(format!(
            "{} product vector values for {np} products x {dim}",
            input.product_vectors.len()
        )));
    }
    if input.customer_vectors.len() != nc * dim {
        return Err(invalid(format!(
            "{} customer vector values for {nc} customers x {dim}",
            input.customer_vectors.len()
        )));
    }
    if input.product_purchases.len() != np {
        return Err(invalid("product_purchases does not have one count per product"));
    }
    let finite = |name: &str, v: &[f32]| match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(invalid(format!("{name} value {i} is not finite"))),
        None => Ok(()),
    };
    finite("product vector", &input.product_vectors)?;
    finite("customer vector", &input.customer_vectors)?;
    for (name, v) in &input.signal_vectors {
        if v.len() != dim {
            return Err(invalid(format!("signal {name} has {} values, expected {dim}", v.len())));
        }
        finite("signal vector", v)?;
    }
    let mut seen = HashSet::with_capacity(np);
    if let Some(p) = input.products.iter().find(|p| !seen.insert(p.id.as_str())) {
        return Err(invalid(format!("product id {:?} appears twice", p.id)));
    }
    let mut seen = HashSet::with_capacity(nc);
    if let Some(c) = input.customers.iter().find(|c| !seen.insert(c.id.as_str())) {
        return Err(invalid(format!("customer id {:?} appears twice", c.id)));
    }
    let in_range = |what: &str, i: u32| {
        if (i as usize) < np { Ok(()) } else { Err(invalid(format!("{what} refers to product {i} of {np}"))) }
    };
    if !input.co_purchase.is_empty() && input.co_purchase.len() != np {
        return Err(invalid("co_purchase must be empty or have one list per product"));
    }
    let orders_of = |p: u32| input.product_purchases[p as usize];
    for (a, list) in input.co_purchase.iter().enumerate() {
        for n in list {
            in_range("co_purchase", n.product)?;
            finite("co_purchase score", &[n.score])?;
            let together = u64::from(n.together);
            if together > orders_of(a as u32) || together > orders_of(n.product) {
                return Err(invalid(format!(
                    "co_purchase: products {a} and {} held together by {together} orders, more than either alone",
                    n.product
                )));
            }
        }
    }
    if input.total_orders > 0 && input.product_purchases.iter().any(|&n| n > input.total_orders) {
        return Err(invalid("a product is held by more orders than total_orders"));
    }
    if !input.also_bought.is_empty() && input.also_bought.len() != np {
        return Err(invalid("also_bought must be empty or have one list per product"));
    }
    for &(p, s) in input.also_bought.iter().flatten() {
        in_range("also_bought", p)?;
        finite("also_bought score", &[s])?;
    }
    if !repeat.is_empty() && repeat.len() != nc {
        return Err(invalid("repeat must be empty or have one list per customer"));
    }
    for list in repeat {
        let mut seen = HashSet::with_capacity(list.len());
        for r in list {
            in_range("repeat", r.product)?;
            finite("repeat statistic", &[r.base_logit, r.gap_days, r.gap_orders])?;
            if !seen.insert(r.product) {
                return Err(invalid(format!("repeat lists product {} twice for one customer", r.product)));
            }
        }
    }
    if !discover.is_empty() && discover.len() != nc {
        return Err(invalid("discover must be empty or have one list per customer"));
    }
    for d in discover.iter().flatten() {
        in_range("discover", d.product)?;
        in_range("discover because", d.because)?;
        finite("discover score", &[d.score])?;
    }
    if let Some(blend) = &input.blend {
        finite("buy-again time weight", &blend.time_weights)?;
        for (name, knots) in [("discover calibration", &blend.discover), ("embedding calibration", &blend.embedding)] {
            let ok = knots.iter().all(|&(s, p)| s.is_finite() && (0.0..=1.0).contains(&p))
                && knots.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
            if !ok {
                return Err(invalid(format!(
                    "{name}: knots must be finite, scores increasing, probabilities in [0, 1] and non-decreasing"
                )));
            }
        }
    }
    for s in &input.segments {
        if s.centroid.len() != dim {
            return Err(invalid("segment centroid has the wrong width"));
        }
        for &p in &s.popular {
            in_range("segment popular list", p)?;
        }
    }
    if !input.customer_segment.is_empty()
        && (input.customer_segment.len() != nc
            || input.customer_segment.iter().any(|&s| s as usize >= input.segments.len()))
    {
        return Err(invalid("customer_segment must be empty or name a segment for every customer"));
    }
    Ok(())
}

/// About the size of the serialised body: the arrays' bytes, plus room for the rest.
fn body_estimate(d: &ModelData) -> usize {
    fn csr(c: &Csr) -> usize {
        4 * (c.offsets.len() + c.items.len() + c.scores.len())
    }
    fn strings(s: &Strings) -> usize {
        4 * s.offsets.len() + s.bytes.len()
    }
    let (p, c) = (&d.products, &d.customers);
    let products = 4 * (p.vectors.len() + 5 * p.aisle.len() + p.ids.slots.len())
        + strings(&p.ids.ids)
        + strings(&p.names)
        + 8 * p.tags.len()
        + csr(&p.co_purchase)
        + 4 * p.co_purchase_together.len()
        + csr(&p.also_bought)
        + csr(&p.by_aisle)
        + csr(&p.by_department);
    let customers = 4 * (c.vectors.len() + c.ids.slots.len() + c.segment.len())
        + strings(&c.ids.ids)
        + csr(&c.signals)
        + csr(&c.repeat)
        + 8 * c.repeat_last_ts.len()
        + 4 * (c.repeat_logit.len() + c.repeat_gap_days.len() + c.repeat_gap_orders.len())
        + csr(&c.discover)
        + 4 * c.discover_because.len();
    let rest = 4 * (d.signals.vectors.len() + d.segments.centroids.len() + d.ivf.centroids.len() + d.ivf.offsets.len())
        + csr(&d.segments.popular);
    (products + customers + rest) / 64 * 65 + (1 << 20)
}

fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Strings, BuildError> {
    let mut s = Strings { offsets: vec![0], bytes: Vec::new() };
    for item in items {
        s.bytes.extend_from_slice(item.as_bytes());
        let end = u32::try_from(s.bytes.len()).map_err(|_| invalid("more than 4 GiB of strings"))?;
        s.offsets.push(end);
    }
    Ok(s)
}

fn id_map<'a>(ids: impl ExactSizeIterator<Item = &'a str> + Clone) -> Result<IdMap, BuildError> {
    let n = ids.len();
    let size = (n * 2).next_power_of_two().max(2);
    let mut slots = vec![0u32; size];
    for (row, id) in ids.clone().enumerate() {
        let mut at = xxhash_rust::xxh3::xxh3_64(id.as_bytes()) as usize & (size - 1);
        while slots[at] != 0 {
            at = (at + 1) & (size - 1);
        }
        slots[at] = row as u32 + 1;
    }
    Ok(IdMap { ids: strings(ids)?, slots })
}

fn csr<T>(rows: impl IntoIterator<Item = T>, mut items: impl FnMut(T, &mut Vec<u32>, &mut Vec<f32>)) -> Csr {
    let mut c = Csr { offsets: vec![0], items: Vec::new(), scores: Vec::new() };
    for row in rows {
        items(row, &mut c.items, &mut c.scores);
        c.offsets.push(c.items.len() as u32);
    }
    c
}

/// Sorted vocabulary of `names` and each name's index.
fn vocab<'a>(names: impl Iterator<Item = &'a str>) -> (Vec<&'a str>, HashMap<&'a str, u32>) {
    let set: BTreeSet<&str> = names.collect();
    let list: Vec<&str> = set.into_iter().collect();
    let index = list.iter().enumerate().map(|(i, &n)| (n, i as u32)).collect();
    (list, index)
}

/// Builds the artifact. Deterministic for the same input (but for `created_unix`).
pub fn build(input: &ModelInput) -> Result<Artifact, BuildError> {
    build_lists(input, Lists::Borrowed(&input.repeat), Lists::Borrowed(&input.discover))
}

/// As [`build`], consuming the input so that its largest parts (the customers' repeat and
/// discovery lists) are freed while they are converted: a store-1m model peaks gigabytes lower.
pub fn build_owned(mut input: ModelInput) -> Result<Artifact, BuildError> {
    let repeat = std::mem::take(&mut input.repeat);
    let discover = std::mem::take(&mut input.discover);
    build_lists(&input, Lists::Owned(repeat), Lists::Owned(discover))
}

fn build_lists(
    input: &ModelInput,
    repeat_lists: Lists<'_, RepeatPurchase>,
    discover_lists: Lists<'_, Discovery>,
) -> Result<Artifact, BuildError> {
    check(input, repeat_lists.as_slice(), discover_lists.as_slice())?;
    let dim = input.dim;
    let np = input.products.len();
    let nc = input.customers.len();

    // Index first: product rows are stored in list order.
    let lists = ivf::default_lists(np);
    let clustering = ivf::cluster_mips(&input.product_vectors, dim, lists, KMEANS_ITERATIONS, input.seed);
    let (order, offsets) = ivf::order_by_list(&clustering.assignment, lists);
    let mut new_row = vec![0u32; np];
    for (new, &old) in order.iter().enumerate() {
        new_row[old as usize] = new as u32;
    }
    let product = |new: usize| &input.products[order[new] as usize];

    let (aisles, aisle_index) = vocab(input.products.iter().map(|p| p.aisle.as_str()));
    let (departments, department_index) = vocab(input.products.iter().map(|p| p.department.as_str()));
    let (tags, tag_index) = vocab(input.products.iter().flat_map(|p| p.tags.iter().map(String::as_str)));
    let tag_words = tags.len().div_ceil(64).max(1);
    let (signals, signal_index) = vocab(
        input
            .customers
            .iter()
            .flat_map(|c| c.signals.iter().map(|(s, _)| s.as_str()))
            .chain(input.signal_vectors.iter().map(|(s, _)| s.as_str())),
    );

    let purchases: Vec<u32> =
        (0..np).map(|r| input.product_purchases[order[r] as usize].min(u32::MAX as u64) as u32).collect();
    let mut popular: Vec<u32> = (0..np as u32).collect();
    popular.sort_by(|&a, &b| purchases[b as usize].cmp(&purchases[a as usize]).then(a.cmp(&b)));
    let aisle_of: Vec<u32> = (0..np).map(|r| aisle_index[product(r).aisle.as_str()]).collect();
    let department_of: Vec<u32> = (0..np).map(|r| department_index[product(r).department.as_str()]).collect();
    let grouped = |of: &[u32], groups: usize| {
        let mut by: Vec<Vec<u32>> = vec![Vec::new(); groups];
        for &r in &popular {
            by[of[r as usize] as usize].push(r);
        }
        csr(by, |rows, items, _| items.extend(rows))
    };
    let mut tag_bits = vec![0u64; np * tag_words];
    for r in 0..np {
        for t in &product(r).tags {
            let t = tag_index[t.as_str()] as usize;
            tag_bits[r * tag_words + t / 64] |= 1 << (t % 64);
        }
    }
    let (co_purchase, co_purchase_together) = if input.co_purchase.is_empty() {
        (Csr::default(), Vec::new())
    } else {
        let mut together = Vec::new();
        let co = csr(0..np, |r, items, scores| {
            for n in &input.co_purchase[order[r] as usize] {
                items.push(new_row[n.product as usize]);
                scores.push(n.score);
                together.push(n.together);
            }
        });
        (co, together)
    };
    let also_bought = if input.also_bought.is_empty() {
        Csr::default()
    } else {
        csr(0..np, |r, items, scores| {
            for &(p, s) in &input.also_bought[order[r] as usize] {
                items.push(new_row[p as usize]);
                scores.push(s);
            }
        })
    };
    let products = Products {
        ids: id_map((0..np).map(|r| product(r).id.as_str()).collect::<Vec<_>>().into_iter())?,
        names: strings((0..np).map(|r| product(r).name.as_str()))?,
        vectors: order
            .iter()
            .flat_map(|&o| &input.product_vectors[o as usize * dim..(o as usize + 1) * dim])
            .copied()
            .collect(),
        price_cents: (0..np).map(|r| product(r).price_cents.unwrap_or(u32::MAX)).collect(),
        tags: tag_bits,
        tag_words: tag_words as u32,
        tag_names: strings(tags.iter().copied())?,
        aisle_names: strings(aisles.iter().copied())?,
        department_names: strings(departments.iter().copied())?,
        by_aisle: grouped(&aisle_of, aisles.len()),
        by_department: grouped(&department_of, departments.len()),
        aisle: aisle_of,
        department: department_of,
        purchases,
        total_orders: input.total_orders,
        popular,
        co_purchase,
        co_purchase_together,
        also_bought,
    };

    // Repeat rows sorted by product row, so the engine can look a product up in a customer's
    // history by binary search; the statistics follow their entries.
    let mut repeat = Csr::default();
    let (mut repeat_last_ts, mut repeat_logit, mut repeat_gap_days, mut repeat_gap_orders) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    if !repeat_lists.as_slice().is_empty() {
        repeat.offsets.push(0);
        let mut sorted: Vec<(u32, usize)> = Vec::new();
        let entries = repeat_lists.as_slice().iter().map(Vec::len).sum();
        repeat.items.reserve_exact(entries);
        repeat.scores.reserve_exact(entries);
        repeat_last_ts.reserve_exact(entries);
        repeat_logit.reserve_exact(entries);
        repeat_gap_days.reserve_exact(entries);
        repeat_gap_orders.reserve_exact(entries);
        repeat_lists.drain(|list| {
            sorted.clear();
            sorted.extend(list.iter().enumerate().map(|(i, r)| (new_row[r.product as usize], i)));
            sorted.sort_unstable();
            for &(row, i) in &sorted {
                let r = &list[i];
                repeat.items.push(row);
                repeat.scores.push(r.count as f32);
                repeat_last_ts.push(r.last_ts);
                repeat_logit.push(r.base_logit);
                repeat_gap_days.push(r.gap_days);
                repeat_gap_orders.push(r.gap_orders);
            }
            repeat.offsets.push(repeat.items.len() as u32);
        });
    }
    let (discover, discover_because) = if discover_lists.as_slice().is_empty() {
        (Csr::default(), Vec::new())
    } else {
        let because = discover_lists.as_slice().iter().flatten().map(|d| new_row[d.because as usize]).collect();
        let mut lists = Csr { offsets: vec![0], items: Vec::new(), scores: Vec::new() };
        discover_lists.drain(|list| {
            for d in list {
                lists.items.push(new_row[d.product as usize]);
                lists.scores.push(d.score);
            }
            lists.offsets.push(lists.items.len() as u32);
        });
        (lists, because)
    };
    let customers = Customers {
        ids: id_map(input.customers.iter().map(|c| c.id.as_str()))?,
        vectors: input.customer_vectors.clone(),
        signals: csr(&input.customers, |c, items, scores| {
            for (s, w) in &c.signals {
                items.push(signal_index[s.as_str()]);
                scores.push(*w);
            }
        }),
        segment: input.customer_segment.clone(),
        repeat,
        repeat_last_ts,
        repeat_logit,
        repeat_gap_days,
        repeat_gap_orders,
        discover,
        discover_because,
    };
    let blend = match &input.blend {
        None => Blend { data_end_ts: input.data_end_ts, ..Blend::default() },
        Some(b) => Blend {
            time_weights: b.time_weights.to_vec(),
            discover_scores: b.discover.iter().map(|k| k.0).collect(),
            discover_probs: b.discover.iter().map(|k| k.1).collect(),
            embedding_scores: b.embedding.iter().map(|k| k.0).collect(),
            embedding_probs: b.embedding.iter().map(|k| k.1).collect(),
            data_end_ts: input.data_end_ts,
        },
    };
    let learned: HashMap<&str, &Vec<f32>> = input.signal_vectors.iter().map(|(n, v)| (n.as_str(), v)).collect();
    let signals_part = Signals {
        names: strings(signals.iter().copied())?,
        // A signal seen on customers but without a learned vector gets zeros: it still drives rules.
        vectors: signals.iter().flat_map(|s| learned.get(s).map_or(vec![0.0; dim], |v| v.to_vec())).collect(),
    };
    let segments = Segments {
        centroids: input.segments.iter().flat_map(|s| s.centroid.iter().copied()).collect(),
        popular: csr(&input.segments, |s, items, _| items.extend(s.popular.iter().map(|&p| new_row[p as usize]))),
    };

    // Tune nprobe on a deterministic sample of customers (products if there are none).
    let (queries_from, rows) = if nc > 0 { (&input.customer_vectors, nc) } else { (&products.vectors, np) };
    let sample = RECALL_QUERIES.min(rows);
    let queries: Vec<f32> = (0..sample)
        .flat_map(|i| {
            let r = i * rows / sample;
            queries_from[r * dim..(r + 1) * dim].iter().copied()
        })
        .collect();
    let view =
        IvfView { vectors: &products.vectors, dim, centroids: &clustering.centroids, offsets: &offsets, nprobe: 1 };
    let (nprobe, recall_at_10) = ivf::tune_nprobe(&view, &queries, 10, TARGET_RECALL);

    let data = ModelData {
        dim: dim as u32,
        ivf: Ivf { centroids: clustering.centroids, offsets, nprobe: nprobe as u32 },
        products,
        customers,
        signals: signals_part,
        segments,
        blend,
    };
    // Serialise into a buffer sized for the arrays up front: growing a gigabyte buffer by doubling
    // would hold two copies at once.
    let body =
        rkyv::api::high::to_bytes_in::<_, rkyv::rancor::Error>(&data, AlignedVec::with_capacity(body_estimate(&data)))
            .map_err(|e| BuildError::Serialize(e.to_string()))?;
    let counts = Counts {
        products: np as u64,
        customers: nc as u64,
        signals: signals.len() as u64,
        aisles: aisles.len() as u64,
        departments: departments.len() as u64,
        tags: tags.len() as u64,
        segments: input.segments.len() as u64,
        co_purchase_pairs: data.products.co_purchase.items.len() as u64,
        repeat_entries: data.customers.repeat.items.len() as u64,
        also_bought_pairs: data.products.also_bought.items.len() as u64,
        discover_entries: data.customers.discover.items.len() as u64,
    };
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        model_version: input.model_version.clone(),
        built_by: format!("{} (endcap {})", input.builder, env!("CARGO_PKG_VERSION")),
        created_unix: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64),
        dim: dim as u32,
        counts,
        index: IndexSummary {
            kind: "ivf-flat-ip".into(),
            lists: lists as u32,
            nprobe: nprobe as u32,
            recall_at_10,
            recall_queries: sample as u32,
        },
        training: input.training.clone().into_iter().collect::<BTreeMap<_, _>>(),
        body_len: body.len() as u64,
        body_xxh3: checksum_hex(&body),
    };
    Ok(Artifact { manifest, body })
}
