//! Quarry: private, offline document search and chat.
//!
//! Files go through [`ingest`] (text with page and section positions),
//! [`chunk`] (token-aware passages), [`embed`] (one vector per passage) into
//! the [`store`] catalog, from which the [`index`] module derives an HNSW and
//! a BM25 index; [`engine::Library`] wires them and is the API the CLI and the
//! desktop app call. `ARCHITECTURE.md` is the map.

pub mod answer;
pub mod chunk;
pub mod context;
pub mod embed;
pub mod engine;
pub mod eval;
pub mod index;
pub mod ingest;
pub mod inspect;
pub mod llm;
pub mod models;
pub mod store;
pub mod watch;

pub use engine::{
    AddOptions, AddReport, Candidates, EngineError, FileReport, Library, Outcome, Progress, SearchHit,
    SearchOptions, TextDocument,
};
pub use index::fusion::{FusionConfig, FusionMethod};
