//! `ping`: liveness and round-trip time. Answered even before a model is loaded, with the server's
//! wall clock.

use serde::Serialize;

use super::{Cx, Form, OpError, Operation, Served, json};
use crate::engine::Scratch;
use crate::protocol::{self, WireError, pb};

/// `ping` (no arguments).
pub struct Ping;

/// The answer's field number in `Response.result`.
const PONG: u32 = 10;

#[derive(Serialize)]
struct PongJson<'a> {
    model_version: &'a str,
    server_time_us: u64,
}

impl Operation for Ping {
    type Args = ();

    fn decode(body: &[u8], _: &mut ()) -> Result<(), WireError> {
        // No fields; anything else is skipped (a newer client), but the bytes must be a message.
        protocol::for_each_field(body, |_, _| Ok(()))
    }

    fn parse_json(_: &[u8], _: &mut ()) -> Result<(), String> {
        Ok(())
    }

    fn serve(cx: &Cx<'_>, _: &mut (), _: &mut Scratch, form: Form, out: &mut Vec<u8>) -> Result<Served, OpError> {
        let server_time_us = cx.now.unix_us;
        match form {
            Form::Protobuf { id } => encode_pong(out, id, cx.version(), server_time_us),
            Form::Json => json::write(out, &PongJson { model_version: cx.version(), server_time_us }),
        }
        Ok(Served::Done)
    }
}

/// Appends a `Response{pong}` frame to `out`.
pub fn encode_pong(out: &mut Vec<u8>, id: u64, model_version: &str, server_time_us: u64) {
    protocol::write_frame(out, |out| {
        pb::put_envelope(id, model_version, out);
        pb::put_message_header(PONG, pb::u64_len(1, server_time_us), out);
        pb::put_u64(1, server_time_us, out);
    });
}
