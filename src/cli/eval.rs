//! `quarry eval`: retrieval quality and speed on a BEIR-layout dataset.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use quarry_core::eval::beir::BeirDataset;
use quarry_core::eval::metrics::Metrics;
use quarry_core::eval::{document_ranking, evaluate, tune, EvalOptions, Ranking, Retrieved, Tuning};
use quarry_core::fusion::FusionConfig;
use quarry_core::Progress;

use super::{open_library_at, print, progress_bar, Cli, FusionArgs};

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The dataset folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.
    #[arg(long, value_name = "DIR")]
    beir: PathBuf,
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

pub fn run(cli: &Cli, args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let dataset = BeirDataset::load(&args.beir, &args.split)?;
    let throwaway;
    let dir = match &args.keep_library {
        Some(dir) => dir.clone(),
        None => {
            throwaway = tempfile::Builder::new()
                .prefix("quarry-eval-")
                .tempdir()
                .context("creating a throwaway library")?;
            throwaway.path().to_path_buf()
        }
    };
    let library = open_library_at(cli, &dir)?;
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
