//! `quarry ask`, `quarry chat`, `quarry models` and `quarry conversations`:
//! the terminal side of answering. The turn itself is the core's answering
//! session; this file prints its events (streamed text, then the sources)
//! and turns Ctrl-C into a stop.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use quarry_core::answer::record::AnswerRecord;
use quarry_core::answer::{Abstention, Answer, AnswerOptions, Conversation};
use quarry_core::models::{ModelSearch, DEFAULT_GENERATOR_FILE};
use quarry_core::parse::place;
use quarry_core::remote;
use quarry_core::session::{AnswerEngine, AnswerEvent, ConversationRef, Question, Session, Turn};
use quarry_core::Library;
use serde_json::json;

use super::json_out::{ConversationJson, ModelJson};
use super::print;

/// The stop flag of the question being answered, while the model works on
/// it: Ctrl-C then stops the answer, not the program.
static ANSWERING: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);

fn answering() -> std::sync::MutexGuard<'static, Option<Arc<AtomicBool>>> {
    ANSWERING.lock().unwrap_or_else(|p| p.into_inner())
}

fn install_ctrl_c() {
    let _ = ctrlc::set_handler(|| match answering().as_ref() {
        Some(flag) => flag.store(true, Ordering::SeqCst),
        None => std::process::exit(130),
    });
}

/// A remote answer engine: off unless `--engine-url` (or its variable) is set.
#[derive(clap::Args, Clone, Default)]
pub struct EngineArgs {
    /// Answer with a model on an OpenAI-compatible server (llama.cpp's
    /// llama-server, vLLM, Ollama, LM Studio, another `quarry serve`) instead
    /// of a local GGUF, e.g. http://gpu-box:8000/v1. The question, the
    /// conversation's last turns and the passages found are sent there. An
    /// API key, if the server needs one, is read from QUARRY_ENGINE_API_KEY.
    #[arg(long, env = "QUARRY_ENGINE_URL")]
    pub engine_url: Option<String>,
    /// The model's id on that server (as its GET /v1/models lists it).
    #[arg(long, env = "QUARRY_ENGINE_MODEL")]
    pub engine_model: Option<String>,
    /// The context window the server gives that model, in tokens [default: 4096].
    #[arg(long, env = "QUARRY_ENGINE_CONTEXT")]
    pub engine_context: Option<usize>,
}

impl EngineArgs {
    /// The model that answers: the remote engine when one is set, else the
    /// local file (`None`: the default).
    pub fn answer_engine(&self, file: Option<PathBuf>) -> anyhow::Result<AnswerEngine> {
        let Some(url) = &self.engine_url else {
            return Ok(AnswerEngine::local(file));
        };
        if let Some(file) = file {
            anyhow::bail!(
                "both a local model ({}) and a remote engine ({url}) were given; choose one",
                file.display()
            );
        }
        let model = self.engine_model.as_deref().unwrap_or_default();
        Ok(AnswerEngine::Remote(remote::answer_engine(
            url,
            model,
            self.engine_context,
        )?))
    }
}

/// Say where answers are made when it is not this machine: what a question
/// sends away must never be a surprise.
pub fn say_where_answers_are_made(model: &AnswerEngine) {
    if let AnswerEngine::Remote(engine) = model {
        eprintln!(
            "quarry: answers by {} (each question, the conversation's last turns and the passages found are sent there)",
            engine.describe()
        );
    }
}

/// A terminal's conversation with the library: the session, the model
/// chosen on the command line, and the conversation the questions go to.
struct Asker {
    library: Arc<Library>,
    session: Session,
    model: AnswerEngine,
    conversation: Option<i64>,
}

impl Asker {
    fn new(library: Arc<Library>, model: AnswerEngine, conversation: Option<i64>) -> Self {
        say_where_answers_are_made(&model);
        Asker {
            library,
            session: Session::start(ModelSearch::from_env(None)),
            model,
            conversation,
        }
    }

    /// Load the answer model (or reach the remote engine) now, while the
    /// person types the first question (a missing model is reported by the
    /// question that needs it).
    fn prepare(&self) {
        if let Ok(Some(choice)) = self.session.prepare(&self.model) {
            if !choice.preferred {
                say_fallback(&choice.path);
            }
        }
    }

    /// Answer one question, streaming to stdout unless `json`.
    fn answer(&mut self, question: &str, options: &AnswerOptions, json: bool) -> anyhow::Result<Turn> {
        let asking = self.session.ask(Question {
            library: self.library.clone(),
            text: question.to_string(),
            conversation: match self.conversation {
                Some(id) => ConversationRef::Stored(id),
                None => ConversationRef::New,
            },
            options: options.clone(),
            model: self.model.clone(),
        });
        let flag = asking.cancel_flag();
        let mut out = std::io::stdout().lock();
        let mut stream_error = None;
        let finished = asking.finish(|event| match event {
            AnswerEvent::Retrieved {
                conversation_id,
                not_found,
                ..
            } => {
                self.conversation = *conversation_id;
                if !not_found {
                    *answering() = Some(flag.clone());
                }
            }
            AnswerEvent::LoadingModel { path, fallback } => {
                if *fallback && !json {
                    say_fallback(path);
                }
            }
            AnswerEvent::Token(text) => {
                if !json && stream_error.is_none() {
                    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                        stream_error = Some(e);
                    }
                }
            }
            AnswerEvent::Done(_) | AnswerEvent::Failed(_) => *answering() = None,
        });
        if let Some(e) = stream_error {
            return Err(e.into());
        }
        let turn = finished?;
        if json {
            let mut value = serde_json::to_value(AnswerRecord::from(&turn.answer))?;
            value["conversation"] = json!(turn.conversation_id);
            print(&value)?;
        } else {
            print_sources(&mut out, &turn.answer)?;
        }
        Ok(turn)
    }
}

fn say_fallback(path: &Path) {
    eprintln!(
        "quarry: the default answer model ({DEFAULT_GENERATOR_FILE}) was not found; using {}",
        path.display()
    );
}

fn print_sources(out: &mut impl Write, answer: &Answer) -> std::io::Result<()> {
    match answer.abstention {
        Some(Abstention::Retrieval) => {
            writeln!(out, "{}", answer.answer)?;
            return Ok(());
        }
        Some(Abstention::Model) => {
            writeln!(
                out,
                "\n\n(not found in your documents: the passages retrieved do not answer this)"
            )?;
        }
        Some(Abstention::Unsupported) => {
            writeln!(
                out,
                "\n\n(not found in your documents: no passage retrieved supports what the model wrote)"
            )?;
        }
        None => writeln!(out)?,
    }
    if answer.stopped {
        writeln!(out, "[stopped]")?;
    }
    for &i in &answer.citation_check.unsupported_sentences {
        if let Some(sentence) = answer.sentences.get(i) {
            writeln!(
                out,
                "Not supported by the passages retrieved: \"{}\"",
                sentence.trim()
            )?;
        }
    }
    let check = &answer.citation_check;
    if check.moved + check.dropped_unsupported + check.dropped_invalid > 0 {
        writeln!(
            out,
            "\nCitations checked: {} kept, {} moved to the passage that supports them, {} unsupported and {} naming no source dropped.\nCorrected: {}",
            check.kept, check.moved, check.dropped_unsupported, check.dropped_invalid, answer.answer
        )?;
    }
    if !answer.citations.is_empty() {
        writeln!(out, "\nSources:")?;
        for c in &answer.citations {
            let page = place(&c.unit, c.page)
                .map(|p| format!(", {p}"))
                .unwrap_or_default();
            let inferred = if c.inferred {
                " (inferred: the answer cites nothing)"
            } else {
                ""
            };
            writeln!(out, "  [{}] {}{}{}", c.number, c.path, page, inferred)?;
            writeln!(out, "      {}", snippet(&c.text, 160))?;
        }
    }
    if !answer.also_retrieved.is_empty() {
        writeln!(out, "Also retrieved:")?;
        for p in &answer.also_retrieved {
            let page = place(&p.unit, p.page)
                .map(|p| format!(", {p}"))
                .unwrap_or_default();
            writeln!(out, "  [{}] {}{}", p.number, p.path, page)?;
        }
    }
    let t = &answer.timing;
    if t.generated_tokens > 0 {
        writeln!(
            out,
            "({} prompt tokens, first token after {:.1} s, {:.1} tokens/s)",
            t.prompt_tokens,
            t.time_to_first_token_ms / 1000.0,
            t.tokens_per_second
        )?;
    }
    Ok(())
}

fn snippet(text: &str, chars: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= chars {
        flat
    } else {
        format!("{}…", flat.chars().take(chars).collect::<String>())
    }
}

pub struct AskArgs<'a> {
    pub question: &'a str,
    pub options: AnswerOptions,
    pub json: bool,
}

pub fn ask(
    library: Library,
    model: AnswerEngine,
    conversation: Option<i64>,
    args: &AskArgs,
) -> anyhow::Result<()> {
    install_ctrl_c();
    let mut asker = Asker::new(Arc::new(library), model, conversation);
    asker.answer(args.question, &args.options, args.json)?;
    Ok(())
}

/// An interactive session: each line is a question; `/new` starts a new
/// conversation, `/quit` (or end of input) leaves.
pub fn chat(
    library: Library,
    model: AnswerEngine,
    conversation: Option<i64>,
    options: AnswerOptions,
) -> anyhow::Result<()> {
    install_ctrl_c();
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        eprintln!("Ask about your documents. /new starts over, /quit leaves, Ctrl-C stops an answer.");
    }
    if let Some(id) = conversation {
        for turn in &Conversation::open(&library, id)?.turns {
            println!("> {}\n{}\n", turn.question, turn.answer);
        }
    }
    let mut asker = Asker::new(Arc::new(library), model, conversation);
    asker.prepare();
    let stdin = std::io::stdin();
    let mut line = String::new();
    loop {
        if interactive {
            eprint!("> ");
        }
        line.clear();
        if stdin.lock().read_line(&mut line)? == 0 {
            break;
        }
        let question = line.trim();
        match question {
            "" => continue,
            "/quit" | "/exit" => break,
            "/new" => {
                asker.conversation = None;
                println!("(new conversation)");
                continue;
            }
            _ => {}
        }
        asker.answer(question, &options, false)?;
        println!();
    }
    Ok(())
}

pub fn models(explicit: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let search = ModelSearch::from_env(None);
    let found = search.answer_models(explicit);
    // Which of llama.cpp's CPU variants runs the models here, loaded as an
    // answer would load it: a missing or refused module shows up now.
    let cpu = quarry_core::generate::load_cpu_backend();
    if json {
        let rows: Vec<ModelJson> = found.iter().map(Into::into).collect();
        let cpu = match &cpu {
            Ok(b) => json!({ "variant": b.variant, "forced": b.forced, "path": b.path }),
            Err(e) => json!({ "error": e.to_string() }),
        };
        return print(&json!({ "models": rows, "cpu": cpu }));
    }
    let mut out = std::io::stdout().lock();
    match &cpu {
        Ok(b) => writeln!(
            out,
            "llama.cpp CPU code: {} ({}; {})",
            b.variant,
            if b.forced {
                "forced by QUARRY_LLAMA_CPU"
            } else {
                "the best this CPU runs"
            },
            b.path.display()
        )?,
        Err(e) => writeln!(out, "llama.cpp CPU code: unusable: {e}")?,
    }
    if found.is_empty() {
        writeln!(out, "{}", search.choose_generator(None).unwrap_err())?;
        return Ok(());
    }
    for model in &found {
        let mark = if model.chosen { "*" } else { " " };
        let facts = match &model.facts {
            Ok(facts) => facts,
            Err(error) => {
                writeln!(out, "{mark} {}\n    unusable: {error}", model.path.display())?;
                continue;
            }
        };
        let params = facts
            .parameters
            .map_or("?".to_string(), |p| format!("{:.2}B", p as f64 / 1e9));
        writeln!(
            out,
            "{mark} {}\n    {} · {} parameters · {} · context {} · chat template {}",
            facts.path.display(),
            facts.architecture,
            params,
            facts.quantization,
            facts.context_length.map_or("?".into(), |c| c.to_string()),
            if facts.has_chat_template {
                "yes"
            } else {
                "no (completion-style prompts)"
            },
        )?;
    }
    writeln!(
        out,
        "(* = the model `quarry ask` uses; choose another with --model PATH)"
    )?;
    Ok(())
}

pub enum ConversationAction {
    List,
    Show(i64),
    Delete(i64),
}

pub fn conversations(library: &Library, action: ConversationAction, json: bool) -> anyhow::Result<bool> {
    let mut out = std::io::stdout().lock();
    match action {
        ConversationAction::List => {
            let rows = library.read().conversations()?;
            if json {
                let rows: Vec<ConversationJson> = rows.iter().map(Into::into).collect();
                print(&json!({ "conversations": rows }))?;
            } else if rows.is_empty() {
                writeln!(
                    out,
                    "no conversations yet; ask with `quarry ask \"…\"` or `quarry chat`"
                )?;
            } else {
                for c in rows {
                    writeln!(out, "{:4}  {:3} turns  {}", c.id, c.turns, c.title)?;
                }
            }
        }
        ConversationAction::Show(id) => {
            let conversation = Conversation::open(library, id)?;
            if json {
                let turns: Vec<AnswerRecord> = conversation.turns.iter().map(AnswerRecord::from).collect();
                print(&json!({ "conversation": id, "turns": turns }))?;
            } else {
                for turn in &conversation.turns {
                    writeln!(out, "> {}\n{}", turn.question, turn.answer)?;
                    print_sources(&mut out, turn)?;
                    writeln!(out)?;
                }
            }
        }
        ConversationAction::Delete(id) => {
            let deleted = Conversation::delete(library, id)?;
            if json {
                print(&json!({ "deleted": deleted, "conversation": id }))?;
            } else if deleted {
                writeln!(out, "deleted conversation {id}")?;
            } else {
                writeln!(out, "no conversation {id}")?;
            }
            return Ok(deleted);
        }
    }
    Ok(true)
}
