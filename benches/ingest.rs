//! Ingest end to end: generated multi-page PDFs through the whole pipeline
//! (read, hash, parse with lopdf + pdf-extract, chunk, embed with the real
//! MiniLM, commit to SQLite, tantivy and HNSW), in pages/s and chunks/s.
//!
//! `cargo bench --bench ingest` indexes 10 PDFs of 10 pages (about 3,000
//! characters a page, like a dense manual page) into a fresh library, three
//! times, and prints the median as one JSON line; criterion then times a
//! one-file, two-page add for regression tracking. Under `cargo test` each
//! part runs once on a two-page file.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use criterion::Criterion;
use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, Stream};
use quarry_core::models::{ModelSearch, DEFAULT_EMBEDDER};
use quarry_core::Library;
use quarry_embed::SentenceEncoder;

const TOPICS: [&str; 6] = [
    "the impeller seal, which wears faster when the suction pressure drops below two bar",
    "the start capacitor, whose failure makes the motor hum without turning",
    "the intake screen, which clogs with leaves after heavy rain and starves the pump",
    "the bearings, greased with lithium grease every six months or after a flood",
    "the pressure sensor, which raises an alarm when the pump runs dry",
    "the drive belt, part ZX-4471-C, checked for cracks at every service",
];

/// One page of prose: 40 lines of about 75 characters.
fn page_lines(doc: usize, page: usize) -> Vec<String> {
    (0..40)
        .map(|line| {
            let topic = TOPICS[(doc + page + line) % TOPICS.len()];
            format!("Station {doc}, page {page}, note {line}: the crew looked at {topic}.")
        })
        .collect()
}

/// A PDF of `pages` pages of text in Helvetica, written with lopdf.
fn write_pdf(path: &Path, doc_number: usize, pages: usize) {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids: Vec<Object> = Vec::new();
    for page in 0..pages {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 10.into()]),
            Operation::new("TL", vec![14.into()]),
            Operation::new("Td", vec![40.into(), 800.into()]),
        ];
        for line in page_lines(doc_number, page) {
            operations.push(Operation::new("Tj", vec![Object::string_literal(line)]));
            operations.push(Operation::new("T*", vec![]));
        }
        operations.push(Operation::new("ET", vec![]));
        let content = Content { operations };
        let stream = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => stream,
        });
        kids.push(page_id.into());
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => pages as i64, "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    doc.save(path).expect("write PDF");
}

fn corpus(dir: &Path, files: usize, pages: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..files {
        write_pdf(&dir.join(format!("station-{i}.pdf")), i, pages);
    }
}

/// Index `docs` into a fresh library; (seconds, chunks, failures).
fn index_once(embedder: &Arc<SentenceEncoder>, docs: &Path, library: &Path) -> (f64, usize, usize) {
    let _ = std::fs::remove_dir_all(library);
    let library = Library::open(library, embedder.clone()).expect("open library");
    let started = Instant::now();
    let report = library
        .add(&[docs.to_path_buf()], &|_| {}, &AtomicBool::new(false))
        .expect("add");
    (
        started.elapsed().as_secs_f64(),
        report.chunks_embedded,
        report.failed,
    )
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let model = ModelSearch::from_env(None)
        .find_embedder(DEFAULT_EMBEDDER)
        .expect("run models/fetch");
    let embedder = Arc::new(SentenceEncoder::load(&model).expect("load MiniLM"));
    let tmp = tempfile::tempdir().unwrap();
    let (files, pages, runs) = if measuring { (10, 10, 3) } else { (1, 2, 1) };
    let docs = tmp.path().join("docs");
    corpus(&docs, files, pages);
    let mut measured: Vec<(f64, usize)> = (0..runs)
        .map(|_| {
            let (seconds, chunks, failed) = index_once(&embedder, &docs, &tmp.path().join("library"));
            assert_eq!(failed, 0, "a generated PDF failed to index");
            (seconds, chunks)
        })
        .collect();
    measured.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (seconds, chunks) = measured[measured.len() / 2];
    let total_pages = files * pages;
    println!(
        "{}",
        serde_json::json!({
            "area": "ingest", "engine": "quarry", "files": files, "pages": total_pages, "chunks": chunks,
            "seconds": seconds, "pages_per_s": total_pages as f64 / seconds, "chunks_per_s": chunks as f64 / seconds,
        })
    );

    let small = tmp.path().join("small");
    corpus(&small, 1, 2);
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.bench_function("pdf_2_pages", |b| {
        b.iter(|| index_once(&embedder, &small, &tmp.path().join("small-library")))
    });
    group.finish();
    c.final_summary();
}
