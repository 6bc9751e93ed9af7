//! `model_info`: the served model's description (version, sizes, index, source) and the reload
//! status (last load time, the version kept for rollback, refusals). Rare, so it is built with
//! prost and serde rather than by hand.

use prost::Message;

use super::{Cx, Form, OpError, Operation, Served, json};
use crate::engine::{Engine, Scratch};
use crate::live::Status;
use crate::protocol::{self, ModelInfo as ModelInfoMessage, Response, WireError, response};

/// `model_info` (no arguments).
pub struct ModelInfo;

fn unix_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The description of `engine`'s model with the reload `status`.
pub fn model_info(engine: &Engine, status: &Status) -> ModelInfoMessage {
    let m = engine.model();
    let man = m.manifest();
    ModelInfoMessage {
        model_version: man.model_version.clone(),
        format_version: man.format_version,
        dim: man.dim,
        products: man.counts.products,
        customers: man.counts.customers,
        signals: man.counts.signals,
        loaded_at_unix_ms: unix_ms(m.loaded_at()),
        source: m.source().to_string(),
        index: format!(
            "{} lists={} nprobe={} recall@10={:.3}",
            man.index.kind, man.index.lists, man.index.nprobe, man.index.recall_at_10
        ),
        built_by: man.built_by.clone(),
        last_load_us: status.last_took.as_micros() as u64,
        previous_version: status.previous.clone().unwrap_or_default(),
        refused_loads: status.refused,
        last_refusal: status.last_error.clone().unwrap_or_default(),
        last_good_fallback: status.last_good_fallback.clone().unwrap_or_default(),
    }
}

impl Operation for ModelInfo {
    type Args = ();

    fn decode(body: &[u8], _: &mut ()) -> Result<(), WireError> {
        protocol::for_each_field(body, |_, _| Ok(()))
    }

    fn parse_json(_: &[u8], _: &mut ()) -> Result<(), String> {
        Ok(())
    }

    fn serve(cx: &Cx<'_>, _: &mut (), _: &mut Scratch, form: Form, out: &mut Vec<u8>) -> Result<Served, OpError> {
        let info = model_info(cx.engine()?, &cx.live.status());
        match form {
            Form::Protobuf { id } => {
                let response = Response {
                    id,
                    model_version: info.model_version.clone(),
                    result: Some(response::Result::ModelInfo(info)),
                };
                protocol::write_frame(out, |out| response.encode_raw(out));
            }
            // Through a JSON value: its keys come out sorted, as they always have.
            Form::Json => json::write(out, &serde_json::to_value(&info).unwrap_or_default()),
        }
        Ok(Served::Done)
    }
}
