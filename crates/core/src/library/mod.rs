//! A [`Library`] is one folder: `catalog.sqlite` (the source of truth),
//! `lexical/` (BM25) and `dense/` (HNSW), both derived from the catalog.
//!
//! The write path and the read path are kept apart, as milli keeps them:
//! - **writing** — [`Library::add`], [`Library::add_texts`],
//!   [`Library::remove`], [`Library::reembed`] (`ingest.rs`) — walks and
//!   plans a folder (`plan.rs`), runs the pipeline (`pipeline.rs`: extract →
//!   embed → one writer) and commits each file through the single writer
//!   (`writer.rs`), which owns the catalog's writing connection and the
//!   lexical index writer;
//! - **reading** — [`Library::search`], [`Library::candidates`] and
//!   [`Library::read`] (`search.rs`) — uses its own catalog connection, so
//!   searches run while an ingest commits.
//!
//! The derived indexes are kept in step with the catalog by `dense.rs` (the
//! HNSW graph: loaded, brought up to the catalog before each search,
//! compacted and saved) and `lexical.rs` (the BM25 index: reconciled by
//! chunk id, and the one place a chunk's lexical document is built). A kill
//! at any moment therefore loses at most the files in flight, which the next
//! `add` redoes.
//!
//! Invariant: the only module that wires parsing, chunking, embedding, the
//! catalog and the indexes together; it knows nothing of terminals,
//! windows or answers.

mod answering;
mod dense;
mod doctor;
mod ingest;
mod lexical;
mod pipeline;
mod plan;
mod search;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use quarry_embed::bert::Precision;
use quarry_embed::{EmbedError, Embedder, EmbedderIdentity};
use quarry_index::lexical::LexicalIndex;
use quarry_index::IndexError;
use quarry_parse::sandbox::Sandbox;
use quarry_store::{Catalog, CatalogReader, StoreError};

use crate::chunk::{ChunkError, Chunker};
use crate::models::ModelError;
pub use answering::Answering;
use dense::DenseIndex;
pub use doctor::{Health, PartHealth};
pub use ingest::{AddOptions, AddReport, FileReport, Outcome, Progress, TextDocument};
pub use search::{Candidates, CatalogRead, SearchHit, SearchOptions};

const CATALOG_FILE: &str = "catalog.sqlite";
const LEXICAL_DIR: &str = "lexical";
const DENSE_DIR: &str = "dense";

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Chunk(#[from] ChunkError),
    #[error("cannot use library folder {path}: {source}")]
    LibraryDir { path: PathBuf, source: std::io::Error },
    #[error(
        "the disk holding the library ({}) is full: free some space and try again; \
         nothing the library already held was lost",
        dir.display()
    )]
    DiskFull { dir: PathBuf },
    #[error(
        "the library ({}) is on a read-only file system: it can be searched, not changed",
        dir.display()
    )]
    ReadOnly { dir: PathBuf },
    #[error(
        "this library was indexed with {library}, but the current embedder is {current}; \
         run `quarry reembed` (with the same --embedder and --precision) to re-embed \
         its {chunks} chunks with the current one, or open it as it was made ({})",
        made_with(library)
    )]
    EmbedderMismatch {
        // Boxed: two identities would make every `Result` of the library large.
        library: Box<EmbedderIdentity>,
        current: Box<EmbedderIdentity>,
        chunks: u64,
    },
}

pub type LibraryResult<T> = Result<T, LibraryError>;

/// The flags that open a library with the embedder it was made with.
fn made_with(library: &EmbedderIdentity) -> String {
    match library.server() {
        Some(url) => format!("--embed-url {url}"),
        None => format!(
            "--embedder pointing at its model, --precision {}",
            library.precision
        ),
    }
}

/// Below this much free space, a failed write is put down to a full disk.
const FULL_DISK_BYTES: u64 = 1024 * 1024;

/// What the file system holding `dir` says of itself: `DiskFull` or
/// `ReadOnly`, or `None` when it can be written.
pub(crate) fn storage_trouble(dir: &Path) -> Option<LibraryError> {
    let fs = rustix::fs::statvfs(dir).ok()?;
    let dir = dir.to_path_buf();
    if fs.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY) {
        Some(LibraryError::ReadOnly { dir })
    } else if fs.f_bavail.saturating_mul(fs.f_frsize) < FULL_DISK_BYTES {
        Some(LibraryError::DiskFull { dir })
    } else {
        None
    }
}

/// When opening, writing or checking the library in `dir` failed, say so
/// plainly if the file system is full or mounted read-only: SQLite, tantivy
/// and the HNSW dump each word a full disk differently (or, like SQLite's
/// shared memory file, as a bare "disk I/O error"), while the file system's
/// own figures say it one way. Errors that name another cause (a damaged
/// or newer catalog, another writer, a model) are left as they are.
pub(crate) fn explain_storage<T>(dir: &Path, result: LibraryResult<T>) -> LibraryResult<T> {
    result.map_err(|error| {
        let names_its_cause = matches!(
            error,
            LibraryError::EmbedderMismatch { .. }
                | LibraryError::Model(_)
                | LibraryError::Embed(_)
                | LibraryError::Chunk(_)
                | LibraryError::Index(quarry_index::IndexError::WriterBusy)
                | LibraryError::Store(
                    StoreError::Damaged(_) | StoreError::NewerSchema { .. } | StoreError::Malformed(_)
                )
        );
        match names_its_cause {
            true => error,
            false => storage_trouble(dir).unwrap_or(error),
        }
    })
}

/// The platform's folder for the command line's own settings (the server's
/// token): `$XDG_CONFIG_HOME/quarry` on Linux.
pub fn default_config_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "quarry")
        .map(|d| d.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".quarry-config"))
}

/// The platform's cache folder (`$XDG_CACHE_HOME/quarry` on Linux), or
/// `QUARRY_CACHE_DIR`: what can be thrown away and rebuilt, such as the
/// answer model's saved prompt cache.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("QUARRY_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "quarry")
        .map(|d| d.cache_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".quarry-cache"))
}

/// The embedder the library in `dir` was made with, read without opening
/// it (`None`: no library there yet, or none that says).
pub fn recorded_embedder(dir: &Path) -> LibraryResult<Option<EmbedderIdentity>> {
    let catalog = dir.join(CATALOG_FILE);
    if !catalog.is_file() {
        return Ok(None);
    }
    Ok(CatalogReader::open(&catalog)?.embedder()?)
}

/// The precision new libraries are embedded at: int8 held every quality bar
/// (min cosine 0.9941 with f32 on 1,000 SciFact passages, dense nDCG@10
/// −0.0038, fused unchanged; BENCHMARKS.md) and indexes 2–3× faster.
pub const DEFAULT_PRECISION: Precision = Precision::Int8;

/// The precision the local encoder runs at for the library in `dir`:
/// `chosen` (a flag, a setting, `QUARRY_EMBED_PRECISION`) when there is one;
/// else the one the library's vectors were made at, so an existing library
/// opens without re-embedding; else [`DEFAULT_PRECISION`]. A library that
/// cannot be read here gets the default and says what is wrong when opened.
pub fn embed_precision(dir: &Path, chosen: Option<Precision>) -> Precision {
    if let Some(precision) = chosen {
        return precision;
    }
    match recorded_embedder(dir) {
        Ok(Some(identity)) if identity.server().is_none() => {
            identity.precision.parse().unwrap_or(DEFAULT_PRECISION)
        }
        _ => DEFAULT_PRECISION,
    }
}

/// The platform's data folder for the default library.
pub fn default_library_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "quarry")
        .map(|d| d.data_dir().join("library"))
        .unwrap_or_else(|| PathBuf::from(".quarry-library"))
}

#[derive(Debug, Clone)]
pub struct LibraryInfo {
    pub dir: PathBuf,
    pub embedder: EmbedderIdentity,
    pub documents: usize,
    pub chunks: u64,
    pub generation: u64,
    pub lexical_generation: Option<u64>,
    pub dense_vectors: usize,
    pub mismatch: Option<EmbedderIdentity>,
}

pub struct Library {
    dir: PathBuf,
    embedder: Arc<dyn Embedder>,
    chunker: Chunker,
    /// The write path's connection (ingest, removal, conversations) ...
    writer: Mutex<Catalog>,
    /// ... and the read path's: WAL lets them run at the same time.
    reader: Mutex<CatalogReader>,
    lexical: LexicalIndex,
    dense: DenseIndex,
    /// Set when the catalog's vectors come from another embedder.
    mismatch: RwLock<Option<EmbedderIdentity>>,
    /// Where files are parsed: worker processes with resource limits.
    sandbox: Sandbox,
    /// Why the dense dump on disk could not be used when the library was
    /// opened (it is damaged), if so: the graph was rebuilt from the catalog.
    dense_rebuilt_at_open: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Library {
    /// Open (or create) the library in `dir` for `embedder`. A library
    /// written by another embedder (other weights, engine or precision)
    /// opens, reports the mismatch, and refuses to add or search until
    /// [`Library::reembed`]: its vectors are never mixed with this one's.
    pub fn open(dir: &Path, embedder: Arc<dyn Embedder>) -> LibraryResult<Self> {
        explain_storage(dir, Self::open_here(dir, embedder))
    }

    fn open_here(dir: &Path, embedder: Arc<dyn Embedder>) -> LibraryResult<Self> {
        std::fs::create_dir_all(dir).map_err(|source| LibraryError::LibraryDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let catalog_path = dir.join(CATALOG_FILE);
        let writer = Catalog::open(&catalog_path)?;
        let reader = CatalogReader::open(&catalog_path)?;
        let current = embedder.identity().clone();
        let mismatch = match writer.embedder::<EmbedderIdentity>()? {
            None => {
                writer.set_embedder(&current)?;
                None
            }
            Some(stored) if stored.same_vectors(&current) => None,
            Some(stored) => Some(stored),
        };
        let mut library = Library {
            dir: dir.to_path_buf(),
            chunker: Chunker::new(embedder.tokenizer(), embedder.max_tokens())?,
            dense: DenseIndex::new(dir.join(DENSE_DIR), current.dimension),
            lexical: LexicalIndex::open(&dir.join(LEXICAL_DIR))?,
            embedder,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            mismatch: RwLock::new(mismatch),
            sandbox: Sandbox::discover(),
            dense_rebuilt_at_open: None,
        };
        if library.mismatch().is_none() {
            library.dense_rebuilt_at_open = library.dense.load(&current, &lock(&library.reader))?;
        }
        // Bringing a lagging lexical index up to the catalog writes; where
        // nothing can be written (a full disk) the library still opens and
        // searches (hits come from the catalog; the next add reconciles).
        if let Err(e) = lexical::sync_if_free(&library.lexical, &library.writer) {
            if storage_trouble(dir).is_none() {
                return Err(e);
            }
            tracing::warn!("the lexical index could not be brought up to the catalog: {e}");
        }
        Ok(library)
    }

    /// Where this library's files are parsed (worker processes, their limits).
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The SQLite catalog: the library's source of truth.
    pub fn catalog_path(&self) -> PathBuf {
        self.dir.join(CATALOG_FILE)
    }

    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// The catalog's writing connection, for the answering session's
    /// conversations (documents and chunks are written only by the write path).
    pub(crate) fn catalog_writer(&self) -> MutexGuard<'_, Catalog> {
        lock(&self.writer)
    }

    /// The embedder the catalog's vectors were made with, when it is not
    /// this library's current one (nothing is added or searched until
    /// [`Library::reembed`]).
    pub fn mismatch(&self) -> Option<EmbedderIdentity> {
        self.mismatch.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Adding and searching need the library's vectors to be this embedder's:
    /// [`LibraryError::EmbedderMismatch`], saying how to mend it, when not.
    pub fn ensure_same_embedder(&self) -> LibraryResult<()> {
        match self.mismatch() {
            None => Ok(()),
            Some(library) => Err(LibraryError::EmbedderMismatch {
                library: Box::new(library),
                current: Box::new(self.embedder.identity().clone()),
                chunks: lock(&self.reader).chunk_count()?,
            }),
        }
    }

    /// The catalog's chunks that dense search cannot reach: each chunk's
    /// stored vector is searched for, and those not found among its nearest
    /// are listed (none in a consistent library). What a check of a
    /// library after a crash asks of its dense index.
    pub fn dense_unreachable(&self) -> LibraryResult<Vec<u64>> {
        self.dense.unreachable(&lock(&self.reader))
    }

    pub fn info(&self) -> LibraryResult<LibraryInfo> {
        let reader = lock(&self.reader);
        Ok(LibraryInfo {
            dir: self.dir.clone(),
            embedder: self.embedder.identity().clone(),
            documents: reader.documents()?.len(),
            chunks: reader.chunk_count()?,
            generation: reader.generation()?,
            lexical_generation: self.lexical.generation()?,
            dense_vectors: self.dense.len(),
            mismatch: self.mismatch(),
        })
    }
}
