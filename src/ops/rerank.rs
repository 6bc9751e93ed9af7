//! `rerank`: a screen sends the products it can show; the answer is the same products in the
//! shopper's order, products their rules exclude left out, unknown ids last and flagged
//! `unknown_product` (see `engine/rerank.rs`). Answered as a `Recommendation`.

use serde::Deserialize;

use super::options::{OptionArgs, OptionsJson};
use super::recommend::write_items;
use super::{Cx, Form, OpError, Operation, Served, set};
use crate::engine::{RerankQuery, Scratch};
use crate::ids::IdList;
use crate::protocol::{self, WireError};

/// `rerank`.
pub struct Rerank;

/// `rerank`'s arguments (`RerankRequest`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RerankArgs {
    /// Customer id.
    pub customer: String,
    /// The products to order.
    pub products: IdList,
    /// Exclusions and stated signals.
    pub options: OptionArgs,
}

/// `POST /v1/rerank` body.
#[derive(Debug, Deserialize)]
struct RerankBody {
    #[serde(default)]
    customer: String,
    products: Vec<String>,
    #[serde(flatten)]
    options: OptionsJson,
}

impl Operation for Rerank {
    type Args = RerankArgs;

    fn decode(body: &[u8], a: &mut RerankArgs) -> Result<(), WireError> {
        a.customer.clear();
        a.products.clear();
        a.options.clear();
        protocol::for_each_field(body, |tag, v| {
            if a.options.decode_field(tag, v)? {
                return Ok(());
            }
            match tag {
                1 => set(&mut a.customer, v.str(tag)?),
                2 => a.products.push(v.str(tag)?),
                _ => {}
            }
            Ok(())
        })
    }

    fn parse_json(body: &[u8], a: &mut RerankArgs) -> Result<(), String> {
        let b: RerankBody =
            serde_json::from_slice(body).map_err(|e| format!("request body is not a valid rerank request: {e}"))?;
        a.customer = b.customer;
        a.products = b.products.iter().collect();
        a.options.set_json(b.options);
        Ok(())
    }

    fn serve(
        cx: &Cx<'_>,
        a: &mut RerankArgs,
        s: &mut Scratch,
        form: Form,
        out: &mut Vec<u8>,
    ) -> Result<Served, OpError> {
        let engine = cx.engine()?;
        let customer = a.options.for_shopper(cx, &a.customer)?;
        let q = RerankQuery {
            customer,
            products: &a.products,
            options: a.options.checked(cx, &a.customer)?,
            now_unix_s: cx.now.unix_s(),
        };
        engine.rerank(&q, s)?;
        write_items(cx, engine, s, &a.products, cx.conceals(&a.customer), form, out);
        Ok(Served::Done)
    }
}
