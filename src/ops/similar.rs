//! `similar`: substitutes for a product (out of stock, or the shopper is looking at it), scoped
//! to its aisle first (see `engine/similar.rs`). Answered as a `Recommendation`, reason
//! `similar`, `because` = the product.

use serde::Deserialize;

use super::options::{OptionArgs, OptionsJson};
use super::recommend::write_items;
use super::{Cx, Form, OpError, Operation, Served, set};
use crate::engine::{Scope, Scratch, SimilarQuery};
use crate::protocol::{self, ErrorCode, WireError};

/// `similar`.
pub struct Similar;

/// `similar`'s arguments (`SimilarRequest`); empty strings mean "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimilarArgs {
    /// The product.
    pub product: String,
    /// Customer id (their rules apply).
    pub customer: String,
    /// Zone name.
    pub zone: String,
    /// Aisle name.
    pub aisle: String,
    /// Items wanted; 0 = the server default.
    pub k: u32,
    /// `aisle` (""), `department` or `store`.
    pub scope: String,
    /// Exclusions, stated signals, diversity.
    pub options: OptionArgs,
}

/// `POST /v1/similar` body.
#[derive(Debug, Deserialize)]
struct SimilarBody {
    product: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    zone: String,
    #[serde(default)]
    aisle: String,
    #[serde(default)]
    k: u32,
    #[serde(default)]
    scope: String,
    #[serde(flatten)]
    options: OptionsJson,
}

impl Operation for Similar {
    type Args = SimilarArgs;

    fn decode(body: &[u8], a: &mut SimilarArgs) -> Result<(), WireError> {
        a.product.clear();
        a.customer.clear();
        a.zone.clear();
        a.aisle.clear();
        a.k = 0;
        a.scope.clear();
        a.options.clear();
        protocol::for_each_field(body, |tag, v| {
            if a.options.decode_field(tag, v)? {
                return Ok(());
            }
            match tag {
                1 => set(&mut a.product, v.str(tag)?),
                2 => set(&mut a.customer, v.str(tag)?),
                3 => set(&mut a.zone, v.str(tag)?),
                4 => set(&mut a.aisle, v.str(tag)?),
                5 => a.k = v.varint(tag)? as u32,
                6 => set(&mut a.scope, v.str(tag)?),
                _ => {}
            }
            Ok(())
        })
    }

    fn parse_json(body: &[u8], a: &mut SimilarArgs) -> Result<(), String> {
        let b: SimilarBody =
            serde_json::from_slice(body).map_err(|e| format!("request body is not a valid similar request: {e}"))?;
        (a.product, a.customer, a.zone, a.aisle, a.k, a.scope) = (b.product, b.customer, b.zone, b.aisle, b.k, b.scope);
        a.options.set_json(b.options);
        Ok(())
    }

    fn serve(
        cx: &Cx<'_>,
        a: &mut SimilarArgs,
        s: &mut Scratch,
        form: Form,
        out: &mut Vec<u8>,
    ) -> Result<Served, OpError> {
        super::check_name("zone", &a.zone)?;
        super::check_name("aisle", &a.aisle)?;
        let engine = cx.engine()?;
        let customer = a.options.for_shopper(cx, &a.customer)?;
        let scope = Scope::parse(&a.scope).ok_or_else(|| {
            let m: String = a.scope.chars().take(32).collect();
            OpError::new(ErrorCode::InvalidArgument, format!("unknown scope {m:?} (aisle, department, store)"))
        })?;
        let q = SimilarQuery {
            product: &a.product,
            customer,
            zone: &a.zone,
            aisle: &a.aisle,
            k: a.k,
            scope,
            options: a.options.checked(cx, &a.customer)?,
        };
        engine.similar(&q, s)?;
        write_items(cx, engine, s, &crate::ids::EMPTY, cx.conceals(&a.customer), form, out);
        Ok(Served::Done)
    }
}
