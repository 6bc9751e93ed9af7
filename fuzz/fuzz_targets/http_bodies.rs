//! An HTTP JSON body, whatever its bytes, through `Service::handle_http` for every operation:
//! never panics; answers valid JSON or a coded error.
#![no_main]

use endcap::clock::Now;
use endcap::ops::{Caller, OpId, State};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let ops = OpId::ALL;
    let op = ops[pick as usize % ops.len()];
    let service = endcap_fuzz::service();
    let mut state = State::default();
    let mut out = Vec::new();
    if service.handle_http(Now::read(), Caller::OPEN, op, body, &mut state, &mut out).is_ok() {
        serde_json::from_slice::<serde_json::Value>(&out).expect("an answer is valid JSON");
    }
});
