//! The catalogue's products (spread over aisles, named, tagged, priced, with planted vectors), the
//! per-diet draw tables customers buy from, and the planted bundles.

use super::*;

// ---------------------------------------------------------------------------------------------
// Draw tables: per diet class, per taste -> aisle and per aisle -> product cumulative weights.
// ---------------------------------------------------------------------------------------------

/// Draw tables for one diet class (class 0 eats anything; class 1 + d honours `diet_rules()[d]`).
pub(super) struct ClassTables {
    aisle_products: Vec<Vec<u32>>,
    aisle_cum: Vec<Vec<f64>>,
    taste_aisles: Vec<Vec<u16>>,
    taste_cum: Vec<Vec<f64>>,
    /// Fallback when none of a taste's aisles has an allowed product (tiny catalogues).
    any_aisles: Vec<u16>,
    any_cum: Vec<f64>,
}

impl ClassTables {
    pub(super) fn build(
        aisles: &[Aisle],
        aisle_traffic: &[f64],
        product_aisle: &[u16],
        popularity: &[f32],
        allowed: impl Fn(usize) -> bool,
    ) -> Self {
        let mut aisle_products = vec![Vec::new(); aisles.len()];
        for (p, &a) in product_aisle.iter().enumerate() {
            if allowed(p) {
                aisle_products[a as usize].push(p as u32);
            }
        }
        let aisle_cum: Vec<Vec<f64>> =
            aisle_products.iter().map(|ps| cumulative(ps.iter().map(|&p| popularity[p as usize] as f64))).collect();
        let mut taste_links: Vec<Vec<(u16, f64)>> = vec![Vec::new(); TASTES.len()];
        for (a, aisle) in aisles.iter().enumerate() {
            if aisle_products[a].is_empty() {
                continue;
            }
            for &(t, w) in &aisle.tastes {
                taste_links[t].push((a as u16, w as f64 * aisle_traffic[a]));
            }
        }
        let taste_aisles = taste_links.iter().map(|l| l.iter().map(|&(a, _)| a).collect()).collect();
        let taste_cum = taste_links.iter().map(|l| cumulative(l.iter().map(|&(_, w)| w))).collect();
        let any_aisles: Vec<u16> =
            (0..aisles.len()).filter(|&a| !aisle_products[a].is_empty()).map(|a| a as u16).collect();
        let any_cum = cumulative(any_aisles.iter().map(|&a| aisle_traffic[a as usize]));
        Self { aisle_products, aisle_cum, taste_aisles, taste_cum, any_aisles, any_cum }
    }

    /// A product of `aisle` by popularity, if the aisle has one allowed for this class.
    pub(super) fn product_in(&self, aisle: usize, rng: &mut SplitMix64) -> Option<u32> {
        let products = &self.aisle_products[aisle];
        if products.is_empty() {
            return None;
        }
        Some(products[pick(&self.aisle_cum[aisle], rng)])
    }

    /// A product for `taste`: an aisle linked to the taste, then a product in it by popularity.
    pub(super) fn product_for(&self, taste: usize, rng: &mut SplitMix64) -> Option<u32> {
        let (aisles, cum) = if self.taste_aisles[taste].is_empty() {
            (&self.any_aisles, &self.any_cum)
        } else {
            (&self.taste_aisles[taste], &self.taste_cum[taste])
        };
        if aisles.is_empty() {
            return None;
        }
        self.product_in(aisles[pick(cum, rng)] as usize, rng)
    }
}

/// Bit `d` set when the product is excluded by `diet_rules()[d]`.
pub(super) fn diet_masks(products: &[ProductInput]) -> Vec<u8> {
    let rules = diet_rules();
    products
        .iter()
        .map(|p| {
            rules.iter().enumerate().fold(0u8, |mask, (d, (_, excluded))| {
                if p.tags.iter().any(|t| excluded.contains(&t.as_str())) { mask | 1 << d } else { mask }
            })
        })
        .collect()
}

pub(super) type Products = (Vec<ProductInput>, Vec<u16>, Vec<f32>, Vec<f32>);

/// The catalogue: products spread over aisles, named, tagged, priced, with planted vectors.
pub(super) fn generate_products(spec: &DemoSpec, cat: &[Aisle], aisle_vectors: &[Vec<f64>]) -> Products {
    let dim = spec.dim;
    let n = spec.products;
    let mut rng = stream(spec.seed, SALT_ALLOC, 0);

    // How many products each aisle gets: proportional to a jittered item count, at least one
    // each when there are enough products (largest-remainder rounding keeps the total exact).
    let weights: Vec<f64> = cat.iter().map(|a| a.items.len() as f64 * (0.6 + 0.8 * rng.next_f64())).collect();
    let floor = usize::from(n >= cat.len());
    let spare = n - floor * cat.len();
    let total: f64 = weights.iter().sum();
    let mut counts: Vec<usize> = Vec::with_capacity(cat.len());
    let mut remainders: Vec<(f64, usize)> = Vec::with_capacity(cat.len());
    for (a, w) in weights.iter().enumerate() {
        let exact = spare as f64 * w / total;
        counts.push(floor + exact.floor() as usize);
        remainders.push((exact - exact.floor(), a));
    }
    let short = n - counts.iter().sum::<usize>();
    remainders.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    for &(_, a) in remainders.iter().take(short) {
        counts[a] += 1;
    }

    // Shuffle the slots so product ids say nothing about aisles, then rank products inside each
    // aisle in id-independent random order for the Zipf popularity.
    let mut slots: Vec<u16> = counts.iter().enumerate().flat_map(|(a, &c)| std::iter::repeat_n(a as u16, c)).collect();
    for i in (1..slots.len()).rev() {
        slots.swap(i, rng.below(i + 1));
    }
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); cat.len()];
    for (p, &a) in slots.iter().enumerate() {
        members[a as usize].push(p as u32);
    }
    let mut popularity = vec![0f32; n];
    let mut scale = vec![1f64; n];
    for list in &mut members {
        for i in (1..list.len()).rev() {
            list.swap(i, rng.below(i + 1));
        }
        let zipf: Vec<f64> = (0..list.len()).map(|r| 1.0 / ((r + 1) as f64).powf(ZIPF_EXPONENT)).collect();
        let mean = zipf.iter().sum::<f64>() / list.len().max(1) as f64;
        for (&p, &z) in list.iter().zip(&zipf) {
            popularity[p as usize] = z as f32;
            // Norms carry popularity, damped so taste still dominates the inner product.
            scale[p as usize] = (z / mean).powf(0.2).clamp(0.4, 3.0);
        }
    }

    let mut products = Vec::with_capacity(n);
    let mut vectors = Vec::with_capacity(n * dim);
    for (p, &a16) in slots.iter().enumerate() {
        let a = a16 as usize;
        let aisle = &cat[a];
        let mut rng = stream(spec.seed, SALT_PRODUCT, p as u64);
        let item = rng.below(aisle.items.len());
        let (noun, item_tags) = &aisle.items[item];
        let mut tags: Vec<String> = item_tags.iter().map(|t| t.to_string()).collect();
        let mut name = String::with_capacity(48);
        let mut price_factor = 1.0;
        if rng.chance(0.12) {
            name.push_str(STORE_BRAND);
            price_factor *= 0.75;
        } else {
            name.push_str(aisle.brands[rng.below(aisle.brands.len())]);
        }
        let adjectives = if aisle.food { FOOD_ADJECTIVES } else { OTHER_ADJECTIVES };
        if rng.chance(0.4) {
            let adj = adjectives[rng.below(adjectives.len())];
            if adj == "Premium" || adj == "Signature" {
                price_factor *= 1.25;
            }
            name.push(' ');
            name.push_str(adj);
        }
        if aisle.food && rng.chance(0.12) {
            name.push_str(" Organic");
            tags.push("organic".to_string());
            price_factor *= 1.3;
        }
        name.push(' ');
        name.push_str(noun);
        let size = aisle.sizes[rng.below(aisle.sizes.len())];
        if !size.is_empty() {
            name.push(' ');
            name.push_str(size);
        }
        let (lo, hi) = aisle.price_cents;
        let raw = lo as f64 * (hi as f64 / lo as f64).powf(rng.next_f64()) * price_factor;
        // Shelf prices end in 9 (e.g. 349 cents).
        let cents = ((raw / 10.0).round() as u32).max(1) * 10 - 1;
        let price_cents = if rng.chance(0.02) { None } else { Some(cents) };

        // Vector: aisle direction + a part shared by every brand of the same item + own noise,
        // scaled by popularity.
        let mut item_rng = stream(spec.seed, SALT_ITEM, (a * 1024 + item) as u64);
        let item_part = gaussian(&mut item_rng, dim, 0.35);
        let own = gaussian(&mut rng, dim, 0.25);
        let s = scale[p];
        for d in 0..dim {
            vectors.push(((aisle_vectors[a][d] + item_part[d] + own[d]) * s) as f32);
        }
        products.push(ProductInput {
            id: format!("p{p}"),
            name,
            aisle: aisle.name.to_string(),
            department: aisle.department.to_string(),
            tags,
            price_cents,
        });
    }
    (products, slots, popularity, vectors)
}

/// Plants bundles: products from complementary aisles, each product in at most one bundle.
pub(super) fn plant_bundles(spec: &DemoSpec, cat: &[Aisle], tables: &ClassTables) -> Vec<Vec<u32>> {
    let templates: Vec<Vec<usize>> = BUNDLE_TEMPLATES
        .iter()
        .map(|names| {
            names
                .iter()
                .map(|name| {
                    cat.iter()
                        .position(|a| a.name == *name)
                        .expect("bundle templates name catalogue aisles (checked by a test)")
                })
                .collect()
        })
        .collect();
    let target = (spec.products / 16).min(400);
    let mut taken = vec![false; spec.products];
    let mut bundles = Vec::with_capacity(target);
    for b in 0..target {
        let mut rng = stream(spec.seed, SALT_BUNDLE, b as u64);
        let template = &templates[b % templates.len()];
        // Three-aisle templates sometimes plant only a pair, so bundles are "2-3 products".
        let size = if template.len() == 3 && rng.chance(0.3) { 2 } else { template.len() };
        let mut members = Vec::with_capacity(size);
        for &aisle in &template[..size] {
            let found = (0..8).filter_map(|_| tables.product_in(aisle, &mut rng)).find(|&p| !taken[p as usize]);
            match found {
                Some(p) => members.push(p),
                None => break,
            }
        }
        if members.len() == size {
            members.iter().for_each(|&p| taken[p as usize] = true);
            bundles.push(members);
        }
    }
    bundles
}
