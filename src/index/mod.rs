//! Derived search indexes: dense (HNSW), lexical (BM25), and their fusion.
//!
//! Both indexes are caches of the catalog, keyed by chunk id, and each
//! records the catalog generation it reflects so that a stale or missing one
//! is detected and rebuilt from SQLite.
//!
//! Invariant: index never sees a model or a file; it takes vectors and text
//! and returns chunk ids with scores.

pub mod fusion;
pub mod lexical;
pub mod vector;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("lexical index: {0}")]
    Lexical(#[from] tantivy::TantivyError),
    #[error("lexical index query: {0}")]
    Query(String),
    #[error("the library is being written by another Quarry process; try again when it finishes")]
    WriterBusy,
    #[error("vector index at {path}: {detail}")]
    Vector {
        path: std::path::PathBuf,
        detail: String,
    },
    #[error("vector index I/O at {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}
