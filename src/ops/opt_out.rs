//! `opt_out`: a customer opts out of personalisation (`out = true`) or back in (terminals at the
//! till, ops). Journaled first like `forget`; once journaled the customer is served by segment and
//! popularity only, never from their own vector, and their events are no longer kept.

use super::forget::{self, DecisionArgs};
use super::{Cx, Form, OpError, Operation, Served};
use crate::engine::Scratch;
use crate::journal::{AppendError, Appended};
use crate::protocol::WireError;
use crate::shoppers::record::Decision;

/// `opt_out`.
pub struct OptOut;

fn decision(a: &DecisionArgs) -> Decision {
    if a.out { Decision::OptOut } else { Decision::OptIn }
}

impl Operation for OptOut {
    type Args = DecisionArgs;

    fn decode(body: &[u8], a: &mut DecisionArgs) -> Result<(), WireError> {
        forget::decode(body, a)
    }

    fn parse_json(body: &[u8], a: &mut DecisionArgs) -> Result<(), String> {
        forget::parse_json(body, a)
    }

    fn serve(cx: &Cx<'_>, a: &mut DecisionArgs, _: &mut Scratch, _: Form, _: &mut Vec<u8>) -> Result<Served, OpError> {
        let d = decision(a);
        forget::journal(cx, a, d)
    }

    fn complete(
        cx: &Cx<'_>,
        a: &mut DecisionArgs,
        appended: Result<Appended, AppendError>,
        form: Form,
        out: &mut Vec<u8>,
    ) -> Result<(), OpError> {
        let d = decision(a);
        forget::applied(cx, a, d, appended, form, out)
    }
}
