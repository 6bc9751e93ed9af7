//! Adapters from sockets to `service`: QUIC (the binary protocol for devices) and HTTP/JSON
//! (terminals, scripts, ops). They own connection handling, limits and TLS; they hold no
//! recommendation logic.

pub mod browser;
pub mod console;
pub mod guards;
pub mod http;
pub mod limits;
pub mod listen;
pub mod mqtt;
pub mod quic;
pub mod tls;
