//! `complete`: what goes with this basket (checkout terminals, screens): co-purchase partners of
//! the basket's products, mixed with a known shopper's taste (see `engine/complete.rs`).
//! Answered as a `Recommendation`, reason `bought_with`, `because` = the basket item.

use serde::Deserialize;

use super::options::{OptionArgs, OptionsJson};
use super::recommend::write_items;
use super::{Cx, Form, OpError, Operation, Served, set};
use crate::engine::{CompleteQuery, Scratch};
use crate::ids::IdList;
use crate::protocol::{self, WireError};

/// `complete`.
pub struct Complete;

/// `complete`'s arguments (`CompleteRequest`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompleteArgs {
    /// Product ids in the basket.
    pub basket: IdList,
    /// Customer id.
    pub customer: String,
    /// Zone name.
    pub zone: String,
    /// Items wanted; 0 = the server default.
    pub k: u32,
    /// Exclusions, stated signals, diversity.
    pub options: OptionArgs,
}

/// `POST /v1/complete` body.
#[derive(Debug, Deserialize)]
struct CompleteBody {
    /// May be empty (or absent) when the shopper's live session holds a basket.
    #[serde(default)]
    basket: Vec<String>,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    zone: String,
    #[serde(default)]
    k: u32,
    #[serde(flatten)]
    options: OptionsJson,
}

impl Operation for Complete {
    type Args = CompleteArgs;

    fn decode(body: &[u8], a: &mut CompleteArgs) -> Result<(), WireError> {
        a.basket.clear();
        a.customer.clear();
        a.zone.clear();
        a.k = 0;
        a.options.clear();
        protocol::for_each_field(body, |tag, v| {
            if a.options.decode_field(tag, v)? {
                return Ok(());
            }
            match tag {
                1 => a.basket.push(v.str(tag)?),
                2 => set(&mut a.customer, v.str(tag)?),
                3 => set(&mut a.zone, v.str(tag)?),
                4 => a.k = v.varint(tag)? as u32,
                _ => {}
            }
            Ok(())
        })
    }

    fn parse_json(body: &[u8], a: &mut CompleteArgs) -> Result<(), String> {
        let b: CompleteBody =
            serde_json::from_slice(body).map_err(|e| format!("request body is not a valid complete request: {e}"))?;
        a.basket = b.basket.iter().collect();
        (a.customer, a.zone, a.k) = (b.customer, b.zone, b.k);
        a.options.set_json(b.options);
        Ok(())
    }

    fn serve(
        cx: &Cx<'_>,
        a: &mut CompleteArgs,
        s: &mut Scratch,
        form: Form,
        out: &mut Vec<u8>,
    ) -> Result<Served, OpError> {
        super::check_name("zone", &a.zone)?;
        super::check_ids("basket product", &a.basket)?;
        let engine = cx.engine()?;
        let customer = a.options.for_shopper(cx, &a.customer)?;
        let q = CompleteQuery {
            basket: &a.basket,
            customer,
            zone: &a.zone,
            k: a.k,
            options: a.options.checked(cx, &a.customer)?,
        };
        engine.complete(&q, s)?;
        write_items(cx, engine, s, &crate::ids::EMPTY, cx.conceals(&a.customer), form, out);
        Ok(Served::Done)
    }
}
