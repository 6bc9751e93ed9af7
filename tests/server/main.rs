//! Integration tests: one real server on loopback (ephemeral ports) serving the default demo
//! store, exercised over real QUIC and real HTTP. One binary so the store is built once.

mod audience;
mod bad_input;
mod common;
mod console;
mod deploy;
mod events;
mod http;
mod mqtt;
mod quality;
mod quic;
mod reload;
mod spark;
mod store_ops;
mod threads;
mod trust;
