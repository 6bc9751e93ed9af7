//! `recommend`: products for a shopper, here, now (customer, zone, aisle, basket, k). The engine's
//! `recommend` does the work; this file reads the request and writes the answer.

use std::borrow::Cow;

use serde::Deserialize;

use super::json::{self, ItemJson, RecommendationJson};
use super::options::{OptionArgs, OptionsJson};
use super::{Cx, Form, OpError, Operation, Served, set};
use crate::engine::{Engine, Hit, Mode, Query, Reason, Scratch};
use crate::ids::IdList;
use crate::protocol::{self, ErrorCode, ItemRef, WireError};

/// `recommend`.
pub struct Recommend;

/// `recommend`'s arguments (`RecommendRequest`); empty strings mean "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecommendArgs {
    /// Customer id.
    pub customer: String,
    /// Zone name.
    pub zone: String,
    /// Aisle name.
    pub aisle: String,
    /// Product ids in the basket.
    pub basket: IdList,
    /// Items wanted; 0 = the server default.
    pub k: u32,
    /// The mode's wire name ("" = mixed).
    pub mode: String,
    /// In `mixed`: at least this many new products.
    pub min_discover: u32,
    /// Exclusions, stated signals, diversity.
    pub options: OptionArgs,
}

/// `POST /v1/recommend` body. Unknown fields are ignored, as protobuf skips unknown fields, so a
/// newer client's request still works.
#[derive(Debug, Deserialize)]
struct RecommendBody {
    /// Absent for an anonymous shopper (who may name a live `session`).
    #[serde(default)]
    customer: String,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    aisle: Option<String>,
    #[serde(default)]
    basket: Vec<String>,
    #[serde(default)]
    k: Option<u32>,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    min_discover: u32,
    #[serde(flatten)]
    options: OptionsJson,
}

impl Operation for Recommend {
    type Args = RecommendArgs;

    fn decode(body: &[u8], a: &mut RecommendArgs) -> Result<(), WireError> {
        a.customer.clear();
        a.zone.clear();
        a.aisle.clear();
        a.basket.clear();
        a.k = 0;
        a.mode.clear();
        a.min_discover = 0;
        a.options.clear();
        protocol::for_each_field(body, |tag, v| {
            if a.options.decode_field(tag, v)? {
                return Ok(());
            }
            match tag {
                1 => set(&mut a.customer, v.str(tag)?),
                2 => set(&mut a.zone, v.str(tag)?),
                3 => set(&mut a.aisle, v.str(tag)?),
                4 => a.basket.push(v.str(tag)?),
                5 => a.k = v.varint(tag)? as u32,
                6 => set(&mut a.mode, v.str(tag)?),
                7 => a.min_discover = v.varint(tag)? as u32,
                _ => {}
            }
            Ok(())
        })
    }

    fn parse_json(body: &[u8], a: &mut RecommendArgs) -> Result<(), String> {
        let b: RecommendBody =
            serde_json::from_slice(body).map_err(|e| format!("request body is not a valid recommend request: {e}"))?;
        a.customer = b.customer;
        a.zone = b.zone.unwrap_or_default();
        a.aisle = b.aisle.unwrap_or_default();
        a.basket = b.basket.iter().collect();
        a.k = b.k.unwrap_or(0);
        a.mode = b.mode;
        a.min_discover = b.min_discover;
        a.options.set_json(b.options);
        Ok(())
    }

    fn serve(
        cx: &Cx<'_>,
        a: &mut RecommendArgs,
        s: &mut Scratch,
        form: Form,
        out: &mut Vec<u8>,
    ) -> Result<Served, OpError> {
        super::check_name("zone", &a.zone)?;
        super::check_name("aisle", &a.aisle)?;
        super::check_ids("basket product", &a.basket)?;
        let engine = cx.engine()?;
        let customer = a.options.for_shopper(cx, &a.customer)?;
        let mode = Mode::parse(&a.mode).ok_or_else(|| {
            let m: String = a.mode.chars().take(32).collect();
            OpError::new(ErrorCode::InvalidArgument, format!("unknown mode {m:?} (mixed, buy_again, discover)"))
        })?;
        // A concealed answer is never the customer's purchase history as such (PROTOCOL.md).
        let mode = match mode {
            Mode::BuyAgain if cx.conceals(&a.customer) => Mode::Mixed,
            mode => mode,
        };
        let q = Query {
            customer,
            zone: &a.zone,
            aisle: &a.aisle,
            basket: &a.basket,
            k: a.k,
            mode,
            min_discover: a.min_discover,
            now_unix_s: cx.now.unix_s(),
            options: a.options.checked(cx, &a.customer)?,
        };
        engine.recommend(&q, s)?;
        write_items(cx, engine, s, &crate::ids::EMPTY, cx.conceals(&a.customer), form, out);
        Ok(Served::Done)
    }
}

/// The reason a public device shows for every item chosen from what is known of the shopper:
/// one word for all of them, so an answer does not tell a known id from an unknown one, or
/// "bought before" from "popular".
pub const CONCEALED_REASON: &str = "for_you";

/// Appends the hits in `s` as a `Recommendation` (protobuf) or its JSON document. `asked` is the
/// request's product list, for `rerank`'s unknown ids (their hits point into it). `conceal`
/// (an answer for a named customer on a public device, `Cx::conceals`): scores become rank
/// scores (1 for the first item, falling evenly), the reasons drawn from the shopper's history
/// or taste become [`CONCEALED_REASON`], and their explanations (what they bought, when) are
/// left out; `similar`, `bought_with` and `unknown_product` say nothing about the shopper and
/// stay.
pub fn write_items(
    cx: &Cx<'_>,
    engine: &Engine,
    s: &Scratch,
    asked: &IdList,
    conceal: bool,
    form: Form,
    out: &mut Vec<u8>,
) {
    let n = s.hits().len().max(1) as f32;
    // The server's time says which path answered (a known customer's reminders are quicker than
    // an unknown id's search): a concealed answer carries 0.
    let took_us = if conceal { 0 } else { cx.took_us() };
    let items = s.hits().iter().enumerate().map(move |(i, h)| {
        if h.reason == Reason::UnknownProduct {
            let id = asked.get(h.because as usize).unwrap_or("");
            return ItemRef::plain(id, "", "", 0.0, h.reason.as_str());
        }
        let (product_id, name, aisle) = engine.describe(h.row);
        let because = if h.because == Hit::NONE { "" } else { engine.describe(h.because).0 };
        let item = ItemRef {
            product_id,
            name,
            aisle,
            score: h.score,
            reason: h.reason.as_str(),
            because,
            days_since_last: h.days_since_last,
            usual_gap_days: h.usual_gap_days,
            usual_gap_orders: h.usual_gap_orders,
            promoted: h.promoted,
        };
        if !conceal {
            return item;
        }
        let score = 1.0 - i as f32 / n;
        match h.reason {
            Reason::Similar | Reason::BoughtWith => ItemRef { score, ..item },
            _ => ItemRef { promoted: h.promoted, ..ItemRef::plain(product_id, name, aisle, score, CONCEALED_REASON) },
        }
    });
    match form {
        Form::Protobuf { id } => protocol::encode_recommendation(out, id, engine.version(), items, took_us),
        Form::Json => {
            let items = items
                .map(|i| ItemJson {
                    product_id: Cow::Borrowed(i.product_id),
                    name: Cow::Borrowed(i.name),
                    aisle: Cow::Borrowed(i.aisle),
                    score: i.score,
                    reason: Cow::Borrowed(i.reason),
                    because: Cow::Borrowed(i.because),
                    days_since_last: json::given(i.days_since_last),
                    usual_gap_days: json::given(i.usual_gap_days),
                    usual_gap_orders: json::given(i.usual_gap_orders),
                    promoted: i.promoted,
                })
                .collect();
            let answer = RecommendationJson { model_version: Cow::Borrowed(engine.version()), items, took_us };
            json::write(out, &answer);
        }
    }
}
