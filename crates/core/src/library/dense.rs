//! The dense index's life in a library: loaded from its dump (or rebuilt
//! from the catalog when the dump is missing, damaged or of other vectors),
//! brought up to the catalog before every search, compacted when dead
//! vectors pile up, and saved stamped with the catalog generation and the
//! embedder's fingerprint.
//!
//! The graph is only ever updated from the catalog ([`DenseIndex::refresh`]:
//! vectors of chunks newer than the graph's newest, plus the live-id list),
//! so a search in this or another process always sees what the catalog holds.

use std::path::PathBuf;
use std::sync::RwLock;

use quarry_embed::{EmbedderIdentity, CANDLE_ENGINE, F32};
use quarry_index::vector::{Manifest, VectorIndex};
use quarry_store::CatalogReader;

use super::LibraryResult;

/// Rebuild the HNSW graph when dead vectors exceed this share of live ones.
const DEAD_VECTOR_RATIO: f64 = 0.25;

struct State {
    index: VectorIndex,
    /// Sorted live chunk ids (hits are checked against them).
    live: Vec<usize>,
    /// The catalog generation the graph reflects; `None` until refreshed.
    generation: Option<u64>,
}

pub(super) struct DenseIndex {
    root: PathBuf,
    state: RwLock<State>,
}

/// Whether a dump holds `identity`'s vectors: its fingerprint is the
/// embedder's. Dumps written before the fingerprint was recorded name only
/// the weights; all of them were made by candle in f32.
fn made_by(manifest: &Manifest, identity: &EmbedderIdentity) -> bool {
    let dump = if manifest.embedder.is_empty() {
        let Some(weights) = &manifest.embedder_sha256 else {
            return false;
        };
        EmbedderIdentity {
            weights_sha256: weights.clone(),
            engine: CANDLE_ENGINE.into(),
            precision: F32.into(),
            ..identity.clone()
        }
        .fingerprint()
    } else {
        manifest.embedder.clone()
    };
    dump == identity.fingerprint() && manifest.dimension == identity.dimension
}

impl DenseIndex {
    /// An empty graph for vectors of `dimension`, saved under `root`.
    pub(super) fn new(root: PathBuf, dimension: usize) -> Self {
        DenseIndex {
            root,
            state: RwLock::new(State {
                index: VectorIndex::new(dimension, 0),
                live: Vec::new(),
                generation: None,
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Load the dump if it holds `identity`'s vectors, else start empty (the
    /// refresh that follows inserts every vector the catalog holds). Returns
    /// why a dump was there but could not be used because it is damaged.
    pub(super) fn load(
        &self,
        identity: &EmbedderIdentity,
        catalog: &CatalogReader,
    ) -> LibraryResult<Option<String>> {
        let mut damaged = None;
        let loaded = match VectorIndex::load(&self.root) {
            Ok(Some((index, manifest))) if made_by(&manifest, identity) => Some(index),
            Ok(Some(_)) => {
                tracing::info!("dense index was built by another embedder; rebuilding from the catalog");
                None
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("dense index unreadable ({e}); rebuilding from the catalog");
                damaged = Some(e.to_string());
                None
            }
        };
        {
            let mut state = self.write();
            state.index = loaded.unwrap_or_else(|| VectorIndex::new(identity.dimension, 0));
            state.generation = None;
        }
        self.refresh(catalog)?;
        Ok(damaged)
    }

    /// Start over empty (every vector changed: a re-embedding); `capacity`
    /// vectors are expected.
    pub(super) fn reset(&self, dimension: usize, capacity: usize) {
        let mut state = self.write();
        state.index = VectorIndex::new(dimension, capacity);
        state.generation = None;
    }

    /// Bring the graph up to the catalog: insert vectors of chunks newer
    /// than the graph's newest, and refresh the live-id list.
    pub(super) fn refresh(&self, catalog: &CatalogReader) -> LibraryResult<()> {
        let (generation, delta, live) = {
            let generation = catalog.generation()?;
            let state = self.read();
            if state.generation == Some(generation) {
                return Ok(());
            }
            let delta = catalog.vectors_after(state.index.max_chunk_id())?;
            let live = catalog.chunk_ids()?;
            (generation, delta, live)
        };
        let mut state = self.write();
        state.index.insert(&delta);
        state.live = live.into_iter().map(|id| id as usize).collect();
        state.generation = Some(generation);
        Ok(())
    }

    /// Rebuild the graph from the catalog when dead vectors pile up (or
    /// `always`), then persist it stamped with the catalog generation.
    pub(super) fn compact_and_save(
        &self,
        identity: &EmbedderIdentity,
        catalog: &CatalogReader,
        always: bool,
    ) -> LibraryResult<()> {
        self.refresh(catalog)?;
        let mut state = self.write();
        let live = state.live.len();
        let dead = state.index.dead(&state.live);
        if always || dead as f64 > DEAD_VECTOR_RATIO * live as f64 + 64.0 {
            tracing::info!(dead, live, "rebuilding the dense index without dead vectors");
            let vectors = catalog.vectors_after(0)?;
            let mut fresh = VectorIndex::new(identity.dimension, vectors.len());
            fresh.insert(&vectors);
            state.index = fresh;
        }
        let generation = state.generation.unwrap_or(0);
        state
            .index
            .save(&self.root, generation, &identity.fingerprint())?;
        Ok(())
    }

    /// The `n` live chunks nearest to `query`: (chunk id, cosine).
    pub(super) fn search(&self, query: &[f32], n: usize) -> Vec<(u64, f32)> {
        let state = self.read();
        state.index.search(query, n, &state.live)
    }

    /// Vectors in the graph, live or dead.
    pub(super) fn len(&self) -> usize {
        self.read().index.len()
    }

    /// The catalog's chunks this graph cannot find by their own vector
    /// among the nearest [`FIND_OWN_VECTOR_AMONG`] (after bringing it up to
    /// the catalog): none in a library whose graph holds what its catalog
    /// holds. Identical texts share a vector, hence more than one.
    pub(super) fn unreachable(&self, catalog: &CatalogReader) -> LibraryResult<Vec<u64>> {
        self.refresh(catalog)?;
        let vectors = catalog.vectors_after(0)?;
        let state = self.read();
        Ok(vectors
            .iter()
            .filter(|(id, vector)| {
                !state
                    .index
                    .search(vector, FIND_OWN_VECTOR_AMONG, &state.live)
                    .iter()
                    .any(|(found, _)| found == id)
            })
            .map(|(id, _)| *id)
            .collect())
    }
}

/// How near a chunk's own vector must find it ([`DenseIndex::unreachable`]).
/// A vector missing from the graph is never found, however many are asked
/// for; a present one in a crowd of near-copies can fall outside a short
/// list by the search's approximation. At 10, 300 memos that differed only
/// in their numbers (600 chunks) had one chunk "unreachable" in a suite
/// run (`crash::a_second_add_while_one_runs…`), which `doctor` would have
/// called damage.
const FIND_OWN_VECTOR_AMONG: usize = 50;

#[cfg(test)]
mod tests {
    //! Properties: a dump is used only for the vectors it holds — its
    //! fingerprint names weights, engine and precision; a dump written
    //! before fingerprints (weights alone) counts as candle f32's.
    use super::*;

    fn identity(precision: &str) -> EmbedderIdentity {
        EmbedderIdentity {
            name: "all-MiniLM-L6-v2".into(),
            dimension: 384,
            weights_sha256: "53aa".into(),
            engine: CANDLE_ENGINE.into(),
            precision: precision.into(),
        }
    }

    fn manifest(embedder: &str, legacy: Option<&str>) -> Manifest {
        Manifest {
            dump: None,
            basename: "quarry".into(),
            generation: 4,
            max_chunk_id: 6,
            len: 6,
            dimension: 384,
            embedder: embedder.into(),
            embedder_sha256: legacy.map(str::to_string),
            checksums: Default::default(),
        }
    }

    #[test]
    fn a_dump_serves_only_the_embedder_that_made_it() {
        let f32 = identity(F32);
        let int8 = identity("int8");
        assert!(made_by(&manifest(&f32.fingerprint(), None), &f32));
        assert!(!made_by(&manifest(&f32.fingerprint(), None), &int8));
        assert!(!made_by(&manifest(&int8.fingerprint(), None), &f32));
        // Written before fingerprints: the weights alone, all candle f32.
        assert!(made_by(&manifest("", Some("53aa")), &f32));
        assert!(!made_by(&manifest("", Some("53aa")), &int8));
        assert!(!made_by(&manifest("", Some("ffff")), &f32));
        let mut other_dimension = manifest(&f32.fingerprint(), None);
        other_dimension.dimension = 768;
        assert!(!made_by(&other_dimension, &f32));
    }
}
