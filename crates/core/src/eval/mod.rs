//! Retrieval evaluation on a dataset in BEIR layout: index its corpus into
//! a library (title + text of each record as one document, no file
//! parsing), run every judged query, and score lexical-only, dense-only and
//! fused retrieval with BEIR's metrics, plus indexing and query timing.
//!
//! Quarry retrieves *chunks*; a document's score for a query is its best
//! chunk's (the first time it appears in the ranked list), which is how a
//! passage retriever is scored on document-level judgements ("MaxP").
//!
//! [`tune`] chooses a fusion on half of the queries and reports it on the
//! other half and on all, so a default is picked by evidence without being
//! fitted to the queries it is reported on.
//!
//! [`qa`] measures answers the same way: a SQuAD 2.0 file's questions asked
//! through the answering session.
//!
//! Invariant: reads datasets and calls the `Library` API, the fusion
//! function and the answering session; never the catalog, the indexes'
//! internals or a model directly.

pub mod beir;
pub mod metrics;
pub mod qa;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::Serialize;

use quarry_index::fusion::{fuse, FusionConfig, Normalization};
use quarry_store::StoreError;

use crate::{Candidates, Library, LibraryError, Progress, SearchOptions, TextDocument};
use beir::{BeirDataset, Query};
use metrics::{mean, score_query, Metrics};

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {detail}")]
    Dataset { path: PathBuf, detail: String },
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Catalog(#[from] StoreError),
    #[error(transparent)]
    Answer(#[from] crate::answer::AnswerError),
}

/// Documents scored per query: deep enough for Recall@100.
const DEPTH: usize = 100;

#[derive(Debug, Clone, Copy)]
pub struct EvalOptions {
    /// Chunks taken from each retriever per query. A document has several
    /// chunks, so this must exceed [`DEPTH`] for Recall@100 to see 100
    /// documents.
    pub candidates: usize,
    /// The fusion reported as "fused" (default: Quarry's default).
    pub fusion: FusionConfig,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            candidates: 300,
            fusion: FusionConfig::default(),
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub mean: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `samples` (any order).
    pub fn of(samples: &[f64]) -> Self {
        if samples.is_empty() {
            return Percentiles::default();
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at =
            |p: f64| sorted[((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        Percentiles {
            p50: at(50.0),
            p90: at(90.0),
            p99: at(99.0),
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// Wall time to index the corpus (extract, chunk, embed, write).
    pub index_seconds: f64,
    pub documents_per_second: f64,
    pub chunks_per_second: f64,
    /// `Library::search` as the app calls it (embed the query, both
    /// retrievers, fuse, hydrate 10 passages), per query.
    pub query_ms: Percentiles,
    /// Parts of a query, at the evaluation's candidate depth: embedding the
    /// query, the HNSW search, and BM25.
    pub embed_ms: Percentiles,
    pub dense_ms: Percentiles,
    pub lexical_ms: Percentiles,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub dataset: String,
    pub queries: usize,
    pub documents: usize,
    pub failed_documents: usize,
    pub chunks: usize,
    pub lexical: Metrics,
    pub dense: Metrics,
    pub fused: Metrics,
    pub fusion: FusionConfig,
    pub fusion_label: String,
    pub candidates: usize,
    pub timing: Timing,
}

/// A dataset indexed and queried once: every query's raw candidates, from
/// which any fusion is scored without searching again.
pub struct Retrieved {
    pub queries: Vec<Query>,
    pub candidates: Vec<Candidates>,
    /// chunk id → corpus id
    pub doc_of: HashMap<u64, String>,
    pub report: EvalReport,
}

/// Index `dataset` into `library` (unchanged records are skipped, so a kept
/// library is reused), run its queries, and score the three rankings.
pub fn evaluate(
    library: &Library,
    dataset: &BeirDataset,
    options: &EvalOptions,
    observe: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> Result<Retrieved, EvalError> {
    let documents: Vec<TextDocument> = dataset
        .corpus
        .iter()
        .map(|r| TextDocument {
            key: r.id.clone(),
            title: (!r.title.trim().is_empty()).then(|| r.title.clone()),
            // BEIR's convention: the title is part of the document's text.
            text: if r.title.trim().is_empty() {
                r.text.clone()
            } else {
                format!("{}\n\n{}", r.title, r.text)
            },
        })
        .collect();
    let started = Instant::now();
    let added = library.add_texts(documents, observe, cancel)?;
    let index_seconds = started.elapsed().as_secs_f64();

    let doc_of: HashMap<u64, String> = library.read().chunk_documents()?.into_iter().collect();
    let search = SearchOptions {
        fusion: options.fusion,
        ..SearchOptions::default()
    };
    let mut latencies = Vec::with_capacity(dataset.queries.len());
    let mut candidates = Vec::with_capacity(dataset.queries.len());
    for query in &dataset.queries {
        let t = Instant::now();
        library.search(&query.text, &search)?;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        candidates.push(library.candidates(&query.text, options.candidates)?);
    }
    let parts =
        |part: fn(&Candidates) -> f64| Percentiles::of(&candidates.iter().map(part).collect::<Vec<f64>>());
    let (embed_ms, dense_ms, lexical_ms) = (
        parts(|c| c.embed_ms),
        parts(|c| c.dense_ms),
        parts(|c| c.lexical_ms),
    );
    let mut retrieved = Retrieved {
        queries: dataset.queries.clone(),
        candidates,
        doc_of,
        report: EvalReport {
            dataset: dataset.dir.display().to_string(),
            queries: dataset.queries.len(),
            documents: dataset.corpus.len(),
            failed_documents: added.failed,
            chunks: 0,
            lexical: Metrics::default(),
            dense: Metrics::default(),
            fused: Metrics::default(),
            fusion: options.fusion,
            fusion_label: options.fusion.label(),
            candidates: options.candidates,
            timing: Timing {
                index_seconds,
                documents_per_second: 0.0,
                chunks_per_second: 0.0,
                query_ms: Percentiles::of(&latencies),
                embed_ms,
                dense_ms,
                lexical_ms,
            },
        },
    };
    let all: Vec<usize> = (0..retrieved.queries.len()).collect();
    let (lexical, dense, fused) = (
        score(&retrieved, &all, Ranking::Lexical),
        score(&retrieved, &all, Ranking::Dense),
        score(&retrieved, &all, Ranking::Fused(options.fusion)),
    );
    let report = &mut retrieved.report;
    (report.lexical, report.dense, report.fused) = (lexical, dense, fused);
    report.chunks = retrieved.doc_of.len();
    // Rates only mean something when this run did the indexing.
    if added.chunks_embedded > 0 {
        report.timing.documents_per_second = (added.added + added.updated) as f64 / index_seconds;
        report.timing.chunks_per_second = added.chunks_embedded as f64 / index_seconds;
    }
    Ok(retrieved)
}

/// Documents in order of their best chunk, at most [`DEPTH`].
fn document_run(chunks: &[(u64, f32)], doc_of: &HashMap<u64, String>) -> Vec<(String, f32)> {
    let mut seen = std::collections::HashSet::new();
    chunks
        .iter()
        .filter_map(|(id, score)| doc_of.get(id).map(|doc| (doc, *score)))
        .filter(|(doc, _)| seen.insert(doc.as_str()))
        .take(DEPTH)
        .map(|(doc, score)| (doc.clone(), score))
        .collect()
}

/// One of the rankings an evaluation scores.
#[derive(Debug, Clone, Copy)]
pub enum Ranking {
    /// BM25 alone, by its raw scores.
    Lexical,
    /// The HNSW search alone, by cosine.
    Dense,
    Fused(FusionConfig),
}

impl Ranking {
    fn chunks(&self, c: &Candidates) -> Vec<(u64, f32)> {
        match self {
            Ranking::Lexical => c.lexical.clone(),
            Ranking::Dense => c.dense.clone(),
            Ranking::Fused(fusion) => fuse(&c.dense, &c.lexical, fusion)
                .into_iter()
                .map(|f| (f.chunk_id, f.scores.score))
                .collect(),
        }
    }
}

/// Query `i`'s documents under `ranking`: (corpus id, score), best first.
pub fn document_ranking(retrieved: &Retrieved, i: usize, ranking: Ranking) -> Vec<(String, f32)> {
    document_run(&ranking.chunks(&retrieved.candidates[i]), &retrieved.doc_of)
}

/// Mean metrics of `ranking` over the queries at positions `which`.
pub fn score(retrieved: &Retrieved, which: &[usize], ranking: Ranking) -> Metrics {
    let per_query: Vec<Metrics> = which
        .iter()
        .map(|&i| {
            score_query(
                document_ranking(retrieved, i, ranking),
                &retrieved.queries[i].judged,
            )
        })
        .collect();
    mean(&per_query)
}

/// Scores of one ranking on the tuning half, the held-out half and all.
#[derive(Debug, Clone, Serialize)]
pub struct Halves {
    pub tune: Metrics,
    pub held_out: Metrics,
    pub all: Metrics,
}

#[derive(Debug, Clone, Serialize)]
pub struct GridPoint {
    pub fusion: FusionConfig,
    pub label: String,
    pub scores: Halves,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tuning {
    /// How the queries were split.
    pub split: String,
    pub tune_queries: usize,
    pub held_out_queries: usize,
    pub lexical: Halves,
    pub dense: Halves,
    /// Quarry's current default fusion.
    pub default: GridPoint,
    /// The grid point with the best nDCG@10 on the tuning half.
    pub best: GridPoint,
    /// Every fusion tried, best tuning nDCG@10 first.
    pub grid: Vec<GridPoint>,
}

/// The fusions [`tune`] tries: RRF over k and the lexical weight, and the
/// convex combination, with either normalisation, over alpha.
pub fn fusion_grid() -> Vec<FusionConfig> {
    let mut grid = Vec::new();
    for k in [5.0, 10.0, 20.0, 40.0, 60.0, 100.0] {
        for lexical in [0.5, 0.75, 1.0, 1.25, 1.5, 2.0] {
            grid.push(FusionConfig::rrf(k, 1.0, lexical));
        }
    }
    for normalization in [Normalization::MinMax, Normalization::TheoreticalMin] {
        for step in 1..20 {
            grid.push(FusionConfig::convex(step as f32 * 0.05, normalization));
        }
    }
    grid
}

/// Choose a fusion on the even-numbered queries (in id order) and report
/// every candidate on the odd-numbered ones and on all.
pub fn tune(retrieved: &Retrieved) -> Tuning {
    let n = retrieved.queries.len();
    let all: Vec<usize> = (0..n).collect();
    let tune_half: Vec<usize> = all.iter().copied().filter(|i| i % 2 == 0).collect();
    let held_out: Vec<usize> = all.iter().copied().filter(|i| i % 2 == 1).collect();
    let halves = |ranking: Ranking| Halves {
        tune: score(retrieved, &tune_half, ranking),
        held_out: score(retrieved, &held_out, ranking),
        all: score(retrieved, &all, ranking),
    };
    let point = |fusion: FusionConfig| GridPoint {
        fusion,
        label: fusion.label(),
        scores: halves(Ranking::Fused(fusion)),
    };
    let mut grid: Vec<GridPoint> = fusion_grid().into_iter().map(point).collect();
    grid.sort_by(|a, b| b.scores.tune.ndcg_at_10.total_cmp(&a.scores.tune.ndcg_at_10));
    Tuning {
        split: "queries sorted by id; even positions tune, odd positions are held out".into(),
        tune_queries: tune_half.len(),
        held_out_queries: held_out.len(),
        lexical: halves(Ranking::Lexical),
        dense: halves(Ranking::Dense),
        default: point(FusionConfig::default()),
        best: grid[0].clone(),
        grid,
    }
}
