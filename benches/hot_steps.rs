//! One bench per step of the request path, so a regression in one step shows on its own:
//! customer id lookup, IVF search (unfiltered), exact scan of one aisle, the inner-product kernel,
//! scoring into a top-k, request decode, answer encode, and `Service::handle_frame` (decode,
//! engine, encode, metrics: everything between the transport's read and write).
//! `recommend.rs` benches the whole engine path.
//!
//! `ENDCAP_BENCH_SCALE=store-1m` (the default) or `default`; models are cached in
//! `target/bench-data/` (see `common`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use endcap::clock::Now;
use endcap::config::Config;
use endcap::index::ivf::IvfView;
use endcap::index::{Kernel, TopK, dot, dot_portable, exact::scan_rows};
use endcap::live::{Source, Trigger};
use endcap::model::Model;
use endcap::model::view::{f32s, u32s};
use endcap::ops::{self, OpId, Operation, Recommend, RecommendArgs};
use endcap::protocol::{self, ItemRef, RecommendRequest, Request, request};
use endcap::service::Service;

mod common;

fn bench(c: &mut Criterion) {
    let (spec, scale) = common::scale("store-1m");
    let model = Model::load(&common::cached_model(&spec, &scale)).expect("cached model loads");
    let data = model.data();
    let dim = model.dim();
    let customers = data.customers.ids.len();
    let ids: Vec<String> =
        (0..1024).map(|i| data.customers.ids.id((i * customers / 1024) as u32).to_string()).collect();
    let rows: Vec<u32> = ids.iter().map(|id| data.customers.ids.row(id).expect("known")).collect();
    let vectors = model.product_vectors();
    let mut g = c.benchmark_group(format!("hot_steps/{scale}"));

    let mut i = 0usize;
    g.bench_function("customer_id_lookup", |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            data.customers.ids.row(black_box(&ids[i]))
        })
    });

    let view = IvfView {
        vectors,
        dim,
        centroids: f32s(&data.ivf.centroids),
        offsets: u32s(&data.ivf.offsets),
        nprobe: data.ivf.nprobe.to_native() as usize,
    };
    let (mut top, mut probes) = (TopK::new(5), Vec::new());
    g.bench_function(format!("ivf_search_k5_nprobe{}", view.nprobe), |b| {
        b.iter(|| {
            i = (i + 1) % rows.len();
            view.search_with(model.customer_vector(rows[i]), 5, view.nprobe, |_| true, &mut top, &mut probes);
            top.len()
        })
    });

    // The largest aisle: the worst case of the exact filtered plan.
    let aisle = (0..data.products.by_aisle.rows()).max_by_key(|&a| data.products.by_aisle.row(a).len()).unwrap_or(0);
    let aisle_rows = data.products.by_aisle.row(aisle);
    g.bench_function(format!("exact_scan_aisle_{}_rows_k5", aisle_rows.len()), |b| {
        b.iter(|| {
            i = (i + 1) % rows.len();
            top.reset(5);
            scan_rows(
                vectors,
                dim,
                aisle_rows.iter().copied(),
                model.customer_vector(rows[i]),
                |r| r % 7 != 0,
                &mut top,
            );
            top.len()
        })
    });

    // The kernel under everything above, on the same 1,000 product vectors: picked once as the
    // scans do (`Kernel`), checked on every call (`dot`), and the portable one.
    let picked = Kernel::detect();
    let once = move |a: &[f32], b: &[f32]| picked.dot(a, b);
    type Scorer<'a> = &'a dyn Fn(&[f32], &[f32]) -> f32;
    let kernels: [(&str, Scorer); 3] = [
        ("dot_1000_rows_kernel_once", &once),
        ("dot_1000_rows_dispatched", &dot),
        ("dot_1000_rows_portable", &dot_portable),
    ];
    for (name, kernel) in kernels {
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % rows.len();
                let q = model.customer_vector(rows[i]);
                vectors.chunks_exact(dim).take(1000).map(|v| kernel(q, v)).sum::<f32>()
            })
        });
    }

    g.bench_function("score_1000_rows_into_top5", |b| {
        b.iter(|| {
            i = (i + 1) % rows.len();
            let q = model.customer_vector(rows[i]);
            top.reset(5);
            for (r, v) in vectors.chunks_exact(dim).take(1000).enumerate() {
                top.push(dot(q, v), r as u32);
            }
            top.len()
        })
    });

    let req = Request {
        id: 12_345,
        op: Some(request::Op::Recommend(RecommendRequest {
            customer: "c123456".into(),
            zone: "chilled".into(),
            basket: vec!["p1".into(), "p20".into(), "p300".into()],
            k: 5,
            ..Default::default()
        })),
    };
    let mut frame = Vec::new();
    protocol::encode_request_frame(&mut frame, &req);
    let mut args = RecommendArgs::default();
    let known = |tag: u32| OpId::from_tag(tag).is_some();
    g.bench_function("decode_request", |b| {
        b.iter(|| {
            let (_, op) = protocol::request_envelope(black_box(&frame[protocol::LEN_PREFIX..]), known).expect("valid");
            Recommend::decode(op.expect("recommend").1, &mut args).is_ok()
        })
    });

    let items: Vec<ItemRef<'_>> = (0..5u32)
        .map(|r| {
            ItemRef::plain(
                data.products.ids.id(r),
                data.products.names.get(r as usize),
                "Fresh Fruit",
                1.0 + r as f32,
                "personal",
            )
        })
        .collect();
    let mut out = Vec::with_capacity(1024);
    g.bench_function("encode_answer_k5", |b| {
        b.iter(|| {
            out.clear();
            protocol::encode_recommendation(&mut out, 12_345, model.version(), items.iter().copied(), 17);
            out.len()
        })
    });

    // The whole request between the transport's read and write, on the shipped config.
    let config_path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/endcap.toml");
    let service = Service::new(Config::load(Some(&config_path)).expect("shipped config"));
    let served = Model::load(&common::cached_model(&spec, &scale)).expect("cached model loads");
    service.live.load(Source::loaded(served), Trigger::Start).expect("serves");
    let frames: Vec<Vec<u8>> = ids
        .iter()
        .take(256)
        .map(|c| {
            let req = Request {
                id: 7,
                op: Some(request::Op::Recommend(RecommendRequest { customer: c.clone(), k: 5, ..Default::default() })),
            };
            let mut f = Vec::new();
            protocol::encode_request_frame(&mut f, &req);
            f
        })
        .collect();
    let mut state = ops::State::default();
    g.bench_function("handle_frame_recommend_k5", |b| {
        b.iter(|| {
            i = (i + 1) % frames.len();
            out.clear();
            service.handle_frame(
                Now::read(),
                ops::Caller::OPEN,
                &frames[i][protocol::LEN_PREFIX..],
                &mut state,
                &mut out,
            );
            out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
