//! Tests that the demo store's purchase histories have the shape of real grocery data: long
//! histories, baskets mostly of repeats, staples (some bought nearly every visit) that differ
//! between customers and drift away, a long tail and a heavy head.

use std::collections::{HashMap, HashSet};

use super::tests::small;
use super::*;

/// Shape statistics of a store's purchase history (see `history.rs` for what is modelled).
struct Shape {
    median_orders: usize,
    mean_basket: f64,
    /// Share of the last four baskets' lines that the customer had bought before.
    repeat_share: f64,
    /// Share of the products that sold at all that sold once.
    sold_once: f64,
    /// Share of the lines held by the top 1% of products.
    top1_share: f64,
    /// Re-buy rate of a product bought before, by orders since its last purchase: 1-3, 6-10, 15+.
    rebuy_by_age: [f64; 3],
    /// Among customers with 10+ orders: share with a product in at least 80% of their orders.
    near_certain_staple: f64,
    /// Among customers with 10+ orders: distinct products that are someone's most frequent,
    /// per customer.
    distinct_top_staples: f64,
}

fn shape(store: &DemoStore) -> Shape {
    let n = store.customers.len();
    let mut orders_of: Vec<Vec<(u32, Vec<u32>)>> = vec![Vec::new(); n];
    for line in &store.purchases {
        let list = &mut orders_of[line.customer as usize];
        match list.last_mut() {
            Some((o, items)) if *o == line.order => items.push(line.product),
            _ => list.push((line.order, vec![line.product])),
        }
    }
    let mut counts: Vec<usize> = orders_of.iter().map(Vec::len).collect();
    counts.sort_unstable();
    let (mut repeats, mut held) = (0usize, 0usize);
    let mut by_age = [(0usize, 0usize); 3];
    let (mut regulars, mut certain) = (0usize, 0usize);
    let mut tops = HashSet::new();
    for list in &orders_of {
        for i in list.len().saturating_sub(4).max(1)..list.len() {
            let before: HashSet<u32> = list[..i].iter().flat_map(|(_, items)| items.iter().copied()).collect();
            held += list[i].1.len();
            repeats += list[i].1.iter().filter(|p| before.contains(p)).count();
        }
        let mut last: HashMap<u32, usize> = HashMap::new();
        let mut freq: HashMap<u32, usize> = HashMap::new();
        for (j, (_, items)) in list.iter().enumerate() {
            for (&p, &at) in &last {
                let bucket = match j - at {
                    1..=3 => 0,
                    6..=10 => 1,
                    a if a >= 15 => 2,
                    _ => continue,
                };
                by_age[bucket].0 += usize::from(items.contains(&p));
                by_age[bucket].1 += 1;
            }
            for &p in items {
                last.insert(p, j);
                *freq.entry(p).or_default() += 1;
            }
        }
        if list.len() >= 10 {
            regulars += 1;
            certain += usize::from(freq.values().any(|&f| f * 5 >= list.len() * 4));
            if let Some((&p, _)) = freq.iter().max_by_key(|&(&p, &f)| (f, std::cmp::Reverse(p))) {
                tops.insert(p);
            }
        }
    }
    let mut sales = store.product_purchases();
    let sold = sales.iter().filter(|&&s| s > 0).count();
    let once = sales.iter().filter(|&&s| s == 1).count();
    sales.sort_unstable_by(|a, b| b.cmp(a));
    let top = sales.len().div_ceil(100);
    Shape {
        median_orders: counts[n / 2],
        mean_basket: store.purchases.len() as f64 / store.orders as f64,
        repeat_share: repeats as f64 / held as f64,
        sold_once: once as f64 / sold as f64,
        top1_share: sales[..top].iter().sum::<u64>() as f64 / store.purchases.len() as f64,
        rebuy_by_age: by_age.map(|(hit, all)| hit as f64 / all.max(1) as f64),
        near_certain_staple: certain as f64 / regulars.max(1) as f64,
        distinct_top_staples: tops.len() as f64 / regulars.max(1) as f64,
    }
}

#[test]
fn histories_have_the_shape_of_grocery_data() {
    let s = shape(small());
    println!(
        "median orders {}, basket {:.2}, repeat share {:.3}, sold once {:.3}, top 1% {:.3}, re-buy by age {:.3?}, \
         near-certain staple {:.3}, distinct top staples {:.3}",
        s.median_orders,
        s.mean_basket,
        s.repeat_share,
        s.sold_once,
        s.top1_share,
        s.rebuy_by_age,
        s.near_certain_staple,
        s.distinct_top_staples
    );
    // Long histories, baskets of a handful to a dozen products, mostly repeats.
    assert!((10..=20).contains(&s.median_orders), "median orders {}", s.median_orders);
    assert!((5.0..10.0).contains(&s.mean_basket), "basket {}", s.mean_basket);
    assert!((0.55..=0.75).contains(&s.repeat_share), "repeat share {}", s.repeat_share);
    // A long tail: about a third of the products that sell sell once; a heavy head.
    assert!((0.2..0.45).contains(&s.sold_once), "sold once {}", s.sold_once);
    assert!((0.12..0.35).contains(&s.top1_share), "top 1% {}", s.top1_share);
    // Drift: the longer since the last purchase, the less likely a re-buy.
    let [recent, middle, old] = s.rebuy_by_age;
    assert!(recent > 1.5 * middle && middle > 1.5 * old, "re-buy by age {:?}", s.rebuy_by_age);
    // Staples: many regular customers have one bought almost every time, and they differ.
    assert!(s.near_certain_staple > 0.35, "near-certain staples {}", s.near_certain_staple);
    assert!(s.distinct_top_staples > 0.05, "distinct top staples {}", s.distinct_top_staples);
}
