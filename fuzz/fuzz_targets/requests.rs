//! A QUIC request frame's payload, whatever its bytes, through `Service::handle_frame` (envelope,
//! the operation's decoder, the engine, the encoder): never panics, always answers with exactly one
//! valid `Response` frame.
#![no_main]

use endcap::clock::Now;
use endcap::ops::{Caller, State};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let service = endcap_fuzz::service();
    let mut state = State::default();
    let mut out = Vec::new();
    service.handle_frame(Now::read(), Caller::OPEN, data, &mut state, &mut out);
    let (used, err) = endcap::protocol::split_frames(&out, usize::MAX, |p| {
        endcap::protocol::decode_response(p).expect("the answer is a valid Response");
    });
    assert!(err.is_none() && used == out.len() && !out.is_empty(), "exactly whole frames");
});
