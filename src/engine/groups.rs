//! What audiences and segment profiles need of one model, computed once when the engine is built
//! (about a pass over the customers' signals and one over the products): each customer's signals
//! as bits, the customers of each signal and segment, each aisle's mean vector and tags, and the
//! segments' profiles (size, best sellers, over-represented signals). Groups smaller than
//! `audience.min_group` are never described. `audience.rs` asks the questions.

use super::*;

/// Top products listed per segment profile.
pub const SEGMENT_TOP_PRODUCTS: usize = 5;
/// Over-represented signals listed per segment profile.
pub const SEGMENT_TOP_SIGNALS: usize = 5;

/// One line of a customer type or a segment profile: a signal or a segment, how common it is in
/// the group and among all customers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share {
    /// The signal's or the segment's number.
    pub group: u32,
    /// Members of the group (the audience, the segment) in it.
    pub count: u32,
    /// `count` over the group's size.
    pub share: f32,
    /// Its share among all the model's customers.
    pub overall: f32,
    /// `share / overall`: above 1, over-represented in the group.
    pub lift: f32,
}

/// A segment as store staff see it, so they can name it.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentProfile {
    /// Customers in it.
    pub size: u32,
    /// `size` over all customers.
    pub share: f32,
    /// Its best-selling product rows (at most [`SEGMENT_TOP_PRODUCTS`]); empty for a segment
    /// smaller than `audience.min_group`.
    pub top_products: Vec<u32>,
    /// Its over-represented signals, highest lift first (at most [`SEGMENT_TOP_SIGNALS`], each
    /// carried by at least `audience.min_group` of its customers).
    pub signals: Vec<Share>,
}

/// What audiences need of one model, computed once when the engine is built: each customer's
/// signals as bits, the members of each signal and segment, each aisle's mean vector and tags,
/// the segments' profiles.
#[derive(Debug, Default)]
pub struct CustomerGroups {
    /// Words per customer in `bits`.
    pub(super) words: usize,
    /// `customers * words`: bit `s` set when the customer carries signal `s`.
    bits: Vec<u64>,
    /// Customers carrying each signal.
    pub(super) signal_counts: Vec<u32>,
    /// Customers of signal `s`: `signal_rows[signal_offsets[s]..signal_offsets[s + 1]]`,
    /// ascending.
    signal_offsets: Vec<u32>,
    signal_rows: Vec<u32>,
    /// Customers of segment `g`, as for signals.
    segment_offsets: Vec<u32>,
    segment_rows: Vec<u32>,
    /// `aisles * dim`: each aisle's mean product vector.
    pub(super) aisle_vectors: Vec<f32>,
    /// `aisles * tag_words`: the union of each aisle's products' tags.
    pub(super) aisle_tags: Vec<u64>,
    /// Each segment's profile.
    pub(super) segments: Vec<SegmentProfile>,
}

/// Members grouped by key: `(offsets, rows)`, rows ascending within a group.
fn group_rows(groups: usize, rows: usize, key: impl Fn(usize, &mut dyn FnMut(usize))) -> (Vec<u32>, Vec<u32>) {
    let mut offsets = vec![0u32; groups + 1];
    for r in 0..rows {
        key(r, &mut |g| offsets[g + 1] += 1);
    }
    for g in 0..groups {
        offsets[g + 1] += offsets[g];
    }
    let mut next = offsets.clone();
    let mut out = vec![0u32; offsets[groups] as usize];
    for r in 0..rows {
        key(r, &mut |g| {
            out[next[g] as usize] = r as u32;
            next[g] += 1;
        });
    }
    (offsets, out)
}

/// The set bits of `words`, lowest first.
pub(super) fn bits_of(words: &[u64]) -> impl Iterator<Item = u32> + '_ {
    words.iter().enumerate().flat_map(|(w, &word)| {
        let mut rest = word;
        std::iter::from_fn(move || {
            (rest != 0).then(|| {
                let b = rest.trailing_zeros();
                rest &= rest - 1;
                (w * 64) as u32 + b
            })
        })
    })
}

impl CustomerGroups {
    /// Computes what audiences need of `model` (one pass over the customers' signals, one over
    /// the products), with profiles shown for segments of at least `cfg.min_group` customers.
    pub fn new(model: &Model, cfg: &AudienceConfig) -> CustomerGroups {
        let d = model.data();
        let dim = model.dim();
        let customers = &d.customers;
        let nc = customers.ids.len();
        let ns = d.signals.names.len();
        let words = ns.div_ceil(64).max(1);
        let mut bits = vec![0u64; nc * words];
        for (c, row) in bits.chunks_exact_mut(words).enumerate() {
            for &sig in customers.signals.row(c) {
                if (sig as usize) < ns {
                    row[sig as usize / 64] |= 1 << (sig % 64);
                }
            }
        }
        let mut signal_counts = vec![0u32; ns];
        for row in bits.chunks_exact(words) {
            for s in bits_of(row) {
                signal_counts[s as usize] += 1;
            }
        }
        let (signal_offsets, signal_rows) =
            group_rows(ns, nc, |c, f| bits_of(&bits[c * words..(c + 1) * words]).for_each(|s| f(s as usize)));
        let nseg = model.manifest().counts.segments as usize;
        let segment_of = u32s(&customers.segment);
        let (segment_offsets, segment_rows) = group_rows(nseg, segment_of.len(), |c, f| {
            if (segment_of[c] as usize) < nseg {
                f(segment_of[c] as usize)
            }
        });

        let p = &d.products;
        let naisles = p.aisle_names.len();
        let tag_words = p.tag_words.to_native() as usize;
        let tags = u64s(&p.tags);
        let mut sums = vec![0f64; naisles * dim];
        let mut counts = vec![0usize; naisles];
        let mut aisle_tags = vec![0u64; naisles * tag_words];
        for (row, &a) in u32s(&p.aisle).iter().enumerate() {
            let a = a as usize;
            counts[a] += 1;
            for (s, &x) in sums[a * dim..(a + 1) * dim].iter_mut().zip(model.product_vector(row as u32)) {
                *s += x as f64;
            }
            for (t, &w) in aisle_tags[a * tag_words..(a + 1) * tag_words].iter_mut().zip(&tags[row * tag_words..]) {
                *t |= w;
            }
        }
        let aisle_vectors = sums
            .chunks_exact(dim.max(1))
            .zip(&counts)
            .flat_map(|(sum, &n)| sum.iter().map(move |s| (s / n.max(1) as f64) as f32))
            .collect();

        let mut a = CustomerGroups {
            words,
            bits,
            signal_counts,
            signal_offsets,
            signal_rows,
            segment_offsets,
            segment_rows,
            aisle_vectors,
            aisle_tags,
            segments: Vec::new(),
        };
        a.segments = (0..nseg).map(|g| a.profile(model, g, cfg.min_group)).collect();
        a
    }

    /// The profile of segment `g`: its size and, when it holds at least `min_group` customers,
    /// its best sellers and over-represented signals.
    fn profile(&self, model: &Model, g: usize, min_group: u32) -> SegmentProfile {
        let nc = self.customers();
        let members = self.segment_members(g as u32);
        let size = members.len() as u32;
        let share = size as f32 / nc.max(1) as f32;
        if size < min_group {
            return SegmentProfile { size, share, top_products: Vec::new(), signals: Vec::new() };
        }
        let mut counts = vec![0u32; self.signal_counts.len()];
        for &c in members {
            for s in bits_of(self.signals_of(c)) {
                counts[s as usize] += 1;
            }
        }
        let mut signals = Vec::new();
        self.over_represented(&counts, size, min_group, &mut signals);
        signals.truncate(SEGMENT_TOP_SIGNALS);
        let top = model.data().segments.popular.row(g);
        SegmentProfile { size, share, top_products: top.iter().copied().take(SEGMENT_TOP_PRODUCTS).collect(), signals }
    }

    /// Customers in the model.
    pub(super) fn customers(&self) -> usize {
        self.bits.len() / self.words
    }

    /// The signal words of customer `row` (empty when out of range).
    #[inline]
    pub(super) fn signals_of(&self, row: u32) -> &[u64] {
        let start = row as usize * self.words;
        self.bits.get(start..start + self.words).unwrap_or(&[])
    }

    /// The customers carrying signal `s`, ascending.
    pub(super) fn signal_members(&self, s: u32) -> &[u32] {
        let (o, r) = (&self.signal_offsets, &self.signal_rows);
        match (o.get(s as usize), o.get(s as usize + 1)) {
            (Some(&a), Some(&b)) => &r[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The customers of segment `g`, ascending.
    pub(super) fn segment_members(&self, g: u32) -> &[u32] {
        let (o, r) = (&self.segment_offsets, &self.segment_rows);
        match (o.get(g as usize), o.get(g as usize + 1)) {
            (Some(&a), Some(&b)) => &r[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The signals over-represented in a group of `size` customers of whom `counts[s]` carry
    /// signal `s`: carried by at least `min_group` of them, lift above 1, highest lift first.
    pub(super) fn over_represented(&self, counts: &[u32], size: u32, min_group: u32, out: &mut Vec<Share>) {
        out.clear();
        let nc = self.customers().max(1) as f32;
        for (s, (&count, &all)) in counts.iter().zip(&self.signal_counts).enumerate() {
            if count < min_group || all == 0 {
                continue;
            }
            let share = count as f32 / size.max(1) as f32;
            let overall = all as f32 / nc;
            let lift = share / overall;
            if lift > 1.0 {
                out.push(Share { group: s as u32, count, share, overall, lift });
            }
        }
        out.sort_unstable_by(|a, b| b.lift.total_cmp(&a.lift).then(a.group.cmp(&b.group)));
    }
}
