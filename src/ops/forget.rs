//! `forget`: a customer's right to be forgotten (ops devices only). The decision is journaled
//! first (so it survives a restart and reaches the next training run, which drops the customer's
//! rows); once the journal has it, the customer disappears from every answer at once (an erased
//! customer is served as an unknown one, also by the model kept for rollback) and their session is
//! dropped. The answer is an `EventsAck` with the journal sequence number.

use serde::Deserialize;

use super::{Cx, Form, OpError, Operation, Served, json};
use crate::engine::Scratch;
use crate::ids::MAX_ID_BYTES;
use crate::journal::{AppendError, Appended, Batch};
use crate::protocol::pb::{put_envelope, put_message_header, put_u64, u64_len};
use crate::protocol::{self, ErrorCode, WireError};
use crate::shoppers::record::{self, Decision};

/// `forget`.
pub struct Forget;

/// A privacy decision's arguments (`forget`, `opt_out`).
#[derive(Debug, Default)]
pub struct DecisionArgs {
    /// The customer.
    pub customer: String,
    /// `opt_out`: true to opt out, false to opt back in.
    pub out: bool,
    batch: Batch,
}

#[derive(Deserialize)]
struct DecisionBody {
    customer: String,
    #[serde(default = "yes")]
    out: bool,
}

fn yes() -> bool {
    true
}

/// Reads `{customer = 1, out = 2}`.
pub(super) fn decode(body: &[u8], a: &mut DecisionArgs) -> Result<(), WireError> {
    a.customer.clear();
    a.out = false;
    protocol::for_each_field(body, |tag, v| {
        match tag {
            1 => {
                a.customer.clear();
                a.customer.push_str(v.str(tag)?);
            }
            2 => a.out = v.varint(tag)? != 0,
            _ => {}
        }
        Ok(())
    })
}

/// Reads `{"customer": "c42", "out": true}` (`out` defaults to true).
pub(super) fn parse_json(body: &[u8], a: &mut DecisionArgs) -> Result<(), String> {
    let b: DecisionBody = serde_json::from_slice(body).map_err(|e| format!("request body is not valid: {e}"))?;
    a.customer = b.customer;
    a.out = b.out;
    Ok(())
}

/// Journals `decision` for the args' customer; the answer waits for the journal.
pub(super) fn journal(cx: &Cx<'_>, a: &mut DecisionArgs, decision: Decision) -> Result<Served, OpError> {
    let shoppers = cx.shoppers()?;
    if a.customer.is_empty() || a.customer.len() > MAX_ID_BYTES {
        return Err(OpError::new(ErrorCode::InvalidArgument, format!("customer must be 1 to {MAX_ID_BYTES} bytes")));
    }
    a.batch.clear();
    let ts_ms = (cx.now.unix_us / 1000) as i64;
    a.batch
        .push_with(|buf| record::encode_decision(buf, decision, &a.customer, ts_ms))
        .map_err(|e| OpError::new(ErrorCode::InvalidArgument, e.to_string()))?;
    match shoppers.submit(&a.batch) {
        Ok(ack) => Ok(Served::Wait(ack)),
        Err(AppendError::Overloaded { .. }) => {
            Err(OpError::new(ErrorCode::Overloaded, "the event journal is behind; retry shortly"))
        }
        Err(e) => Err(OpError::new(ErrorCode::Internal, format!("the event journal refused the decision: {e}"))),
    }
}

/// Applies `decision` once journaled and answers with its sequence number.
pub(super) fn applied(
    cx: &Cx<'_>,
    a: &DecisionArgs,
    decision: Decision,
    appended: Result<Appended, AppendError>,
    form: Form,
    out: &mut Vec<u8>,
) -> Result<(), OpError> {
    let appended = appended.map_err(|e| OpError::new(ErrorCode::Internal, format!("the event journal failed: {e}")))?;
    cx.shoppers()?.apply_decision(decision, &a.customer);
    match form {
        Form::Protobuf { id } => protocol::write_frame(out, |out| {
            put_envelope(id, cx.version(), out);
            put_message_header(13, u64_len(1, 1) + u64_len(2, appended.last_seq), out);
            put_u64(1, 1, out);
            put_u64(2, appended.last_seq, out);
        }),
        Form::Json => json::write(
            out,
            &serde_json::json!({ "customer": a.customer, "decision": decision_name(decision), "journal_seq": appended.last_seq }),
        ),
    }
    Ok(())
}

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Forget => "forgotten",
        Decision::OptOut => "opted_out",
        Decision::OptIn => "opted_in",
    }
}

impl Operation for Forget {
    type Args = DecisionArgs;

    fn decode(body: &[u8], a: &mut DecisionArgs) -> Result<(), WireError> {
        decode(body, a)
    }

    fn parse_json(body: &[u8], a: &mut DecisionArgs) -> Result<(), String> {
        parse_json(body, a)
    }

    fn serve(cx: &Cx<'_>, a: &mut DecisionArgs, _: &mut Scratch, _: Form, _: &mut Vec<u8>) -> Result<Served, OpError> {
        journal(cx, a, Decision::Forget)
    }

    fn complete(
        cx: &Cx<'_>,
        a: &mut DecisionArgs,
        appended: Result<Appended, AppendError>,
        form: Form,
        out: &mut Vec<u8>,
    ) -> Result<(), OpError> {
        applied(cx, a, Decision::Forget, appended, form, out)
    }
}
