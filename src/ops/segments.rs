//! `segments`: the model's customer segments as store staff see them (each one's size, best
//! sellers and over-represented signals), so they can name them. An ops/marketing operation
//! (ops devices only); the profiles are computed once per model (`Engine::segments`), so this
//! only writes them: the protobuf answer straight from borrowed model strings (no allocation), the
//! JSON through prost's message types and serde (HTTP is for scripts).
//!
//! The shoppers these segments serve (an opted-out customer from their own, an anonymous one with
//! a basket or a session from the nearest) are the engine's (`engine/recommend.rs`, `resolve`).

use super::{Cx, Form, OpError, Operation, Served, json};
use crate::engine::{Engine, Scratch};
use crate::protocol::{
    self, ProductLine, ProductRef, SegmentProfile, SegmentRef, Segments as SegmentsMessage, ShareRef, SignalShare,
    WireError,
};

/// `segments` (no arguments).
pub struct Segments;

/// The segments `engine` serves.
pub fn segments(engine: &Engine) -> SegmentsMessage {
    let segments = engine
        .segments()
        .iter()
        .enumerate()
        .map(|(g, p)| SegmentProfile {
            segment: g as u32,
            size: p.size,
            share: p.share,
            top_products: p
                .top_products
                .iter()
                .map(|&row| {
                    let (product_id, name, aisle) = engine.describe(row);
                    ProductRef { product_id: product_id.into(), name: name.into(), aisle: aisle.into() }
                })
                .collect(),
            signals: p
                .signals
                .iter()
                .map(|l| SignalShare {
                    signal: engine.signal_name(l.group).into(),
                    count: l.count,
                    share: l.share,
                    overall: l.overall,
                    lift: l.lift,
                })
                .collect(),
        })
        .collect();
    SegmentsMessage { segments, population: engine.customers() as u64, min_group: engine.min_group() }
}

/// The JSON document of a `segments` answer (the server's HTTP answer and `endcap query --json`).
pub fn segments_json(model_version: &str, answer: &SegmentsMessage) -> serde_json::Value {
    let mut doc = serde_json::json!({ "model_version": model_version });
    if let (Some(obj), Ok(serde_json::Value::Object(fields))) = (doc.as_object_mut(), serde_json::to_value(answer)) {
        obj.extend(fields);
    }
    doc
}

impl Operation for Segments {
    type Args = ();

    fn decode(body: &[u8], _: &mut ()) -> Result<(), WireError> {
        protocol::for_each_field(body, |_, _| Ok(()))
    }

    fn parse_json(_: &[u8], _: &mut ()) -> Result<(), String> {
        Ok(())
    }

    fn serve(cx: &Cx<'_>, _: &mut (), _: &mut Scratch, form: Form, out: &mut Vec<u8>) -> Result<Served, OpError> {
        let engine = cx.engine()?;
        match form {
            Form::Protobuf { id } => {
                let profiles = engine.segments().iter().enumerate().map(|(g, p)| SegmentRef {
                    segment: g as u32,
                    size: p.size,
                    share: p.share,
                    top_products: p.top_products.iter().map(|&row| {
                        let (product_id, name, aisle) = engine.describe(row);
                        ProductLine { product_id, name, aisle }
                    }),
                    signals: p.signals.iter().map(|l| ShareRef {
                        signal: engine.signal_name(l.group),
                        segment: 0,
                        count: l.count,
                        share: l.share,
                        overall: l.overall,
                        lift: l.lift,
                    }),
                });
                let population = engine.customers() as u64;
                protocol::encode_segments(out, id, engine.version(), profiles, population, engine.min_group());
            }
            Form::Json => json::write(out, &segments_json(engine.version(), &segments(engine))),
        }
        Ok(Served::Done)
    }
}
