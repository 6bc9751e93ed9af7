//! `bundles`: the category manager's "what can I bundle with X": the product's co-purchase
//! partners with the figures merchandisers use (orders together, support, confidence, lift; see
//! `engine/complete.rs`). No shopper, so no rules; sales figures, so for `ops` devices only.
//! `GET /v1/bundles?product=X&k=N`. Rare: built with prost and serde.

use prost::Message;
use serde::{Deserialize, Serialize};

use super::{Cx, Form, OpError, Operation, Served, json, set};
use crate::engine::{Bundle, Scratch};
use crate::model::view::u32s;
use crate::protocol::{self, BundlePartner, Bundles as BundlesAnswer, Response, WireError, response};

/// `bundles`.
pub struct Bundles;

/// `bundles`' arguments (`BundlesRequest`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BundlesArgs {
    /// The product.
    pub product: String,
    /// Partners wanted; 0 = the server default.
    pub k: u32,
    /// The engine's answer, reused.
    found: Vec<Bundle>,
}

/// The query string (`?product=X&k=N`, as a JSON object of strings) or a JSON body.
#[derive(Debug, Deserialize)]
struct BundlesQuery {
    product: String,
    #[serde(default, deserialize_with = "json::u32_or_string")]
    k: u32,
}

/// `GET /v1/bundles` answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct BundlesJson {
    /// The model that answered.
    pub model_version: String,
    /// The product asked about.
    pub product_id: String,
    /// Its name.
    pub name: String,
    /// Orders holding it.
    pub orders: u64,
    /// Orders in the model's training data.
    pub total_orders: u64,
    /// Partners, strongest first.
    pub partners: Vec<PartnerJson>,
    /// Server time spent, microseconds.
    pub took_us: u64,
}

/// One partner in JSON.
#[derive(Debug, Serialize, Deserialize)]
pub struct PartnerJson {
    /// Product id.
    pub product_id: String,
    /// Product name.
    pub name: String,
    /// Aisle name.
    pub aisle: String,
    /// Orders holding both.
    pub orders: u64,
    /// Share of all orders holding both.
    pub support: f32,
    /// Share of the product's orders also holding the partner.
    pub confidence: f32,
    /// Lift (1 = independent).
    pub lift: f32,
}

impl Operation for Bundles {
    type Args = BundlesArgs;

    fn decode(body: &[u8], a: &mut BundlesArgs) -> Result<(), WireError> {
        a.product.clear();
        a.k = 0;
        protocol::for_each_field(body, |tag, v| {
            match tag {
                1 => set(&mut a.product, v.str(tag)?),
                2 => a.k = v.varint(tag)? as u32,
                _ => {}
            }
            Ok(())
        })
    }

    fn parse_json(body: &[u8], a: &mut BundlesArgs) -> Result<(), String> {
        let q: BundlesQuery = serde_json::from_slice(body)
            .map_err(|e| format!("not a valid bundles request (GET /v1/bundles?product=ID&k=N): {e}"))?;
        (a.product, a.k) = (q.product, q.k);
        Ok(())
    }

    fn serve(
        cx: &Cx<'_>,
        a: &mut BundlesArgs,
        _: &mut Scratch,
        form: Form,
        out: &mut Vec<u8>,
    ) -> Result<Served, OpError> {
        let engine = cx.engine()?;
        engine.bundles(&a.product, a.k, &mut a.found)?;
        let p = &engine.model().data().products;
        let row = p.ids.row(&a.product).unwrap_or(0);
        let orders = u32s(&p.purchases).get(row as usize).copied().unwrap_or(0) as u64;
        let total_orders = p.total_orders.to_native();
        let partners = a.found.iter().map(|b| {
            let (id, name, aisle) = engine.describe(b.row);
            BundlePartner {
                product_id: id.to_string(),
                name: name.to_string(),
                aisle: aisle.to_string(),
                orders: b.orders as u64,
                support: b.support,
                confidence: b.confidence,
                lift: b.lift,
            }
        });
        let (_, name, _) = engine.describe(row);
        match form {
            Form::Protobuf { id } => {
                let answer = BundlesAnswer {
                    product_id: a.product.clone(),
                    name: name.to_string(),
                    orders,
                    total_orders,
                    partners: partners.collect(),
                    took_us: cx.took_us(),
                };
                let r = Response {
                    id,
                    model_version: cx.version().to_string(),
                    result: Some(response::Result::Bundles(answer)),
                };
                protocol::write_frame(out, |out| r.encode_raw(out));
            }
            Form::Json => {
                let doc = BundlesJson {
                    model_version: cx.version().to_string(),
                    product_id: a.product.clone(),
                    name: name.to_string(),
                    orders,
                    total_orders,
                    partners: partners
                        .map(|p| PartnerJson {
                            product_id: p.product_id,
                            name: p.name,
                            aisle: p.aisle,
                            orders: p.orders,
                            support: p.support,
                            confidence: p.confidence,
                            lift: p.lift,
                        })
                        .collect(),
                    took_us: cx.took_us(),
                };
                json::write(out, &doc);
            }
        }
        Ok(Served::Done)
    }
}
