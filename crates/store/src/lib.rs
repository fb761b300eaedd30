//! The SQLite catalog: the library's source of truth.
//!
//! Tables: `meta` (schema version, embedder identity, write generation),
//! `documents` (path, content hash, size, mtime, status, error), `document_text`
//! (the extracted text and its page/section positions, for citations),
//! `chunks` (text, byte span, page, section, token count, vector), `roots`
//! (folders the user added), `excluded` (what the user removed from inside a
//! root), and `conversations` with their `turns`. The HNSW and BM25 indexes
//! are derived from it by the core crate and record the `generation` they
//! reflect.
//!
//! Two handles, so that who may write is a type, not a convention:
//! [`Catalog`] is the one writer (it reads too, through [`CatalogReader`],
//! which it dereferences to) and [`CatalogReader`] only reads. Every write
//! that changes what search can return happens in one transaction that also
//! bumps `generation`, so a kill at any moment leaves either the old or the
//! new version of a document, never a mix.
//!
//! Invariant: store knows nothing of parsing, models or the derived indexes.
//! It keeps parse's position types (`PageSpan`, `Section`) and the embedder's
//! identity as data (the identity as JSON of the caller's type), and vectors
//! as opaque `f32` arrays.

use std::path::Path;

use rusqlite::Connection;

use quarry_parse::{PageSpan, Section};

mod conversations;
mod read;
mod schema;
mod write;
pub use conversations::{ConversationRow, TurnRow};
pub use schema::SCHEMA_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("catalog database error: {0}")]
    Sqlite(rusqlite::Error),
    /// SQLite says the file is not a database or is corrupt: nothing in it
    /// can be trusted, and nothing is written to it.
    #[error(
        "the catalog (catalog.sqlite) is damaged: {0}. This library cannot be read; restore \
         catalog.sqlite from a backup, or move the library folder aside and add your documents again \
         (the documents themselves are untouched)"
    )]
    Damaged(String),
    #[error("this library was written by a newer Quarry (schema {found}, this build knows {known})")]
    NewerSchema { found: i64, known: i64 },
    #[error("catalog holds malformed data: {0}")]
    Malformed(String),
    #[error("re-embedding stopped: {0}")]
    Reembed(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => {
                StoreError::Damaged("it is not an SQLite database".into())
            }
            Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
                StoreError::Damaged("SQLite reports it malformed".into())
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocStatus {
    Indexed,
    Failed,
}

impl DocStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DocStatus::Indexed => "indexed",
            DocStatus::Failed => "failed",
        }
    }
    pub(crate) fn parse(s: &str) -> Self {
        if s == "indexed" {
            DocStatus::Indexed
        } else {
            DocStatus::Failed
        }
    }
}

/// What the catalog knows of a file, used to skip unchanged ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i64,
    pub content_sha256: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DocumentRow {
    pub id: i64,
    pub path: String,
    pub format: Option<String>,
    pub title: Option<String>,
    pub status: DocStatus,
    pub error: Option<String>,
    pub size: u64,
    pub mtime_ns: i64,
    pub content_sha256: Option<String>,
    pub chunk_count: u64,
    /// Pages (slides, sheets, messages: the format's unit) the text holds;
    /// 0 for formats without units.
    pub units: u64,
    /// Of those, the ones read by OCR.
    pub ocr_units: u64,
}

/// A chunk to insert: positions, text and vector.
pub struct NewChunk<'a> {
    pub ordinal: usize,
    pub start: usize,
    pub end: usize,
    pub page: Option<u32>,
    pub section: Option<&'a str>,
    pub text: &'a str,
    pub token_count: usize,
    pub vector: &'a [f32],
    /// The text was recognised by OCR.
    pub ocr: bool,
}

/// A document's new indexed version.
pub struct NewDocument<'a> {
    pub path: &'a str,
    pub facts: &'a FileFacts,
    pub format: &'a str,
    pub title: Option<&'a str>,
    pub text: &'a str,
    pub pages: &'a [PageSpan],
    pub sections: &'a [Section],
}

/// A stored chunk with the facts a search hit shows.
#[derive(Debug, Clone)]
pub struct ChunkRecord {
    pub chunk_id: u64,
    pub document_id: i64,
    pub path: String,
    pub title: Option<String>,
    pub page: Option<u32>,
    pub section: Option<String>,
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// What `page` counts in its document's format: "page", "slide",
    /// "sheet" or "message".
    pub unit: &'static str,
    /// The text was recognised by OCR (a scan or photo), not read.
    pub ocr: bool,
}

/// A document's extracted text with its page spans and sections.
#[derive(Debug, Clone)]
pub struct StoredText {
    pub text: String,
    pub pages: Vec<PageSpan>,
    pub sections: Vec<Section>,
}

/// What a replace or removal changed, for the derived indexes.
#[derive(Debug, Default)]
pub struct WriteEffect {
    pub document_id: i64,
    pub removed_chunks: Vec<u64>,
    pub added_chunks: Vec<u64>,
    pub generation: u64,
}

/// A connection that reads the catalog; it cannot write. Searches and
/// listings use one while [`Catalog`] writes (WAL lets both run at once).
pub struct CatalogReader {
    conn: Connection,
}

/// The catalog's one writer. It reads as well, as a [`CatalogReader`].
pub struct Catalog {
    reader: CatalogReader,
}

impl std::ops::Deref for Catalog {
    type Target = CatalogReader;
    fn deref(&self) -> &CatalogReader {
        &self.reader
    }
}

/// Keep the WAL and shared-memory files when the last connection closes
/// (SQLite deletes them by default). Opening a WAL database must create
/// the shared-memory file if it is missing, and on a full disk that fails
/// ("disk I/O error"): the library could not even be searched until space
/// was freed. Kept, they cost ~32 KiB, and the library stays readable on a
/// full disk (tests/it/exhaustion.rs). `journal_size_limit` (set in
/// [`connect`]) makes the last close truncate the kept WAL to nothing, so
/// no frames outlive a clean close (a `catalog.sqlite` restored alone never
/// meets a newer WAL) and a big transaction leaves no big file behind.
fn keep_wal_files(conn: &Connection) {
    let mut persist: std::ffi::c_int = 1;
    // SAFETY: the handle is this open connection's; SQLITE_FCNTL_PERSIST_WAL
    // reads and writes one int through the pointer, which outlives the call.
    let code = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&raw mut persist).cast(),
        )
    };
    if code != rusqlite::ffi::SQLITE_OK {
        tracing::debug!(code, "SQLite would not keep its WAL files");
    }
}

fn connect(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // WAL: readers never block the writer; NORMAL sync is durable across a
    // process kill (only an OS crash can drop the last transactions).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    keep_wal_files(&conn);
    conn.pragma_update(None, "journal_size_limit", 4 * 1024 * 1024)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

impl Catalog {
    /// Open (or create) the catalog at `path`, migrating an older schema.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let mut conn = connect(path)?;
        schema::migrate(&mut conn)?;
        Ok(Catalog {
            reader: CatalogReader { conn },
        })
    }

    fn conn(&self) -> &Connection {
        &self.reader.conn
    }

    fn conn_mut(&mut self) -> &mut Connection {
        &mut self.reader.conn
    }
}

impl CatalogReader {
    /// A reading connection to a catalog that [`Catalog::open`] created.
    pub fn open(path: &Path) -> StoreResult<Self> {
        Ok(CatalogReader { conn: connect(path)? })
    }
}

fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn blob_to_vector(b: &[u8]) -> StoreResult<Vec<f32>> {
    if !b.len().is_multiple_of(4) {
        return Err(StoreError::Malformed(format!("vector blob of {} bytes", b.len())));
    }
    Ok(b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// `dir` with one trailing separator: the prefix of every path inside it.
fn folder_prefix(dir: &str) -> String {
    format!("{}/", dir.trim_end_matches('/'))
}
