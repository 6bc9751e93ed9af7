//! Tests of the demo store: determinism, counts, planted structure, CSV round trip.

use super::export::*;
use super::*;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// A store big enough for stable rates, small enough for unoptimised test builds.
pub(super) fn small() -> &'static DemoStore {
    static STORE: OnceLock<DemoStore> = OnceLock::new();
    STORE.get_or_init(|| generate(&DemoSpec { products: 3_000, customers: 6_000, seed: 7, dim: 32 }))
}

fn has_signal(customer: &DemoCustomer, signal: &str) -> bool {
    customer.signals.iter().any(|&(s, _)| s == signal)
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

#[test]
fn same_seed_same_store_whatever_the_threads_and_other_seed_differs() {
    let spec = DemoSpec { products: 800, customers: 1_500, seed: 1, dim: 16 };
    let one = generate_with_threads(&spec, 1);
    let three = generate_with_threads(&spec, 3);
    assert!(one == three, "same seed must give the same store on any thread count");
    let other = generate_with_threads(&DemoSpec { seed: 2, ..spec }, 2);
    assert_ne!(one.purchases, other.purchases);
    assert_ne!(one.product_vectors, other.product_vectors);
    assert_ne!(one.customer_vectors, other.customer_vectors);
    assert_ne!(
        one.products.iter().map(|p| &p.name).collect::<Vec<_>>(),
        other.products.iter().map(|p| &p.name).collect::<Vec<_>>()
    );
}

#[test]
fn counts_match_the_spec_and_ids_are_unique() {
    let store = small();
    let spec = store.spec;
    assert_eq!(store.products.len(), spec.products);
    assert_eq!(store.product_aisle.len(), spec.products);
    assert_eq!(store.product_popularity.len(), spec.products);
    assert_eq!(store.product_vectors.len(), spec.products * spec.dim);
    assert_eq!(store.customers.len(), spec.customers);
    assert_eq!(store.customer_vectors.len(), spec.customers * spec.dim);
    assert_eq!(store.taste_vectors.len(), TASTES.len() * spec.dim);
    let ids: HashSet<&str> = store.products.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids.len(), spec.products);
    assert_eq!(store.products[42].id, "p42");

    // Every order belongs to one customer and one time; order numbers are 0..orders.
    let mut order_owner: HashMap<u32, (u32, u32)> = HashMap::new();
    for line in &store.purchases {
        let owner = *order_owner.entry(line.order).or_insert((line.customer, line.ts));
        assert_eq!(owner, (line.customer, line.ts), "order o{} is split", line.order);
        assert!((line.product as usize) < spec.products);
    }
    assert_eq!(order_owner.len(), store.orders);
    assert!(order_owner.keys().all(|&o| (o as usize) < store.orders));

    // Times inside the window, increasing over each customer's orders.
    let from = (EPOCH_TS - HISTORY_DAYS * 86_400) as u32;
    let mut last: HashMap<u32, (u32, u32)> = HashMap::new();
    for line in &store.purchases {
        assert!(line.ts >= from && (line.ts as i64) < EPOCH_TS);
        if let Some(&(order, ts)) = last.get(&line.customer)
            && order != line.order
        {
            assert!(line.ts > ts, "orders of c{} not increasing in time", line.customer);
        }
        last.insert(line.customer, (line.order, line.ts));
    }

    let n = spec.customers as f64;
    let per_customer = store.purchases.len() as f64 / n;
    assert!((85.0..110.0).contains(&per_customer), "{per_customer} lines per customer");
    let orders_per_customer = store.orders as f64 / n;
    assert!((12.5..15.0).contains(&orders_per_customer), "{orders_per_customer} orders per customer");
}

#[test]
fn signals_have_the_planned_rates_and_weights() {
    let store = small();
    let n = store.customers.len() as f64;
    let rate = |signal: &str| store.customers.iter().filter(|c| has_signal(c, signal)).count() as f64 / n;
    let vegetarian = rate("lifestyle:vegetarian");
    assert!((0.05..0.11).contains(&vegetarian), "vegetarian {vegetarian}");
    let parent = rate("lifestyle:parent");
    assert!((0.19..0.31).contains(&parent), "parent {parent}");
    let pet = rate("lifestyle:pet_owner");
    assert!((0.15..0.25).contains(&pet), "pet owner {pet}");
    let music = store.customers.iter().filter(|c| c.signals.iter().any(|(s, _)| s.starts_with("music:"))).count();
    assert!(music as f64 / n > 0.75);
    // Vegans are vegetarians too, so the vegetarian rule alone already protects them.
    assert!(store.customers.iter().all(|c| !has_signal(c, "lifestyle:vegan") || has_signal(c, "lifestyle:vegetarian")));
    for c in &store.customers {
        for &(s, w) in &c.signals {
            assert!(w > 0.0 && w <= 1.0, "{s} weight {w}");
            assert!(s.split_once(':').is_some_and(|(ns, v)| !ns.is_empty() && !v.is_empty()));
        }
    }
    // Pet owners buy in the Pet department far more often than others.
    let pet_share = |owner: bool| {
        let (mut pet_lines, mut all) = (0usize, 0usize);
        for line in &store.purchases {
            if has_signal(&store.customers[line.customer as usize], "lifestyle:pet_owner") == owner {
                all += 1;
                pet_lines += usize::from(store.products[line.product as usize].department == "Pet");
            }
        }
        pet_lines as f64 / all as f64
    };
    assert!(pet_share(true) > 3.0 * pet_share(false));
}

#[test]
fn every_aisle_is_in_exactly_one_zone_and_every_product_aisle_exists() {
    let zones = zones();
    assert!((8..=10).contains(&zones.len()));
    let mut zone_of: HashMap<&str, &str> = HashMap::new();
    for zone in &zones {
        assert!(!zone.aisles.is_empty(), "zone {} is empty", zone.name);
        for &aisle in &zone.aisles {
            assert!(zone_of.insert(aisle, zone.name).is_none(), "aisle {aisle} in two zones");
            assert!(!aisle.contains(','), "aisle name {aisle} has a comma");
        }
    }
    let catalogue = catalogue();
    assert!((120..=145).contains(&catalogue.len()), "{} aisles", catalogue.len());
    assert_eq!(zone_of.len(), catalogue.len());
    assert!((12..=16).contains(&departments().len()));
    let store = small();
    for (p, product) in store.products.iter().enumerate() {
        assert!(zone_of.contains_key(product.aisle.as_str()), "{} has unknown aisle", product.id);
        let aisle = &store.aisles[store.product_aisle[p] as usize];
        assert_eq!(aisle.name, product.aisle);
        assert_eq!(aisle.department, product.department);
        assert_eq!(zone_of[aisle.name], aisle.zone);
    }
    // Products are spread over every aisle once there are enough of them.
    let used: HashSet<u16> = store.product_aisle.iter().copied().collect();
    assert_eq!(used.len(), catalogue.len());
}

#[test]
fn layout_toml_lists_every_zone_aisle_and_rule() {
    let toml = layout_toml();
    for zone in zones() {
        assert!(toml.contains(&format!("name = \"{}\"", zone.name)));
        for aisle in zone.aisles {
            assert!(!aisle.contains(['"', '\\']), "{aisle} needs TOML escaping");
            assert!(toml.contains(&format!("\"{aisle}\"")), "{aisle} missing");
        }
    }
    assert!(toml.contains("signal = \"lifestyle:vegetarian\"\nexclude_tags = [\"meat\", \"fish\"]"));
    assert_eq!(toml.matches("[[zones]]").count(), zones().len());
    assert_eq!(toml.matches("[[rules]]").count(), diet_rules().len());
}

#[test]
fn catalogue_is_well_formed() {
    let catalogue = catalogue();
    let rules = diet_rules();
    for aisle in &catalogue {
        assert!((1..=3).contains(&aisle.tastes.len()), "{}", aisle.name);
        assert!(aisle.items.len() >= 5, "{} has few items", aisle.name);
        assert!(aisle.price_cents.0 > 0 && aisle.price_cents.0 < aisle.price_cents.1);
        for (noun, tags) in &aisle.items {
            assert!(!noun.is_empty() && !noun.contains([',', '|', '"']), "{noun}");
            assert!(tags.iter().all(|t| !t.is_empty() && !t.contains([',', ';'])));
        }
    }
    // Every taste can be shopped under every diet, so restricted customers keep their tastes.
    for (t, taste) in TASTES.iter().enumerate() {
        for (signal, excluded) in &rules {
            let ok = catalogue.iter().any(|a| {
                a.tastes.iter().any(|&(x, _)| x == t)
                    && a.items.iter().any(|(_, tags)| tags.iter().all(|tag| !excluded.contains(tag)))
            });
            assert!(ok, "taste {taste} has nothing a {signal} customer may buy");
        }
    }
    for (g, genre) in MUSIC.iter().enumerate() {
        assert_eq!(music_signal(g), format!("music:{genre}"));
    }
    for template in BUNDLE_TEMPLATES {
        let distinct: HashSet<&&str> = template.iter().collect();
        assert_eq!(distinct.len(), template.len());
        assert!(template.iter().all(|name| catalogue.iter().any(|a| a.name == *name)), "{template:?}");
    }
    let tags: HashSet<&str> =
        catalogue.iter().flat_map(|a| a.items.iter().flat_map(|(_, t)| t.iter().copied())).collect();
    for tag in ["meat", "fish", "alcohol", "dairy", "eggs", "gluten", "baby", "pet", "vegan", "frozen"] {
        assert!(tags.contains(tag), "no product can carry {tag}");
    }
}

#[test]
fn products_look_like_a_store() {
    let store = small();
    let n = store.products.len() as f64;
    let no_price = store.products.iter().filter(|p| p.price_cents.is_none()).count() as f64 / n;
    assert!((0.005..0.04).contains(&no_price), "{no_price} without price");
    assert!(store.products.iter().any(|p| p.tags.is_empty()));
    assert!(store.products.iter().any(|p| p.tags.iter().any(|t| t == "organic")));
    for p in &store.products {
        assert!(p.name.split(' ').count() >= 2 && !p.name.contains(','), "{}", p.name);
        if let Some(cents) = p.price_cents {
            assert!(cents % 10 == 9, "{} costs {cents}", p.name);
        }
    }
    // Norms carry popularity: inside an aisle, the most popular product has the largest norm.
    let dim = store.spec.dim;
    let norm = |p: usize| {
        dot(&store.product_vectors[p * dim..(p + 1) * dim], &store.product_vectors[p * dim..(p + 1) * dim]).sqrt()
    };
    let (mut top, mut bottom) = (0.0, 0.0);
    for a in 0..store.aisles.len() {
        let members: Vec<usize> = (0..store.products.len()).filter(|&p| store.product_aisle[p] as usize == a).collect();
        let best = members
            .iter()
            .copied()
            .max_by(|&x, &y| store.product_popularity[x].total_cmp(&store.product_popularity[y]));
        let worst = members
            .iter()
            .copied()
            .min_by(|&x, &y| store.product_popularity[x].total_cmp(&store.product_popularity[y]));
        if let (Some(best), Some(worst)) = (best, worst) {
            top += norm(best);
            bottom += norm(worst);
        }
    }
    assert!(top > 1.5 * bottom, "popular norms {top} vs unpopular {bottom}");
}

#[test]
fn diet_restricted_customers_never_buy_excluded_tags() {
    let store = small();
    let rules = diet_rules();
    assert!(
        rules.iter().any(|(s, tags)| *s == "lifestyle:vegetarian" && tags.contains(&"meat") && tags.contains(&"fish"))
    );
    let mut checked = vec![0usize; rules.len()];
    for line in &store.purchases {
        let customer = &store.customers[line.customer as usize];
        let product = &store.products[line.product as usize];
        for (r, (signal, excluded)) in rules.iter().enumerate() {
            if has_signal(customer, signal) {
                checked[r] += 1;
                assert!(
                    !product.tags.iter().any(|t| excluded.contains(&t.as_str())),
                    "c{} ({signal}) bought {} {:?}",
                    line.customer,
                    product.name,
                    product.tags
                );
            }
        }
    }
    assert!(checked.iter().all(|&n| n > 1_000), "too few restricted purchases to test: {checked:?}");
    // And the catalogue does give them something to avoid: others buy meat.
    assert!(store.purchases.iter().any(|l| { store.products[l.product as usize].tags.iter().any(|t| t == "meat") }));
}

#[test]
fn planted_bundles_co_occur_far_above_chance() {
    let store = small();
    assert!(store.bundles.len() >= 100, "{} bundles", store.bundles.len());
    let mut seen = HashSet::new();
    for b in &store.bundles {
        assert!((2..=3).contains(&b.len()));
        assert!(b.iter().all(|&p| seen.insert(p)), "a product is in two bundles");
        let aisles: HashSet<u16> = b.iter().map(|&p| store.product_aisle[p as usize]).collect();
        assert_eq!(aisles.len(), b.len(), "bundle members share an aisle");
    }
    let mut orders: Vec<Vec<u32>> = vec![Vec::new(); store.orders];
    for line in &store.purchases {
        orders[line.order as usize].push(line.product);
    }
    let mut in_orders = vec![0f64; store.products.len()];
    for order in &orders {
        for &p in order {
            in_orders[p as usize] += 1.0;
        }
    }
    // Lift of a set of pairs: orders holding both, over what independence would give.
    let lift = |pairs: &[(u32, u32)]| {
        let (mut observed, mut expected) = (0.0, 0.0);
        for &(x, y) in pairs {
            observed += orders.iter().filter(|o| o.contains(&x) && o.contains(&y)).count() as f64;
            expected += in_orders[x as usize] * in_orders[y as usize] / orders.len() as f64;
        }
        observed / expected
    };
    let pairs: Vec<(u32, u32)> = store
        .bundles
        .iter()
        .flat_map(|b| b.iter().enumerate().flat_map(move |(i, &x)| b[i + 1..].iter().map(move |&y| (x, y))))
        .collect();
    // Control: for each member, the unbundled product of its aisle closest in popularity. Shoppers
    // of one taste visit both aisles anyway, so this is the lift without planting.
    let twin = |p: u32| {
        (0..store.products.len() as u32)
            .filter(|&q| {
                q != p && !seen.contains(&q) && store.product_aisle[q as usize] == store.product_aisle[p as usize]
            })
            .min_by(|&a, &b| {
                let gap = |q: u32| (store.product_popularity[q as usize] - store.product_popularity[p as usize]).abs();
                gap(a).total_cmp(&gap(b))
            })
    };
    let controls: Vec<(u32, u32)> = pairs.iter().filter_map(|&(x, y)| Some((twin(x)?, twin(y)?))).collect();
    let (planted, control) = (lift(&pairs), lift(&controls));
    assert!(planted > 5.0, "bundle lift {planted}");
    assert!(planted > 4.0 * control, "bundle lift {planted} vs unplanted pairs of the same aisles {control}");
}

#[test]
fn customers_with_the_same_taste_are_nearer() {
    let store = small();
    let dim = store.spec.dim;
    let mut by_taste: Vec<Vec<usize>> = vec![Vec::new(); TASTES.len()];
    for c in 0..store.customers.len() {
        if by_taste[store.planted_taste(c)].len() < 60 {
            by_taste[store.planted_taste(c)].push(c);
        }
    }
    let v = |c: usize| &store.customer_vectors[c * dim..(c + 1) * dim];
    let mut tested = 0;
    for (t, members) in by_taste.iter().enumerate() {
        if members.len() < 10 {
            continue;
        }
        tested += 1;
        let (mut same, mut n_same) = (0.0, 0.0);
        for (i, &x) in members.iter().enumerate() {
            for &y in &members[i + 1..] {
                same += dot(v(x), v(y));
                n_same += 1.0;
            }
        }
        let (mut other, mut n_other) = (0.0, 0.0);
        for (u, others) in by_taste.iter().enumerate() {
            if u != t {
                for &x in members {
                    for &y in others {
                        other += dot(v(x), v(y));
                        n_other += 1.0;
                    }
                }
            }
        }
        let (same, other) = (same / n_same, other / n_other);
        assert!(same > other + 0.3, "taste {}: same {same:.3} vs other {other:.3}", TASTES[t]);
    }
    assert_eq!(tested, TASTES.len());

    // Customers are also nearer the products of their primary taste's aisles.
    let taste = store.planted_taste(0);
    let customer = v(0);
    let (mut linked, mut n_linked, mut rest, mut n_rest) = (0.0, 0.0, 0.0, 0.0);
    for p in 0..store.products.len() {
        let score = dot(customer, &store.product_vectors[p * dim..(p + 1) * dim]);
        if store.aisles[store.product_aisle[p] as usize].tastes.first().is_some_and(|&(t, _)| t == taste) {
            linked += score;
            n_linked += 1.0;
        } else {
            rest += score;
            n_rest += 1.0;
        }
    }
    assert!(linked / n_linked > rest / n_rest + 0.2);
}

/// Splits one CSV line into fields, honouring quotes.
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().expect("non-empty").push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().expect("non-empty").push(c),
        }
    }
    fields
}

#[test]
fn csv_fields_are_quoted_when_needed() {
    let mut buf = Vec::new();
    for field in ["plain", "a,b", "say \"hi\"", "two\nlines", ""] {
        push_field(&mut buf, field);
        buf.push(b',');
    }
    assert_eq!(String::from_utf8(buf).expect("utf8"), "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",,");
    assert_eq!(split_csv("x,\"a,b\",\"say \"\"hi\"\"\""), vec!["x", "a,b", "say \"hi\""]);
    let mut buf = Vec::new();
    for w in [1.0f32, 0.5, 0.73, 0.01, 0.1] {
        push_weight(&mut buf, w);
        buf.push(b' ');
    }
    assert_eq!(String::from_utf8(buf).expect("utf8"), "1 0.5 0.73 0.01 0.1 ");
    let mut buf = Vec::new();
    push_u64(&mut buf, 0);
    push_u64(&mut buf, 1_763_856_000);
    assert_eq!(buf, b"01763856000");
}

#[test]
fn csv_round_trip() {
    let store = generate(&DemoSpec { products: 400, customers: 300, seed: 3, dim: 8 });
    let dir =
        std::env::temp_dir().join(format!("endcap-demo-test-{}-{:?}", std::process::id(), std::thread::current().id()));
    let summary = store.write_csv(&dir).expect("write csv");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("read back");
    let (products, purchases, social) = (read("products.csv"), read("purchases.csv"), read("social.csv"));
    std::fs::remove_dir_all(&dir).expect("clean up");

    assert_eq!(summary.bytes, (products.len() + purchases.len() + social.len()) as u64);
    let check = |text: &str, header: &str, rows: usize, columns: usize| {
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], header);
        assert_eq!(lines.len(), rows + 1, "{header}");
        for line in &lines[1..] {
            assert_eq!(split_csv(line).len(), columns, "{line}");
        }
    };
    check(&products, "product_id,name,aisle,department,tags,price_cents", summary.products, 6);
    check(&purchases, "customer_id,order_id,product_id,ts", summary.purchases, 4);
    check(&social, "customer_id,signal,weight", summary.social, 3);
    assert_eq!(summary.products, store.products.len());
    assert_eq!(summary.purchases, store.purchases.len());
    assert_eq!(summary.social, store.customers.iter().map(|c| c.signals.len()).sum::<usize>());

    // Values survive the trip.
    let row = split_csv(products.lines().nth(6).expect("row"));
    let p = &store.products[5];
    assert_eq!((row[0].as_str(), row[1].as_str(), row[2].as_str()), (p.id.as_str(), p.name.as_str(), p.aisle.as_str()));
    assert_eq!(row[4], p.tags.join(";"));
    assert_eq!(row[5], p.price_cents.map(|c| c.to_string()).unwrap_or_default());
    let line = store.purchases[10];
    assert_eq!(
        purchases.lines().nth(11).expect("row"),
        format!("c{},o{},p{},{}", line.customer, line.order, line.product, line.ts)
    );
    for row in social.lines().skip(1) {
        let fields = split_csv(row);
        let weight: f32 = fields[2].parse().expect("weight parses");
        assert!(weight > 0.0 && weight <= 1.0);
        let c: usize = fields[0][1..].parse().expect("customer id");
        assert!(store.customers[c].signals.iter().any(|&(s, w)| s == fields[1] && w == weight));
    }
}

#[test]
fn model_input_is_consistent() {
    let store = small();
    let input = store.model_input();
    let spec = store.spec;
    assert_eq!(input.model_version, format!("demo-s{}-p{}-c{}", spec.seed, spec.products, spec.customers));
    assert_eq!(input.builder, "endcap demo");
    assert_eq!(input.seed, spec.seed);
    assert_eq!(input.dim, spec.dim);
    assert_eq!(input.products.len(), spec.products);
    assert_eq!(input.product_vectors.len(), spec.products * spec.dim);
    assert_eq!(input.product_purchases.len(), spec.products);
    assert_eq!(input.product_purchases.iter().sum::<u64>(), store.purchases.len() as u64);
    assert_eq!(input.customers.len(), spec.customers);
    assert_eq!(input.customers[42].id, "c42");
    assert_eq!(input.customer_vectors.len(), spec.customers * spec.dim);
    assert!(input.co_purchase.is_empty() && input.repeat.is_empty());
    assert_eq!(input.training["co_purchase"], serde_json::json!("not computed by the demo"));
    assert_eq!(input.training["purchase_lines"], serde_json::json!(store.purchases.len()));
    assert_eq!(input.training["orders"], serde_json::json!(store.orders));
    assert_eq!(input.training["spec"]["seed"], serde_json::json!(spec.seed));

    assert_eq!(input.segments.len(), TASTES.len());
    assert_eq!(input.customer_segment.len(), spec.customers);
    for (c, &s) in input.customer_segment.iter().enumerate() {
        assert_eq!(s as usize, store.planted_taste(c), "every taste has customers here");
    }
    for segment in &input.segments {
        assert_eq!(segment.centroid.len(), spec.dim);
        assert!(!segment.popular.is_empty() && segment.popular.len() <= 100);
        assert!(segment.popular.iter().all(|&p| (p as usize) < spec.products));
    }
    // A segment's popular list leans to its taste's aisles: baby shoppers' top product is Baby.
    let baby = TASTES.iter().position(|&t| t == "baby").expect("baby taste");
    let top = input.segments[baby].popular[0] as usize;
    assert_eq!(input.products[top].department, "Baby");

    let names: Vec<&str> = input.signal_vectors.iter().map(|(s, _)| s.as_str()).collect();
    assert!(names.contains(&"lifestyle:vegetarian") && names.contains(&"music:jazz"));
    assert!(input.signal_vectors.iter().all(|(_, v)| v.len() == spec.dim && v.iter().all(|x| x.is_finite())));
    // The pet-owner signal vector points toward the pet taste.
    let pet = TASTES.iter().position(|&t| t == "pet").expect("pet taste");
    let pet_dir = &store.taste_vectors[pet * spec.dim..(pet + 1) * spec.dim];
    let signal = |name: &str| &input.signal_vectors.iter().find(|(s, _)| s == name).expect("signal").1;
    assert!(dot(signal("lifestyle:pet_owner"), pet_dir) > dot(signal("music:jazz"), pet_dir) + 0.1);
}

#[test]
fn tiny_and_empty_specs_do_not_panic() {
    for spec in [
        DemoSpec { products: 0, customers: 5, seed: 1, dim: 4 },
        DemoSpec { products: 7, customers: 20, seed: 1, dim: 4 },
        DemoSpec { products: 50, customers: 0, seed: 1, dim: 4 },
    ] {
        let store = generate(&spec);
        assert_eq!(store.products.len(), spec.products);
        assert_eq!(store.customers.len(), spec.customers);
        let input = store.model_input();
        assert_eq!(input.product_purchases.iter().sum::<u64>(), store.purchases.len() as u64);
    }
}
