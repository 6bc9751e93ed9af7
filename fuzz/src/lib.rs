//! What the fuzz targets share: a small served model (the demo store's planted vectors, built
//! once per process) and the shipped config, so the request targets run the real decode, engine
//! and encode paths.

use std::sync::{Arc, OnceLock};

use endcap::config::Config;
use endcap::demo::{self, DemoSpec};
use endcap::live::{Source, Trigger};
use endcap::model::{self, Model};
use endcap::service::Service;

/// The demo spec the targets serve: small enough to build in a fraction of a second.
pub const SPEC: DemoSpec = DemoSpec { products: 300, customers: 200, seed: 7, dim: 8 };

/// A valid artifact's bytes (seed for the model-file target's corpus).
pub fn artifact_bytes() -> Vec<u8> {
    let a = model::build(&demo::generate(&SPEC).model_input()).expect("demo model builds");
    let mut bytes = a.header();
    bytes.extend_from_slice(&a.body);
    bytes
}

/// A service serving the demo model with the shipped config (zones and rules).
pub fn service() -> &'static Arc<Service> {
    static SERVICE: OnceLock<Arc<Service>> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let service = Service::new(Config::parse(endcap::config::SHIPPED).expect("shipped config"));
        let model = Model::from_bytes(&artifact_bytes(), "fuzz").expect("valid");
        service.live.load(Source::loaded(model), Trigger::Start).expect("serves");
        service
    })
}
