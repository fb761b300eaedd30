//! Dense retrieval: an HNSW graph (hnsw_rs, cosine) over chunk vectors.
//!
//! HNSW cannot delete, so the graph may hold vectors of chunks the catalog has
//! since removed; searches pass the live chunk ids as a filter, and the
//! engine rebuilds the graph when too many dead ones accumulate.
//!
//! On disk: `dense/CURRENT.json` names the dump directory and records the
//! catalog generation, the highest chunk id dumped and the embedder; a dump is
//! written into a fresh directory and CURRENT.json is replaced atomically, so a
//! kill mid-save leaves the previous dump in force. CURRENT.json also holds a
//! CRC-32 of each dump file: a damaged dump is refused before hnsw_rs reads
//! it (hnsw_rs panics on some damage), and the engine rebuilds the graph
//! from the catalog.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hnsw_rs::prelude::{AnnT, Distance, FilterT, Hnsw, HnswIo};
use serde::{Deserialize, Serialize};

use crate::IndexError;

/// Graph degree: 16 links per node is the usual recall/memory balance for
/// a few hundred dimensions.
const MAX_CONNECTIONS: usize = 16;
const MAX_LAYERS: usize = 16;
/// Build-time beam: higher gives a better graph, slower inserts.
const EF_CONSTRUCTION: usize = 200;
/// Search beam floor; raised to 2k for large k.
const EF_SEARCH: usize = 96;
/// Up to this many dead vectors a search over-fetches and filters itself;
/// beyond it, hnsw_rs's slower filtered search (see [`VectorIndex::search`]).
const MAX_DEAD_TO_OVERFETCH: usize = 256;
const MANIFEST: &str = "CURRENT.json";
const BASENAME: &str = "quarry";

/// Cosine distance between unit vectors, `1 − a·b`: every vector Quarry
/// stores or searches with is L2-normalised by the embedder.
///
/// Written here because hnsw_rs's own distances cost or crash: `DistCosine`
/// sums three f64 series one element at a time (the compiler cannot
/// vectorise that, and it recomputes both norms), and `DistDot` asserts
/// `a·b ≤ 1`, which rounding can break for unit vectors. Eight independent
/// f32 lanes let the compiler use full-width AVX2. Measured in
/// BENCHMARKS.md (Vector search).
#[derive(Debug, Default, Clone, Copy)]
pub struct UnitCosine;

impl Distance<f32> for UnitCosine {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - dot(a, b)).max(0.0)
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let (a_blocks, a_rest) = a.as_chunks::<LANES>();
    let (b_blocks, b_rest) = b.as_chunks::<LANES>();
    let mut sums = [0.0f32; LANES];
    for (x, y) in a_blocks.iter().zip(b_blocks) {
        for lane in 0..LANES {
            sums[lane] += x[lane] * y[lane];
        }
    }
    let rest: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    sums.iter().sum::<f32>() + rest
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Dump directory, relative to the dense root; `None` when empty.
    pub dump: Option<String>,
    pub basename: String,
    pub generation: u64,
    pub max_chunk_id: u64,
    pub len: usize,
    pub dimension: usize,
    /// Who made the vectors: the caller's fingerprint of its embedder
    /// (weights, engine, precision), compared on load so that a graph of
    /// other vectors is never searched.
    #[serde(default)]
    pub embedder: String,
    /// What dumps written before the fingerprint recorded instead: the
    /// weights' sha256 alone (their vectors were all candle f32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedder_sha256: Option<String>,
    /// CRC-32 of each file of the dump, by file name (dumps written before
    /// checksums have none, and are read unchecked).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<String, u32>,
}

pub struct VectorIndex {
    hnsw: Hnsw<'static, f32, UnitCosine>,
    dimension: usize,
    max_chunk_id: u64,
    len: usize,
}

impl VectorIndex {
    pub fn new(dimension: usize, capacity: usize) -> Self {
        VectorIndex {
            hnsw: Hnsw::new(
                MAX_CONNECTIONS,
                capacity.max(1024),
                MAX_LAYERS,
                EF_CONSTRUCTION,
                UnitCosine,
            ),
            dimension,
            max_chunk_id: 0,
            len: 0,
        }
    }

    /// Vectors in the graph, live or dead.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The highest chunk id inserted: anything above it is new to the graph.
    pub fn max_chunk_id(&self) -> u64 {
        self.max_chunk_id
    }

    pub fn insert(&mut self, items: &[(u64, Vec<f32>)]) {
        let items: Vec<(&Vec<f32>, usize)> = items
            .iter()
            .filter(|(_, v)| v.len() == self.dimension)
            .map(|(id, v)| (v, *id as usize))
            .collect();
        let Some((&(first, first_id), rest)) = items.split_first() else {
            return;
        };
        // hnsw_rs's parallel insert races on an empty graph: every point
        // inserted before the entry point exists finds no entry, links to
        // nothing, and can never be reached by a search (seen here: a small
        // library whose first add missed a chunk). So the first point goes
        // in alone.
        if self.len == 0 {
            self.hnsw.insert((first.as_slice(), first_id));
            self.hnsw.parallel_insert(rest);
        } else {
            self.hnsw.parallel_insert(&items);
        }
        self.len += items.len();
        if let Some(max) = items.iter().map(|(_, id)| *id as u64).max() {
            self.max_chunk_id = self.max_chunk_id.max(max);
        }
    }

    /// Vectors in the graph that `live` (the catalog's chunk ids) no longer
    /// holds, assuming the graph holds every live chunk.
    pub fn dead(&self, live: &[usize]) -> usize {
        self.len.saturating_sub(live.len())
    }

    /// Top-`k` live chunks by cosine similarity (1 − cosine distance).
    /// `live` is the sorted list of chunk ids the catalog holds.
    ///
    /// Dead vectors are dropped here, after an unfiltered search that
    /// fetches `k` plus one per dead vector, so they cannot crowd out live
    /// ones. Why not hnsw_rs's own filter: with a filter its search never
    /// takes the early exit (see `search_layer`) and walks most of the graph
    /// (BENCHMARKS.md, Vector search). Past [`MAX_DEAD_TO_OVERFETCH`] dead
    /// vectors (the engine rebuilds at 25% dead) that filter is used anyway.
    /// Every hit is checked against `live` either way: a search racing a
    /// writer may see a `live` list the graph has not caught up with.
    pub fn search(&self, query: &[f32], k: usize, live: &Vec<usize>) -> Vec<(u64, f32)> {
        if self.len == 0 || query.len() != self.dimension {
            return Vec::new();
        }
        let dead = self.dead(live);
        let (fetch, filter) = if dead > MAX_DEAD_TO_OVERFETCH {
            (k, Some(live as &dyn FilterT))
        } else {
            (k + dead, None)
        };
        let ef = EF_SEARCH.max(2 * fetch);
        self.hnsw
            .search_filter(query, fetch, ef, filter)
            .into_iter()
            .filter(|n| live.hnsw_filter(&n.d_id))
            .take(k)
            .map(|n| (n.d_id as u64, 1.0 - n.distance))
            .collect()
    }

    /// Dump the graph and switch CURRENT.json to it.
    pub fn save(&self, root: &Path, generation: u64, embedder: &str) -> Result<(), IndexError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| IndexError::Io { path, source }
        };
        std::fs::create_dir_all(root).map_err(io(root))?;
        let dump = if self.len == 0 {
            None
        } else {
            let name = format!("gen-{generation}-{}", std::process::id());
            let dir = root.join(&name);
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            let written = self
                .hnsw
                .file_dump(&dir, BASENAME)
                .map_err(|e| IndexError::Vector {
                    path: dir.clone(),
                    detail: e.to_string(),
                })?;
            sync_dir_files(&dir);
            let checksums = checksums(&dir).map_err(io(&dir))?;
            Some((name, written, checksums))
        };
        let (dump, basename, checksums) = match dump {
            Some((name, basename, checksums)) => (Some(name), basename, checksums),
            None => (None, BASENAME.into(), BTreeMap::new()),
        };
        let manifest = Manifest {
            dump,
            basename,
            generation,
            max_chunk_id: self.max_chunk_id,
            len: self.len,
            dimension: self.dimension,
            embedder: embedder.to_string(),
            embedder_sha256: None,
            checksums,
        };
        // A crash at either failpoint: the new dump is written, and
        // CURRENT.json names the old one (or, after the swap, the new one
        // while the old one is still on disk) (tests/it/failpoints.rs).
        fail::fail_point!("dense-dump-written");
        let tmp = root.join(format!("{MANIFEST}.tmp"));
        let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
        write_synced(&tmp, &json).map_err(io(&tmp))?;
        std::fs::rename(&tmp, root.join(MANIFEST)).map_err(io(root))?;
        fail::fail_point!("dense-manifest-replaced");
        // Older dumps are garbage now.
        if let Ok(entries) = std::fs::read_dir(root) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name.starts_with("gen-") && Some(&name) != manifest.dump.as_ref() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(())
    }

    /// Load the dump CURRENT.json names; `Ok(None)` when there is none.
    pub fn load(root: &Path) -> Result<Option<(Self, Manifest)>, IndexError> {
        let manifest_path = root.join(MANIFEST);
        let Ok(bytes) = std::fs::read(&manifest_path) else {
            return Ok(None);
        };
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| IndexError::Vector {
            path: manifest_path.clone(),
            detail: e.to_string(),
        })?;
        let Some(dump) = &manifest.dump else {
            let mut empty = VectorIndex::new(manifest.dimension, 0);
            empty.max_chunk_id = manifest.max_chunk_id;
            return Ok(Some((empty, manifest)));
        };
        let dir: PathBuf = root.join(dump);
        let damaged = |detail: String| IndexError::Vector {
            path: dir.clone(),
            detail,
        };
        if !manifest.checksums.is_empty() {
            let found = checksums(&dir).map_err(|e| damaged(format!("cannot read the dump: {e}")))?;
            if found != manifest.checksums {
                return Err(damaged(format!(
                    "damaged dump: its files' checksums are {found:?}, CURRENT.json recorded {:?}",
                    manifest.checksums
                )));
            }
        }
        // A dump made with another distance (hnsw_rs's DistCosine, before
        // UnitCosine) fails here, and the engine rebuilds it. hnsw_rs
        // unwraps some read errors: a dump the checksums could not vouch
        // for (one written before them) must not take the process down.
        let hnsw = std::panic::catch_unwind(|| {
            // hnsw_rs ties a loaded graph's lifetime to its loader; the
            // loader is small and lives as long as the index anyway, so give
            // it 'static.
            let loader: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&dir, &manifest.basename)));
            loader.load_hnsw::<f32, UnitCosine>().map_err(|e| e.to_string())
        })
        .map_err(|_| damaged("damaged dump: hnsw_rs could not read it".into()))?
        .map_err(damaged)?;
        let index = VectorIndex {
            hnsw,
            dimension: manifest.dimension,
            max_chunk_id: manifest.max_chunk_id,
            len: manifest.len,
        };
        Ok(Some((index, manifest)))
    }
}

/// CRC-32 of every file in `dir`, by file name, read in pieces (a dump can
/// be hundreds of megabytes; it is not held in memory twice).
fn checksums(dir: &Path) -> std::io::Result<BTreeMap<String, u32>> {
    use std::io::Read;
    let mut sums = BTreeMap::new();
    let mut buffer = vec![0u8; 1 << 16];
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let mut file = std::fs::File::open(entry.path())?;
            let mut hasher = crc32fast::Hasher::new();
            loop {
                match file.read(&mut buffer)? {
                    0 => break,
                    n => hasher.update(&buffer[..n]),
                }
            }
            sums.insert(
                entry.file_name().to_string_lossy().into_owned(),
                hasher.finalize(),
            );
        }
    }
    Ok(sums)
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn sync_dir_files(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if let Ok(f) = std::fs::File::open(e.path()) {
                let _ = f.sync_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Properties: search finds the nearest live vector; dead ids are
    //! filtered; a saved graph loads back and answers the same.
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn search_filter_save_load() {
        let mut index = VectorIndex::new(3, 10);
        index.insert(&[
            (1, unit(&[1.0, 0.0, 0.0])),
            (2, unit(&[0.9, 0.1, 0.0])),
            (5, unit(&[0.0, 1.0, 0.0])),
        ]);
        let q = unit(&[1.0, 0.05, 0.0]);
        let all = vec![1, 2, 5];
        let hits = index.search(&q, 2, &all);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![1, 2]);
        assert!(hits[0].1 > 0.99);
        let without_1 = vec![2, 5];
        assert_eq!(index.search(&q, 1, &without_1)[0].0, 2);

        let tmp = tempfile::tempdir().unwrap();
        index.save(tmp.path(), 7, "abc").unwrap();
        let (loaded, manifest) = VectorIndex::load(tmp.path()).unwrap().unwrap();
        assert_eq!(manifest.generation, 7);
        assert_eq!(manifest.max_chunk_id, 5);
        assert_eq!(loaded.search(&q, 2, &all), hits);
    }

    #[test]
    fn every_vector_of_a_first_insert_is_reachable() {
        // Fresh graphs filled in parallel by many threads at once: every
        // vector must be found as its own nearest neighbour. (The race this
        // guards against, in `insert`, needs a thread preempted between two
        // statements of hnsw_rs; it struck once in a loaded test run and
        // cannot be forced, so this checks the property, not the race.)
        let pool = rayon::ThreadPoolBuilder::new().num_threads(16).build().unwrap();
        for round in 0..100 {
            let mut index = VectorIndex::new(4, 64);
            let items: Vec<(u64, Vec<f32>)> = (0..32)
                .map(|id| {
                    let angle = (id * 7 + round) as f32 * 0.37;
                    (
                        id as u64,
                        unit(&[angle.cos(), angle.sin(), (id as f32) * 0.1, 1.0]),
                    )
                })
                .collect();
            pool.install(|| index.insert(&items));
            let live: Vec<usize> = (0..32).collect();
            for (id, vector) in &items {
                let hits = index.search(vector, 1, &live);
                assert_eq!(
                    hits.first().map(|h| h.0),
                    Some(*id),
                    "round {round}: vector {id} is reachable"
                );
            }
        }
    }

    #[test]
    fn unit_cosine_matches_the_definition() {
        // 387 = 48 blocks of 8 plus 3 left over: both paths are exercised.
        let a = unit(&(0..387).map(|i| ((i * 7) % 13) as f32 - 6.0).collect::<Vec<_>>());
        let b = unit(&(0..387).map(|i| ((i * 5) % 11) as f32 - 4.5).collect::<Vec<_>>());
        let cosine: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
        assert!((UnitCosine.eval(&a, &b) as f64 - (1.0 - cosine)).abs() < 1e-5);
        assert!(UnitCosine.eval(&a, &a) < 1e-5);
        let opposite: Vec<f32> = a.iter().map(|x| -x).collect();
        assert!((UnitCosine.eval(&a, &opposite) - 2.0).abs() < 1e-5);
    }

    #[test]
    fn dead_vectors_never_surface_however_many() {
        // 400 unit vectors on a circle in 2-d, so the exact order is known.
        let angle = |id: usize| id as f32 * 0.0157;
        let mut index = VectorIndex::new(2, 400);
        let items: Vec<(u64, Vec<f32>)> = (0..400)
            .map(|id| (id as u64, vec![angle(id).cos(), angle(id).sin()]))
            .collect();
        index.insert(&items);
        let query = [angle(100).cos(), angle(100).sin()];
        // 200 dead (over-fetched and filtered here), then 350 dead (hnsw_rs's filter).
        for live in [
            (0..400).filter(|id| id % 2 == 0).collect::<Vec<usize>>(),
            (0..50).collect(),
        ] {
            let hits: Vec<u64> = index.search(&query, 5, &live).into_iter().map(|h| h.0).collect();
            let mut exact: Vec<usize> = live.iter().copied().filter(|&id| id < 400).collect();
            exact.sort_by_key(|&id| id.abs_diff(100));
            let exact: Vec<u64> = exact.iter().take(5).map(|&id| id as u64).collect();
            let mut sorted_hits = hits.clone();
            sorted_hits.sort();
            let mut sorted_exact = exact.clone();
            sorted_exact.sort();
            assert_eq!(sorted_hits, sorted_exact, "live {}", live.len());
        }
    }
}
