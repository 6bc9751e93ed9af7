//! `store`: the store's layout as this server serves it (the zones and their aisles, every aisle
//! of the served catalogue, the signals the model knows, the hard rules in force), so a device can
//! configure itself from the server instead of a copy of the config. Rare: built with prost and
//! serde.

use prost::Message;

use super::{Cx, Form, OpError, Operation, Served, json};
use crate::engine::Scratch;
use crate::protocol::{self, Response, StoreLayout, StoreRule, StoreZone, WireError, response};

/// `store` (no arguments).
pub struct Store;

/// The layout `cx` serves.
pub fn layout(cx: &Cx<'_>) -> Result<StoreLayout, OpError> {
    let engine = cx.engine()?;
    let data = engine.model().data();
    let names = &data.products.aisle_names;
    let aisles: Vec<String> = (0..names.len()).map(|i| names.get(i).to_string()).collect();
    let settings = cx.live.settings();
    let zones = settings
        .zones
        .iter()
        .map(|z| StoreZone {
            name: z.name.clone(),
            aisles: z.aisles.iter().filter(|a| aisles.contains(a)).cloned().collect(),
        })
        .collect();
    let signals = (0..data.signals.names.len()).map(|i| data.signals.names.get(i).to_string()).collect();
    let rules = settings
        .rules
        .iter()
        .map(|r| StoreRule { signal: r.signal.clone(), exclude_tags: r.exclude_tags.clone() })
        .collect();
    Ok(StoreLayout { zones, aisles, signals, rules })
}

impl Operation for Store {
    type Args = ();

    fn decode(body: &[u8], _: &mut ()) -> Result<(), WireError> {
        protocol::for_each_field(body, |_, _| Ok(()))
    }

    fn parse_json(_: &[u8], _: &mut ()) -> Result<(), String> {
        Ok(())
    }

    fn serve(cx: &Cx<'_>, _: &mut (), _: &mut Scratch, form: Form, out: &mut Vec<u8>) -> Result<Served, OpError> {
        let layout = layout(cx)?;
        match form {
            Form::Protobuf { id } => {
                let r = Response {
                    id,
                    model_version: cx.version().to_string(),
                    result: Some(response::Result::Store(layout)),
                };
                protocol::write_frame(out, |out| r.encode_raw(out));
            }
            Form::Json => {
                let mut doc = serde_json::to_value(&layout).unwrap_or_default();
                doc["model_version"] = cx.version().into();
                json::write(out, &doc);
            }
        }
        Ok(Served::Done)
    }
}
