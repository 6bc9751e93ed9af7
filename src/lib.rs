//! endcap: an in-memory recommendation server for physical stores.
//!
//! The crate is layered so that dependencies point one way:
//! `transport` (QUIC, HTTP) -> `service` (operations, metrics) -> `engine` (recommend) ->
//! `index` (nearest-neighbour search) -> `model` (the artifact). The engine, index, model and
//! protocol codec are plain synchronous code with no I/O on the request path; see ARCHITECTURE.md.

pub mod ca;
pub mod client;
pub mod clock;
pub mod config;
pub mod data;
pub mod demo;
pub mod engine;
pub mod ids;
pub mod import;
pub mod index;
pub mod journal;
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
pub mod shoppers;
pub mod train;
pub mod transport;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Every `.rs` file under `dir`, recursively.
    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable source dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// STYLE.md's promises about files that a test can keep: every file opens with a `//!` doc
    /// saying why it exists, and none is over about 600 lines (data tables excepted).
    #[test]
    fn every_source_file_opens_with_a_module_doc_and_stays_small() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["src", "benches", "tests", "loadtest/src", "loadtest/tests"] {
            sources(&root.join(dir), &mut files);
        }
        assert!(files.len() > 50, "found only {} files", files.len());
        const DATA_TABLES: [&str; 1] = ["src/demo/tables.rs"];
        let mut problems = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).expect("readable");
            let name = f.strip_prefix(root).unwrap_or(f).display().to_string();
            if !text.starts_with("//!") {
                problems.push(format!("{name}: no `//!` module doc on its first line"));
            }
            let lines = text.lines().count();
            if lines > 650 && !DATA_TABLES.contains(&name.as_str()) {
                problems.push(format!("{name}: {lines} lines; split it along its sections"));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
