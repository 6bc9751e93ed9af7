//! endcap: an in-memory recommendation server for physical stores.
//!
//! The crate is layered so that dependencies point one way:
//! `transport` (QUIC, HTTP) -> `service` (operations, metrics) -> `engine` (recommend) ->
//! `index` (nearest-neighbour search) -> `model` (the artifact). The engine, index, model and
//! protocol codec are plain synchronous code with no I/O on the request path; see ARCHITECTURE.md.

pub mod client;
pub mod clock;
pub mod config;
pub mod data;
pub mod demo;
pub mod engine;
pub mod ids;
pub mod index;
pub mod live;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod protocol;
pub mod rng;
pub mod rules;
pub mod runtime;
pub mod server;
pub mod service;
pub mod train;
pub mod transport;
