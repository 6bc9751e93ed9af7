//! The JSON shapes the operations share (items, errors), used by the server and by
//! `endcap query --json` so both print exactly the same document.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Appends `value` as JSON to `out`. Serialising endcap's own shapes into a buffer cannot fail.
pub fn write(out: &mut Vec<u8>, value: &impl Serialize) {
    let _ = serde_json::to_writer(out, value);
}

/// One suggested product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemJson<'a> {
    /// Product id.
    pub product_id: Cow<'a, str>,
    /// Product name.
    pub name: Cow<'a, str>,
    /// Aisle name.
    pub aisle: Cow<'a, str>,
    /// Score: a probability of being in this visit's basket in a blended answer, an inner
    /// product from the embedding alone, a share of the top seller for popular items.
    pub score: f32,
    /// Why it was suggested.
    pub reason: Cow<'a, str>,
    /// The product it comes from (`also_bought`).
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub because: Cow<'a, str>,
    /// `buy_again`: days since the customer last bought it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_since_last: Option<f32>,
    /// `buy_again`: the usual gap between purchases, days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usual_gap_days: Option<f32>,
    /// `buy_again`: the usual gap in visits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usual_gap_orders: Option<f32>,
    /// Boosted by one of the store's promotions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promoted: bool,
}

/// Reads a `u32` given as a number or as a string of digits (a query-string parameter).
pub fn u32_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(u32),
        Text(String),
    }
    match Either::deserialize(d)? {
        Either::Number(n) => Ok(n),
        Either::Text(t) => t.trim().parse().map_err(|_| serde::de::Error::custom(format!("{t:?} is not a count"))),
    }
}

/// A value that is given when not negative.
pub fn given(v: f32) -> Option<f32> {
    (v >= 0.0).then_some(v)
}

/// `POST /v1/recommend` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendationJson<'a> {
    /// The model that answered.
    pub model_version: Cow<'a, str>,
    /// Suggestions, best first.
    pub items: Vec<ItemJson<'a>>,
    /// Server time spent, microseconds.
    pub took_us: u64,
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorJson {
    /// The model serving (empty when none).
    pub model_version: String,
    /// What went wrong.
    pub error: ErrorBody,
}

/// Code and message of an error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Protocol error code name, e.g. `UNKNOWN_AISLE`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}
