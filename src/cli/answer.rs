//! `quarry ask`, `quarry chat`, `quarry models` and `quarry conversations`:
//! the terminal side of answering (streaming, Ctrl-C, source lists).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use quarry::answer::{self, Abstention, Answer, AnswerOptions, Conversation};
use quarry::llm::{inspect, LlamaCppGenerator, LoadOptions};
use quarry::models::ModelSearch;
use quarry::Library;
use serde_json::json;

use super::print;

/// Set by Ctrl-C while an answer is being generated.
static CANCEL: AtomicBool = AtomicBool::new(false);
/// True while generating: Ctrl-C then stops the answer, not the program.
static GENERATING: AtomicBool = AtomicBool::new(false);

fn install_ctrl_c() {
    let _ = ctrlc::set_handler(|| {
        if GENERATING.load(Ordering::SeqCst) {
            CANCEL.store(true, Ordering::SeqCst);
        } else {
            std::process::exit(130);
        }
    });
}

/// The answer model, loaded on first use (a refused question needs none).
pub struct LazyModel {
    explicit: Option<PathBuf>,
    loaded: Option<LlamaCppGenerator>,
    quiet: bool,
}

impl LazyModel {
    pub fn new(explicit: Option<PathBuf>, quiet: bool) -> Self {
        LazyModel {
            explicit,
            loaded: None,
            quiet,
        }
    }

    fn get(&mut self) -> anyhow::Result<&mut LlamaCppGenerator> {
        if self.loaded.is_none() {
            let choice = ModelSearch::from_env(None).choose_generator(self.explicit.as_deref())?;
            if !choice.preferred && !self.quiet {
                eprintln!(
                    "quarry: the default answer model ({}) was not found; using {}",
                    quarry::models::DEFAULT_GENERATOR_FILE,
                    choice.path.display()
                );
            }
            let generator = LlamaCppGenerator::load(&choice.path, &LoadOptions::default())
                .with_context(|| format!("loading answer model {}", choice.path.display()))?;
            self.loaded = Some(generator);
        }
        Ok(self.loaded.as_mut().expect("just loaded"))
    }
}

pub struct AskArgs<'a> {
    pub question: &'a str,
    pub options: AnswerOptions,
    pub json: bool,
}

/// Answer one question in `conversation`, streaming to stdout unless `json`.
fn answer_one(
    library: &Library,
    model: &mut LazyModel,
    conversation: &mut Conversation,
    args: &AskArgs,
) -> anyhow::Result<Answer> {
    let history = conversation.history();
    let retrieval = answer::retrieve(library, args.question, &history, &args.options)?;
    let mut out = std::io::stdout().lock();
    let answer = if retrieval.relevance.relevant {
        let generator = model.get()?;
        CANCEL.store(false, Ordering::SeqCst);
        GENERATING.store(true, Ordering::SeqCst);
        let mut stream_error = None;
        let mut on_text = |text: &str| {
            if !args.json && stream_error.is_none() {
                if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                    stream_error = Some(e);
                }
            }
        };
        let result = answer::generate(
            library,
            generator,
            &retrieval,
            &history,
            &args.options,
            &CANCEL,
            &mut on_text,
        );
        GENERATING.store(false, Ordering::SeqCst);
        if let Some(e) = stream_error {
            return Err(e.into());
        }
        result?
    } else {
        answer::not_found(&retrieval, &args.options)
    };
    let id = conversation.record(library, &answer)?;
    if args.json {
        let mut value = serde_json::to_value(&answer)?;
        value["conversation"] = json!(id);
        print(&value)?;
    } else {
        print_sources(&mut out, &answer)?;
    }
    Ok(answer)
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
            let page = c.page.map(|p| format!(", page {p}")).unwrap_or_default();
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
            let page = p.page.map(|p| format!(", page {p}")).unwrap_or_default();
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

fn open_conversation(library: &Library, id: Option<i64>) -> anyhow::Result<Conversation> {
    Ok(match id {
        Some(id) => Conversation::open(library, id)?,
        None => Conversation::new(),
    })
}

pub fn ask(
    library: &Library,
    model: Option<PathBuf>,
    conversation: Option<i64>,
    args: &AskArgs,
) -> anyhow::Result<()> {
    install_ctrl_c();
    let mut conversation = open_conversation(library, conversation)?;
    let mut model = LazyModel::new(model, args.json);
    answer_one(library, &mut model, &mut conversation, args)?;
    Ok(())
}

/// An interactive session: each line is a question; `/new` starts a new
/// conversation, `/quit` (or end of input) leaves.
pub fn chat(
    library: &Library,
    model: Option<PathBuf>,
    conversation: Option<i64>,
    options: AnswerOptions,
) -> anyhow::Result<()> {
    install_ctrl_c();
    let mut conversation = open_conversation(library, conversation)?;
    let mut model = LazyModel::new(model, false);
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        eprintln!("Ask about your documents. /new starts over, /quit leaves, Ctrl-C stops an answer.");
    }
    for turn in &conversation.turns {
        println!("> {}\n{}\n", turn.question, turn.answer);
    }
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
                conversation = Conversation::new();
                println!("(new conversation)");
                continue;
            }
            _ => {}
        }
        let args = AskArgs {
            question,
            options: options.clone(),
            json: false,
        };
        answer_one(library, &mut model, &mut conversation, &args)?;
        println!();
    }
    Ok(())
}

pub fn models(explicit: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let search = ModelSearch::from_env(None);
    let mut found = search.find_generators();
    if let Some(path) = explicit {
        found.insert(0, path.to_path_buf());
    }
    let chosen = search.choose_generator(explicit).ok();
    let mut rows = Vec::new();
    for path in &found {
        let is_default = chosen.as_ref().is_some_and(|c| &c.path == path);
        rows.push(match inspect(path) {
            Ok(facts) => json!({ "default": is_default, "model": facts }),
            Err(e) => json!({ "default": is_default, "path": path, "error": e.to_string() }),
        });
    }
    if json {
        return print(&json!({ "models": rows }));
    }
    let mut out = std::io::stdout().lock();
    if rows.is_empty() {
        writeln!(out, "{}", search.choose_generator(None).unwrap_err())?;
        return Ok(());
    }
    for row in &rows {
        let mark = if row["default"] == true { "*" } else { " " };
        if let Some(error) = row["error"].as_str() {
            writeln!(
                out,
                "{mark} {}\n    unusable: {error}",
                row["path"].as_str().unwrap_or("")
            )?;
            continue;
        }
        let m = &row["model"];
        let params = m["parameters"]
            .as_u64()
            .map_or("?".to_string(), |p| format!("{:.2}B", p as f64 / 1e9));
        writeln!(
            out,
            "{mark} {}\n    {} · {} parameters · {} · context {} · chat template {}",
            m["path"].as_str().unwrap_or(""),
            m["architecture"].as_str().unwrap_or("?"),
            params,
            m["quantization"].as_str().unwrap_or("?"),
            m["context_length"].as_u64().map_or("?".into(), |c| c.to_string()),
            if m["has_chat_template"] == true {
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
            let rows = library.conversations()?;
            if json {
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
                print(&json!({ "conversation": id, "turns": conversation.turns }))?;
            } else {
                for turn in &conversation.turns {
                    writeln!(out, "> {}\n{}", turn.question, turn.answer)?;
                    print_sources(&mut out, turn)?;
                    writeln!(out)?;
                }
            }
        }
        ConversationAction::Delete(id) => {
            let deleted = library.delete_conversation(id)?;
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
