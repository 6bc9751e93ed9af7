//! The data: the demo store's planted vectors, the sampled query customers, and the filters.

use super::*;

pub(super) struct Filter {
    pub(super) name: String,
    pub(super) accept: Vec<bool>,
}

impl Filter {
    pub(super) fn kept(&self) -> usize {
        self.accept.iter().filter(|&&a| a).count()
    }
}

/// Customer rows the model build tunes `nprobe` on, then `QUERIES` random others.
pub(super) fn sample_customers(store: &DemoStore) -> (Vec<f32>, Vec<f32>) {
    let dim = store.spec.dim;
    let nc = store.customer_vectors.len() / dim;
    let rows = |r: usize| &store.customer_vectors[r * dim..(r + 1) * dim];
    let tune_n = TUNE_QUERIES.min(nc);
    let tune_rows: Vec<usize> = (0..tune_n).map(|i| i * nc / tune_n).collect();
    let mut used: HashSet<usize> = tune_rows.iter().copied().collect();
    let mut rng = SplitMix64::new(0x1DE8_C0DE);
    let mut queries = Vec::with_capacity(QUERIES * dim);
    while queries.len() < QUERIES.min(nc.saturating_sub(tune_n)) * dim {
        let r = rng.below(nc);
        if used.insert(r) {
            queries.extend_from_slice(rows(r));
        }
    }
    (tune_rows.iter().flat_map(|&r| rows(r).iter().copied()).collect(), queries)
}

pub(super) fn filters(store: &DemoStore) -> Vec<Filter> {
    let products = &store.products;
    let meat_or_fish = Filter {
        name: "exclude meat and fish (vegetarian rule)".into(),
        accept: products.iter().map(|p| !p.tags.iter().any(|t| t == "meat" || t == "fish")).collect(),
    };
    // The aisle of median size: a typical "show me this aisle" request.
    let mut sizes = vec![0usize; store.aisles.len()];
    for &a in &store.product_aisle {
        sizes[a as usize] += 1;
    }
    let mut by_size: Vec<usize> = (0..sizes.len()).filter(|&a| sizes[a] > 0).collect();
    by_size.sort_by_key(|&a| (sizes[a], a));
    let aisle = by_size[by_size.len() / 2];
    let one_aisle = Filter {
        name: format!("keep one aisle ({})", store.aisles[aisle].name),
        accept: store.product_aisle.iter().map(|&a| a as usize == aisle).collect(),
    };
    vec![meat_or_fish, one_aisle]
}
