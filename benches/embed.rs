//! Embedding and chunking throughput at realistic chunk lengths.
//!
//! `cargo bench --bench embed` for numbers; `cargo test --benches` runs each
//! once as a smoke test. Needs the default model (`models/fetch`).
//!
//! Besides criterion's report, a measuring run prints one JSON line per
//! calls-of-`batch`-texts size (chunks/s and word pieces/s, median of 3 runs
//! over 64 texts), and with `QUARRY_BENCH_OUT=DIR` writes the texts to
//! `DIR/embed-texts.json`, so `benches/peers/run` has sentence-transformers
//! encode exactly the same ones.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use quarry_core::chunk::{Chunk, Chunker};
use quarry_core::models::{ModelSearch, DEFAULT_EMBEDDER};
use quarry_embed::bert::{CandleReference, Precision};
use quarry_embed::int8::Kernel;
use quarry_embed::{Embedder, SentenceEncoder};
use quarry_parse::extract;
use tokenizers::Tokenizer;

/// About 150 word pieces: the middle of Quarry's chunk size range.
fn passage(i: usize) -> String {
    format!(
        "Record {i}. The maintenance crew inspected pump station {i} after the spring floods and found \
         the impeller seal worn, the bearings dry and the start capacitor discoloured. They replaced the \
         seal with part ZX-4417-B, greased the bearings with lithium grease and logged a follow-up visit \
         for the capacitor. Water pressure on the suction side was measured at 1.4 bar, below the 2 bar \
         the manual asks for, which explains the cavitation noise reported by the night shift. The crew \
         recommends a pressure sensor with an alarm, and a check of the intake screen every month."
    )
}

const BATCHES: [usize; 3] = [1, 16, 64];

/// Chunks/s and word pieces/s for calls of `batch` texts, as JSON lines,
/// for `engine` (a name) embedding with `embed`.
fn throughput(
    engine: &str,
    embed: &dyn Fn(&[&str]),
    tokenizer: &Tokenizer,
    texts: &[String],
    measuring: bool,
) {
    let tokens: usize = texts
        .iter()
        .map(|t| tokenizer.encode(t.as_str(), true).unwrap().len())
        .sum();
    let runs = if measuring { 3 } else { 1 };
    for batch in BATCHES {
        let mut seconds: Vec<f64> = (0..runs)
            .map(|_| {
                let started = Instant::now();
                for slice in texts.chunks(batch) {
                    let refs: Vec<&str> = slice.iter().map(String::as_str).collect();
                    embed(&refs);
                }
                started.elapsed().as_secs_f64()
            })
            .collect();
        seconds.sort_by(f64::total_cmp);
        let median = seconds[seconds.len() / 2];
        println!(
            "{}",
            serde_json::json!({
                "area": "embed", "engine": engine, "batch": batch,
                "texts": texts.len(), "tokens": tokens,
                "chunks_per_s": texts.len() as f64 / median, "tokens_per_s": tokens as f64 / median,
            })
        );
    }
    // A question as a person types it: ten words, embedded alone.
    let question = ["How often should the intake screen of pump station 7 be checked?"];
    let mut ms: Vec<f64> = (0..if measuring { 50 } else { 1 })
        .map(|_| {
            let started = Instant::now();
            embed(&question);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({"area": "embed-query", "engine": engine, "words": 11, "ms_p50": ms[ms.len() / 2]})
    );
}

/// SciFact's abstracts (`$SCIFACT`, default `../shared/data/beir/scifact`),
/// each as a text file's contents would be ("title\n\nabstract"), until
/// Quarry's chunker has cut `chunks` passages from them: the documents and
/// their passages. `None` (and a line on stderr) without SciFact.
fn scifact_abstracts(encoder: &SentenceEncoder, chunks: usize) -> Option<(Vec<String>, Vec<Chunk>)> {
    let dir = std::env::var("SCIFACT").unwrap_or_else(|_| "../shared/data/beir/scifact".into());
    let Ok(corpus) = std::fs::read_to_string(Path::new(&dir).join("corpus.jsonl")) else {
        eprintln!("no SciFact at {dir}: the measurements on its abstracts are skipped");
        return None;
    };
    let chunker = Chunker::new(encoder.tokenizer(), encoder.max_tokens()).unwrap();
    let (mut documents, mut passages) = (Vec::new(), Vec::new());
    for line in corpus.lines() {
        let doc: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = format!(
            "{}\n\n{}",
            doc["title"].as_str().unwrap_or(""),
            doc["text"].as_str().unwrap_or("")
        );
        let extracted = extract(Path::new("abstract.txt"), text.as_bytes()).unwrap();
        passages.extend(chunker.chunk(&extracted).unwrap());
        documents.push(text);
        if passages.len() >= chunks {
            break;
        }
    }
    Some((documents, passages))
}

/// The pipeline's encoder, watched: each call's passages and the time the
/// encoder spent on it, so the pipeline line can say how many calls the
/// add really made, how long the encoder worked inside it, and replay the
/// very same calls with nothing else running.
struct Recorded {
    inner: Arc<SentenceEncoder>,
    /// Per call: its passages, and its seconds inside the add.
    calls: std::sync::Mutex<Vec<(Vec<String>, f64)>>,
}

impl Embedder for Recorded {
    fn identity(&self) -> &quarry_embed::EmbedderIdentity {
        self.inner.identity()
    }
    fn max_tokens(&self) -> usize {
        self.inner.max_tokens()
    }
    fn tokenizer(&self) -> &Tokenizer {
        self.inner.tokenizer()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, quarry_embed::EmbedError> {
        let started = Instant::now();
        let vectors = self.inner.embed(texts);
        let seconds = started.elapsed().as_secs_f64();
        let texts = texts.iter().map(|t| t.to_string()).collect();
        self.calls.lock().unwrap().push((texts, seconds));
        vectors
    }
    fn token_embeddings(&self) -> Option<&quarry_embed::TokenEmbeddingTable> {
        self.inner.token_embeddings()
    }
}

/// Part 5 of issue 13: does the pipeline keep the encoder busy? `quarry
/// add` (the library's whole pipeline: walk, read, the extraction worker,
/// chunk, embed, SQLite, tantivy, HNSW) on a folder of SciFact abstracts,
/// one text file each, against the same encoder embedding the very same
/// passages alone, in calls of 64 (its best rate) and in the very calls
/// the add made ([`Recorded`]), in the same process right after. One JSON line; with `QUARRY_BENCH_OUT`, the passages go to
/// `pipeline-texts.json` so the peers encode exactly them too.
fn pipeline_against_encoder(
    encoder: &Arc<SentenceEncoder>,
    (documents, passages): &(Vec<String>, Vec<Chunk>),
) {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("abstracts");
    std::fs::create_dir_all(&folder).unwrap();
    for (i, text) in documents.iter().enumerate() {
        std::fs::write(folder.join(format!("abstract-{i:05}.txt")), text).unwrap();
    }
    let recorded = Arc::new(Recorded {
        inner: encoder.clone(),
        calls: Default::default(),
    });
    let library = quarry_core::Library::open(&tmp.path().join("library"), recorded.clone()).unwrap();
    let started = Instant::now();
    // Where the time outside the encoder goes: before the first embedding
    // call (walk, plan, the first file read), and after the last file is
    // written (the indexes' final commit and save).
    let first_call = std::sync::OnceLock::new();
    let last_file = std::sync::Mutex::new(0.0);
    let observe = |progress: quarry_core::Progress| match progress {
        quarry_core::Progress::Started { .. } => drop(first_call.set(started.elapsed().as_secs_f64())),
        quarry_core::Progress::File { .. } => *last_file.lock().unwrap() = started.elapsed().as_secs_f64(),
        _ => {}
    };
    let report = library
        .add(&[folder], &observe, &std::sync::atomic::AtomicBool::new(false))
        .unwrap();
    let end_to_end = started.elapsed().as_secs_f64();
    let (first_call, last_file) = (*first_call.get().unwrap(), *last_file.lock().unwrap());
    assert_eq!(report.failed, 0);
    assert_eq!(
        report.chunks_embedded,
        passages.len(),
        "the pipeline cut the same passages"
    );
    let texts: Vec<&str> = passages.iter().map(|c| c.text.as_str()).collect();
    let started = Instant::now();
    for call in texts.chunks(64) {
        encoder.embed(call).unwrap();
    }
    let alone = started.elapsed().as_secs_f64();
    // The calls the add made, replayed alone: the encoder's own rate on
    // the same passages in the same calls; and its time inside the add.
    let made = std::mem::take(&mut *recorded.calls.lock().unwrap());
    let inside_add: f64 = made.iter().map(|(_, seconds)| seconds).sum();
    let started = Instant::now();
    for (call, _) in &made {
        let call: Vec<&str> = call.iter().map(String::as_str).collect();
        encoder.embed(&call).unwrap();
    }
    let replayed = started.elapsed().as_secs_f64();
    let (e2e_rate, encoder_rate) = (texts.len() as f64 / end_to_end, texts.len() as f64 / alone);
    if let Some(out) = std::env::var_os("QUARRY_BENCH_OUT") {
        // 0: all in one call, batched by the peer as it is best used.
        let json = serde_json::json!({ "texts": texts, "batches": [0, 64] });
        std::fs::write(Path::new(&out).join("pipeline-texts.json"), json.to_string()).unwrap();
    }
    println!(
        "{}",
        serde_json::json!({
            "area": "pipeline", "precision": encoder.identity().precision, "files": documents.len(),
            "chunks": texts.len(), "end_to_end_s": end_to_end, "end_to_end_chunks_per_s": e2e_rate,
            "encoder_alone_chunks_per_s": encoder_rate, "ratio": e2e_rate / encoder_rate,
            "first_call_s": first_call, "after_last_file_s": end_to_end - last_file,
            "add_calls": made.len(), "add_encoder_s": inside_add,
            "add_calls_replayed_alone_chunks_per_s": texts.len() as f64 / replayed,
            "ratio_to_replayed": e2e_rate * replayed / texts.len() as f64,
        })
    );
}

/// How close int8 vectors stay to f32 ones on 1,000 real chunks: SciFact's
/// abstracts through Quarry's chunker, embedded both ways; the lowest,
/// 1st-percentile and mean cosine, as one JSON line.
fn int8_agreement(f32_encoder: &SentenceEncoder, int8: &SentenceEncoder, passages: &[Chunk]) {
    let texts: Vec<&str> = passages.iter().take(1_000).map(|c| c.text.as_str()).collect();
    let exact = f32_encoder.embed(&texts).unwrap();
    let quantised = int8.embed(&texts).unwrap();
    let mut cosines: Vec<f32> = exact
        .iter()
        .zip(&quantised)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum())
        .collect();
    cosines.sort_by(f32::total_cmp);
    println!(
        "{}",
        serde_json::json!({
            "area": "int8-agreement", "chunks": cosines.len(),
            "kernel": int8.kernel().map(|k| k.name()),
            "cosine_min": cosines[0], "cosine_p1": cosines[cosines.len() / 100],
            "cosine_mean": cosines.iter().sum::<f32>() / cosines.len() as f32,
        })
    );
}

fn bench(c: &mut Criterion) {
    let dir = ModelSearch::from_env(None)
        .find_embedder(DEFAULT_EMBEDDER)
        .expect("run models/fetch");
    // Shared (`Arc`) because the pipeline line gives them to a library.
    let encoder = Arc::new(SentenceEncoder::load(&dir).expect("load embedder"));
    let texts: Vec<String> = (0..64).map(passage).collect();
    let tokens = encoder.tokenizer().encode(texts[0].as_str(), true).unwrap().len();
    let measuring = std::env::args().any(|a| a == "--bench");
    if let Some(out) = std::env::var_os("QUARRY_BENCH_OUT") {
        let out = std::path::PathBuf::from(out);
        std::fs::create_dir_all(&out).unwrap();
        let json = serde_json::json!({ "texts": texts, "batches": BATCHES });
        std::fs::write(out.join("embed-texts.json"), json.to_string()).unwrap();
    }
    let sample = if measuring { &texts[..] } else { &texts[..2] };
    throughput(
        "quarry (own BERT forward pass, gemm 0.19, f32)",
        &|t| drop(encoder.embed(t).unwrap()),
        encoder.tokenizer(),
        sample,
        measuring,
    );
    let int8 = Arc::new(SentenceEncoder::load_at(&dir, Precision::Int8).expect("load embedder at int8"));
    throughput(
        &format!(
            "quarry int8 ({} kernel)",
            int8.kernel().expect("an int8 encoder has a kernel").name()
        ),
        &|t| drop(int8.embed(t).unwrap()),
        encoder.tokenizer(),
        sample,
        measuring,
    );
    // SciFact's abstracts, read and chunked once for the lines that use them.
    let abstracts = scifact_abstracts(&encoder, if measuring { 1_000 } else { 4 });
    if measuring {
        if let Some((_, passages)) = &abstracts {
            int8_agreement(&encoder, &int8, passages);
        }
        // The AVX2 kernel (what CPUs without AVX-512 VNNI run), forced,
        // beside the one detected, in the same run.
        if int8.kernel() != Some(Kernel::Avx2) {
            let avx2 = SentenceEncoder::load_int8_with(&dir, Kernel::Avx2).expect("load embedder at int8");
            throughput(
                "quarry int8 (avx2 kernel, forced)",
                &|t| drop(avx2.embed(t).unwrap()),
                encoder.tokenizer(),
                sample,
                measuring,
            );
        }
    }
    // Once each as a smoke test (a few passages), 1,000 passages measuring.
    for each in [&encoder, &int8] {
        if let Some(abstracts) = &abstracts {
            pipeline_against_encoder(each, abstracts);
        }
    }
    // The engine before, in the same run: the ratio is the measure.
    let before = CandleReference::load(&dir).expect("load candle's BERT");
    throughput(
        "candle-transformers 0.10.2 BERT (Quarry before)",
        &|t| drop(before.embed(t).unwrap()),
        encoder.tokenizer(),
        sample,
        measuring,
    );

    let mut group = c.benchmark_group("embed");
    group.sample_size(10);
    for batch in [1usize, 16, 64] {
        let slice: Vec<&str> = texts[..batch].iter().map(String::as_str).collect();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(
            BenchmarkId::new(format!("chunks_of_{tokens}_tokens"), batch),
            &slice,
            |b, s| b.iter(|| encoder.embed(s).unwrap()),
        );
    }
    group.finish();

    let chunker = Chunker::new(encoder.tokenizer(), encoder.max_tokens()).unwrap();
    let long: String = texts.join("\n\n");
    let doc = extract(Path::new("bench.txt"), long.as_bytes()).unwrap();
    let mut group = c.benchmark_group("chunk");
    group.throughput(Throughput::Bytes(long.len() as u64));
    group.bench_function("64_passages", |b| b.iter(|| chunker.chunk(&doc).unwrap()));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
