//! Derived search indexes: dense ([`vector`], HNSW), lexical ([`lexical`],
//! BM25), their [`fusion`], and the text analyser ([`lexical::analyze`]) that
//! BM25, the relevance test and the citation check share, so a word is the
//! same term everywhere.
//!
//! Both indexes are caches of the catalog that the core crate keeps them in
//! step with, keyed by chunk id; each records the catalog generation it
//! reflects (a number its caller gives it), so a stale or missing one is
//! detected and rebuilt.
//!
//! Invariant: index never sees a model, a file or the catalog: vectors and
//! text in, chunk ids and scores out.

pub mod fusion;
pub mod lexical;
pub mod vector;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("lexical index: {0}")]
    Lexical(#[from] tantivy::TantivyError),
    #[error("the library is being written by another Quarry process; try again when it finishes")]
    WriterBusy,
    #[error("the lexical index's folder cannot be written (a read-only file system, or a folder this user may not write)")]
    ReadOnly,
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
