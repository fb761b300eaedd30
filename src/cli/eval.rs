//! `quarry eval`: retrieval quality and speed on a BEIR-layout dataset, or
//! answer quality and speed on a SQuAD 2.0-layout question set.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context;
use quarry_core::eval::beir::BeirDataset;
use quarry_core::eval::metrics::Metrics;
use quarry_core::eval::qa::{evaluate_qa, QaDataset, QaReport, QaRun, Rate};
use quarry_core::eval::{document_ranking, evaluate, tune, EvalOptions, Ranking, Retrieved, Tuning};
use quarry_core::fusion::FusionConfig;
use quarry_core::models::ModelSearch;
use quarry_core::session::Session;
use quarry_core::Progress;

use super::{open_library_at, print, progress_bar, Answering, Cli, FusionArgs};

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The dataset folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "qa",
        conflicts_with = "qa"
    )]
    beir: Option<PathBuf>,
    /// A question set in SQuAD 2.0's JSON layout: every paragraph is indexed
    /// as a document and every question asked with the answer model. A
    /// paragraph with an empty context holds off-library questions.
    #[arg(long, value_name = "FILE")]
    qa: Option<PathBuf>,
    /// Ask only the first N questions (--qa).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    #[command(flatten)]
    answering: Answering,
    /// Which qrels file holds the judged queries.
    #[arg(long, default_value = "test")]
    split: String,
    /// Chunks taken from each retriever per query (documents have several).
    #[arg(long, default_value_t = EvalOptions::default().candidates)]
    candidates: usize,
    /// Index into this folder and keep it (a second run reuses it) instead
    /// of a throwaway library.
    #[arg(long, value_name = "DIR")]
    keep_library: Option<PathBuf>,
    /// Write each ranking's top 100 documents per query to DIR/{lexical,dense,fused}.tsv
    /// (query id, document id, score), e.g. to check the metrics with pytrec_eval.
    #[arg(long, value_name = "DIR")]
    write_runs: Option<PathBuf>,
    /// Also try every fusion in the grid: choose on half of the queries,
    /// report on the other half and on all.
    #[arg(long)]
    tune: bool,
    #[command(flatten)]
    fusion: FusionArgs,
}

/// The library an evaluation indexes into: the kept one, or a throwaway
/// folder removed when the returned guard drops.
fn eval_library(
    cli: &Cli,
    keep: Option<&PathBuf>,
) -> anyhow::Result<(quarry_core::Library, Option<tempfile::TempDir>)> {
    let (dir, throwaway) = match keep {
        Some(dir) => (dir.clone(), None),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("quarry-eval-")
                .tempdir()
                .context("creating a throwaway library")?;
            (dir.path().to_path_buf(), Some(dir))
        }
    };
    Ok((open_library_at(cli, &dir)?, throwaway))
}

pub fn run(cli: &Cli, args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let Some(beir) = &args.beir else {
        let qa = args.qa.as_ref().expect("clap requires --beir or --qa");
        return run_qa(cli, args, qa);
    };
    let dataset = BeirDataset::load(beir, &args.split)?;
    let (library, _throwaway) = eval_library(cli, args.keep_library.as_ref())?;
    let bar = progress_bar(dataset.corpus.len() as u64, cli.json);
    bar.set_message("indexing the corpus");
    let observe = |p: Progress| {
        if let Progress::File { done, .. } = p {
            bar.set_position(done as u64);
        }
    };
    let options = EvalOptions {
        candidates: args.candidates.max(1),
        fusion: args.fusion.config(),
    };
    let retrieved = evaluate(&library, &dataset, &options, &observe, &AtomicBool::new(false))?;
    bar.finish_and_clear();
    if let Some(dir) = &args.write_runs {
        write_runs(dir, &retrieved, options.fusion)?;
    }
    let tuning = args.tune.then(|| tune(&retrieved));
    let report = &retrieved.report;
    if cli.json {
        let mut value = serde_json::to_value(report)?;
        if let Some(tuning) = &tuning {
            value["tuning"] = serde_json::to_value(tuning)?;
        }
        print(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: {} queries, {} documents ({} failed), {} chunks",
        report.dataset, report.queries, report.documents, report.failed_documents, report.chunks
    )?;
    writeln!(out, "{:<10} {}", "retrieval", header())?;
    writeln!(out, "{:<10} {}", "lexical", row(&report.lexical))?;
    writeln!(out, "{:<10} {}", "dense", row(&report.dense))?;
    writeln!(
        out,
        "{:<10} {}   {}",
        "fused",
        row(&report.fused),
        report.fusion_label
    )?;
    let t = &report.timing;
    writeln!(
        out,
        "indexing: {:.1} s ({:.1} documents/s, {:.1} chunks/s); search: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms",
        t.index_seconds, t.documents_per_second, t.chunks_per_second, t.query_ms.p50, t.query_ms.p90, t.query_ms.p99
    )?;
    if let Some(tuning) = &tuning {
        print_tuning(&mut out, tuning)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn header() -> String {
    format!("{:>8} {:>9} {:>10} {:>7}", "nDCG@10", "R@10", "R@100", "MRR@10")
}

fn row(m: &Metrics) -> String {
    format!(
        "{:>8.4} {:>9.4} {:>10.4} {:>7.4}",
        m.ndcg_at_10, m.recall_at_10, m.recall_at_100, m.mrr_at_10
    )
}

fn print_tuning(out: &mut impl Write, tuning: &Tuning) -> std::io::Result<()> {
    writeln!(
        out,
        "\ntuning ({}): nDCG@10 on {} tuning / {} held-out / all queries",
        tuning.split, tuning.tune_queries, tuning.held_out_queries
    )?;
    let line = |out: &mut dyn Write, name: &str, h: &quarry_core::eval::Halves| {
        writeln!(
            out,
            "  {name:<44} {:>7.4} {:>9.4} {:>7.4}",
            h.tune.ndcg_at_10, h.held_out.ndcg_at_10, h.all.ndcg_at_10
        )
    };
    writeln!(out, "  {:<44} {:>7} {:>9} {:>7}", "", "tune", "held-out", "all")?;
    line(out, "lexical", &tuning.lexical)?;
    line(out, "dense", &tuning.dense)?;
    line(
        out,
        &format!("default: {}", tuning.default.label),
        &tuning.default.scores,
    )?;
    for point in tuning.grid.iter().take(10) {
        line(out, &point.label, &point.scores)?;
    }
    writeln!(
        out,
        "  ({} fusions tried; best on the tuning half first)",
        tuning.grid.len()
    )
}

fn write_runs(dir: &std::path::Path, retrieved: &Retrieved, fusion: FusionConfig) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, ranking) in [
        ("lexical", Ranking::Lexical),
        ("dense", Ranking::Dense),
        ("fused", Ranking::Fused(fusion)),
    ] {
        let path = dir.join(format!("{name}.tsv"));
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
        );
        for (i, query) in retrieved.queries.iter().enumerate() {
            for (doc, score) in document_ranking(retrieved, i, ranking) {
                writeln!(file, "{}\t{doc}\t{score}", query.id)?;
            }
        }
        file.flush()?;
    }
    Ok(())
}

/// `quarry eval --qa FILE`.
fn run_qa(cli: &Cli, args: &EvalArgs, path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let dataset = QaDataset::load(path)?;
    let (library, _throwaway) = eval_library(cli, args.keep_library.as_ref())?;
    let run = QaRun {
        engine: args.answering.answer_engine()?,
        options: args.answering.options(),
        limit: args.limit,
    };
    // The KV cache in memory only: what earlier runs left must not change
    // the timings.
    let session = Session::start_with_prompt_cache(ModelSearch::from_env(None), None);
    // Loads while the paragraphs are indexed, as the app does at start.
    session.prepare(&run.engine)?;
    let asked = args.limit.unwrap_or(usize::MAX).min(dataset.questions.len());
    let bar = progress_bar(dataset.documents.len() as u64, cli.json);
    bar.set_message("indexing the paragraphs");
    let observe = |p: Progress| {
        if let Progress::File { done, .. } = p {
            bar.set_position(done as u64);
        }
    };
    let mut asked_so_far = 0;
    let report = evaluate_qa(Arc::new(library), &session, &dataset, &run, &observe, &mut |_| {
        if asked_so_far == 0 {
            bar.set_length(asked as u64);
            bar.set_message("asking");
        }
        asked_so_far += 1;
        bar.set_position(asked_so_far as u64);
    })?;
    bar.finish_and_clear();
    if cli.json {
        print(&serde_json::to_value(&report)?)?;
    } else {
        print_qa(&mut std::io::stdout().lock(), &report)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn rate(r: &Rate) -> String {
    format!("{:5.1}% ({}/{})", r.percent(), r.count, r.of)
}

fn print_qa(out: &mut impl Write, r: &QaReport) -> std::io::Result<()> {
    writeln!(
        out,
        "{}: {} answerable, {} unanswerable, {} off-library questions over {} paragraphs; model {}; {} passages, {}",
        r.dataset,
        r.answerable,
        r.unanswerable,
        r.off_library,
        r.documents,
        r.model.as_deref().unwrap_or("(none asked)"),
        r.passages,
        match r.passage_sentences {
            0 => "whole".to_string(),
            n => format!("{n} sentences each"),
        }
    )?;
    writeln!(out, "gold passage given          {}", rate(&r.gold_given))?;
    writeln!(out, "gold passage cited          {}", rate(&r.gold_cited))?;
    writeln!(out, "answer contains gold answer {}", rate(&r.contains_answer))?;
    writeln!(out, "answerable refused          {}", rate(&r.false_abstention))?;
    writeln!(
        out,
        "abstained, unanswerable     {}",
        rate(&r.unanswerable_abstention)
    )?;
    writeln!(
        out,
        "abstained, off-library      {}",
        rate(&r.off_library_abstention)
    )?;
    writeln!(out, "citations to passages not given: {}", r.invalid_citations)?;
    writeln!(
        out,
        "unsupported sentences       {}",
        rate(&r.unsupported_sentences)
    )?;
    let p = |name: &str, v: &quarry_core::eval::Percentiles, unit: &str| {
        format!("{name} p50 {:.0}{unit}, p90 {:.0}{unit}", v.p50, v.p90)
    };
    writeln!(
        out,
        "{}; {}; {}; {}",
        p("prompt tokens", &r.prompt_tokens, ""),
        p("first token", &r.first_token_ms, " ms"),
        p("search", &r.retrieval_ms, " ms"),
        p("total", &r.total_ms, " ms")
    )
}
