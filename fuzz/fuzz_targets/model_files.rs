//! A model file, whatever its bytes, through the validating loader: never panics; a model that
//! loads can be served (an engine built on it answers).
#![no_main]

use endcap::engine::{Engine, EngineSettings, Query, Scratch};
use endcap::model::Model;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = Model::from_bytes(data, "fuzz") {
        let settings = EngineSettings::default();
        if let Ok(engine) = Engine::new(model, &settings) {
            let mut s = Scratch::default();
            let first = engine.model().data().customers.ids.id(0).to_string();
            let _ = engine.recommend(&Query { customer: &first, k: 5, ..Query::default() }, &mut s);
        }
    }
});
