//! What a model is built from: plain owned data, produced by the demo store today and by the
//! trainer later. `model::build` turns it into an artifact; nothing here touches the disk.

use std::collections::BTreeMap;

/// One product of the catalogue with its embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductInput {
    /// Opaque product id, unique in the catalogue.
    pub id: String,
    /// Human-readable name, shown on screens.
    pub name: String,
    /// The aisle the product sits in (free text, e.g. "Fresh Fruit").
    pub aisle: String,
    /// The department the aisle belongs to (e.g. "Produce").
    pub department: String,
    /// Tags such as `meat`, `alcohol`, `gluten`; rules exclude products by tag.
    pub tags: Vec<String>,
    /// Shelf price in cents, if known.
    pub price_cents: Option<u32>,
}

/// A customer known to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerInput {
    /// Opaque customer id, unique.
    pub id: String,
    /// Social signals (`namespace:value`) with their weights.
    pub signals: Vec<(String, f32)>,
}

/// A customer's history with one product, for "buy it again".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepeatPurchase {
    /// Index into `ModelInput::products`.
    pub product: u32,
    /// How many of the customer's orders held it.
    pub count: u32,
    /// When last bought, unix seconds.
    pub last_ts: i64,
    /// The buy-again logit without its time part (the engine adds `BlendInput::time_weights`
    /// times the time features of the request's clock).
    pub base_logit: f32,
    /// The usual gap between purchases in days (0 when bought once).
    pub gap_days: f32,
    /// The usual gap between purchases in the customer's orders (0 when bought once).
    pub gap_orders: f32,
}

/// One entry of a customer's discovery list: a product they have not bought, suggested because
/// customers who bought `because` also bought it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Discovery {
    /// Index into `ModelInput::products`.
    pub product: u32,
    /// The source's score (mean "also bought" similarity to the customer's products).
    pub score: f32,
    /// Index into `ModelInput::products` of the bought product that contributed most.
    pub because: u32,
}

/// One frequently-bought-together neighbour of a product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoPurchase {
    /// Index into `ModelInput::products`.
    pub product: u32,
    /// The ranking score (co-occurrence normalised by both products' order counts).
    pub score: f32,
    /// Orders that held both products: with `ModelInput::product_purchases` and
    /// `ModelInput::total_orders` it gives support, confidence and lift.
    pub together: u32,
}

/// What the engine needs to merge its sources: the time part of the buy-again model and the
/// calibration of the other sources' scores to probabilities (all fitted on held-out baskets).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlendInput {
    /// Weights on the two time features (log days since the last purchase, log dueness).
    pub time_weights: [f32; 2],
    /// Calibration of discovery scores: (score, probability) knots, scores increasing.
    pub discover: Vec<(f32, f32)>,
    /// Calibration of embedding inner products: (score, probability) knots, scores increasing.
    pub embedding: Vec<(f32, f32)>,
}

/// A customer segment (k-means cluster of customer vectors) for anonymous or opted-out shoppers.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentInput {
    /// Centroid, `dim` values.
    pub centroid: Vec<f32>,
    /// Indexes into `ModelInput::products`, most popular in the segment first.
    pub popular: Vec<u32>,
}

/// Everything a model artifact holds, as owned data. Vectors are flat, row-major, `dim` wide.
#[derive(Debug, Clone, Default)]
pub struct ModelInput {
    /// The version every answer will carry, e.g. `demo-s42-p5000-c20000` or a training timestamp.
    pub model_version: String,
    /// Who built it (`endcap demo`, `endcap train`).
    pub builder: String,
    /// Embedding width.
    pub dim: usize,
    /// The catalogue.
    pub products: Vec<ProductInput>,
    /// `products.len() * dim` values.
    pub product_vectors: Vec<f32>,
    /// Orders holding each product (popularity), same order as `products`.
    pub product_purchases: Vec<u64>,
    /// Orders in the training data (0 when unknown); the denominator of bundle support.
    pub total_orders: u64,
    /// Known customers.
    pub customers: Vec<CustomerInput>,
    /// `customers.len() * dim` values.
    pub customer_vectors: Vec<f32>,
    /// Signal name -> vector learned from the customers who carry it (`dim` values each).
    pub signal_vectors: Vec<(String, Vec<f32>)>,
    /// Per product: frequently-bought-together neighbours, best first. Empty when not computed.
    pub co_purchase: Vec<Vec<CoPurchase>>,
    /// Per product: products bought by the same customers (product index, similarity), best
    /// first. Empty when not computed.
    pub also_bought: Vec<Vec<(u32, f32)>>,
    /// Per customer: repeat-purchase statistics. Empty when not computed.
    pub repeat: Vec<Vec<RepeatPurchase>>,
    /// Per customer: the discovery list, best first. Empty when not computed.
    pub discover: Vec<Vec<Discovery>>,
    /// Buy-again time weights and calibrations; `None` for a model without purchase history
    /// (it then answers from the embedding alone).
    pub blend: Option<BlendInput>,
    /// When the newest purchase the model knows of happened (unix seconds); the engine's clock
    /// when a request does not give one. 0 when unknown.
    pub data_end_ts: i64,
    /// Customer segments. Empty when not computed.
    pub segments: Vec<SegmentInput>,
    /// Segment of each customer (index into `segments`); empty when there are no segments.
    pub customer_segment: Vec<u32>,
    /// Free-form summary of the training data (rows read, skipped, time span...), kept in the manifest.
    pub training: BTreeMap<String, serde_json::Value>,
    /// Seed for everything randomised in the build (index clustering), so builds are reproducible.
    pub seed: u64,
}

impl ModelInput {
    /// A hash of what the model holds (ids, vectors, counts, repeat statistics, its data's end),
    /// so that versions derived from it differ whenever the content does: two models trained in
    /// the same second from different data get different versions, and the same content gets the
    /// same hash (xxh3-64, stable across runs and machines).
    pub fn content_hash(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        let floats = |h: &mut xxhash_rust::xxh3::Xxh3, v: &[f32]| v.iter().for_each(|x| h.update(&x.to_le_bytes()));
        h.update(&(self.dim as u64).to_le_bytes());
        for p in &self.products {
            h.update(p.id.as_bytes());
            h.update(&[0]);
        }
        floats(&mut h, &self.product_vectors);
        self.product_purchases.iter().for_each(|n| h.update(&n.to_le_bytes()));
        for c in &self.customers {
            h.update(c.id.as_bytes());
            h.update(&[0]);
        }
        floats(&mut h, &self.customer_vectors);
        for list in &self.repeat {
            h.update(&(list.len() as u64).to_le_bytes());
            for r in list {
                h.update(&r.product.to_le_bytes());
                h.update(&r.count.to_le_bytes());
                h.update(&r.last_ts.to_le_bytes());
            }
        }
        h.update(&self.data_end_ts.to_le_bytes());
        h.digest()
    }
}
