//! Quarry's core: everything the front ends (the `quarry` CLI, the desktop
//! app, the server to come) call, and nothing they would each write again.
//!
//! - [`library`]: a [`Library`] is one folder — the catalog (`quarry-store`)
//!   and the indexes derived from it (`quarry-index`) — with its write path
//!   (files through `quarry-parse`, [`chunk`] and `quarry-embed` into the
//!   catalog) and its read path (hybrid search).
//! - [`session`]: the one answering session — a question's retrieval, the
//!   answer model loaded lazily on its own thread (`quarry-generate`), the
//!   streamed and checked answer ([`answer`]), and the conversation it is
//!   recorded in — as a stream of events.
//! - [`models`] finds model files and lists the answer models; [`watch`]
//!   watches added folders; [`eval`] measures retrieval; [`inspect`] and
//!   [`context`] explain and show a passage.
//!
//! The types front ends need from the crates beneath are re-exported here,
//! so a front end depends on this crate alone. `ARCHITECTURE.md` is the map.

pub mod answer;
pub mod chunk;
pub mod context;
pub mod eval;
pub mod inspect;
pub mod library;
pub mod models;
pub mod remote;
pub mod session;
pub mod watch;

pub use library::{
    default_cache_dir, default_config_dir, default_library_dir, embed_precision, recorded_embedder,
    AddOptions, AddReport, Candidates, CatalogRead, FileReport, Health, Library, LibraryError, LibraryInfo,
    LibraryResult, Outcome, PartHealth, Progress, SearchHit, SearchOptions, TextDocument, DEFAULT_PRECISION,
};

/// The catalog's rows as the read path returns them.
pub mod catalog {
    pub use quarry_store::{ChunkRecord, ConversationRow, DocStatus, DocumentRow, StoreError, TurnRow};
}

/// The embedder: identities, the trait and Quarry's encoder (the remote one
/// is in [`crate::remote`]).
pub mod embed {
    pub use quarry_embed::{
        bert::Precision, cosine, norm, EmbedError, Embedder, EmbedderIdentity, SentenceEncoder,
        TokenEmbeddingTable,
    };
}

/// How search merges its two rankings.
pub mod fusion {
    pub use quarry_index::fusion::{FusionConfig, FusionMethod, HitScores, Normalization};
}

/// The answer engine's vocabulary, for front ends that show or choose models.
pub mod generate {
    pub use quarry_generate::{
        inspect, load_cpu_backend, CpuBackend, Generation, GgufFacts, LlmError, Message, Role, StopReason,
    };
}

/// Document formats and extraction errors, for front ends that report them.
pub mod parse {
    pub use quarry_parse::{
        parser_running_on_this_thread, place, read_file, sandbox, unit_of, ExtractError, Extracted, Format,
    };
}
