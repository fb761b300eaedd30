//! Retrieval at scale: HNSW build and search (recall@10 against exact
//! search, queries/s), BM25 query latency, fused query latency at 100k
//! chunks, and peak memory while indexing those chunks and on reopening
//! the library.
//!
//! `cargo bench --bench retrieval` measures at 10k and 100k vectors and a
//! 100k-chunk library; under `cargo test` everything runs once at 2k to
//! prove the harness works. Besides criterion's report it prints one JSON
//! line per measurement, which `benches/peers/run` reads. With
//! `QUARRY_BENCH_OUT=DIR` it also writes the vectors it searched
//! (`ann-N/base.f32`, `queries.f32`, `meta.json`) so peers search the same.
//!
//! Vectors: what HNSW costs depends on how vectors cluster, so the ANN
//! benches use clustered unit vectors in 384-d (256 Gaussian clusters) rather
//! than uniform noise, which is HNSW's unrealistic worst case. The 100k-chunk
//! library uses real text (SciFact abstracts from `../shared/data`, repeated
//! with distinct ids, or generated sentences when absent), the real
//! tokenizer, catalog, tantivy and HNSW, and the real MiniLM for every query;
//! only the *stored passage vectors* are such clustered vectors, because
//! embedding 100k chunks on 2 cores takes the better part of an hour (the
//! embedding rate itself is measured by `benches/embed.rs`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use criterion::Criterion;
use quarry_core::eval::Percentiles;
use quarry_core::models::{ModelSearch, DEFAULT_EMBEDDER};
use quarry_core::{Library, SearchOptions, TextDocument};
use quarry_embed::{EmbedError, Embedder, EmbedderIdentity, SentenceEncoder, TokenEmbeddingTable};
use quarry_index::lexical::LexicalIndex;
use quarry_index::vector::VectorIndex;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use serde_json::json;

const DIM: usize = 384;
const CLUSTERS: usize = 256;
const QUERIES: usize = 200;

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
    v.iter_mut().for_each(|x| *x /= n);
    v
}

/// Cluster centres shared by the stored vectors and the queries.
fn centres() -> Vec<Vec<f32>> {
    let mut rng = SmallRng::seed_from_u64(7);
    (0..CLUSTERS)
        .map(|_| unit((0..DIM).map(|_| rng.sample(StandardNormal)).collect()))
        .collect()
}

/// A unit vector near a random centre (noise of about the spread MiniLM's
/// passage vectors show around a topic: cosine ≈ 0.5–0.7 to the centre).
fn clustered(rng: &mut SmallRng, centres: &[Vec<f32>]) -> Vec<f32> {
    let centre = &centres[rng.random_range(0..centres.len())];
    let noise = 0.06_f32;
    unit(
        centre
            .iter()
            .map(|c| c + noise * rng.sample::<f32, _>(StandardNormal))
            .collect(),
    )
}

fn exact_top(base: &[Vec<f32>], query: &[f32], k: usize) -> Vec<usize> {
    let mut scored: Vec<(usize, f32)> = base
        .iter()
        .enumerate()
        .map(|(i, v)| (i, v.iter().zip(query).map(|(a, b)| a * b).sum()))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.into_iter().take(k).map(|(i, _)| i).collect()
}

fn write_f32(path: &Path, vectors: &[Vec<f32>]) {
    let bytes: Vec<u8> = vectors.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("write vectors");
}

fn emit(value: serde_json::Value) {
    println!("{value}");
}

/// HNSW build, recall@10 against exact search, and per-query latency.
fn ann(c: &mut Criterion, n: usize, out: Option<&Path>) {
    let centres = centres();
    let mut rng = SmallRng::seed_from_u64(n as u64);
    let base: Vec<Vec<f32>> = (0..n).map(|_| clustered(&mut rng, &centres)).collect();
    let queries: Vec<Vec<f32>> = (0..QUERIES).map(|_| clustered(&mut rng, &centres)).collect();
    if let Some(out) = out {
        let dir = out.join(format!("ann-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        write_f32(&dir.join("base.f32"), &base);
        write_f32(&dir.join("queries.f32"), &queries);
        let meta = json!({"dim": DIM, "n": n, "nq": QUERIES, "k": 10, "m": 16, "ef_construction": 200, "ef_search": 96});
        std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
    }
    // Ids start at 1, as chunk ids do.
    let items: Vec<(u64, Vec<f32>)> = base
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u64 + 1, v.clone()))
        .collect();
    let started = Instant::now();
    let mut index = VectorIndex::new(DIM, n);
    index.insert(&items);
    let build_s = started.elapsed().as_secs_f64();
    let live: Vec<usize> = (1..=n).collect();
    let mut found = 0;
    let mut latencies = Vec::with_capacity(QUERIES);
    for q in &queries {
        let t = Instant::now();
        let hits = index.search(q, 10, &live);
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        let truth = exact_top(&base, q, 10);
        found += hits
            .iter()
            .filter(|(id, _)| truth.contains(&(*id as usize - 1)))
            .count();
    }
    let p = Percentiles::of(&latencies);
    emit(json!({
        "area": "ann", "engine": "quarry (hnsw_rs 0.3, M 16, ef_construction 200, ef_search 96)", "n": n,
        "build_vectors_per_s": n as f64 / build_s, "qps": 1000.0 / p.mean,
        "query_ms_p50": p.p50, "query_ms_p99": p.p99,
        "recall@10": found as f64 / (10 * QUERIES) as f64,
    }));
    let mut group = c.benchmark_group("hnsw_search");
    group.sample_size(20);
    let mut i = 0;
    group.bench_function(format!("{n}"), |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            index.search(&queries[i], 10, &live)
        })
    });
    group.finish();
}

/// Real MiniLM for queries; clustered vectors for passages while indexing.
struct ScaleEmbedder {
    real: SentenceEncoder,
    identity: EmbedderIdentity,
    indexing: AtomicBool,
    centres: Vec<Vec<f32>>,
}

impl ScaleEmbedder {
    fn load() -> Self {
        let dir = ModelSearch::from_env(None)
            .find_embedder(DEFAULT_EMBEDDER)
            .expect("run models/fetch");
        // Queries are embedded as a new library embeds them.
        let real = SentenceEncoder::load_at(&dir, quarry_core::DEFAULT_PRECISION).expect("load MiniLM");
        let mut identity = real.identity().clone();
        identity.name = format!("{} (queries) + clustered passage vectors (bench)", identity.name);
        identity.weights_sha256 = format!("bench-{}", identity.weights_sha256);
        ScaleEmbedder {
            real,
            identity,
            indexing: AtomicBool::new(false),
            centres: centres(),
        }
    }
}

impl Embedder for ScaleEmbedder {
    fn identity(&self) -> &EmbedderIdentity {
        &self.identity
    }
    fn max_tokens(&self) -> usize {
        self.real.max_tokens()
    }
    fn tokenizer(&self) -> &tokenizers::Tokenizer {
        self.real.tokenizer()
    }
    fn token_embeddings(&self) -> Option<&TokenEmbeddingTable> {
        self.real.token_embeddings()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if !self.indexing.load(Ordering::Relaxed) {
            return self.real.embed(texts);
        }
        Ok(texts
            .iter()
            .map(|t| {
                let seed = t.bytes().fold(0xcbf29ce484222325_u64, |h, b| {
                    (h ^ b as u64).wrapping_mul(0x100000001b3)
                });
                clustered(&mut SmallRng::seed_from_u64(seed), &self.centres)
            })
            .collect())
    }
}

/// Texts for the scale library: SciFact's abstracts when the shared data is
/// beside the repository, else generated sentences; each record is (title, text).
fn source_texts() -> (String, Vec<(String, String)>) {
    let scifact = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/beir/scifact/corpus.jsonl");
    if let Ok(text) = std::fs::read_to_string(&scifact) {
        let records = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| {
                (
                    v["title"].as_str().unwrap_or("").to_string(),
                    v["text"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        return ("SciFact abstracts".into(), records);
    }
    let words = [
        "pump", "seal", "pressure", "bread", "flour", "tomato", "chain", "tyre", "carbon", "privacy",
        "index", "model", "valve", "water", "crust", "stake", "gear", "energy", "report", "file",
    ];
    let records = (0..2000)
        .map(|i| {
            let sentence = |j: usize| {
                format!(
                    "The {} and the {} of unit {i} were checked in step {j}.",
                    words[(i + j) % 20],
                    words[(i * 7 + j * 3) % 20]
                )
            };
            (
                format!("Record {i}"),
                (0..12).map(sentence).collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    ("generated sentences".into(), records)
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Index at least `target` chunks, then time BM25 alone and the fused
/// search; report peak memory for indexing and (in a fresh process) for
/// reopening.
fn library_at_scale(c: &mut Criterion, target: usize, dir: &Path) {
    let embedder = Arc::new(ScaleEmbedder::load());
    let library = Library::open(dir, embedder.clone()).expect("open library");
    let (source, records) = source_texts();
    let queries: Vec<String> = records
        .iter()
        .take(QUERIES)
        .map(|(title, _)| title.clone())
        .collect();
    embedder.indexing.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let mut chunks = 0;
    let mut copy = 0;
    while chunks < target {
        // A small library under `cargo test`, whole copies when measuring.
        let per_copy = if target < 10_000 { 300 } else { usize::MAX };
        let batch: Vec<TextDocument> = records
            .iter()
            .take(per_copy)
            .enumerate()
            .map(|(i, (title, text))| TextDocument {
                key: format!("copy-{copy}/{i}"),
                title: Some(title.clone()),
                text: format!("{title}\n\n{text}"),
            })
            .collect();
        chunks += library
            .add_texts(batch, &|_| {}, &AtomicBool::new(false))
            .expect("index")
            .chunks_embedded;
        copy += 1;
    }
    embedder.indexing.store(false, Ordering::Relaxed);
    let index_s = started.elapsed().as_secs_f64();
    let indexing_peak = vm_hwm_kib();

    let lexical = LexicalIndex::open(&dir.join("lexical")).expect("lexical index");
    let mut bm25 = Vec::new();
    let mut query_embedding = Vec::new();
    let mut fused = Vec::new();
    let options = SearchOptions::default();
    for q in &queries {
        let t = Instant::now();
        lexical.search(q, options.candidates).expect("bm25");
        bm25.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        embedder.embed(&[q.as_str()]).expect("embed the query");
        query_embedding.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        library.search(q, &options).expect("search");
        fused.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (bm25, fused) = (Percentiles::of(&bm25), Percentiles::of(&fused));
    let query_embedding = Percentiles::of(&query_embedding);
    let reopen = std::process::Command::new(std::env::current_exe().unwrap())
        .env("QUARRY_BENCH_REOPEN", dir)
        .output()
        .expect("reopen in a fresh process");
    let reopen: serde_json::Value = serde_json::from_slice(&reopen.stdout)
        .unwrap_or_else(|_| panic!("reopen failed: {}", String::from_utf8_lossy(&reopen.stderr)));
    emit(json!({
        "area": "library", "engine": "quarry", "source": source, "chunks": chunks,
        "index_s": index_s, "index_chunks_per_s_without_embedding": chunks as f64 / index_s,
        "bm25_ms_p50": bm25.p50, "bm25_ms_p99": bm25.p99,
        "fused_ms_p50": fused.p50, "fused_ms_p99": fused.p99,
        "query_embedding_ms_p50": query_embedding.p50,
        "query_precision": embedder.real.identity().precision,
        "peak_rss_indexing_mib": indexing_peak / 1024,
        "peak_rss_reopen_mib": reopen["peak_rss_mib"], "reopen_s": reopen["open_s"],
    }));
    let mut group = c.benchmark_group("query");
    group.sample_size(20);
    let mut i = 0;
    group.bench_function(format!("bm25_top{}/{chunks}_chunks", options.candidates), |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            lexical.search(&queries[i], options.candidates).unwrap()
        })
    });
    group.bench_function(format!("fused_search_k10/{chunks}_chunks"), |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            library.search(&queries[i], &options).unwrap()
        })
    });
    group.finish();
}

/// Run in a fresh process by [`library_at_scale`]: open, search once, report peak memory.
fn reopen(dir: &Path) {
    let started = Instant::now();
    let embedder = Arc::new(ScaleEmbedder::load());
    let library = Library::open(dir, embedder).expect("reopen library");
    library
        .search("protein folding", &SearchOptions::default())
        .expect("search");
    println!(
        "{}",
        json!({"peak_rss_mib": vm_hwm_kib() / 1024, "open_s": started.elapsed().as_secs_f64()})
    );
}

fn main() {
    if let Some(dir) = std::env::var_os("QUARRY_BENCH_REOPEN") {
        reopen(Path::new(&dir));
        return;
    }
    let measuring = std::env::args().any(|a| a == "--bench");
    let out = std::env::var_os("QUARRY_BENCH_OUT").map(PathBuf::from);
    let mut c = Criterion::default().configure_from_args();
    let sizes: &[usize] = if measuring { &[10_000, 100_000] } else { &[2_000] };
    for &n in sizes {
        ann(&mut c, n, out.as_deref());
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    library_at_scale(
        &mut c,
        if measuring { 100_000 } else { 2_000 },
        &tmp.path().join("library"),
    );
    c.final_summary();
}
