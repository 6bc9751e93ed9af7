//! The customer index while a model is built: customers clustered into IVF lists like the
//! products (maximum inner-product lifting; fitted on a sample when there are many), the order
//! customer rows are stored in, and `nprobe` tuned against exact search with product vectors as
//! queries, for a short answer (recall@10) and a long one (an audience of `wide_k`). Used only by
//! `build.rs`.

use super::build::{KMEANS_ITERATIONS, RECALL_QUERIES, TARGET_RECALL};
use super::format::{CustomerIndex, CustomerIndexSummary, Ivf};
use super::input::ModelInput;
use crate::index::ivf::{self, IvfView};

/// The long audience the customer index's second `nprobe` is tuned for (fewer for small stores:
/// a tenth of the customers).
pub const AUDIENCE_WIDE_K: usize = 1_000;
/// recall@`wide_k` the customer index's second `nprobe` is tuned for.
pub const WIDE_TARGET_RECALL: f64 = 0.95;
/// Sample products the long-answer recall is measured on (each costs an exact top-`wide_k`
/// over every customer).
const WIDE_RECALL_QUERIES: usize = 100;
/// Customer index lists are fitted on at most this many customers per list (then every customer
/// is assigned once), so a store-1m build clusters 256k customers, not a million, ten times.
const CUSTOMER_FIT_ROWS_PER_LIST: usize = 256;
/// Salt of the customer index's clustering seed, so it does not share the product index's draws.
const CUSTOMER_SEED_SALT: u64 = 0x0C05_71D8;

/// The customer index while the model is built: customers clustered into lists, and the order
/// rows are stored in.
pub(super) struct CustomerLists {
    /// `order[new_row] = input row`.
    pub(super) order: Vec<u32>,
    /// `lists * dim` centroid values.
    centroids: Vec<f32>,
    /// `lists + 1` row offsets.
    offsets: Vec<u32>,
}

impl CustomerLists {
    /// Clusters the input's customers (MIPS lifting, as for products; fitted on a sample when
    /// there are many). No customers: one empty list.
    pub(super) fn cluster(input: &ModelInput) -> CustomerLists {
        let (dim, nc) = (input.dim, input.customers.len());
        if nc == 0 {
            return CustomerLists { order: Vec::new(), centroids: vec![0.0; dim], offsets: vec![0, 0] };
        }
        let lists = ivf::default_lists(nc);
        let clustering = ivf::cluster_mips_sampled(
            &input.customer_vectors,
            dim,
            lists,
            KMEANS_ITERATIONS,
            input.seed ^ CUSTOMER_SEED_SALT,
            lists * CUSTOMER_FIT_ROWS_PER_LIST,
        );
        let (order, offsets) = ivf::order_by_list(&clustering.assignment, lists);
        CustomerLists { order, centroids: clustering.centroids, offsets }
    }

    /// Tunes `nprobe` for recall@10 and for recall@`wide_k` against exact search, with sample
    /// product vectors as queries; `vectors` are the customers' in stored order.
    pub(super) fn tune(
        self,
        vectors: &[f32],
        product_vectors: &[f32],
        dim: usize,
    ) -> (CustomerIndex, CustomerIndexSummary) {
        let (nc, np) = (vectors.len() / dim, product_vectors.len() / dim);
        let lists = self.offsets.len() - 1;
        let sample = |n: usize| -> Vec<f32> {
            let n = n.min(np);
            (0..n).flat_map(|i| product_vectors[(i * np / n) * dim..(i * np / n + 1) * dim].iter().copied()).collect()
        };
        let view = IvfView { vectors, dim, centroids: &self.centroids, offsets: &self.offsets, nprobe: 1 };
        let wide_k = AUDIENCE_WIDE_K.min((nc / 10).max(10));
        let (short, wide) = (sample(RECALL_QUERIES), sample(WIDE_RECALL_QUERIES));
        let (nprobe, recall_at_10) = ivf::tune_nprobe_wide(&view, &short, 10, TARGET_RECALL, 1);
        let (wide_nprobe, recall_at_wide_k) = ivf::tune_nprobe_wide(&view, &wide, wide_k, WIDE_TARGET_RECALL, nprobe);
        let summary = CustomerIndexSummary {
            kind: "ivf-flat-ip".into(),
            lists: lists as u32,
            nprobe: nprobe as u32,
            recall_at_10,
            recall_queries: (short.len() / dim) as u32,
            wide_k: wide_k as u32,
            wide_nprobe: wide_nprobe as u32,
            recall_at_wide_k,
            wide_queries: (wide.len() / dim) as u32,
        };
        let index = CustomerIndex {
            ivf: Ivf { centroids: self.centroids, offsets: self.offsets, nprobe: nprobe as u32 },
            wide_k: wide_k as u32,
            wide_nprobe: wide_nprobe as u32,
        };
        (index, summary)
    }
}
