//! `audience`: who buys a product (one, several, or an aisle), optionally among the customers of
//! some signals or a segment, and what type of customer they are. An ops/marketing operation
//! (ops devices only). The engine's `audience` does the work (rules in reverse, k-anonymity);
//! this file reads the request, withholds erased and opted-out customers, and writes the answer.

use serde::Deserialize;

use super::{Cx, Form, OpError, Operation, Served, json};
use crate::engine::{AudienceQuery, Engine, Scratch};
use crate::ids::IdList;
use crate::protocol::{
    self, Audience as AudienceMessage, AudienceMember, CustomerType, GroupRef, MemberRef, SegmentShare, ShareRef,
    SignalShare, WireError,
};
use crate::shoppers::Choice;

/// `audience`.
pub struct Audience;

/// `audience`'s arguments (`AudienceRequest`); empty strings mean "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AudienceArgs {
    /// One product id.
    pub product: String,
    /// Several product ids.
    pub products: IdList,
    /// An aisle name.
    pub aisle: String,
    /// Customers wanted; 0 = the server default.
    pub k: u32,
    /// Signals every customer must carry.
    pub signals: IdList,
    /// Only this segment.
    pub segment: Option<u32>,
}

/// `POST /v1/audience` body. Unknown fields are ignored, as protobuf skips unknown fields.
#[derive(Debug, Deserialize)]
struct AudienceBody {
    #[serde(default)]
    product: String,
    #[serde(default)]
    products: Vec<String>,
    #[serde(default)]
    aisle: String,
    #[serde(default)]
    k: u32,
    #[serde(default)]
    signals: Vec<String>,
    #[serde(default)]
    segment: Option<u32>,
}

/// Overwrites `s` with `v` (a repeated scalar field: the last one wins, as in protobuf).
#[inline]
fn set(s: &mut String, v: &str) {
    s.clear();
    s.push_str(v);
}

impl Operation for Audience {
    type Args = AudienceArgs;

    fn decode(body: &[u8], a: &mut AudienceArgs) -> Result<(), WireError> {
        a.product.clear();
        a.products.clear();
        a.aisle.clear();
        a.k = 0;
        a.signals.clear();
        a.segment = None;
        protocol::for_each_field(body, |tag, v| {
            match tag {
                1 => set(&mut a.product, v.str(tag)?),
                2 => a.products.push(v.str(tag)?),
                3 => set(&mut a.aisle, v.str(tag)?),
                4 => a.k = v.varint(tag)? as u32,
                5 => a.signals.push(v.str(tag)?),
                6 => a.segment = Some(v.varint(tag)? as u32),
                _ => {}
            }
            Ok(())
        })
    }

    fn parse_json(body: &[u8], a: &mut AudienceArgs) -> Result<(), String> {
        let b: AudienceBody =
            serde_json::from_slice(body).map_err(|e| format!("request body is not a valid audience request: {e}"))?;
        a.product = b.product;
        a.products = b.products.iter().collect();
        a.aisle = b.aisle;
        a.k = b.k;
        a.signals = b.signals.iter().collect();
        a.segment = b.segment;
        Ok(())
    }

    fn serve(
        cx: &Cx<'_>,
        a: &mut AudienceArgs,
        s: &mut Scratch,
        form: Form,
        out: &mut Vec<u8>,
    ) -> Result<Served, OpError> {
        super::check_name("aisle", &a.aisle)?;
        super::check_ids("product", &a.products)?;
        let engine = cx.engine()?;
        let q = AudienceQuery {
            product: &a.product,
            products: &a.products,
            aisle: &a.aisle,
            k: a.k,
            signals: &a.signals,
            segment: a.segment,
        };
        // Erased and opted-out customers are never in an audience.
        let privacy = cx.shoppers.map(|sh| &sh.privacy);
        let withheld = |id: &str| privacy.is_some_and(|p| p.choice(id) != Choice::None);
        engine.audience(&q, withheld, s)?;
        write_audience(cx, engine, s, form, out);
        Ok(Served::Done)
    }
}

/// Appends the audience in `s` as a `Response{audience}` frame (written from borrowed model
/// strings, no allocation) or as its JSON document.
pub fn write_audience(cx: &Cx<'_>, engine: &Engine, s: &Scratch, form: Form, out: &mut Vec<u8>) {
    let a = s.audience();
    let members = a.members.iter().map(|&(score, row)| MemberRef {
        customer_id: engine.customer_id(row),
        score,
        segment: engine.customer_segment(row),
    });
    let signals = a.signals.iter().map(|l| ShareRef {
        signal: engine.signal_name(l.group),
        segment: 0,
        count: l.count,
        share: l.share,
        overall: l.overall,
        lift: l.lift,
    });
    let segments = a.segments.iter().map(|l| ShareRef {
        signal: "",
        segment: l.group,
        count: l.count,
        share: l.share,
        overall: l.overall,
        lift: l.lift,
    });
    let group =
        GroupRef { size: a.members.len() as u32, population: engine.customers() as u64, min_group: engine.min_group() };
    match form {
        Form::Protobuf { id } => {
            protocol::encode_audience(out, id, engine.version(), members, group, signals, segments, cx.took_us())
        }
        Form::Json => {
            let answer = AudienceMessage {
                customers: members
                    .map(|m| AudienceMember { customer_id: m.customer_id.into(), score: m.score, segment: m.segment })
                    .collect(),
                customer_type: Some(CustomerType {
                    size: group.size,
                    population: group.population,
                    min_group: group.min_group,
                    signals: signals
                        .map(|l| SignalShare {
                            signal: l.signal.into(),
                            count: l.count,
                            share: l.share,
                            overall: l.overall,
                            lift: l.lift,
                        })
                        .collect(),
                    segments: segments
                        .map(|l| SegmentShare {
                            segment: l.segment,
                            count: l.count,
                            share: l.share,
                            overall: l.overall,
                            lift: l.lift,
                        })
                        .collect(),
                }),
                took_us: cx.took_us(),
            };
            json::write(out, &audience_json(engine.version(), &answer));
        }
    }
}

/// The JSON document of an audience answer (the server's HTTP answer and `endcap query --json`).
pub fn audience_json(model_version: &str, answer: &AudienceMessage) -> serde_json::Value {
    let mut doc = serde_json::json!({ "model_version": model_version });
    if let (Some(obj), Ok(serde_json::Value::Object(fields))) = (doc.as_object_mut(), serde_json::to_value(answer)) {
        obj.extend(fields);
    }
    doc
}
