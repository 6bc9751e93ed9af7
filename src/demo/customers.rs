//! Customers: planted tastes, lifestyle signals and vectors, generated in parallel ranges with one
//! random stream per customer; each customer's purchase history is `history.rs`.

use super::*;

/// What every customer's generation reads.
pub(super) struct CustomerContext<'a> {
    pub(super) seed: u64,
    pub(super) dim: usize,
    pub(super) taste_vectors: &'a [f32],
    pub(super) taste_cum: Vec<f64>,
    pub(super) classes: &'a [ClassTables],
    pub(super) bundles: &'a [Vec<u32>],
    pub(super) bundle_of: &'a [u32],
    pub(super) diet_masks: &'a [u8],
    pub(super) market: &'a Market,
    pub(super) vegetarian_class: usize,
    pub(super) vegan_class: usize,
}

pub(super) type Customers = (Vec<DemoCustomer>, Vec<f32>, Vec<Purchase>, usize);

/// Customers, their vectors and purchases, in contiguous ranges on `threads` threads. Each customer
/// draws from its own stream, so the result is the same for any thread count.
pub(super) fn generate_customers(ctx: &CustomerContext<'_>, n: usize, threads: usize) -> Customers {
    let dim = ctx.dim;
    let mut vectors = vec![0f32; n * dim];
    let per = n.div_ceil(threads).max(1);
    let parts: Vec<(Vec<DemoCustomer>, Vec<Purchase>, u32)> = std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(threads);
        let mut rest: &mut [f32] = &mut vectors;
        let mut start = 0;
        while start < n {
            let end = (start + per).min(n);
            let (out, tail) = std::mem::take(&mut rest).split_at_mut((end - start) * dim);
            rest = tail;
            let range = start..end;
            handles.push(scope.spawn(move || customer_range(ctx, range, out)));
            start = end;
        }
        handles.into_iter().map(|h| h.join().expect("demo generator thread panicked")).collect()
    });

    let lines: usize = parts.iter().map(|p| p.1.len()).sum();
    let mut customers = Vec::with_capacity(n);
    let mut purchases = Vec::with_capacity(lines);
    let mut orders: u32 = 0;
    for (part_customers, part_purchases, part_orders) in parts {
        customers.extend(part_customers);
        purchases.extend(part_purchases.into_iter().map(|mut line| {
            line.order += orders;
            line
        }));
        orders += part_orders;
    }
    (customers, vectors, purchases, orders as usize)
}

/// Generates customers `range` (vectors into `out`); order numbers are local to the range.
pub(super) fn customer_range(
    ctx: &CustomerContext<'_>,
    range: Range<usize>,
    out: &mut [f32],
) -> (Vec<DemoCustomer>, Vec<Purchase>, u32) {
    let dim = ctx.dim;
    let mut customers = Vec::with_capacity(range.len());
    let mut purchases: Vec<Purchase> = Vec::with_capacity(range.len() * 80);
    let mut orders: u32 = 0;
    let mut scratch = HistoryScratch::default();

    for (k, c) in range.clone().enumerate() {
        let mut rng = stream(ctx.seed, SALT_CUSTOMER, c as u64);

        // Tastes: 1-3 distinct, the primary weighted most.
        let n_tastes = match rng.next_f64() {
            x if x < 0.3 => 1,
            x if x < 0.75 => 2,
            _ => 3,
        };
        let mut tastes: Vec<(u8, f32)> = Vec::with_capacity(n_tastes);
        while tastes.len() < n_tastes {
            let t = pick(&ctx.taste_cum, &mut rng) as u8;
            if tastes.iter().all(|&(x, _)| x != t) {
                let w = if tastes.is_empty() { 1.0 } else { (0.25 + 0.45 * rng.next_f64()) as f32 };
                tastes.push((t, w));
            }
        }
        let has = |name: &str| tastes.iter().position(|&(t, _)| TASTES[t as usize] == name);

        // Lifestyle signals, correlated with tastes. Vegans also carry the vegetarian signal.
        let mut signals: Vec<(&'static str, f32)> = Vec::with_capacity(4);
        let p_veg = if has("plant-based").is_some() {
            0.6
        } else if has("bbq").is_some() || has("seafood").is_some() {
            0.0
        } else if has("healthy").is_some() {
            0.15
        } else {
            0.045
        };
        let mut diet_class = 0;
        if rng.chance(p_veg) {
            signals.push((VEGETARIAN, weight_between(&mut rng, 0.6, 1.0)));
            diet_class = ctx.vegetarian_class;
            let p_vegan = if has("plant-based").is_some() { 0.45 } else { 0.15 };
            if rng.chance(p_vegan) {
                signals.push((VEGAN, weight_between(&mut rng, 0.6, 1.0)));
                diet_class = ctx.vegan_class;
            }
        }
        let by_rank = |pos: Option<usize>, first: f64, later: f64, none: f64| match pos {
            Some(0) => first,
            Some(_) => later,
            None => none,
        };
        // The earlier of family/baby decides how strong the link to parenthood is.
        let family = match (has("family"), has("baby")) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        let p_parent = by_rank(family, 0.75, 0.5, 0.15);
        if rng.chance(p_parent) {
            signals.push(("lifestyle:parent", weight_between(&mut rng, 0.5, 1.0)));
        }
        if rng.chance(by_rank(has("pet"), 0.92, 0.65, 0.15)) {
            signals.push(("lifestyle:pet_owner", weight_between(&mut rng, 0.5, 1.0)));
        }
        // Music for most customers, usually a favourite of their primary taste.
        if rng.chance(0.85) {
            let genre = |rng: &mut SplitMix64, taste: usize| {
                if rng.chance(0.7) {
                    let (a, b) = TASTE_MUSIC[taste];
                    if rng.chance(0.65) { a } else { b }
                } else {
                    rng.below(MUSIC.len())
                }
            };
            let first = genre(&mut rng, tastes[0].0 as usize);
            signals.push((music_signal(first), weight_between(&mut rng, 0.5, 1.0)));
            if rng.chance(0.35) {
                let taste = tastes.get(1).map_or(tastes[0].0, |t| t.0) as usize;
                let second = genre(&mut rng, taste);
                if second != first {
                    signals.push((music_signal(second), weight_between(&mut rng, 0.1, 0.6)));
                }
            }
        }

        // Vector: the weighted taste mix plus personal noise.
        let noise = gaussian(&mut rng, dim, 0.3);
        let v = &mut out[k * dim..(k + 1) * dim];
        for (x, e) in v.iter_mut().zip(&noise) {
            *x = *e as f32;
        }
        for &(t, w) in &tastes {
            for (x, &tv) in v.iter_mut().zip(&ctx.taste_vectors[t as usize * dim..(t as usize + 1) * dim]) {
                *x += w * tv;
            }
        }

        let who = Shopper { customer: c as u32, tastes: &tastes, diet_class };
        ctx.history(&who, &mut rng, &mut scratch, &mut purchases, &mut orders);
        customers.push(DemoCustomer { tastes, signals });
    }
    (customers, purchases, orders)
}

/// Adds a product to an order unless it is already in it (orders are small, a scan is cheapest).
pub(super) fn add_line(order: &mut Vec<u32>, product: u32) {
    if !order.contains(&product) {
        order.push(product);
    }
}

pub(super) fn music_signal(genre: usize) -> &'static str {
    const SIGNALS: [&str; 6] =
        ["music:jazz", "music:pop", "music:rock", "music:classical", "music:hiphop", "music:country"];
    SIGNALS[genre]
}
