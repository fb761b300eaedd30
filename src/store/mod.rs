//! The SQLite catalog: the library's source of truth.
//!
//! Tables: `meta` (schema version, embedder identity, write generation),
//! `documents` (path, content hash, size, mtime, status, error), `document_text`
//! (the extracted text and its page/section positions, for citations),
//! `chunks` (text, byte span, page, section, token count, vector), and
//! `roots` (folders the user added). The HNSW and BM25 indexes are derived
//! from it and record the `generation` they reflect.
//!
//! Every write that changes what search can return happens in one
//! transaction that also bumps `generation`, so a kill at any moment leaves
//! either the old or the new version of a document, never a mix.
//!
//! Invariant: store knows nothing of models, parsing or the derived indexes;
//! it stores vectors as opaque `f32` arrays.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::embed::EmbedderIdentity;
use crate::ingest::{PageSpan, Section};

mod conversations;
pub use conversations::{ConversationRow, TurnRow};

/// Bump with a migration in [`Catalog::migrate`] when the schema changes.
pub const SCHEMA_VERSION: i64 = 3;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("catalog database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("this library was written by a newer Quarry (schema {found}, this build knows {known})")]
    NewerSchema { found: i64, known: i64 },
    #[error("catalog holds malformed data: {0}")]
    Malformed(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocStatus {
    Indexed,
    Failed,
}

impl DocStatus {
    fn as_str(self) -> &'static str {
        match self {
            DocStatus::Indexed => "indexed",
            DocStatus::Failed => "failed",
        }
    }
    fn parse(s: &str) -> Self {
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

#[derive(Debug, Clone, Serialize)]
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

/// One chunk as the lexical index sees it: see [`Catalog::lexical_rows`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexicalRow {
    pub chunk_id: u64,
    /// The document's title and file name.
    pub title: String,
    pub text: String,
    /// The chunk with its neighbours, three chunks in all, as one span of the
    /// document.
    pub context: String,
}

/// A stored chunk with the facts a search hit shows.
#[derive(Debug, Clone, Serialize)]
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

pub struct Catalog {
    conn: Connection,
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

impl Catalog {
    pub fn open(path: &Path) -> StoreResult<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // WAL: readers never block the writer; NORMAL sync is durable across a
        // process kill (only an OS crash can drop the last transactions).
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut catalog = Catalog { conn };
        catalog.migrate()?;
        Ok(catalog)
    }

    fn migrate(&mut self) -> StoreResult<()> {
        let tx = self.conn.transaction()?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")?;
        let version: i64 = tx
            .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version < 1 {
            tx.execute_batch(
                "CREATE TABLE documents (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    path TEXT NOT NULL UNIQUE,
                    format TEXT,
                    title TEXT,
                    status TEXT NOT NULL,
                    error TEXT,
                    size INTEGER NOT NULL,
                    mtime_ns INTEGER NOT NULL,
                    content_sha256 TEXT,
                    indexed_at INTEGER NOT NULL
                );
                CREATE TABLE document_text (
                    document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
                    text TEXT NOT NULL,
                    pages TEXT NOT NULL,
                    sections TEXT NOT NULL
                );
                -- AUTOINCREMENT: chunk ids are never reused, so the derived
                -- indexes can tell a new chunk from a deleted one by id.
                CREATE TABLE chunks (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
                    ordinal INTEGER NOT NULL,
                    start_byte INTEGER NOT NULL,
                    end_byte INTEGER NOT NULL,
                    page INTEGER,
                    section TEXT,
                    token_count INTEGER NOT NULL,
                    text TEXT NOT NULL,
                    vector BLOB NOT NULL
                );
                CREATE INDEX chunks_by_document ON chunks(document_id);
                CREATE TABLE roots (path TEXT PRIMARY KEY, added_at INTEGER NOT NULL);
                INSERT OR REPLACE INTO meta(key, value) VALUES ('generation', '0');",
            )?;
        }
        if version < 2 {
            // Schema 2: conversations. Their rows never touch the generation
            // counter, which tracks only what the derived indexes derive.
            tx.execute_batch(
                "CREATE TABLE conversations (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    title TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE turns (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                    question TEXT NOT NULL,
                    answer TEXT NOT NULL,
                    record TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX turns_by_conversation ON turns(conversation_id, id);",
            )?;
        }
        if version < 3 {
            // Schema 3: files and folders the user removed from inside an
            // added folder, which rescans and the folder watcher skip.
            tx.execute_batch("CREATE TABLE excluded (path TEXT PRIMARY KEY);")?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?1)",
            [SCHEMA_VERSION.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// The write generation: bumped by every change to documents or chunks.
    pub fn generation(&self) -> StoreResult<u64> {
        Ok(self.meta("generation")?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    pub fn embedder(&self) -> StoreResult<Option<EmbedderIdentity>> {
        match self.meta("embedder")? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| StoreError::Malformed(format!("embedder identity: {e}"))),
        }
    }

    pub fn set_embedder(&self, identity: &EmbedderIdentity) -> StoreResult<()> {
        let json = serde_json::to_string(identity).expect("identity serialises");
        self.conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('embedder', ?1)",
            [json],
        )?;
        Ok(())
    }

    fn bump_generation(tx: &rusqlite::Transaction) -> StoreResult<u64> {
        tx.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'",
            [],
        )?;
        let g: String = tx.query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
            r.get(0)
        })?;
        g.parse().map_err(|_| StoreError::Malformed("generation".into()))
    }

    fn chunk_ids_of(tx: &rusqlite::Transaction, document_id: i64) -> StoreResult<Vec<u64>> {
        let mut stmt = tx.prepare_cached("SELECT id FROM chunks WHERE document_id = ?1")?;
        let ids = stmt
            .query_map([document_id], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids.into_iter().map(|i| i as u64).collect())
    }

    pub fn document(&self, path: &str) -> StoreResult<Option<DocumentRow>> {
        let mut rows = self.documents_where("d.path = ?1", params![path])?;
        Ok(rows.pop())
    }

    pub fn document_by_id(&self, id: i64) -> StoreResult<Option<DocumentRow>> {
        let mut rows = self.documents_where("d.id = ?1", params![id])?;
        Ok(rows.pop())
    }

    /// All documents, by path.
    pub fn documents(&self) -> StoreResult<Vec<DocumentRow>> {
        self.documents_where("1", params![])
    }

    fn documents_where(&self, condition: &str, args: impl rusqlite::Params) -> StoreResult<Vec<DocumentRow>> {
        let sql = format!(
            "SELECT d.id, d.path, d.format, d.title, d.status, d.error, d.size, d.mtime_ns,
                    d.content_sha256, (SELECT COUNT(*) FROM chunks c WHERE c.document_id = d.id)
             FROM documents d WHERE {condition} ORDER BY d.path"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(args, |r| {
                Ok(DocumentRow {
                    id: r.get(0)?,
                    path: r.get(1)?,
                    format: r.get(2)?,
                    title: r.get(3)?,
                    status: DocStatus::parse(&r.get::<_, String>(4)?),
                    error: r.get(5)?,
                    size: r.get::<_, i64>(6)? as u64,
                    mtime_ns: r.get(7)?,
                    content_sha256: r.get(8)?,
                    chunk_count: r.get::<_, i64>(9)? as u64,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Atomically replace `doc`'s chunks (if any) with `chunks`.
    pub fn replace_document(&mut self, doc: &NewDocument, chunks: &[NewChunk]) -> StoreResult<WriteEffect> {
        let tx = self.conn.transaction()?;
        let document_id = Self::upsert_document(
            &tx,
            doc.path,
            doc.facts,
            Some(doc.format),
            doc.title,
            DocStatus::Indexed,
            None,
        )?;
        let removed_chunks = Self::chunk_ids_of(&tx, document_id)?;
        tx.execute("DELETE FROM chunks WHERE document_id = ?1", [document_id])?;
        tx.execute(
            "INSERT OR REPLACE INTO document_text(document_id, text, pages, sections) VALUES (?1, ?2, ?3, ?4)",
            params![
                document_id,
                doc.text,
                serde_json::to_string(doc.pages).expect("pages serialise"),
                serde_json::to_string(doc.sections).expect("sections serialise"),
            ],
        )?;
        let mut added_chunks = Vec::with_capacity(chunks.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO chunks(document_id, ordinal, start_byte, end_byte, page, section, token_count, text, vector)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for c in chunks {
                insert.execute(params![
                    document_id,
                    c.ordinal as i64,
                    c.start as i64,
                    c.end as i64,
                    c.page,
                    c.section,
                    c.token_count as i64,
                    c.text,
                    vector_to_blob(c.vector),
                ])?;
                added_chunks.push(tx.last_insert_rowid() as u64);
            }
        }
        let generation = Self::bump_generation(&tx)?;
        tx.commit()?;
        Ok(WriteEffect {
            document_id,
            removed_chunks,
            added_chunks,
            generation,
        })
    }

    /// Record that `path` failed; any stale chunks of an earlier version go.
    pub fn record_failure(
        &mut self,
        path: &str,
        facts: &FileFacts,
        format: Option<&str>,
        error: &str,
    ) -> StoreResult<WriteEffect> {
        let tx = self.conn.transaction()?;
        let document_id =
            Self::upsert_document(&tx, path, facts, format, None, DocStatus::Failed, Some(error))?;
        let removed_chunks = Self::chunk_ids_of(&tx, document_id)?;
        tx.execute("DELETE FROM chunks WHERE document_id = ?1", [document_id])?;
        tx.execute("DELETE FROM document_text WHERE document_id = ?1", [document_id])?;
        let generation = Self::bump_generation(&tx)?;
        tx.commit()?;
        Ok(WriteEffect {
            document_id,
            removed_chunks,
            added_chunks: Vec::new(),
            generation,
        })
    }

    /// The content is unchanged but the file was touched: remember the new
    /// mtime so the next scan can skip it without hashing.
    pub fn touch(&self, path: &str, facts: &FileFacts) -> StoreResult<()> {
        self.conn.execute(
            "UPDATE documents SET size = ?2, mtime_ns = ?3 WHERE path = ?1",
            params![path, facts.size as i64, facts.mtime_ns],
        )?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn upsert_document(
        tx: &rusqlite::Transaction,
        path: &str,
        facts: &FileFacts,
        format: Option<&str>,
        title: Option<&str>,
        status: DocStatus,
        error: Option<&str>,
    ) -> StoreResult<i64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        tx.execute(
            "INSERT INTO documents(path, format, title, status, error, size, mtime_ns, content_sha256, indexed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(path) DO UPDATE SET format = excluded.format, title = excluded.title,
                status = excluded.status, error = excluded.error, size = excluded.size,
                mtime_ns = excluded.mtime_ns, content_sha256 = excluded.content_sha256,
                indexed_at = excluded.indexed_at",
            params![
                path,
                format,
                title,
                status.as_str(),
                error,
                facts.size as i64,
                facts.mtime_ns,
                facts.content_sha256,
                now
            ],
        )?;
        Ok(tx.query_row("SELECT id FROM documents WHERE path = ?1", [path], |r| r.get(0))?)
    }

    /// Remove a document and its chunks; `None` if it was not in the library.
    pub fn remove_document(&mut self, path: &str) -> StoreResult<Option<WriteEffect>> {
        let tx = self.conn.transaction()?;
        let Some(document_id) = tx
            .query_row("SELECT id FROM documents WHERE path = ?1", [path], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
        else {
            return Ok(None);
        };
        let removed_chunks = Self::chunk_ids_of(&tx, document_id)?;
        tx.execute("DELETE FROM documents WHERE id = ?1", [document_id])?;
        let generation = Self::bump_generation(&tx)?;
        tx.commit()?;
        Ok(Some(WriteEffect {
            document_id,
            removed_chunks,
            added_chunks: Vec::new(),
            generation,
        }))
    }

    /// Paths of documents at or below `dir`.
    pub fn paths_under(&self, dir: &str) -> StoreResult<Vec<String>> {
        let prefix = folder_prefix(dir);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path FROM documents WHERE substr(path, 1, length(?1)) = ?1")?;
        let paths = stmt
            .query_map([prefix], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(paths)
    }

    /// Remember a folder the user added (the desktop app watches these and
    /// rescans them at start).
    pub fn add_root(&self, dir: &str) -> StoreResult<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO roots(path, added_at) VALUES (?1, strftime('%s','now'))",
            [dir],
        )?;
        Ok(())
    }

    /// Folders the user added, in the order they were added.
    pub fn roots(&self) -> StoreResult<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path FROM roots ORDER BY added_at, path")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forget a folder (and any folder inside it): it is no longer watched.
    pub fn remove_root(&self, dir: &str) -> StoreResult<usize> {
        Ok(self.conn.execute(
            "DELETE FROM roots WHERE path = ?1 OR substr(path, 1, length(?2)) = ?2",
            params![dir, folder_prefix(dir)],
        )?)
    }

    /// Skip `path` (a file or folder inside a root) in later walks.
    pub fn exclude(&self, path: &str) -> StoreResult<()> {
        self.conn
            .execute("INSERT OR IGNORE INTO excluded(path) VALUES (?1)", [path])?;
        Ok(())
    }

    /// Forget exclusions of `path` and of anything under it (the user added
    /// it again).
    pub fn include(&self, path: &str) -> StoreResult<()> {
        self.conn.execute(
            "DELETE FROM excluded WHERE path = ?1 OR substr(path, 1, length(?2)) = ?2",
            params![path, folder_prefix(path)],
        )?;
        Ok(())
    }

    pub fn excluded(&self) -> StoreResult<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT path FROM excluded ORDER BY path")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The stored vector of one chunk.
    pub fn chunk_vector(&self, chunk_id: u64) -> StoreResult<Option<Vec<f32>>> {
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT vector FROM chunks WHERE id = ?1",
                [chunk_id as i64],
                |r| r.get(0),
            )
            .optional()?;
        blob.map(|b| blob_to_vector(&b)).transpose()
    }

    /// Ids of every live chunk, ascending.
    pub fn chunk_ids(&self) -> StoreResult<Vec<u64>> {
        let mut stmt = self.conn.prepare_cached("SELECT id FROM chunks ORDER BY id")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids.into_iter().map(|i| i as u64).collect())
    }

    /// (chunk id, document path) of every live chunk, ascending by id.
    pub fn chunk_documents(&self) -> StoreResult<Vec<(u64, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, d.path FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Vectors of chunks with id > `after`, ascending by id.
    pub fn vectors_after(&self, after: u64) -> StoreResult<Vec<(u64, Vec<f32>)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, vector FROM chunks WHERE id > ?1 ORDER BY id")?;
        let rows = stmt
            .query_map([after as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, blob)| Ok((id, blob_to_vector(&blob)?)))
            .collect()
    }

    /// What the lexical index holds for these chunks (missing ids are
    /// skipped): the title to match, the chunk's text, and its context, the
    /// span of the document's text covering the chunk and its neighbours
    /// (see [`context_window`]). Both the writer and a rebuild index from
    /// here, so the two cannot disagree on what a chunk's context is.
    pub fn lexical_rows(&self, ids: &[u64]) -> StoreResult<Vec<LexicalRow>> {
        let mut chunks = self.chunks(ids)?;
        // Grouped by document, so each document's text and chunk spans are
        // read once, however many of its chunks are asked for.
        chunks.sort_by_key(|c| c.document_id);
        let mut spans_stmt = self.conn.prepare_cached(
            "SELECT id, start_byte, end_byte FROM chunks WHERE document_id = ?1 ORDER BY ordinal",
        )?;
        struct Document {
            id: i64,
            text: Option<String>,
            /// (start, end) of each chunk, in reading order.
            spans: Vec<(usize, usize)>,
            /// Chunk id → its position in `spans`.
            positions: HashMap<u64, usize>,
        }
        let mut document: Option<Document> = None;
        let mut rows = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            if document.as_ref().map(|d| d.id) != Some(chunk.document_id) {
                let listed = spans_stmt
                    .query_map([chunk.document_id], |r| {
                        Ok((
                            r.get::<_, i64>(0)? as u64,
                            (r.get::<_, i64>(1)? as usize, r.get::<_, i64>(2)? as usize),
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                document = Some(Document {
                    id: chunk.document_id,
                    text: self.document_text(chunk.document_id)?.map(|stored| stored.text),
                    positions: listed.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect(),
                    spans: listed.into_iter().map(|(_, span)| span).collect(),
                });
            }
            let doc = document.as_ref().expect("loaded above");
            let context = doc.positions.get(&chunk.chunk_id).and_then(|&position| {
                let window = context_window(position, doc.spans.len());
                let (start, end) = (doc.spans[*window.start()].0, doc.spans[*window.end()].1);
                doc.text.as_deref()?.get(start..end)
            });
            let context = match context {
                Some(context) => context.to_string(),
                None => {
                    tracing::warn!(
                        chunk = chunk.chunk_id,
                        document_id = chunk.document_id,
                        "chunk context not found in the stored text; indexing the chunk alone"
                    );
                    chunk.text.clone()
                }
            };
            rows.push(LexicalRow {
                chunk_id: chunk.chunk_id,
                title: lexical_title(&chunk.path, chunk.title.as_deref()),
                text: chunk.text,
                context,
            });
        }
        Ok(rows)
    }

    /// Chunks by id with their document's facts; missing ids are skipped.
    pub fn chunks(&self, ids: &[u64]) -> StoreResult<Vec<ChunkRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.document_id, d.path, d.title, c.page, c.section, c.start_byte, c.end_byte, c.text
             FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?1",
        )?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let row = stmt
                .query_row([id as i64], |r| {
                    Ok(ChunkRecord {
                        chunk_id: r.get::<_, i64>(0)? as u64,
                        document_id: r.get(1)?,
                        path: r.get(2)?,
                        title: r.get(3)?,
                        page: r.get(4)?,
                        section: r.get(5)?,
                        start: r.get::<_, i64>(6)? as usize,
                        end: r.get::<_, i64>(7)? as usize,
                        text: r.get(8)?,
                    })
                })
                .optional()?;
            out.extend(row);
        }
        Ok(out)
    }

    /// A document's extracted text and positions.
    pub fn document_text(&self, document_id: i64) -> StoreResult<Option<StoredText>> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT text, pages, sections FROM document_text WHERE document_id = ?1",
                [document_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(text, pages, sections)| {
            let pages = serde_json::from_str(&pages).map_err(|e| StoreError::Malformed(e.to_string()))?;
            let sections =
                serde_json::from_str(&sections).map_err(|e| StoreError::Malformed(e.to_string()))?;
            Ok(StoredText {
                text,
                pages,
                sections,
            })
        })
        .transpose()
    }

    pub fn chunk_count(&self) -> StoreResult<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM chunks", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Replace every chunk vector in one transaction (re-embedding with a
    /// new model) and record the new embedder; readers see old or new.
    pub fn replace_all_vectors(
        &mut self,
        identity: &EmbedderIdentity,
        mut embed: impl FnMut(&[(u64, String)]) -> Result<Vec<Vec<f32>>, String>,
        batch: usize,
    ) -> StoreResult<u64> {
        let tx = self.conn.transaction()?;
        let rows: Vec<(u64, String)> = {
            let mut stmt = tx.prepare("SELECT id, text FROM chunks ORDER BY id")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            rows
        };
        {
            let mut update = tx.prepare("UPDATE chunks SET vector = ?2 WHERE id = ?1")?;
            for part in rows.chunks(batch.max(1)) {
                let vectors = embed(part).map_err(StoreError::Malformed)?;
                for ((id, _), v) in part.iter().zip(vectors) {
                    update.execute(params![*id as i64, vector_to_blob(&v)])?;
                }
            }
        }
        let json = serde_json::to_string(identity).expect("identity serialises");
        tx.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('embedder', ?1)",
            [json],
        )?;
        Self::bump_generation(&tx)?;
        tx.commit()?;
        Ok(rows.len() as u64)
    }
}

/// `dir` with one trailing separator: the prefix of every path inside it.
fn folder_prefix(dir: &str) -> String {
    format!("{}/", dir.trim_end_matches('/'))
}

/// The positions of the chunks whose span is the context of the chunk at
/// `ordinal` (its position in reading order), in a document of `count` chunks: three wide, centred on the chunk, shifted
/// inwards at the document's first and last chunk. Equal widths keep BM25's
/// length normalisation from favouring a document's edges (see
/// `index::lexical`).
fn context_window(ordinal: usize, count: usize) -> std::ops::RangeInclusive<usize> {
    let last = count.saturating_sub(1);
    let first = ordinal.saturating_sub(1).min(last.saturating_sub(2));
    first..=(ordinal + 1).max(2).min(last)
}

/// What the lexical index searches besides the chunk text: the title and
/// file name, so a query naming a document finds it.
fn lexical_title(path: &str, title: Option<&str>) -> String {
    let file = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path);
    match title {
        Some(t) => format!("{t} {file}"),
        None => file.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::context_window;

    #[test]
    fn context_windows_are_three_wide_and_shift_inwards_at_the_ends() {
        let windows = |count: usize| -> Vec<(usize, usize)> {
            (0..count)
                .map(|o| {
                    let w = context_window(o, count);
                    (*w.start(), *w.end())
                })
                .collect()
        };
        assert_eq!(windows(1), [(0, 0)]);
        assert_eq!(windows(2), [(0, 1), (0, 1)]);
        assert_eq!(windows(3), [(0, 2), (0, 2), (0, 2)]);
        assert_eq!(windows(6), [(0, 2), (0, 2), (1, 3), (2, 4), (3, 5), (3, 5)]);
    }
}
