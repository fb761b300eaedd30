//! The `quarry` command line: clap for arguments, indicatif for progress,
//! anyhow at this edge only. Errors print as one line with their cause chain
//! and exit 1; `--json` makes every command print one JSON object.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use quarry_core::answer::AnswerOptions;
use quarry_core::embed::Precision;
use quarry_core::fusion::{FusionConfig, FusionMethod, Normalization};
use quarry_core::models::{ModelSearch, DEFAULT_EMBEDDER};
use quarry_core::parse::place;
use quarry_core::remote;
use quarry_core::{
    default_library_dir, embed_precision, Health, Library, LibraryError, Outcome, Progress, SearchOptions,
};
use serde_json::json;

#[path = "cli/answer.rs"]
mod answer_cli;
#[path = "cli/eval.rs"]
mod eval_cli;
#[path = "cli/json.rs"]
mod json_out;
mod serve;
use answer_cli::{AskArgs, ConversationAction};

#[derive(Parser)]
#[command(
    name = "quarry",
    version,
    about = "Private, offline search over your own documents"
)]
struct Cli {
    /// Library folder (catalog and indexes).
    #[arg(long, global = true, env = "QUARRY_LIBRARY")]
    library: Option<PathBuf>,
    /// Embedding model: a sentence-transformers folder (default: all-MiniLM-L6-v2, found
    /// via QUARRY_MODELS, the repository's models/ or the Hugging Face cache).
    #[arg(long, global = true, env = "QUARRY_EMBEDDER")]
    embedder: Option<PathBuf>,
    /// The local encoder's arithmetic: int8 (linear layers in 8-bit
    /// integers, 2-3x faster) or f32 (exact). Default: the precision the
    /// library was made at, int8 for a new one. A library made at the other
    /// precision must be re-embedded (`quarry reembed --precision ...`).
    #[arg(long, global = true, env = "QUARRY_EMBED_PRECISION")]
    precision: Option<Precision>,
    /// Embed with a model on an OpenAI-compatible server (Hugging Face TEI,
    /// vLLM, Ollama, Infinity, another `quarry serve`) instead of on this
    /// machine, e.g. http://gpu-box:8080/v1. Every passage indexed and every
    /// question searched is sent there; the library records the server, so
    /// its vectors never mix with another model's. An API key, if the server
    /// needs one, is read from QUARRY_EMBED_API_KEY.
    #[arg(long, global = true, env = "QUARRY_EMBED_URL")]
    embed_url: Option<String>,
    /// The embedding model's id on that server.
    #[arg(long, global = true, env = "QUARRY_EMBED_MODEL")]
    embed_model: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Index files and folders (recursively); re-adding skips unchanged files.
    Add {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Hybrid (dense + BM25) search for passages.
    Search {
        query: String,
        /// Number of passages.
        #[arg(short, default_value_t = 10)]
        k: usize,
        #[command(flatten)]
        fusion: FusionArgs,
    },
    /// Measure retrieval on a dataset in BEIR layout (--beir: nDCG@10,
    /// Recall@10/100 and MRR@10 for lexical, dense and fused retrieval, with
    /// indexing and query timing), or answers on a question set in SQuAD 2.0
    /// layout (--qa: gold passage cited, answer correct, abstention, invalid
    /// citations, prompt tokens and time to first token).
    Eval(eval_cli::EvalArgs),
    /// List the library's documents with status, reason and chunk count.
    Docs,
    /// Show the text Quarry reads from a file, unit by unit (pages, slides,
    /// sheets, messages; those read by OCR marked), without indexing it.
    /// Parsed in the same sandboxed worker as `add`.
    Extract { path: PathBuf },
    /// Show why a passage was found for a question and what Quarry stored
    /// for it: its word pieces and their rows in the model's token-embedding
    /// table, the stored chunk vector, and its dense, lexical and fused ranks.
    Inspect {
        question: String,
        /// The passage's id (as `search --json` prints it); default: the
        /// passage at --rank.
        #[arg(long)]
        chunk: Option<u64>,
        /// Inspect the passage at this rank of the search for the question.
        #[arg(long, default_value_t = 1)]
        rank: usize,
    },
    /// Remove documents (or everything under a folder) from the library.
    Remove {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Re-embed every passage with the current embedding model.
    Reembed,
    /// Show the library's folder, embedder and sizes.
    Info,
    /// Check the library: the catalog (SQLite's integrity check), and the
    /// search indexes against it, rebuilding them from the catalog when they
    /// are damaged or differ. Exits 1 if something could not be repaired
    Doctor,
    /// Answer a question from the library's documents, with checked citations.
    Ask {
        question: String,
        #[command(flatten)]
        answering: Answering,
        /// Continue this conversation (see `quarry conversations`).
        #[arg(long)]
        conversation: Option<i64>,
    },
    /// An interactive conversation about the library's documents.
    Chat {
        #[command(flatten)]
        answering: Answering,
        /// Reopen this conversation.
        #[arg(long)]
        conversation: Option<i64>,
    },
    /// List the answer models (GGUF) Quarry can find, and which one it uses.
    Models {
        /// Also inspect this file.
        #[arg(long, env = "QUARRY_MODEL")]
        model: Option<PathBuf>,
    },
    /// Serve the library over HTTP in OpenAI's API (chat completions with
    /// sources, embeddings, search, documents) for other tools, on
    /// 127.0.0.1 with a bearer token.
    Serve(serve::ServeArgs),
    /// Print the library embedder's vector for each text.
    Embed {
        #[arg(required = true)]
        texts: Vec<String>,
    },
    /// List, show or delete stored conversations.
    Conversations {
        #[command(subcommand)]
        action: Option<ConversationCommand>,
    },
}

#[derive(clap::Args)]
pub(crate) struct Answering {
    /// Answer model: a .gguf file (default: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, found via
    /// QUARRY_MODELS, the repository's models/ or the Hugging Face cache).
    #[arg(long, env = "QUARRY_MODEL")]
    model: Option<PathBuf>,
    /// Passages given to the model (at most).
    #[arg(long, default_value_t = AnswerOptions::default().passages)]
    passages: usize,
    /// Most tokens the answer may use.
    #[arg(long, default_value_t = AnswerOptions::default().answer_tokens)]
    max_tokens: usize,
    /// Sentences kept of each passage in the prompt, around what matches
    /// the question (0: whole passages).
    #[arg(long, default_value_t = AnswerOptions::default().passage_sentences)]
    passage_sentences: usize,
    #[command(flatten)]
    engine: answer_cli::EngineArgs,
}

impl Answering {
    fn options(&self) -> AnswerOptions {
        AnswerOptions {
            passages: self.passages.max(1),
            answer_tokens: self.max_tokens.max(1),
            passage_sentences: self.passage_sentences,
            ..AnswerOptions::default()
        }
    }

    /// The model that answers (see [`answer_cli::EngineArgs::answer_engine`]).
    fn answer_engine(&self) -> anyhow::Result<quarry_core::session::AnswerEngine> {
        self.engine.answer_engine(self.model.clone())
    }
}

/// How search merges its dense and BM25 rankings; unset flags keep the
/// default's values.
#[derive(clap::Args, Clone, Copy)]
struct FusionArgs {
    /// Fusion: `rrf` (reciprocal rank fusion), `convex` (weighted sum of
    /// scores scaled from the score function's floor to the best hit) or
    /// `convex-min-max` (scaled from the worst candidate to the best).
    /// Default: the one `quarry eval --tune` chose.
    #[arg(long, value_enum)]
    fusion: Option<FusionKind>,
    /// The k constant of reciprocal rank fusion.
    #[arg(long)]
    rrf_k: Option<f32>,
    /// Weight of the dense ranking.
    #[arg(long)]
    dense_weight: Option<f32>,
    /// Weight of the BM25 ranking.
    #[arg(long)]
    lexical_weight: Option<f32>,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum FusionKind {
    Rrf,
    Convex,
    ConvexMinMax,
}

impl FusionArgs {
    /// The default when it is the family asked for (or none was), else that
    /// family's plain form (RRF k 60 1:1, or convex 0.5:0.5); then the
    /// flags given override its constant and weights.
    fn config(&self) -> FusionConfig {
        let default = FusionConfig::default();
        let asked = match self.fusion {
            None => default,
            Some(FusionKind::Rrf) => FusionConfig::rrf(60.0, 1.0, 1.0),
            Some(FusionKind::Convex) => FusionConfig::convex(0.5, Normalization::TheoreticalMin),
            Some(FusionKind::ConvexMinMax) => FusionConfig::convex(0.5, Normalization::MinMax),
        };
        let same_family = match (asked.method, default.method) {
            (FusionMethod::Rrf { .. }, FusionMethod::Rrf { .. }) => true,
            (FusionMethod::Convex { normalization: a }, FusionMethod::Convex { normalization: b }) => a == b,
            _ => false,
        };
        let mut config = if same_family { default } else { asked };
        if let (FusionMethod::Rrf { k }, Some(rrf_k)) = (&mut config.method, self.rrf_k) {
            *k = rrf_k;
        }
        config.dense_weight = self.dense_weight.unwrap_or(config.dense_weight);
        config.lexical_weight = self.lexical_weight.unwrap_or(config.lexical_weight);
        config
    }
}

#[derive(Subcommand)]
enum ConversationCommand {
    /// List conversations, newest first (the default).
    List,
    /// Show a conversation's questions, answers and sources.
    Show { id: i64 },
    /// Delete a conversation.
    Delete { id: i64 },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("QUARRY_LOG"))
        .with_writer(std::io::stderr)
        .init();
    // A parser panic is caught and reported as that file's failure; do not
    // also print Rust's panic message for it. Every other panic still prints.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !quarry_core::parse::parser_running_on_this_thread() {
            default_hook(info);
        }
    }));
    match run() {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`quarry docs | head`) is not an error.
            if err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("quarry: {}", said_once(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: a message that
/// already quotes its cause ("lexical index: {0}", as tantivy's and
/// thiserror's often do) would otherwise be followed by it again.
fn said_once(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn open_library(cli: &Cli) -> anyhow::Result<Library> {
    let dir = cli.library.clone().unwrap_or_else(default_library_dir);
    open_library_at(cli, &dir)
}

/// Open the library in `dir` with the embedder the flags and environment choose.
fn open_library_at(cli: &Cli, dir: &std::path::Path) -> anyhow::Result<Library> {
    let search = ModelSearch::from_env(cli.embedder.clone());
    let embedder = match &cli.embed_url {
        None => search.load_embedder(DEFAULT_EMBEDDER, embed_precision(dir, cli.precision))?,
        Some(url) => {
            let server = remote::embedding_server(url, cli.embed_model.as_deref().unwrap_or_default())?;
            eprintln!(
                "quarry: embeddings by {} (every passage indexed and every question searched is sent there)",
                server.describe()
            );
            search.connect_embedder(&server, DEFAULT_EMBEDDER)?
        }
    };
    Library::open(dir, embedder).with_context(|| format!("opening library {}", dir.display()))
}

fn progress_bar(len: u64, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar
}

fn print(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    match &cli.command {
        Command::Add { paths } => {
            let library = open_library(&cli)?;
            let bar = progress_bar(0, cli.json);
            let observe = |p: Progress| match p {
                Progress::Planned { total, .. } => bar.set_length(total as u64),
                Progress::Started { path } => bar.set_message(path.to_string()),
                // Said on stderr too: a script (or a terminal without the
                // bar) should know why nothing moves.
                Progress::Paused { answering: true } => {
                    bar.suspend(|| {
                        eprintln!("quarry: indexing paused while a question is answered on this library")
                    });
                    bar.set_message("paused while a question is answered");
                }
                Progress::Paused { answering: false } => {
                    bar.suspend(|| eprintln!("quarry: indexing goes on"));
                    bar.set_message("");
                }
                Progress::File { done, .. } => bar.set_position(done as u64),
            };
            // Ctrl-C stops after the files in flight and commits them; the
            // next `add` continues from there. A second Ctrl-C exits at once
            // (the library stays consistent either way).
            static CANCEL: AtomicBool = AtomicBool::new(false);
            let _ = ctrlc::set_handler(|| {
                if CANCEL.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    std::process::exit(130);
                }
                eprintln!("quarry: stopping after the files in progress (Ctrl-C again to quit now)");
            });
            let report = library.add(paths, &observe, &CANCEL)?;
            bar.finish_and_clear();
            if cli.json {
                print(&serde_json::to_value(json_out::AddJson::from(&report))?)?;
            } else {
                for f in report.files.iter().filter(|f| f.outcome == Outcome::Failed) {
                    writeln!(
                        out,
                        "failed: {}: {}",
                        f.path,
                        f.error.as_deref().unwrap_or("unknown error")
                    )?;
                }
                if report.cancelled {
                    writeln!(out, "stopped early; run the same `quarry add` again to finish")?;
                }
                writeln!(
                    out,
                    "{} added, {} updated, {} unchanged, {} failed, {} removed ({} passages embedded)",
                    report.added,
                    report.updated,
                    report.unchanged,
                    report.failed,
                    report.removed,
                    report.chunks_embedded
                )?;
            }
        }
        Command::Search { query, k, fusion } => {
            let library = open_library(&cli)?;
            let options = SearchOptions {
                k: *k,
                fusion: fusion.config(),
                ..SearchOptions::default()
            };
            let hits = library.search(query, &options)?;
            if cli.json {
                let results: Vec<json_out::HitJson> = hits.iter().map(Into::into).collect();
                print(&json!({ "query": query, "results": results }))?;
            } else if hits.is_empty() {
                writeln!(out, "no passages found")?;
            } else {
                for h in &hits {
                    let passage = &h.passage;
                    let page = place(passage.unit, passage.page)
                        .map(|p| format!(", {p}"))
                        .unwrap_or_default();
                    let rank = |r: Option<usize>| r.map_or("-".to_string(), |r| r.to_string());
                    writeln!(
                        out,
                        "{}. {}{}  (score {:.4}; dense #{}, lexical #{})",
                        h.rank,
                        h.passage.path,
                        page,
                        h.scores.score,
                        rank(h.scores.dense_rank),
                        rank(h.scores.lexical_rank)
                    )?;
                    let snippet: String = h.passage.text.split_whitespace().collect::<Vec<_>>().join(" ");
                    let snippet: String = snippet.chars().take(300).collect();
                    writeln!(out, "   {snippet}\n")?;
                }
            }
        }
        Command::Inspect {
            question,
            chunk,
            rank,
        } => {
            let library = open_library(&cli)?;
            let chunk_id = match chunk {
                Some(id) => *id,
                None => {
                    let hits = library.search(
                        question,
                        &SearchOptions {
                            k: (*rank).max(1),
                            ..SearchOptions::default()
                        },
                    )?;
                    hits.get(rank.saturating_sub(1))
                        .map(|h| h.passage.chunk_id)
                        .with_context(|| format!("the search found fewer than {rank} passages"))?
                }
            };
            let inspection = quarry_core::inspect::inspect(&library, question, chunk_id)?;
            if cli.json {
                print(&serde_json::to_value(json_out::InspectionJson::from(
                    &inspection,
                ))?)?;
            } else {
                print_inspection(&mut out, &inspection)?;
            }
        }
        Command::Eval(args) => return eval_cli::run(&cli, args),
        Command::Extract { path } => {
            let bytes = quarry_core::parse::read_file(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let extracted = quarry_core::parse::sandbox::Sandbox::discover()
                .extract(path, &bytes)
                .map_err(|failure| anyhow::anyhow!("{}: {}", path.display(), failure.error))?;
            if cli.json {
                print(&serde_json::to_value(&extracted)?)?;
            } else {
                print_extracted(&mut out, &extracted)?;
            }
        }
        Command::Docs => {
            let library = open_library_any_embedder(&cli)?;
            let docs = library.read().documents()?;
            if cli.json {
                let documents: Vec<json_out::DocumentJson> = docs.iter().map(Into::into).collect();
                print(&json!({ "documents": documents }))?;
            } else if docs.is_empty() {
                writeln!(out, "the library is empty; add documents with `quarry add PATH`")?;
            } else {
                for d in &docs {
                    let reason = d.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
                    let status = json_out::status(d.status);
                    writeln!(
                        out,
                        "{:8} {:4} chunks  {:30} {}{}",
                        status,
                        d.chunk_count,
                        coverage(d),
                        d.path,
                        reason
                    )?;
                }
            }
        }
        Command::Remove { paths } => {
            let library = open_library_any_embedder(&cli)?;
            let report = library.remove(paths)?;
            if cli.json {
                print(&serde_json::to_value(json_out::AddJson::from(&report))?)?;
            } else {
                for f in &report.files {
                    match f.outcome {
                        Outcome::Removed => writeln!(out, "removed {} ({} passages)", f.path, f.chunks)?,
                        _ => writeln!(out, "{}: {}", f.path, f.error.as_deref().unwrap_or(""))?,
                    }
                }
            }
            if report.failed > 0 && report.removed == 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Reembed => {
            let library = open_library_any_embedder(&cli)?;
            let bar = progress_bar(0, cli.json);
            let count = library.reembed(&|done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })?;
            bar.finish_and_clear();
            let embedder = library.embedder().identity().clone();
            if cli.json {
                print(&json!({ "reembedded": count, "embedder": json_out::EmbedderJson::from(&embedder) }))?;
            } else {
                writeln!(out, "re-embedded {count} passages with {embedder}")?;
            }
        }
        Command::Info => {
            let library = open_library_any_embedder(&cli)?;
            let info = library.info()?;
            if cli.json {
                print(&serde_json::to_value(json_out::InfoJson::from(&info))?)?;
            } else {
                writeln!(out, "library   {}", info.dir.display())?;
                writeln!(out, "embedder  {}", info.embedder)?;
                if let Some(other) = &info.mismatch {
                    writeln!(out, "WARNING   indexed with {other}; run `quarry reembed`")?;
                }
                writeln!(out, "documents {}\nchunks    {}", info.documents, info.chunks)?;
            }
        }
        Command::Doctor => {
            let library = open_library(&cli)?;
            let parts = library.doctor()?;
            if cli.json {
                print(&json!({ "library": library.dir(), "parts": parts }))?;
            } else {
                for part in &parts {
                    let health = match part.health {
                        Health::Sound => "sound",
                        Health::Repaired => "REPAIRED",
                        Health::Damaged => "DAMAGED",
                    };
                    writeln!(out, "{:<14} {health:<8} {}", part.part, part.detail)?;
                }
            }
            if parts.iter().any(|p| p.health == Health::Damaged) {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Ask {
            question,
            answering,
            conversation,
        } => {
            let library = open_library(&cli)?;
            let args = AskArgs {
                question,
                options: answering.options(),
                json: cli.json,
            };
            let model = answering.answer_engine()?;
            answer_cli::ask(library, model, *conversation, &args)?;
        }
        Command::Chat {
            answering,
            conversation,
        } => {
            let library = open_library(&cli)?;
            answer_cli::chat(
                library,
                answering.answer_engine()?,
                *conversation,
                answering.options(),
            )?;
        }
        Command::Models { model } => answer_cli::models(model.as_deref(), cli.json)?,
        Command::Serve(args) => match serve::show_token(args)? {
            Some(token) => writeln!(out, "{token}")?,
            None => serve::run(open_library(&cli)?, args)?,
        },
        Command::Embed { texts } => {
            let library = open_library(&cli)?;
            let embedder = library.embedder();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let vectors = embedder.embed(&refs)?;
            if cli.json {
                print(&json!({
                    "embedder": json_out::EmbedderJson::from(embedder.identity()),
                    "embeddings": vectors,
                }))?;
            } else {
                for (text, vector) in texts.iter().zip(&vectors) {
                    let first: Vec<String> = vector.iter().take(4).map(|x| format!("{x:+.4}")).collect();
                    writeln!(
                        out,
                        "{} dimensions [{}, …]  {text}",
                        vector.len(),
                        first.join(", ")
                    )?;
                }
            }
        }
        Command::Conversations { action } => {
            let library = open_library_any_embedder(&cli)?;
            let action = match action {
                None | Some(ConversationCommand::List) => ConversationAction::List,
                Some(ConversationCommand::Show { id }) => ConversationAction::Show(*id),
                Some(ConversationCommand::Delete { id }) => ConversationAction::Delete(*id),
            };
            if !answer_cli::conversations(&library, action, cli.json)? {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An extracted document as text: each unit under a rule naming it.
fn print_extracted(out: &mut impl Write, e: &quarry_core::parse::Extracted) -> anyhow::Result<()> {
    writeln!(out, "format: {}", e.format.as_str())?;
    if let Some(title) = &e.title {
        writeln!(out, "title: {title}")?;
    }
    if e.pages.is_empty() {
        writeln!(out, "\n{}", e.text)?;
    }
    for span in &e.pages {
        let ocr = if span.ocr { " (read by OCR)" } else { "" };
        let section = e
            .section_at(span.start)
            .map(|s| format!(": {s}"))
            .unwrap_or_default();
        writeln!(out, "\n--- {} {}{section}{ocr} ---", e.format.unit(), span.page)?;
        writeln!(out, "{}", &e.text[span.start..span.end])?;
    }
    Ok(())
}

/// A document's format and what of it was read: "pptx, 3 slides",
/// "pdf, 12 pages (4 by OCR)", "markdown".
fn coverage(d: &quarry_core::catalog::DocumentRow) -> String {
    let Some(format) = d.format.as_deref() else {
        return String::new();
    };
    if d.units == 0 {
        return format.to_string();
    }
    let unit = quarry_core::parse::unit_of(format);
    let plural = if d.units == 1 { "" } else { "s" };
    let ocr = match d.ocr_units {
        0 => String::new(),
        n => format!(" ({n} by OCR)"),
    };
    format!("{format}, {} {unit}{plural}{ocr}", d.units)
}

fn print_inspection(out: &mut impl Write, i: &quarry_core::inspect::Inspection) -> anyhow::Result<()> {
    let page = place(i.unit, i.page)
        .map(|p| format!(", {p}"))
        .unwrap_or_default();
    writeln!(out, "passage {} — {}{page}", i.chunk_id, i.path)?;
    let rank = |r: Option<usize>, s: Option<f32>| match (r, s) {
        (Some(r), Some(s)) => format!("#{r} ({s:.4})"),
        _ => "not among the candidates".to_string(),
    };
    let r = &i.retrieval;
    writeln!(out, "\nwhy it was found for {:?}", i.question)?;
    writeln!(out, "  dense (cosine)   {}", rank(r.dense_rank, r.dense_score))?;
    writeln!(
        out,
        "  lexical (BM25)   {}",
        rank(r.lexical_rank, r.lexical_score)
    )?;
    writeln!(out, "  fused            {}", rank(r.fused_rank, r.fused_score))?;
    let v = &i.chunk_vector;
    writeln!(out, "\nstored in the library ({})", v.stored_in)?;
    let first: Vec<String> = v.first.iter().map(|x| format!("{x:+.4}")).collect();
    writeln!(
        out,
        "  one pooled chunk vector: {} dimensions, norm {:.4}, cosine with the question {:.4}",
        v.dimension, v.norm, v.cosine_with_question
    )?;
    writeln!(out, "  first values: [{}, …]", first.join(", "))?;
    writeln!(out, "\npart of the model, not the library")?;
    let t = &i.token_embeddings.table;
    let shape: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
    writeln!(
        out,
        "  token embeddings: `{}` [{}] in {}",
        t.tensor,
        shape.join(", "),
        t.file.display()
    )?;
    let truncated = if i.word_pieces_truncated {
        " (truncated at the model's window)"
    } else {
        ""
    };
    writeln!(
        out,
        "  {} word pieces{truncated} (piece → row):",
        i.word_pieces.len()
    )?;
    let pieces: Vec<String> = i
        .word_pieces
        .iter()
        .map(|w| format!("{}→{}", w.piece, w.row))
        .collect();
    writeln!(out, "  {}", pieces.join(" "))?;
    Ok(())
}

/// Commands that do not embed work on a library of any embedder (and say
/// so when it is not the current one).
fn open_library_any_embedder(cli: &Cli) -> anyhow::Result<Library> {
    let library = open_library(cli)?;
    if !cli.json {
        if let Err(mismatch @ LibraryError::EmbedderMismatch { .. }) = library.ensure_same_embedder() {
            eprintln!("quarry: note: {mismatch}");
        }
    }
    Ok(library)
}
