//! The quality bars on the demo store: through the real server, lifestyle rules hold and filters
//! filter (whatever source an item comes from); on the served engine, the embedding source keeps
//! recall@10 >= 0.95 against exact search (unfiltered, by aisle, by zone, and under exclusion
//! rules). The served answer blends that source with buy-again and discovery lists, so the
//! index's recall is measured on the source itself (`Engine::recommend_embedding`).

use endcap::engine::{Query, Scratch};
use endcap::index::exact::ExactIndex;
use endcap::index::{ProductIndex, TopK, recall};
use endcap::model::view::{u32s, u64s};

use crate::common::{block_on, client, items, rec, server};

/// Ground truth computed here, independently of the engine's planner: exact inner-product
/// search over the products this test itself decides are admissible.
struct Oracle<'a> {
    model: &'a endcap::model::Model,
}

impl Oracle<'_> {
    fn tag(&self, name: &str) -> Option<usize> {
        self.model.data().products.tag_names.position(name)
    }

    fn has_tag(&self, row: u32, tag: Option<usize>) -> bool {
        let p = &self.model.data().products;
        let words = p.tag_words.to_native() as usize;
        tag.is_some_and(|t| u64s(&p.tags)[row as usize * words + t / 64] & (1 << (t % 64)) != 0)
    }

    fn is_vegetarian(&self, customer: u32) -> bool {
        let d = self.model.data();
        let veg = d.signals.names.position("lifestyle:vegetarian").expect("demo has vegetarians") as u32;
        d.customers.signals.row(customer as usize).contains(&veg)
    }

    fn aisle_of(&self, row: u32) -> &str {
        let p = &self.model.data().products;
        p.aisle_names.get(u32s(&p.aisle)[row as usize] as usize)
    }

    fn exact(&self, customer: u32, k: usize, accept: &dyn Fn(u32) -> bool) -> Vec<(f32, u32)> {
        let m = self.model;
        let mut out = TopK::new(k);
        ExactIndex { vectors: m.product_vectors(), dim: m.dim() }.search(
            m.customer_vector(customer),
            k,
            accept,
            &mut out,
        );
        out.as_slice().to_vec()
    }
}

fn rows(model: &endcap::model::Model, answer: &endcap::protocol::Response) -> Vec<(f32, u32)> {
    let ids = &model.data().products.ids;
    items(answer).items.iter().map(|i| (i.score, ids.row(&i.product_id).expect("known product"))).collect()
}

#[test]
fn no_vegetarian_is_ever_offered_meat_or_fish() {
    let s = server();
    let engine = s.service.engine().expect("ready");
    let o = Oracle { model: engine.model() };
    let (meat, fish) = (o.tag("meat"), o.tag("fish"));
    assert!(meat.is_some() && fish.is_some(), "the demo catalogue has meat and fish");
    let customers = engine.model().data().customers.ids.len() as u32;
    let vegetarians: Vec<u32> = (0..customers).filter(|&c| o.is_vegetarian(c)).collect();
    assert!(vegetarians.len() > 500, "about 8% of 20,000 customers are vegetarian");
    let zones: Vec<String> = s.config.zones.iter().map(|z| z.name.clone()).collect();
    block_on(async {
        let mut c = client().await;
        let mut offered = 0;
        for (i, &v) in vegetarians.iter().enumerate() {
            let id = engine.model().data().customers.ids.id(v).to_string();
            // Unfiltered, and in each zone in turn (the meat counter's zone included).
            let zone = if i % 2 == 0 { "" } else { zones[i % zones.len()].as_str() };
            let a = c.recommend(rec(&id, zone, "", 50)).await.expect("recommend");
            for (_, row) in rows(engine.model(), &a) {
                offered += 1;
                assert!(
                    !o.has_tag(row, meat) && !o.has_tag(row, fish),
                    "vegetarian {id} was offered product row {row}"
                );
            }
        }
        assert!(offered > 10_000);
    });
}

#[test]
fn an_aisle_filter_returns_only_that_aisle() {
    let engine = server().service.engine().expect("ready");
    let o = Oracle { model: engine.model() };
    let aisles = &engine.model().data().products.aisle_names;
    let ids = &engine.model().data().customers.ids;
    // A shopper without diet rules (so every aisle has something for them), and a vegetarian.
    let omnivore = (0..ids.len() as u32).find(|&c| !o.is_vegetarian(c)).expect("an omnivore");
    let vegetarian = (0..ids.len() as u32).find(|&c| o.is_vegetarian(c)).expect("a vegetarian");
    block_on(async {
        let mut c = client().await;
        for a in 0..aisles.len() {
            let aisle = aisles.get(a);
            let answer = c.recommend(rec(ids.id(omnivore), "", aisle, 10)).await.expect("recommend");
            let got = rows(engine.model(), &answer);
            assert!(!got.is_empty(), "aisle {aisle} has products");
            assert!(got.iter().all(|&(_, r)| o.aisle_of(r) == aisle), "aisle {aisle}");
        }
        // In the beef aisle the vegetarian gets nothing rather than something wrong.
        let answer = c.recommend(rec(ids.id(vegetarian), "", "Beef", 10)).await.expect("recommend");
        assert!(items(&answer).items.is_empty());
    });
}

#[test]
fn recall_at_10_against_exact_search_unfiltered_and_filtered() {
    let s = server();
    let engine = s.service.engine().expect("ready");
    let m = engine.model();
    let o = Oracle { model: m };
    let (meat, fish) = (o.tag("meat"), o.tag("fish"));
    let customers = m.data().customers.ids.len() as u32;
    let aisles = &m.data().products.aisle_names;
    let zones = &s.config.zones;
    let mut scratch = Scratch::default();
    let mut ask = |id: &str, zone: &str, aisle: &str| -> Vec<(f32, u32)> {
        let q = Query { customer: id, zone, aisle, k: 10, ..Query::default() };
        engine.recommend_embedding(&q, &mut scratch).expect("recommend");
        scratch.hits().iter().map(|h| (h.score, h.row)).collect()
    };
    let (mut unfiltered, mut by_aisle, mut by_zone) = (0.0, 0.0, 0.0);
    let n = 400u32;
    for i in 0..n {
        let row = i * (customers / n);
        let id = m.data().customers.ids.id(row).to_string();
        let veg = o.is_vegetarian(row);
        let rule = |r: u32| !veg || (!o.has_tag(r, meat) && !o.has_tag(r, fish));

        unfiltered += recall(&ask(&id, "", ""), &o.exact(row, 10, &rule));

        let aisle = aisles.get(i as usize % aisles.len());
        by_aisle += recall(&ask(&id, "", aisle), &o.exact(row, 10, &|r| rule(r) && o.aisle_of(r) == aisle));

        let zone = &zones[i as usize % zones.len()];
        let in_zone = |r: u32| rule(r) && zone.aisles.iter().any(|z| z == o.aisle_of(r));
        by_zone += recall(&ask(&id, &zone.name, ""), &o.exact(row, 10, &in_zone));
    }
    let n = n as f64;
    let (unfiltered, by_aisle, by_zone) = (unfiltered / n, by_aisle / n, by_zone / n);
    println!("recall@10: unfiltered {unfiltered:.4}, aisle {by_aisle:.4}, zone {by_zone:.4}");
    assert!(unfiltered >= 0.95, "unfiltered recall@10 {unfiltered}");
    assert!(by_aisle >= 0.95, "aisle-filtered recall@10 {by_aisle}");
    assert!(by_zone >= 0.95, "zone-filtered recall@10 {by_zone}");
}
