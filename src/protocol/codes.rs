//! The error codes every refusal carries (`Error.code`), mirrored from `enum ErrorCode` in
//! `proto/endcap.proto`, with their names on the wire schema and their metric labels. Numbers are
//! never reused (PROTOCOL.md section 4 says what a client should do about each).

/// Error codes (PROTOCOL.md says what a client should do about each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ErrorCode {
    /// Not set.
    Unspecified = 0,
    /// The frame is not a valid `Request`.
    MalformedRequest = 1,
    /// The frame is over the server's limit; the stream is closed after this answer.
    FrameTooLarge = 2,
    /// The request has no operation this server knows.
    UnknownOperation = 3,
    /// A field is out of range.
    InvalidArgument = 4,
    /// The zone is not configured.
    UnknownZone = 5,
    /// The aisle is not in the catalogue.
    UnknownAisle = 6,
    /// No model loaded yet.
    NotReady = 7,
    /// A server bug.
    Internal = 8,
    /// The server sheds load, or the device is over its rate limit.
    Overloaded = 9,
    /// The device's role may not call this operation (or not with these arguments).
    PermissionDenied = 10,
    /// A product id not in the served catalogue (events, similar, complete, bundles, audience).
    UnknownProduct = 11,
    /// A stated signal neither a rule nor the model knows.
    UnknownSignal = 12,
    /// The group asked about is smaller than the server's minimum (k-anonymity).
    GroupTooSmall = 13,
}

impl ErrorCode {
    /// The name in `proto/endcap.proto`.
    pub fn as_str_name(self) -> &'static str {
        match self {
            ErrorCode::Unspecified => "ERROR_CODE_UNSPECIFIED",
            ErrorCode::MalformedRequest => "MALFORMED_REQUEST",
            ErrorCode::FrameTooLarge => "FRAME_TOO_LARGE",
            ErrorCode::UnknownOperation => "UNKNOWN_OPERATION",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::UnknownZone => "UNKNOWN_ZONE",
            ErrorCode::UnknownAisle => "UNKNOWN_AISLE",
            ErrorCode::NotReady => "NOT_READY",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::Overloaded => "OVERLOADED",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::UnknownProduct => "UNKNOWN_PRODUCT",
            ErrorCode::UnknownSignal => "UNKNOWN_SIGNAL",
            ErrorCode::GroupTooSmall => "GROUP_TOO_SMALL",
        }
    }

    /// Lower-case label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            ErrorCode::Unspecified => "unspecified",
            ErrorCode::MalformedRequest => "malformed_request",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::UnknownOperation => "unknown_operation",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::UnknownZone => "unknown_zone",
            ErrorCode::UnknownAisle => "unknown_aisle",
            ErrorCode::NotReady => "not_ready",
            ErrorCode::Internal => "internal",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::UnknownProduct => "unknown_product",
            ErrorCode::UnknownSignal => "unknown_signal",
            ErrorCode::GroupTooSmall => "group_too_small",
        }
    }
}
