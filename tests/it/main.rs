//! Quarry's integration tests: one binary, modules by feature.
//!
//! Everything here is real: the all-MiniLM-L6-v2 weights (from `models/fetch`),
//! PDF/DOCX fixtures in `tests/data/fixtures/` (made by
//! `tests/data/make_fixtures.py`), files written by the tests, and SQLite,
//! tantivy and HNSW stores in temporary folders.

mod support;

mod answer;
mod cite;
mod cli;
mod compat;
mod crash;
mod damage;
mod edges;
mod embed;
mod eval;
mod exhaustion;
mod failpoints;
mod formats;
mod ingest;
mod library;
mod llm;
mod offline;
mod serve;
mod soak;
mod tidy;
mod torture;
