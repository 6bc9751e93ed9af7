//! The operations, one file each: its arguments, how they are read from the protobuf request and
//! from the HTTP JSON body, the call into the engine, and the answer in both forms.
//!
//! The list below (`operations!`) is the only place an operation is named: it gives the wire
//! number (`Request.op`), the metric label and the HTTP route, and generates the one dispatch
//! `match` that both transports go through, the per-stream argument buffers and the route table.
//! Adding an operation is one new file plus one line here (ARCHITECTURE.md has the recipe).
//!
//! Plain synchronous code: no I/O, no async; the caller passes the clock (`Now`). Errors are
//! answers with a code ([`OpError`]), never panics.

pub mod audience;
mod bundles;
mod complete;
mod events;
mod forget;
pub mod json;
mod model_info;
mod opt_out;
mod options;
mod ping;
mod recommend;
mod rerank;
pub mod segments;
mod similar;
mod store;

use std::time::Instant;

pub use crate::ca::{DeviceName, Role};
use crate::clock::Now;
use crate::engine::{Engine, EngineError, Scratch};
use crate::journal::{Ack, AppendError, Appended};
use crate::live::Live;
use crate::protocol::{ErrorCode, WireError};
use crate::shoppers::{Choice, Shoppers};

pub use model_info::ModelInfo;
pub use model_info::model_info;
pub use ping::Ping;
pub use recommend::{Recommend, RecommendArgs};

/// An operation: its arguments, how they are read, and how it is served.
pub trait Operation {
    /// The arguments, decoded into a buffer that a stream (or an HTTP worker thread) reuses, so
    /// that serving allocates nothing once the buffers have grown.
    type Args: Default + Send + 'static;

    /// Reads the operation's protobuf message (the body of its `Request.op` field) into `args`,
    /// overwriting every field.
    fn decode(body: &[u8], args: &mut Self::Args) -> Result<(), WireError>;

    /// Reads an HTTP JSON body into `args`, overwriting every field (GET operations ignore it).
    fn parse_json(body: &[u8], args: &mut Self::Args) -> Result<(), String>;

    /// Runs the operation and appends its answer to `out` in `form` (on error `out` is
    /// untouched), or hands back a journal acknowledgement to wait for (`Served::Wait`): then
    /// [`complete`](Self::complete) writes the answer once it has resolved.
    fn serve(
        cx: &Cx<'_>,
        args: &mut Self::Args,
        s: &mut Scratch,
        form: Form,
        out: &mut Vec<u8>,
    ) -> Result<Served, OpError>;

    /// Writes the answer of an operation that waited for the journal, with what the journal said.
    fn complete(
        cx: &Cx<'_>,
        args: &mut Self::Args,
        appended: Result<Appended, AppendError>,
        form: Form,
        out: &mut Vec<u8>,
    ) -> Result<(), OpError> {
        let _ = (cx, args, appended, form, out);
        Err(OpError::new(ErrorCode::Internal, "this operation does not wait for the journal"))
    }
}

/// What serving an operation came to.
#[derive(Debug)]
pub enum Served {
    /// The answer is written.
    Done,
    /// The answer waits for this journal acknowledgement (events, privacy decisions).
    Wait(Ack),
}

/// An operation waiting for the journal: what to finish once the acknowledgement resolves.
#[derive(Debug)]
pub struct Pending {
    /// The operation.
    pub op: OpId,
    /// How its answer is written.
    pub form: Form,
    /// What it waits for.
    pub ack: Ack,
}

/// How a request arrived, so how its answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// QUIC: a `Response` frame answering request `id`.
    Protobuf {
        /// The request's id, echoed.
        id: u64,
    },
    /// HTTP: a JSON document.
    Json,
}

/// A request's body, in its transport's encoding.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// The operation's protobuf message.
    Protobuf {
        /// The request's id.
        id: u64,
        /// The message bytes.
        body: &'a [u8],
    },
    /// An HTTP JSON body (empty for GET).
    Json(&'a [u8]),
}

/// HTTP methods of the route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// No body.
    Get,
    /// A JSON body.
    Post,
}

/// Who is calling: the device's role from its certificate, or `None` on a server that does not
/// authenticate devices (no `server.client_ca`: the demo on loopback), where every operation is
/// open; and the device's name, when its certificate gave one (audiences are counted by it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caller {
    /// The device's role.
    pub role: Option<Role>,
    /// The device's name from its certificate; `None` without one.
    pub device: Option<DeviceName>,
}

impl Caller {
    /// An unauthenticated caller on an open server.
    pub const OPEN: Caller = Caller { role: None, device: None };

    /// A caller with `role` and no device name (local tools, anonymous devices, the bus).
    pub const fn role(role: Role) -> Caller {
        Caller { role: Some(role), device: None }
    }

    /// True when the caller may call `op` at all (an operation may refuse some arguments too).
    #[inline]
    pub fn may(self, op: OpId) -> bool {
        self.role.is_none_or(|r| op.allows(r))
    }
}

/// What every operation gets besides its arguments: the engine loaded for this request (one
/// atomic pointer read, done by the caller), the lifecycle for status, the caller and the clock.
#[derive(Clone, Copy)]
pub struct Cx<'a> {
    /// The engine serving this request, `None` before the first model.
    pub engine: Option<&'a Engine>,
    /// The model lifecycle (status for `model_info`).
    pub live: &'a Live,
    /// Who is calling.
    pub caller: Caller,
    /// The live half (sessions, privacy, the journal); `None` when the server has no journal.
    pub shoppers: Option<&'a Shoppers>,
    /// When the request arrived.
    pub now: Now,
}

impl<'a> Cx<'a> {
    /// The live half, or `NOT_READY` when the server has no event journal.
    pub fn shoppers(&self) -> Result<&'a Shoppers, OpError> {
        self.shoppers.ok_or_else(|| OpError::new(ErrorCode::NotReady, "this server has no event journal"))
    }

    /// The engine, or `NOT_READY`.
    #[inline]
    pub fn engine(&self) -> Result<&'a Engine, OpError> {
        self.engine.ok_or_else(|| OpError::new(ErrorCode::NotReady, "no model is loaded yet"))
    }

    /// The served model's version ("" before the first model).
    #[inline]
    pub fn version(&self) -> &'a str {
        self.engine.map_or("", Engine::version)
    }

    /// `PERMISSION_DENIED` for what the caller's role may not ask.
    pub fn denied(&self, what: &str) -> OpError {
        let role = self.caller.role.map_or("unauthenticated", Role::name);
        OpError::new(ErrorCode::PermissionDenied, format!("a {role} device may not {what}"))
    }

    /// The customer id to serve personally: `customer`, or "" (an anonymous shopper) for one who
    /// opted out or was forgotten, so they are never served from their own vector.
    #[inline]
    pub fn personal<'c>(&self, customer: &'c str) -> &'c str {
        if customer.is_empty() {
            return customer;
        }
        match self.shoppers.map_or(Choice::None, |s| s.privacy.choice(customer)) {
            Choice::None => customer,
            Choice::OptedOut | Choice::Erased => "",
        }
    }

    /// True when `customer` opted out of personalisation (served from their segment).
    pub fn opted_out(&self, customer: &str) -> bool {
        !customer.is_empty() && self.shoppers.is_some_and(|s| s.privacy.choice(customer) == Choice::OptedOut)
    }

    /// True when the answer for `customer` goes to a public device (an in-aisle screen or a
    /// beacon, whose answers passers-by see): it then must not tell whether the id is known, why
    /// each item was chosen (`because you bought ...`) or which rules apply (PROTOCOL.md,
    /// "Privacy of answers"). Terminals, ops devices and an open server get the full answer.
    #[inline]
    pub fn conceals(&self, customer: &str) -> bool {
        matches!(self.caller.role, Some(Role::Screen | Role::Beacon)) && !customer.is_empty()
    }

    /// Microseconds since the request arrived.
    #[inline]
    pub fn took_us(&self) -> u64 {
        Instant::now().saturating_duration_since(self.now.at).as_micros() as u64
    }
}

/// A refused request: a code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// The wire code (PROTOCOL.md says what a client should do about it).
    pub code: ErrorCode,
    /// What was wrong, for people.
    pub message: String,
}

impl OpError {
    /// A refusal with `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> OpError {
        OpError { code, message: message.into() }
    }
}

/// Overwrites `s` with `v` (a repeated scalar field: the last one wins, as in protobuf).
#[inline]
pub(crate) fn set(s: &mut String, v: &str) {
    s.clear();
    s.push_str(v);
}

/// Longest zone or aisle name accepted, bytes.
pub const MAX_NAME_BYTES: usize = 128;

/// `INVALID_ARGUMENT` unless the name `what` is at most [`MAX_NAME_BYTES`] (so that no error
/// message echoes more than that).
pub fn check_name(what: &str, name: &str) -> Result<(), OpError> {
    if name.len() > MAX_NAME_BYTES {
        return Err(OpError::new(
            ErrorCode::InvalidArgument,
            format!("{what} name is longer than {MAX_NAME_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// `INVALID_ARGUMENT` unless every id in `ids` is at most [`crate::ids::MAX_ID_BYTES`].
pub fn check_ids(what: &str, ids: &crate::ids::IdList) -> Result<(), OpError> {
    if ids.longest() > crate::ids::MAX_ID_BYTES {
        let msg = format!("a {what} id is longer than {} bytes", crate::ids::MAX_ID_BYTES);
        return Err(OpError::new(ErrorCode::InvalidArgument, msg));
    }
    Ok(())
}

impl From<EngineError> for OpError {
    fn from(e: EngineError) -> OpError {
        let code = match e {
            EngineError::UnknownZone(_) => ErrorCode::UnknownZone,
            EngineError::UnknownAisle(_) => ErrorCode::UnknownAisle,
            EngineError::UnknownProduct(_) => ErrorCode::UnknownProduct,
            EngineError::UnknownSignal(_) => ErrorCode::UnknownSignal,
            EngineError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            EngineError::GroupTooSmall(_) => ErrorCode::GroupTooSmall,
        };
        OpError { code, message: e.to_string() }
    }
}

/// A stream's (or an HTTP worker's) reusable state: every operation's arguments, the engine's
/// scratch buffers, and the operation waiting for the journal, if one is.
#[derive(Debug, Default)]
pub struct State {
    /// Per-operation argument buffers.
    pub args: Args,
    /// The engine's buffers; its `trace` says how the last request was answered.
    pub scratch: Scratch,
    /// An operation whose answer waits for the journal (set by `serve`, taken by `complete`).
    pub pending: Option<Pending>,
}

/// Checks the caller's role, decodes `body` into `args` and serves operation `T`.
fn run<T: Operation>(
    op: OpId,
    body: Body<'_>,
    args: &mut T::Args,
    cx: &Cx<'_>,
    s: &mut Scratch,
    out: &mut Vec<u8>,
) -> Result<Served, OpError> {
    if !cx.caller.may(op) {
        return Err(cx.denied(&format!("call {}", op.label())));
    }
    let form = match body {
        Body::Protobuf { id, body } => {
            T::decode(body, args).map_err(|e| {
                OpError::new(
                    ErrorCode::MalformedRequest,
                    format!("request frame is not a valid endcap.v1.Request: {e}"),
                )
            })?;
            Form::Protobuf { id }
        }
        Body::Json(bytes) => {
            T::parse_json(bytes, args).map_err(|m| OpError::new(ErrorCode::MalformedRequest, m))?;
            Form::Json
        }
    };
    T::serve(cx, args, s, form, out)
}

/// Declares the operations:
/// `Variant = wire number, "label", METHOD "/http/path", [roles allowed] => module::Type;`.
macro_rules! operations {
    ($( $(#[$doc:meta])* $variant:ident = $tag:literal, $label:literal, $method:ident $path:literal, [$($role:ident),*] => $module:ident :: $ty:ident; )*) => {
        /// Every operation, numbered for metrics; `Invalid` (a request whose operation could not be
        /// told) comes last.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum OpId {
            $( $(#[$doc])* $variant, )*
            /// A request whose operation could not be told (malformed, oversize, unknown).
            Invalid,
        }

        impl OpId {
            /// Every operation, `Invalid` last.
            pub const ALL: &'static [OpId] = &[$(OpId::$variant,)* OpId::Invalid];
            /// Metric labels, indexed by `OpId as usize`.
            pub const LABELS: &'static [&'static str] = &[$($label,)* "invalid"];

            /// The metric label (also the operation's name in the CLI and docs).
            pub fn label(self) -> &'static str {
                Self::LABELS[self as usize]
            }

            /// The operation with wire number `tag` (`Request.op`), if this server knows it.
            #[inline]
            pub fn from_tag(tag: u32) -> Option<OpId> {
                match tag {
                    $( $tag => Some(OpId::$variant), )*
                    _ => None,
                }
            }

            /// True when a device with `role` may call the operation.
            pub fn allows(self, role: Role) -> bool {
                match self {
                    $( OpId::$variant => matches!(role, $(Role::$role)|*), )*
                    OpId::Invalid => true,
                }
            }

            /// The wire number (`Request.op` and the answer's `Response.result`), 0 for `Invalid`.
            pub fn tag(self) -> u32 {
                match self {
                    $( OpId::$variant => $tag, )*
                    OpId::Invalid => 0,
                }
            }
        }

        impl OpId {
            /// The operation's HTTP route: (method, path); `None` for `Invalid`.
            pub fn http_route(self) -> Option<(Method, &'static str)> {
                HTTP_ROUTES.iter().find(|r| r.0 == self).map(|r| (r.1, r.2))
            }
        }

        /// The HTTP route of every operation: (operation, method, path).
        pub const HTTP_ROUTES: &[(OpId, Method, &str)] = &[$( (OpId::$variant, Method::$method, $path), )*];

        /// Each operation's reusable arguments.
        #[derive(Debug, Default)]
        pub struct Args {
            $( $module: <$module::$ty as Operation>::Args, )*
        }

        /// Serves operation `op` from `body` into `out`: the one dispatch both transports use.
        #[inline]
        pub fn serve(op: OpId, body: Body<'_>, cx: &Cx<'_>, state: &mut State, out: &mut Vec<u8>) -> Result<Served, OpError> {
            match op {
                $( OpId::$variant => run::<$module::$ty>(op, body, &mut state.args.$module, cx, &mut state.scratch, out), )*
                OpId::Invalid => Err(OpError::new(
                    ErrorCode::UnknownOperation,
                    "the request carries no operation this server knows (newer client?)",
                )),
            }
        }

        /// Finishes `op` after its journal acknowledgement resolved.
        pub fn complete(
            op: OpId,
            cx: &Cx<'_>,
            state: &mut State,
            appended: Result<Appended, AppendError>,
            form: Form,
            out: &mut Vec<u8>,
        ) -> Result<(), OpError> {
            match op {
                $( OpId::$variant => <$module::$ty as Operation>::complete(cx, &mut state.args.$module, appended, form, out), )*
                OpId::Invalid => Err(OpError::new(ErrorCode::Internal, "nothing to complete")),
            }
        }
    };
}

operations! {
    /// Liveness and round-trip time; answered before a model is loaded.
    Ping = 10, "ping", Get "/v1/ping", [Screen, Beacon, Terminal, Ops] => ping::Ping;
    /// The served model's description and reload status.
    ModelInfo = 11, "model_info", Get "/v1/model", [Screen, Beacon, Terminal, Ops] => model_info::ModelInfo;
    /// Products for a shopper, here, now (a beacon: anonymous shoppers only).
    Recommend = 12, "recommend", Post "/v1/recommend", [Screen, Beacon, Terminal, Ops] => recommend::Recommend;
    /// Shopper events, journaled, then applied to sessions.
    Events = 13, "events", Post "/v1/events", [Screen, Beacon, Terminal, Ops] => events::Events;
    /// Forget a customer (erasure).
    Forget = 14, "forget", Post "/v1/forget", [Ops] => forget::Forget;
    /// A customer opts out of personalisation, or back in.
    OptOut = 15, "opt_out", Post "/v1/opt-out", [Terminal, Ops] => opt_out::OptOut;
    /// The store's layout: zones, aisles, signals, rules.
    Store = 16, "store", Get "/v1/store", [Screen, Beacon, Terminal, Ops] => store::Store;
    /// Substitutes for a product (a beacon: without a customer).
    Similar = 17, "similar", Post "/v1/similar", [Screen, Beacon, Terminal, Ops] => similar::Similar;
    /// What goes with a basket (a beacon: without a customer).
    Complete = 18, "complete", Post "/v1/complete", [Screen, Beacon, Terminal, Ops] => complete::Complete;
    /// A product's bundle partners with support, confidence and lift (sales figures: ops only).
    Bundles = 19, "bundles", Get "/v1/bundles", [Ops] => bundles::Bundles;
    /// Products a screen can show, in the shopper's order (a beacon: without a customer).
    Rerank = 20, "rerank", Post "/v1/rerank", [Screen, Beacon, Terminal, Ops] => rerank::Rerank;
    /// Who buys a product, and what type of customer they are (ops, marketing).
    Audience = 21, "audience", Post "/v1/audience", [Ops] => audience::Audience;
    /// The customer segments: size, best sellers, over-represented signals (ops, marketing).
    Segments = 22, "segments", Get "/v1/segments", [Ops] => segments::Segments;
}

impl OpId {
    /// Operations counted in `/metrics` by caller (role and device name) as well: those that
    /// describe customers rather than serve a shopper.
    pub fn counted_by_caller(self) -> bool {
        matches!(self, OpId::Audience | OpId::Segments)
    }
}

#[cfg(test)]
mod audience_tests;
#[cfg(test)]
mod tests;
