//! The read path: hybrid search, its raw candidates, and read access to the
//! catalog. It has its own catalog connection, so it runs while the write
//! path commits.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::MutexGuard;
use std::time::Instant;

use quarry_index::fusion::{fuse, FusionConfig, HitScores};
use quarry_store::{CatalogReader, ChunkRecord};

use super::plan::path_key;
use super::{lock, Library, LibraryResult};

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
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub rank: usize,
    pub passage: ChunkRecord,
    pub scores: HitScores,
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

/// Read access to the catalog (documents, passages, conversations): a
/// connection that can only read, held until the guard is dropped. Drop it
/// before calling the library again: searches use the same connection.
pub struct CatalogRead<'a>(MutexGuard<'a, CatalogReader>);

impl Deref for CatalogRead<'_> {
    type Target = CatalogReader;
    fn deref(&self) -> &CatalogReader {
        &self.0
    }
}

impl Library {
    /// Read the catalog (see [`CatalogRead`]).
    pub fn read(&self) -> CatalogRead<'_> {
        CatalogRead(lock(&self.reader))
    }

    /// Hybrid search: dense top-n and BM25 top-n, fused, best `k` returned.
    pub fn search(&self, query: &str, options: &SearchOptions) -> LibraryResult<Vec<SearchHit>> {
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
    pub fn candidates(&self, query: &str, n: usize) -> LibraryResult<Candidates> {
        self.ensure_same_embedder()?;
        self.dense.refresh(&lock(&self.reader))?;
        let ms = |since: Instant| since.elapsed().as_secs_f64() * 1000.0;
        // BM25 on a thread of its own while the question is embedded and
        // the graph searched: neither waits for the other (at 100k chunks
        // each side takes 5–8 ms; `benches/retrieval.rs`).
        std::thread::scope(|scope| {
            let lexical = scope.spawn(|| {
                let started = Instant::now();
                self.lexical.search(query, n).map(|hits| (hits, ms(started)))
            });
            let started = Instant::now();
            let query_vector = self.embedder.embed(&[query])?.pop().unwrap_or_default();
            let embed_ms = ms(started);
            let started = Instant::now();
            let dense = self.dense.search(&query_vector, n);
            let dense_ms = ms(started);
            let (lexical, lexical_ms) = lexical
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            Ok(Candidates {
                dense,
                lexical,
                embed_ms,
                dense_ms,
                lexical_ms,
            })
        })
    }

    /// The folders the user added (the desktop app watches and rescans them).
    pub fn roots(&self) -> LibraryResult<Vec<PathBuf>> {
        Ok(lock(&self.reader)
            .roots()?
            .into_iter()
            .map(PathBuf::from)
            .collect())
    }

    /// Whether the library holds `path` or any document under it.
    pub fn holds(&self, path: &Path) -> LibraryResult<bool> {
        let key = path_key(path).to_string_lossy().to_string();
        let reader = lock(&self.reader);
        Ok(reader.document(&key)?.is_some() || !reader.paths_under(&key)?.is_empty())
    }
}
