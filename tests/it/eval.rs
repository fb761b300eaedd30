//! Properties: `quarry eval` indexes a BEIR-layout dataset with the real
//! embedder, scores lexical, dense and fused retrieval per BEIR's metrics,
//! reuses a kept library, tunes on half the queries, and names what is
//! wrong with a broken dataset.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::AtomicBool;

use quarry_core::eval::beir::BeirDataset;
use quarry_core::eval::{evaluate, score, tune, EvalOptions, Ranking};
use quarry_core::fusion::FusionConfig;
use serde_json::Value;

use crate::cli::json;
use crate::support::{model_dir, open, repo};

fn tiny() -> PathBuf {
    repo().join("tests/data/beir-tiny")
}

fn eval(args: &[&str]) -> Output {
    let cache = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_quarry"))
        .arg("eval")
        .args(args)
        .env("QUARRY_EMBEDDER", model_dir())
        .env("QUARRY_CACHE_DIR", cache.path())
        .output()
        .expect("run quarry eval")
}

fn metric(report: &Value, retrieval: &str, name: &str) -> f64 {
    report[retrieval][name]
        .as_f64()
        .unwrap_or_else(|| panic!("{retrieval}.{name} missing in {report}"))
}

#[test]
fn eval_scores_three_rankings_and_reuses_a_kept_library() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    let (dataset, lib_arg) = (tiny(), lib.to_str().unwrap().to_string());
    let args = [
        "--beir",
        dataset.to_str().unwrap(),
        "--keep-library",
        &lib_arg,
        "--tune",
        "--json",
    ];
    let first = json(&eval(&args));
    // 7 judged queries (q7 has no judgements), 12 documents, and d11 is
    // long enough to become several chunks.
    assert_eq!(first["queries"], 7);
    assert_eq!(first["documents"], 12);
    assert_eq!(first["failed_documents"], 0);
    assert!(first["chunks"].as_u64().unwrap() > 12, "{first}");
    for retrieval in ["lexical", "dense", "fused"] {
        for name in ["ndcg@10", "recall@10", "recall@100", "mrr@10"] {
            let value = metric(&first, retrieval, name);
            assert!((0.0..=1.0).contains(&value), "{retrieval} {name} = {value}");
        }
    }
    // The dense side ranks every chunk of this small corpus, so every
    // relevant document is within 100, and on these one-topic documents
    // the real model puts nearly all of them first. BM25 cannot find q8,
    // a paraphrase sharing no term with its document.
    assert_eq!(metric(&first, "dense", "recall@100"), 1.0);
    assert!(metric(&first, "lexical", "recall@100") < 1.0, "{first}");
    assert_eq!(metric(&first, "fused", "recall@100"), 1.0);
    assert!(metric(&first, "dense", "mrr@10") >= 0.8, "{first}");
    assert!(metric(&first, "fused", "ndcg@10") >= 0.8, "{first}");
    let timing = &first["timing"];
    assert!(timing["index_seconds"].as_f64().unwrap() > 0.0);
    assert!(timing["chunks_per_second"].as_f64().unwrap() > 0.0);
    assert!(timing["query_ms"]["p50"].as_f64().unwrap() > 0.0);
    assert!(timing["query_ms"]["p99"].as_f64().unwrap() >= timing["query_ms"]["p50"].as_f64().unwrap());
    let tuning = &first["tuning"];
    assert_eq!(
        (
            tuning["tune_queries"].as_u64(),
            tuning["held_out_queries"].as_u64()
        ),
        (Some(4), Some(3))
    );
    let grid = tuning["grid"].as_array().unwrap();
    assert_eq!(grid.len(), quarry_core::eval::fusion_grid().len());
    let tune_ndcg = |p: &Value| p["scores"]["tune"]["ndcg@10"].as_f64().unwrap();
    assert!(
        grid.windows(2).all(|w| tune_ndcg(&w[0]) >= tune_ndcg(&w[1])),
        "grid sorted best first"
    );
    // The grid holds the default, so tuning always weighs it against the rest.
    let default = serde_json::to_value(FusionConfig::default()).unwrap();
    assert!(grid.iter().any(|p| p["fusion"] == default), "{default}");

    // Run again on the kept library: nothing is re-embedded and the scores
    // are the same.
    let second = json(&eval(&args));
    assert_eq!(second["timing"]["chunks_per_second"].as_f64(), Some(0.0));
    for retrieval in ["lexical", "dense", "fused"] {
        assert_eq!(first[retrieval], second[retrieval], "{retrieval}");
    }
}

#[test]
fn per_query_scores_follow_the_judgements() {
    let tmp = tempfile::tempdir().unwrap();
    let library = open(tmp.path());
    let dataset = BeirDataset::load(&tiny(), "test").unwrap();
    let retrieved = evaluate(
        &library,
        &dataset,
        &EvalOptions::default(),
        &|_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let at = |id: &str| retrieved.queries.iter().position(|q| q.id == id).unwrap();
    // The part number is found by BM25 on its own, in first place.
    let code = score(&retrieved, &[at("q5")], Ranking::Lexical);
    assert_eq!(code.mrr_at_10, 1.0);
    // q1 judges d01 at 2 and d11 at 1: whatever the order, both are found,
    // and d11 counts once although several of its chunks match.
    let seal = score(&retrieved, &[at("q1")], Ranking::Fused(FusionConfig::default()));
    assert_eq!(seal.recall_at_10, 1.0);
    assert!(seal.ndcg_at_10 > 0.9, "{seal:?}");
    let chunks_of_d11 = retrieved.doc_of.values().filter(|d| d.as_str() == "d11").count();
    assert!(chunks_of_d11 > 1, "d11 should make several chunks");
    // q8 paraphrases d02 without sharing a term: the embeddings find it
    // first, BM25 not at all.
    let paraphrase = |ranking| score(&retrieved, &[at("q8")], ranking);
    assert_eq!(paraphrase(Ranking::Dense).mrr_at_10, 1.0);
    assert_eq!(paraphrase(Ranking::Lexical).recall_at_100, 0.0);
    // Tuning reports every fusion on both halves, best on the tuning half first.
    let tuning = tune(&retrieved);
    assert_eq!(tuning.tune_queries + tuning.held_out_queries, 7);
    // Its "all" column is the same scoring as the report's, over every query.
    let all: Vec<usize> = (0..retrieved.queries.len()).collect();
    let fused = score(&retrieved, &all, Ranking::Fused(FusionConfig::default()));
    assert_eq!(tuning.default.scores.all, fused);
}

#[test]
fn a_broken_dataset_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = eval(&["--beir", tmp.path().to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("corpus.jsonl"), "{stderr}");

    let broken = tmp.path().join("broken");
    std::fs::create_dir_all(broken.join("qrels")).unwrap();
    for name in ["corpus.jsonl", "queries.jsonl"] {
        std::fs::copy(tiny().join(name), broken.join(name)).unwrap();
    }
    write_qrels(&broken, "query-id\tcorpus-id\tscore\nq1\td01\n");
    let output = eval(&["--beir", broken.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("test.tsv") && stderr.contains("line 2"),
        "{stderr}"
    );

    write_qrels(&broken, "query-id\tcorpus-id\tscore\nq99\td01\t1\n");
    let output = eval(&["--beir", broken.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("query q99 is judged but not in queries.jsonl"),
        "{stderr}"
    );
}

fn write_qrels(dir: &Path, text: &str) {
    std::fs::write(dir.join("qrels/test.tsv"), text).unwrap();
}

/// `quarry eval --qa` on the hand-written question set over `samples/`
/// (`tests/data/qa/samples.json`), with the default answer model: the
/// whole set, as the closing note of the answers issue reports it. The
/// bars are the issue's goals (gold passage cited ≥ 90%, off-library
/// abstention ≥ 95%, no citation of a passage not given); on this set the
/// default settings reach 19/19 and 8/8.
#[test]
fn eval_qa_asks_every_question_and_scores_the_answers() {
    let _lock = crate::support::llm_lock();
    let set = repo().join("tests/data/qa/samples.json");
    let report = json(&eval(&["--qa", set.to_str().unwrap(), "--json"]));
    assert_eq!(
        (
            report["answerable"].as_u64(),
            report["unanswerable"].as_u64(),
            report["off_library"].as_u64()
        ),
        (Some(19), Some(4), Some(8)),
        "{report:#}"
    );
    assert_eq!(report["documents"], 7);
    let rate = |name: &str| {
        let r = &report[name];
        r["count"].as_f64().unwrap() / r["of"].as_f64().unwrap()
    };
    assert!(rate("gold_cited") >= 0.9, "{report:#}");
    assert!(rate("contains_answer") >= 0.9, "{report:#}");
    assert_eq!(rate("off_library_abstention"), 1.0, "{report:#}");
    // 2 or 3 of the 4 in runs here: greedy decoding over a differently
    // reused KV cache can turn an invented answer into one the check cannot
    // catch, so the bar proves the mechanism, not a rate.
    assert!(rate("unanswerable_abstention") >= 0.25, "{report:#}");
    assert_eq!(report["invalid_citations"], 0);
    let questions = report["questions"].as_array().unwrap();
    assert_eq!(questions.len(), 31);
    // Off-library questions never reach the model; the others report the
    // wait a person has for the first token, retrieval included.
    for q in questions {
        let asked = !q["first_token_ms"].is_null();
        if q["kind"] == "off-library" {
            assert!(!asked && q["abstained"] == true, "{q}");
        } else if asked {
            assert!(
                q["first_token_ms"].as_f64().unwrap() > q["retrieval_ms"].as_f64().unwrap(),
                "{q}"
            );
            assert!(q["prompt_tokens"].as_u64().unwrap() > 50, "{q}");
        }
    }
    let p = &report["first_token_ms"];
    assert!(p["p90"].as_f64().unwrap() >= p["p50"].as_f64().unwrap());

    // A question set that is not one names the problem.
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("qa.json");
    std::fs::write(
        &bad,
        r#"{"data": [{"title": "x", "paragraphs": [{"context": "text"}]}]}"#,
    )
    .unwrap();
    let out = eval(&["--qa", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a SQuAD 2.0 file") && stderr.contains("qas"),
        "{stderr}"
    );
}
