//! The API boundary: a [`Library`] is one folder holding a catalog and the
//! indexes derived from it; it ingests files and answers searches.
//!
//! Ingest is a pipeline (after meilisearch's indexer): an extract thread
//! (read, hash, parse, chunk) → bounded channel → an embed thread → bounded
//! channel → one writer (this thread) that owns the catalog transactions and
//! the lexical index writer. Each file is committed to the catalog in its own
//! transaction, so a kill loses at most the files in flight, and the next
//! `add` redoes exactly those.
//!
//! The dense index is only ever updated from the catalog ([`Library::refresh`]:
//! vectors of chunks newer than the graph's newest, plus the live-id filter),
//! so a search in this or another process always sees what the catalog holds.
//!
//! Invariant: only the engine wires ingest, chunk, embed, store and index
//! together; it knows nothing of terminals or windows.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::chunk::{Chunk, ChunkError, Chunker};
use crate::embed::{EmbedError, Embedder, EmbedderIdentity};
use crate::index::fusion::{fuse, FusionConfig, HitScores};
use crate::index::lexical::{LexicalIndex, LexicalWriter};
use crate::index::vector::VectorIndex;
use crate::index::IndexError;
use crate::ingest::{self, ExtractError, Extracted};
use crate::models::ModelError;
use crate::store::{
    Catalog, ChunkRecord, ConversationRow, DocStatus, DocumentRow, FileFacts, NewChunk, NewDocument,
    StoreError, StoredText, TurnRow,
};

const CATALOG_FILE: &str = "catalog.sqlite";
const LEXICAL_DIR: &str = "lexical";
const DENSE_DIR: &str = "dense";
/// How often the lexical index commits during an ingest: a commit costs an
/// fsync and a segment, so not per file; a kill loses at most this much
/// lexical work, which the next open reconciles from the catalog.
const LEXICAL_COMMIT_EVERY: Duration = Duration::from_secs(2);
/// Extracted files waiting for the embedder: extraction runs ahead while
/// the (much slower) encoder works, within a bounded amount of memory.
const EXTRACTED_QUEUE: usize = 8;
/// Rebuild the HNSW graph when dead vectors exceed this share of live ones.
const DEAD_VECTOR_RATIO: f64 = 0.25;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
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
        "this library was indexed with {library}, but the current embedder is {current}; \
         run `quarry reembed` to re-embed its {chunks} chunks with the current model, \
         or pass --embedder pointing at the library's model"
    )]
    EmbedderMismatch {
        library: EmbedderIdentity,
        current: EmbedderIdentity,
        chunks: u64,
    },
}

pub type EngineResult<T> = Result<T, EngineError>;

/// The platform's data folder for the default library.
pub fn default_library_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "quarry")
        .map(|d| d.data_dir().join("library"))
        .unwrap_or_else(|| PathBuf::from(".quarry-library"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Added,
    Updated,
    Unchanged,
    Failed,
    Removed,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub outcome: Outcome,
    pub chunks: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AddReport {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub removed: usize,
    pub chunks_embedded: usize,
    pub cancelled: bool,
    pub files: Vec<FileReport>,
}

impl AddReport {
    fn push(&mut self, report: FileReport) {
        match report.outcome {
            Outcome::Added => self.added += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Removed => self.removed += 1,
        }
        self.files.push(report);
    }
}

/// Ingest progress, for bars and UIs.
#[derive(Debug)]
pub enum Progress<'a> {
    /// The walk found `total` files to look at, of which `pending` need
    /// work (new, changed, or forced); the rest are unchanged or failed.
    Planned { total: usize, pending: &'a [String] },
    /// A file's text is ready and its passages are being embedded.
    Started { path: &'a str },
    /// A file is done (`done` of `total`).
    File {
        done: usize,
        total: usize,
        report: &'a FileReport,
    },
}

/// How [`Library::add_with`] treats its inputs.
#[derive(Debug, Clone, Copy)]
pub struct AddOptions {
    /// Re-extract and re-embed even files whose size, time and content are
    /// unchanged (a user's "re-index": after a parser fix, or to be sure).
    pub force: bool,
    /// The user named these inputs: folders among them become roots, and
    /// earlier removals of them are forgotten. Off for rescans and watcher
    /// batches, which must neither add roots nor bring back what the user
    /// removed from inside a root.
    pub from_user: bool,
}

impl Default for AddOptions {
    fn default() -> Self {
        AddOptions {
            force: false,
            from_user: true,
        }
    }
}

/// A document that is text already (no file behind it): see [`Library::add_texts`].
#[derive(Debug, Clone)]
pub struct TextDocument {
    /// Stands where a file's path would: unique within the library.
    pub key: String,
    pub title: Option<String>,
    pub text: String,
}

/// Both retrievers' raw candidates for one query, best first: (chunk id,
/// cosine) from the dense index and (chunk id, BM25) from the lexical one.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    pub dense: Vec<(u64, f32)>,
    pub lexical: Vec<(u64, f32)>,
    /// Milliseconds spent embedding the query, in the HNSW search and in BM25.
    pub embed_ms: f64,
    pub dense_ms: f64,
    pub lexical_ms: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct SearchOptions {
    pub k: usize,
    /// Candidates taken from each retriever before fusion.
    pub candidates: usize,
    pub fusion: FusionConfig,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            k: 10,
            // Min-max fusion scales by the worst candidate, so the depth is
            // part of the fusion: 100 is what `quarry eval` chose it at.
            candidates: 100,
            fusion: FusionConfig::default(),
        }
    }
}

/// A ranked passage with where it came from and why it was found.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub rank: usize,
    #[serde(flatten)]
    pub passage: ChunkRecord,
    #[serde(flatten)]
    pub scores: HitScores,
}

#[derive(Debug, Clone, Serialize)]
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

struct DenseState {
    index: VectorIndex,
    /// Sorted live chunk ids (hnsw_rs filters by binary search).
    live: Vec<usize>,
    generation: Option<u64>,
}

pub struct Library {
    dir: PathBuf,
    embedder: Arc<dyn Embedder>,
    chunker: Chunker,
    /// Writes (ingest, remove) use this connection ...
    writer: Mutex<Catalog>,
    /// ... and searches this one: WAL lets them run at the same time.
    reader: Mutex<Catalog>,
    lexical: LexicalIndex,
    dense: RwLock<DenseState>,
    /// Set when the catalog's vectors come from another embedder.
    mismatch: RwLock<Option<EmbedderIdentity>>,
}

/// One file on its way through the pipeline, with what planning knew of it.
struct Prepared {
    path: String,
    facts: FileFacts,
    /// The catalog's row for this path before this run, if any.
    previous: Option<DocumentRow>,
    work: Work,
}

enum Work {
    Unchanged,
    Failed {
        format: Option<&'static str>,
        error: String,
        vanished: bool,
    },
    Ready {
        extracted: Extracted,
        chunks: Vec<Chunk>,
        vectors: Vec<Vec<f32>>,
    },
}

impl Prepared {
    fn was_indexed(&self) -> bool {
        self.previous
            .as_ref()
            .is_some_and(|d| d.status == DocStatus::Indexed)
    }
}

struct Planned {
    path: PathBuf,
    key: String,
    facts: FileFacts,
    stored: Option<DocumentRow>,
    force: bool,
}

/// Add these catalog chunks to the lexical index, as the catalog describes
/// them: the one way chunks enter it, whether just written or rebuilt.
fn index_lexically(catalog: &Catalog, writer: &mut LexicalWriter, chunk_ids: &[u64]) -> EngineResult<()> {
    for row in catalog.lexical_rows(chunk_ids)? {
        writer.add(row.chunk_id, &row.title, &row.text, &row.context)?;
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn file_facts(meta: &std::fs::Metadata) -> FileFacts {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    FileFacts {
        size: meta.len(),
        mtime_ns,
        content_sha256: None,
    }
}

/// Whether the catalog already holds exactly this content, indexed (so
/// extracting and embedding it again would change nothing).
fn holds_content(previous: Option<&DocumentRow>, sha256: &str) -> bool {
    previous.is_some_and(|d| d.status == DocStatus::Indexed && d.content_sha256.as_deref() == Some(sha256))
}

/// The catalog key of a path: absolute, `.`/`..` resolved, symlinks kept.
fn path_key(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn is_hidden(entry: &walkdir::DirEntry) -> bool {
    entry.depth() > 0 && entry.file_name().to_str().is_some_and(|n| n.starts_with('.'))
}

impl Library {
    /// Open (or create) the library in `dir` for `embedder`. A library
    /// written by another embedder opens, reports the mismatch, and refuses
    /// to add or search until [`Library::reembed`].
    pub fn open(dir: &Path, embedder: Arc<dyn Embedder>) -> EngineResult<Self> {
        std::fs::create_dir_all(dir).map_err(|source| EngineError::LibraryDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let catalog_path = dir.join(CATALOG_FILE);
        let writer = Catalog::open(&catalog_path)?;
        let reader = Catalog::open(&catalog_path)?;
        let current = embedder.identity().clone();
        let mismatch = match writer.embedder()? {
            None => {
                writer.set_embedder(&current)?;
                None
            }
            Some(stored) if stored == current => None,
            Some(stored) => Some(stored),
        };
        let chunker = Chunker::new(embedder.tokenizer(), embedder.max_tokens())?;
        let lexical = LexicalIndex::open(&dir.join(LEXICAL_DIR))?;
        let dense = DenseState {
            index: VectorIndex::new(current.dimension, 0),
            live: Vec::new(),
            generation: None,
        };
        let library = Library {
            dir: dir.to_path_buf(),
            embedder,
            chunker,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            lexical,
            dense: RwLock::new(dense),
            mismatch: RwLock::new(mismatch),
        };
        if library.library_embedder_if_other().is_none() {
            library.load_dense()?;
            library.refresh()?;
        }
        library.sync_lexical_if_free()?;
        Ok(library)
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

    fn library_embedder_if_other(&self) -> Option<EmbedderIdentity> {
        self.mismatch.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Adding and searching need the library's vectors to be this embedder's.
    fn ensure_same_embedder(&self) -> EngineResult<()> {
        match self.library_embedder_if_other() {
            None => Ok(()),
            Some(library) => Err(EngineError::EmbedderMismatch {
                library,
                current: self.embedder.identity().clone(),
                chunks: lock(&self.reader).chunk_count()?,
            }),
        }
    }

    /// Load the dense dump if it belongs to this embedder; else rebuild it.
    fn load_dense(&self) -> EngineResult<()> {
        let identity = self.embedder.identity();
        let root = self.dir.join(DENSE_DIR);
        let loaded = match VectorIndex::load(&root) {
            Ok(Some((index, manifest)))
                if manifest.embedder_sha256 == identity.weights_sha256
                    && manifest.dimension == identity.dimension =>
            {
                Some(index)
            }
            Ok(Some(_)) => {
                tracing::info!("dense index was built by another embedder; rebuilding from the catalog");
                None
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("dense index unreadable ({e}); rebuilding from the catalog");
                None
            }
        };
        let mut dense = self.dense.write().unwrap_or_else(|p| p.into_inner());
        dense.index = loaded.unwrap_or_else(|| VectorIndex::new(identity.dimension, 0));
        dense.generation = None;
        Ok(())
    }

    /// Bring the dense index up to the catalog: insert vectors of chunks
    /// newer than the graph's newest, and refresh the live-id filter.
    pub fn refresh(&self) -> EngineResult<()> {
        let (generation, delta, live) = {
            let reader = lock(&self.reader);
            let generation = reader.generation()?;
            let dense = self.dense.read().unwrap_or_else(|p| p.into_inner());
            if dense.generation == Some(generation) {
                return Ok(());
            }
            let delta = reader.vectors_after(dense.index.max_chunk_id())?;
            let live = reader.chunk_ids()?;
            (generation, delta, live)
        };
        let mut dense = self.dense.write().unwrap_or_else(|p| p.into_inner());
        dense.index.insert(&delta);
        dense.live = live.into_iter().map(|id| id as usize).collect();
        dense.generation = Some(generation);
        Ok(())
    }

    /// Rebuild the graph from the catalog when dead vectors pile up, then
    /// persist it stamped with the catalog generation.
    fn compact_and_save_dense(&self) -> EngineResult<()> {
        self.refresh()?;
        let identity = self.embedder.identity();
        let mut dense = self.dense.write().unwrap_or_else(|p| p.into_inner());
        let live = dense.live.len();
        let dead = dense.index.dead(&dense.live);
        if dead as f64 > DEAD_VECTOR_RATIO * live as f64 + 64.0 {
            tracing::info!(dead, live, "rebuilding the dense index without dead vectors");
            let vectors = lock(&self.reader).vectors_after(0)?;
            let mut fresh = VectorIndex::new(identity.dimension, vectors.len());
            fresh.insert(&vectors);
            dense.index = fresh;
        }
        let generation = dense.generation.unwrap_or(0);
        dense
            .index
            .save(&self.dir.join(DENSE_DIR), generation, &identity.weights_sha256)?;
        Ok(())
    }

    /// Make the lexical index hold exactly the catalog's chunks, if it is
    /// behind and no other process is writing.
    fn sync_lexical_if_free(&self) -> EngineResult<()> {
        let generation = lock(&self.reader).generation()?;
        if self.lexical.generation()? == Some(generation) {
            return Ok(());
        }
        match self.lexical.writer() {
            Ok(mut writer) => self.reconcile_lexical(&mut writer),
            Err(IndexError::WriterBusy) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn reconcile_lexical(&self, writer: &mut LexicalWriter) -> EngineResult<()> {
        let catalog = lock(&self.writer);
        let generation = catalog.generation()?;
        if self.lexical.generation()? == Some(generation) {
            return Ok(());
        }
        let indexed: HashSet<u64> = self.lexical.chunk_ids()?.into_iter().collect();
        let live = catalog.chunk_ids()?;
        let live_set: HashSet<u64> = live.iter().copied().collect();
        let mut removed = 0;
        for &id in indexed.difference(&live_set) {
            writer.delete(id);
            removed += 1;
        }
        let missing: Vec<u64> = live.into_iter().filter(|id| !indexed.contains(id)).collect();
        for part in missing.chunks(1000) {
            index_lexically(&catalog, writer, part)?;
        }
        writer.commit(generation)?;
        tracing::info!(
            added = missing.len(),
            removed,
            generation,
            "lexical index reconciled with the catalog"
        );
        Ok(())
    }

    /// How every add starts: the library must hold this embedder's
    /// vectors, and the lexical index is taken and brought up to the catalog.
    fn start_adding(&self) -> EngineResult<LexicalWriter> {
        self.ensure_same_embedder()?;
        let mut lexical = self.lexical.writer()?;
        self.reconcile_lexical(&mut lexical)?;
        Ok(lexical)
    }

    /// Index files and folders (recursively). Every file gets an outcome;
    /// failures are reported per file and never stop the batch.
    pub fn add(
        &self,
        inputs: &[PathBuf],
        observe: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> EngineResult<AddReport> {
        self.add_with(inputs, AddOptions::default(), observe, cancel)
    }

    /// [`Library::add`] with options (forced re-indexing).
    pub fn add_with(
        &self,
        inputs: &[PathBuf],
        options: AddOptions,
        observe: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> EngineResult<AddReport> {
        let mut lexical = self.start_adding()?;
        let mut report = AddReport::default();
        let (plan, vanished) = self.plan(inputs, options, &mut report)?;
        let total = plan.len() + vanished.len() + report.files.len();
        let pending: Vec<String> = plan.iter().map(|p| p.key.clone()).collect();
        observe(Progress::Planned {
            total,
            pending: &pending,
        });
        for (i, r) in report.files.iter().enumerate() {
            observe(Progress::File {
                done: i + 1,
                total,
                report: r,
            });
        }
        for key in vanished {
            if let Some(removed) = self.write_removal(&key, &mut lexical)? {
                report.push(removed);
            }
        }

        let items = plan.into_iter().map(|item| self.prepare(item));
        self.run_pipeline(items, total, &mut lexical, &mut report, observe, cancel)?;
        Ok(report)
    }

    /// Index in-memory texts as documents, each under its own `key` (in the
    /// catalog's path column): for evaluation corpora and other sources that
    /// are not files. Same pipeline, transactions and outcomes as [`Library::add`]:
    /// a key already held is replaced (or left alone when its text is unchanged).
    pub fn add_texts(
        &self,
        documents: Vec<TextDocument>,
        observe: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> EngineResult<AddReport> {
        let mut lexical = self.start_adding()?;
        let mut report = AddReport::default();
        let total = documents.len();
        let pending: Vec<String> = documents.iter().map(|d| d.key.clone()).collect();
        observe(Progress::Planned {
            total,
            pending: &pending,
        });
        let mut known = Vec::with_capacity(documents.len());
        {
            let catalog = lock(&self.writer);
            for doc in &documents {
                known.push(catalog.document(&doc.key)?);
            }
        }
        let items = documents
            .into_iter()
            .zip(known)
            .map(|(doc, previous)| self.prepare_text(doc, previous));
        self.run_pipeline(items, total, &mut lexical, &mut report, observe, cancel)?;
        Ok(report)
    }

    /// Embed and write prepared files as the extract side produces them:
    /// extract (the caller's iterator, on its own thread) → embed thread →
    /// the single writer (this thread), then persist the dense index.
    fn run_pipeline(
        &self,
        mut items: impl Iterator<Item = Prepared> + Send,
        total: usize,
        lexical: &mut LexicalWriter,
        report: &mut AddReport,
        observe: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> EngineResult<()> {
        let (extracted_tx, extracted_rx) = crossbeam_channel::bounded::<Prepared>(EXTRACTED_QUEUE);
        let (embedded_tx, embedded_rx) = crossbeam_channel::bounded::<Prepared>(2);
        let result = std::thread::scope(|scope| -> EngineResult<()> {
            scope.spawn(move || {
                while !cancel.load(Ordering::Relaxed) {
                    let Some(item) = items.next() else { break };
                    if extracted_tx.send(item).is_err() {
                        break;
                    }
                }
            });
            scope.spawn(move || {
                for mut item in extracted_rx {
                    if let Work::Ready {
                        extracted,
                        chunks,
                        vectors,
                    } = &mut item.work
                    {
                        observe(Progress::Started { path: &item.path });
                        let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
                        match self.embedder.embed(&texts) {
                            Ok(embedded) => *vectors = embedded,
                            Err(e) => {
                                item.work = Work::Failed {
                                    format: Some(extracted.format.as_str()),
                                    error: format!("embedding failed: {e}"),
                                    vanished: false,
                                }
                            }
                        }
                    }
                    if embedded_tx.send(item).is_err() {
                        break;
                    }
                }
            });
            let mut last_commit = Instant::now();
            for item in embedded_rx {
                let file = self.write(item, lexical)?;
                report.chunks_embedded += if matches!(file.outcome, Outcome::Added | Outcome::Updated) {
                    file.chunks
                } else {
                    0
                };
                report.push(file);
                observe(Progress::File {
                    done: report.files.len(),
                    total,
                    report: report.files.last().expect("just pushed"),
                });
                if last_commit.elapsed() >= LEXICAL_COMMIT_EVERY {
                    lexical.commit(lock(&self.writer).generation()?)?;
                    last_commit = Instant::now();
                }
            }
            Ok(())
        });
        // Commit what was written even if the writer stopped on an error.
        lexical.commit(lock(&self.writer).generation()?)?;
        result?;
        report.cancelled = cancel.load(Ordering::Relaxed);
        self.compact_and_save_dense()
    }

    /// Walk the inputs: files to look at, catalog paths that vanished, and
    /// failures of the walk itself (missing inputs, unreadable folders).
    fn plan(
        &self,
        inputs: &[PathBuf],
        options: AddOptions,
        report: &mut AddReport,
    ) -> EngineResult<(Vec<Planned>, Vec<String>)> {
        let catalog = lock(&self.writer);
        let mut files: Vec<(PathBuf, std::fs::Metadata)> = Vec::new();
        let mut vanished = Vec::new();
        let mut seen = HashSet::new();
        if options.from_user {
            for input in inputs {
                catalog.include(&path_key(input).to_string_lossy())?;
            }
        }
        let excluded: Vec<PathBuf> = catalog.excluded()?.into_iter().map(PathBuf::from).collect();
        let is_excluded = |path: &Path| excluded.iter().any(|x| path.starts_with(x));
        for input in inputs {
            let key = path_key(input);
            let key_str = key.to_string_lossy().to_string();
            if is_excluded(&key) {
                continue;
            }
            let meta = match std::fs::metadata(&key) {
                Ok(m) => m,
                Err(e) => {
                    let known: Vec<String> = catalog
                        .document(&key_str)?
                        .map(|d| d.path)
                        .into_iter()
                        .chain(catalog.paths_under(&key_str)?)
                        .collect();
                    if known.is_empty() {
                        report.push(FileReport {
                            path: key_str,
                            outcome: Outcome::Failed,
                            chunks: 0,
                            error: Some(format!("cannot read: {e}")),
                        });
                    } else {
                        vanished.extend(known);
                    }
                    continue;
                }
            };
            if meta.is_file() {
                if seen.insert(key.clone()) {
                    files.push((key, meta));
                }
                continue;
            }
            if options.from_user {
                catalog.add_root(&key_str)?;
            }
            let walker = walkdir::WalkDir::new(&key)
                .follow_links(false)
                .sort_by_file_name();
            for entry in walker
                .into_iter()
                .filter_entry(|e| !is_hidden(e) && !is_excluded(e.path()))
            {
                match entry {
                    Ok(entry) => {
                        // Follow links to files, never to folders (no cycles).
                        let Ok(meta) = std::fs::metadata(entry.path()) else {
                            continue;
                        };
                        let temporary = entry.file_name().to_str().is_some_and(ingest::is_temporary_file);
                        if meta.is_file() && !temporary && seen.insert(entry.path().to_path_buf()) {
                            files.push((entry.path().to_path_buf(), meta));
                        }
                    }
                    Err(e) => {
                        let path = e
                            .path()
                            .map(|p| p.to_string_lossy().to_string())
                            .unwrap_or_else(|| key_str.clone());
                        let reason = e
                            .io_error()
                            .map(|io| io.to_string())
                            .unwrap_or_else(|| e.to_string());
                        report.push(FileReport {
                            path,
                            outcome: Outcome::Failed,
                            chunks: 0,
                            error: Some(format!("cannot read folder: {reason}")),
                        });
                    }
                }
            }
            for known in catalog.paths_under(&key_str)? {
                if !seen.contains(Path::new(&known)) && !Path::new(&known).exists() {
                    vanished.push(known);
                }
            }
        }
        let mut plan = Vec::with_capacity(files.len());
        for (path, meta) in files {
            let key = path.to_string_lossy().to_string();
            let facts = file_facts(&meta);
            let stored = catalog.document(&key)?;
            if let Some(doc) = &stored {
                let same_stat = doc.size == facts.size && doc.mtime_ns == facts.mtime_ns;
                if same_stat && doc.status == DocStatus::Indexed && !options.force {
                    report.push(FileReport {
                        path: key,
                        outcome: Outcome::Unchanged,
                        chunks: doc.chunk_count as usize,
                        error: None,
                    });
                    continue;
                }
                // A failed file is always tried again: the failure may have
                // been ours (a detection or parser fix in a newer Quarry),
                // and re-checking a bad file costs little.
            }
            plan.push(Planned {
                path,
                key,
                facts,
                stored,
                force: options.force,
            });
        }
        Ok((plan, vanished))
    }

    /// Read, hash, extract and chunk one file (runs on the extract thread).
    fn prepare(&self, item: Planned) -> Prepared {
        let Planned {
            path,
            key,
            mut facts,
            stored,
            force,
        } = item;
        let failed = |format: Option<ingest::Format>, error: String, vanished: bool| Work::Failed {
            format: format.map(ingest::Format::as_str),
            error,
            vanished,
        };
        let work = match ingest::read_file(&path) {
            Err(e) => failed(None, e.to_string(), matches!(e, ExtractError::Vanished)),
            Ok(bytes) => {
                let sha = hex::encode(Sha256::digest(&bytes));
                let unchanged = !force && holds_content(stored.as_ref(), &sha);
                facts.content_sha256 = Some(sha);
                if unchanged {
                    Work::Unchanged
                } else {
                    match ingest::detect(&path, &bytes) {
                        Err(e) => failed(None, e.to_string(), false),
                        Ok(format) => match ingest::extract_as(format, &bytes) {
                            Err(e) => failed(Some(format), e.to_string(), false),
                            Ok(extracted) => self.chunked(extracted),
                        },
                    }
                }
            }
        };
        Prepared {
            path: key,
            facts,
            previous: stored,
            work,
        }
    }

    /// Hash and chunk one in-memory text (no file, no parsing).
    fn prepare_text(&self, doc: TextDocument, previous: Option<DocumentRow>) -> Prepared {
        let sha = hex::encode(Sha256::digest(doc.text.as_bytes()));
        let size = doc.text.len() as u64;
        let work = if holds_content(previous.as_ref(), &sha) {
            Work::Unchanged
        } else if doc.text.trim().is_empty() {
            Work::Failed {
                format: Some(ingest::Format::Text.as_str()),
                error: ExtractError::Empty.to_string(),
                vanished: false,
            }
        } else {
            self.chunked(Extracted {
                format: ingest::Format::Text,
                title: doc.title,
                text: doc.text,
                pages: Vec::new(),
                sections: Vec::new(),
            })
        };
        Prepared {
            path: doc.key,
            facts: FileFacts {
                size,
                mtime_ns: 0,
                content_sha256: Some(sha),
            },
            previous,
            work,
        }
    }

    /// An extracted document's passages, or its failure to chunk; both
    /// kinds of source (files and texts) end here.
    fn chunked(&self, extracted: Extracted) -> Work {
        match self.chunker.chunk(&extracted) {
            Err(e) => Work::Failed {
                format: Some(extracted.format.as_str()),
                error: e.to_string(),
                vanished: false,
            },
            Ok(chunks) => Work::Ready {
                extracted,
                chunks,
                vectors: Vec::new(),
            },
        }
    }

    /// Commit one prepared file to the catalog and the lexical index.
    fn write(&self, item: Prepared, lexical: &mut LexicalWriter) -> EngineResult<FileReport> {
        let was_indexed = item.was_indexed();
        let Prepared {
            path,
            facts,
            previous,
            work,
        } = item;
        let failure = |path: String, error: String| FileReport {
            path,
            outcome: Outcome::Failed,
            chunks: 0,
            error: Some(error),
        };
        match work {
            Work::Unchanged => {
                lock(&self.writer).touch(&path, &facts)?;
                Ok(FileReport {
                    chunks: previous.map_or(0, |d| d.chunk_count as usize),
                    path,
                    outcome: Outcome::Unchanged,
                    error: None,
                })
            }
            Work::Failed { vanished: true, .. } if previous.is_some() => Ok(self
                .write_removal(&path, lexical)?
                .unwrap_or_else(|| failure(path, ExtractError::Vanished.to_string()))),
            Work::Failed { format, error, .. } => {
                let effect = lock(&self.writer).record_failure(&path, &facts, format, &error)?;
                for id in effect.removed_chunks {
                    lexical.delete(id);
                }
                Ok(failure(path, error))
            }
            Work::Ready {
                extracted,
                chunks,
                vectors,
            } => {
                let new_chunks: Vec<NewChunk> = chunks
                    .iter()
                    .zip(&vectors)
                    .map(|(c, v)| NewChunk {
                        ordinal: c.ordinal,
                        start: c.start,
                        end: c.end,
                        page: c.page,
                        section: c.section.as_deref(),
                        text: &c.text,
                        token_count: c.token_count,
                        vector: v,
                    })
                    .collect();
                let doc = NewDocument {
                    path: &path,
                    facts: &facts,
                    format: extracted.format.as_str(),
                    title: extracted.title.as_deref(),
                    text: &extracted.text,
                    pages: &extracted.pages,
                    sections: &extracted.sections,
                };
                let mut catalog = lock(&self.writer);
                let effect = catalog.replace_document(&doc, &new_chunks)?;
                for id in &effect.removed_chunks {
                    lexical.delete(*id);
                }
                index_lexically(&catalog, lexical, &effect.added_chunks)?;
                drop(catalog);
                Ok(FileReport {
                    path,
                    outcome: if was_indexed {
                        Outcome::Updated
                    } else {
                        Outcome::Added
                    },
                    chunks: chunks.len(),
                    error: None,
                })
            }
        }
    }

    /// Remove `path` from the catalog and the lexical index; `None` if the
    /// library did not hold it.
    fn write_removal(&self, path: &str, lexical: &mut LexicalWriter) -> EngineResult<Option<FileReport>> {
        let Some(effect) = lock(&self.writer).remove_document(path)? else {
            return Ok(None);
        };
        for id in &effect.removed_chunks {
            lexical.delete(*id);
        }
        Ok(Some(FileReport {
            path: path.to_string(),
            outcome: Outcome::Removed,
            chunks: effect.removed_chunks.len(),
            error: None,
        }))
    }

    /// Remove documents (or every document under a folder) from all stores.
    /// A removed root is no longer one of the library's roots; a file or
    /// folder removed from inside a root is excluded from its later rescans.
    pub fn remove(&self, inputs: &[PathBuf]) -> EngineResult<AddReport> {
        let mut lexical = self.lexical.writer()?;
        self.reconcile_lexical(&mut lexical)?;
        let mut report = AddReport::default();
        for input in inputs {
            let key = path_key(input).to_string_lossy().to_string();
            let forgot_root = {
                let catalog = lock(&self.writer);
                let inside_root = catalog
                    .roots()?
                    .iter()
                    .any(|root| root != &key && Path::new(&key).starts_with(root));
                if inside_root {
                    catalog.exclude(&key)?;
                }
                catalog.remove_root(&key)? > 0
            };
            let mut targets = lock(&self.writer).paths_under(&key)?;
            targets.push(key.clone());
            let before = report.files.len();
            for path in targets {
                if let Some(removed) = self.write_removal(&path, &mut lexical)? {
                    report.push(removed);
                }
            }
            if report.files.len() == before && !forgot_root {
                report.push(FileReport {
                    path: key,
                    outcome: Outcome::Failed,
                    chunks: 0,
                    error: Some("not in the library".into()),
                });
            }
        }
        lexical.commit(lock(&self.writer).generation()?)?;
        if self.ensure_same_embedder().is_ok() {
            self.compact_and_save_dense()?;
        }
        Ok(report)
    }

    /// Hybrid search: dense top-n and BM25 top-n, fused, best `k` returned.
    pub fn search(&self, query: &str, options: &SearchOptions) -> EngineResult<Vec<SearchHit>> {
        self.ensure_same_embedder()?;
        if query.trim().is_empty() || options.k == 0 {
            return Ok(Vec::new());
        }
        let candidates = self.candidates(query, options.candidates.max(options.k))?;
        let fused = fuse(&candidates.dense, &candidates.lexical, &options.fusion);
        // Hydrate from the catalog; a hit the catalog no longer holds (a
        // lexical entry of a chunk deleted by a concurrent writer) is dropped.
        let ids: Vec<u64> = fused
            .iter()
            .take(options.k * 2 + 10)
            .map(|f| f.chunk_id)
            .collect();
        let records = lock(&self.reader).chunks(&ids)?;
        let mut by_id: std::collections::HashMap<u64, ChunkRecord> =
            records.into_iter().map(|r| (r.chunk_id, r)).collect();
        Ok(fused
            .into_iter()
            .filter_map(|f| by_id.remove(&f.chunk_id).map(|passage| (passage, f.scores)))
            .take(options.k)
            .enumerate()
            .map(|(i, (passage, scores))| SearchHit {
                rank: i + 1,
                passage,
                scores,
            })
            .collect())
    }

    /// The top `n` chunks of each retriever for `query`, unfused: what
    /// [`Library::search`] fuses, and what an evaluation fuses many ways.
    pub fn candidates(&self, query: &str, n: usize) -> EngineResult<Candidates> {
        self.ensure_same_embedder()?;
        self.refresh()?;
        let ms = |since: Instant| since.elapsed().as_secs_f64() * 1000.0;
        let started = Instant::now();
        let query_vector = self.embedder.embed(&[query])?.pop().unwrap_or_default();
        let embed_ms = ms(started);
        let started = Instant::now();
        let dense = {
            let state = self.dense.read().unwrap_or_else(|p| p.into_inner());
            state.index.search(&query_vector, n, &state.live)
        };
        let dense_ms = ms(started);
        let started = Instant::now();
        let lexical = self.lexical.search(query, n)?;
        Ok(Candidates {
            dense,
            lexical,
            embed_ms,
            dense_ms,
            lexical_ms: ms(started),
        })
    }

    /// Every live chunk with its document's path (or text key).
    pub fn chunk_documents(&self) -> EngineResult<Vec<(u64, String)>> {
        Ok(lock(&self.reader).chunk_documents()?)
    }

    pub fn documents(&self) -> EngineResult<Vec<DocumentRow>> {
        Ok(lock(&self.reader).documents()?)
    }

    /// The folders the user added (watched by the desktop app).
    pub fn roots(&self) -> EngineResult<Vec<PathBuf>> {
        Ok(lock(&self.reader)
            .roots()?
            .into_iter()
            .map(PathBuf::from)
            .collect())
    }

    /// Whether the library holds `path` or any document under it.
    pub fn holds(&self, path: &Path) -> EngineResult<bool> {
        let key = path_key(path).to_string_lossy().to_string();
        let reader = lock(&self.reader);
        Ok(reader.document(&key)?.is_some() || !reader.paths_under(&key)?.is_empty())
    }

    /// One stored passage.
    pub fn chunk(&self, chunk_id: u64) -> EngineResult<Option<ChunkRecord>> {
        Ok(lock(&self.reader).chunks(&[chunk_id])?.pop())
    }

    /// The pooled vector the library stored for a passage.
    pub fn chunk_vector(&self, chunk_id: u64) -> EngineResult<Option<Vec<f32>>> {
        Ok(lock(&self.reader).chunk_vector(chunk_id)?)
    }

    /// A document's extracted text (for showing a citation in context).
    pub fn document_text(&self, document_id: i64) -> EngineResult<Option<String>> {
        Ok(self.stored_text(document_id)?.map(|stored| stored.text))
    }

    /// A document's extracted text with its page spans and sections.
    pub fn stored_text(&self, document_id: i64) -> EngineResult<Option<StoredText>> {
        Ok(lock(&self.reader).document_text(document_id)?)
    }

    pub fn document(&self, document_id: i64) -> EngineResult<Option<DocumentRow>> {
        Ok(lock(&self.reader).document_by_id(document_id)?)
    }

    /// Conversations, newest first.
    pub fn conversations(&self) -> EngineResult<Vec<ConversationRow>> {
        Ok(lock(&self.reader).conversations()?)
    }

    pub fn conversation(&self, id: i64) -> EngineResult<Option<ConversationRow>> {
        Ok(lock(&self.reader).conversation(id)?)
    }

    pub fn create_conversation(&self, title: &str) -> EngineResult<i64> {
        Ok(lock(&self.writer).create_conversation(title)?)
    }

    /// Record a turn (`record` is the answer as the answering layer stores it).
    pub fn append_turn(
        &self,
        conversation_id: i64,
        question: &str,
        answer: &str,
        record: &str,
    ) -> EngineResult<i64> {
        Ok(lock(&self.writer).append_turn(conversation_id, question, answer, record)?)
    }

    /// A conversation's turns, oldest first.
    pub fn turns(&self, conversation_id: i64) -> EngineResult<Vec<TurnRow>> {
        Ok(lock(&self.reader).turns(conversation_id)?)
    }

    pub fn delete_conversation(&self, id: i64) -> EngineResult<bool> {
        Ok(lock(&self.writer).delete_conversation(id)?)
    }

    pub fn info(&self) -> EngineResult<LibraryInfo> {
        let reader = lock(&self.reader);
        let dense = self.dense.read().unwrap_or_else(|p| p.into_inner());
        Ok(LibraryInfo {
            dir: self.dir.clone(),
            embedder: self.embedder.identity().clone(),
            documents: reader.documents()?.len(),
            chunks: reader.chunk_count()?,
            generation: reader.generation()?,
            lexical_generation: self.lexical.generation()?,
            dense_vectors: dense.index.len(),
            mismatch: self.library_embedder_if_other(),
        })
    }

    /// Re-embed every chunk with the current embedder (after a model
    /// change), in one catalog transaction, then rebuild the dense index.
    pub fn reembed(&self, progress: &dyn Fn(u64, u64)) -> EngineResult<u64> {
        let total = lock(&self.reader).chunk_count()?;
        let mut done = 0u64;
        let identity = self.embedder.identity().clone();
        let count = lock(&self.writer).replace_all_vectors(
            &identity,
            |rows| {
                let texts: Vec<&str> = rows.iter().map(|(_, t)| t.as_str()).collect();
                let vectors = self.embedder.embed(&texts).map_err(|e| e.to_string())?;
                done += rows.len() as u64;
                progress(done, total);
                Ok(vectors)
            },
            256,
        )?;
        *self.mismatch.write().unwrap_or_else(|p| p.into_inner()) = None;
        {
            let mut dense = self.dense.write().unwrap_or_else(|p| p.into_inner());
            dense.index = VectorIndex::new(identity.dimension, count as usize);
            dense.generation = None;
        }
        self.compact_and_save_dense()?;
        Ok(count)
    }
}
