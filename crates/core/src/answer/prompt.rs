//! The answer prompt: the one place its wording and layout live.
//!
//! Layout, in the order that lets the KV cache reuse the most: the fixed
//! instructions (system turn), then the last turns of the conversation,
//! then the numbered sources and the question in the user turn. The
//! question comes last because small models attend most to what they read
//! last. Chat models get their own GGUF chat template; base models (no
//! template) get a completion-style layout that ends in "Answer:".
//!
//! Change the wording → bump [`PROMPT_VERSION`] and the golden files in
//! `tests/data/prompts/`.

use std::collections::HashSet;

use quarry_generate::{Generator, LlmError, LlmResult, Message, Role};

use super::focus;
use super::AnswerOptions;
use crate::library::SearchHit;

/// Stored with every answer, so an answer can be traced to its prompt.
pub const PROMPT_VERSION: &str = "answer-v2";

pub const SYSTEM: &str = "You are Quarry. You answer questions about the user's documents.";

/// The task, placed after the sources and right before the question. Short
/// on purpose: every token is paid for in time to first token. Chosen on the
/// default model (outputs in the closing note of the answering issue): with
/// a clause asking it to say when the sources are silent, the 1.5B model
/// also said so for questions a source answered word for word; without it,
/// it answers those and may invent an answer to the rest, which the
/// citation check then reports as unsupported. Abstaining is therefore
/// Quarry's decision (the relevance test), not the model's. In the system
/// turn these sentences would join the fixed prefix whose KV cache later
/// questions reuse (~45 tokens, ~0.7 s of prompt here), but there the model
/// answered "Does Quarry send my files anywhere?" with "Yes, …" where after
/// the sources it said "No." — so they stay next to the question.
pub const INSTRUCTIONS: &str =
    "Answer the question from the sources above, in at most three sentences. After \
each sentence, cite the source it comes from, like [1]. Copy names, numbers and codes exactly.";

/// Turns of earlier conversation shown to the model.
pub const HISTORY_TURNS: usize = 2;

/// Tokens kept free between the prompt and the answer budget, because the
/// passages are counted one by one and the whole can differ by a few.
const SLACK_TOKENS: usize = 16;

/// An earlier question and the answer Quarry gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastTurn {
    pub question: String,
    pub answer: String,
}

/// A prompt ready for the model.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub text: String,
    /// The chat `text` renders with the model's template (empty when the
    /// model has none): what a remote engine is sent.
    pub messages: Vec<Message>,
    /// Indices into the hits of the passages included, in source-number
    /// order: source `[n]` is `hits[included[n - 1]]`.
    pub included: Vec<usize>,
    /// Stop strings for this layout.
    pub stop: Vec<String>,
    pub tokens: usize,
}

impl Prompt {
    /// Whether `text` is the chat rendered with the model's template (else
    /// a plain-text layout for a model without one).
    pub fn chat_template(&self) -> bool {
        !self.messages.is_empty()
    }
}

/// How a passage is labelled for the model: its title (or file name) and page.
pub fn source_label(hit: &SearchHit) -> String {
    let passage = &hit.passage;
    let name = passage
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| {
            std::path::Path::new(&passage.path)
                .file_name()
                .map_or_else(|| passage.path.clone(), |n| n.to_string_lossy().into_owned())
        });
    match quarry_parse::place(passage.unit, passage.page) {
        Some(place) => format!("{name}, {place}"),
        None => name,
    }
}

/// A passage as the model reads it: the sentences around what matches the
/// question when `keep` is set ([`focus::trim`]). Whitespace runs become one
/// space: extracted PDF text breaks every wrapped line, and those breaks
/// cost tokens and split sentences for the model.
fn source_block(number: usize, hit: &SearchHit, terms: &HashSet<String>, keep: usize) -> String {
    let text = focus::trim(terms, &hit.passage.text, keep);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("[{number}] {}\n{text}\n\n", source_label(hit))
}

/// The prompt as text for the model, and as the chat it was rendered from
/// (empty for a completion-style layout).
fn render(
    generator: &dyn Generator,
    history: &[PastTurn],
    sources: &str,
    question: &str,
) -> LlmResult<(String, Vec<Message>)> {
    let sources = if sources.is_empty() { "(none)\n\n" } else { sources };
    let request = format!(
        "Sources:\n\n{sources}{INSTRUCTIONS}\n\nQuestion: {}",
        question.trim()
    );
    let mut messages = vec![Message::new(Role::System, SYSTEM)];
    for turn in history {
        messages.push(Message::new(Role::User, turn.question.trim()));
        messages.push(Message::new(Role::Assistant, turn.answer.trim()));
    }
    messages.push(Message::new(Role::User, request.clone()));
    if let Some(text) = generator.apply_chat_template(&messages)? {
        return Ok((text, messages));
    }
    let mut text = format!("{SYSTEM}\n\n");
    for turn in history {
        text.push_str(&format!(
            "Earlier question: {}\nEarlier answer: {}\n\n",
            turn.question.trim(),
            turn.answer.trim()
        ));
    }
    text.push_str(&request);
    text.push_str("\nAnswer:");
    Ok((text, Vec::new()))
}

/// Build the prompt: as many of the best-ranked passages as fit (at most
/// `options.passages`, each trimmed to `options.passage_sentences`), with
/// the last [`HISTORY_TURNS`] turns, leaving `options.answer_tokens` of the
/// context for the answer. A passage that does not fit is skipped, not cut,
/// and a lower-ranked shorter one may take its place.
pub fn build(
    generator: &dyn Generator,
    question: &str,
    history: &[PastTurn],
    hits: &[SearchHit],
    options: &AnswerOptions,
) -> LlmResult<Prompt> {
    let (max_passages, answer_tokens) = (options.passages, options.answer_tokens);
    let terms = focus::question_terms(question);
    let history = &history[history.len().saturating_sub(HISTORY_TURNS)..];
    let count = |text: &str| generator.tokenize(text).len();
    let context = generator.context_size();
    let (frame, _) = render(generator, history, "", question)?;
    let fixed = count(&frame) + answer_tokens + SLACK_TOKENS;
    if fixed > context {
        return Err(LlmError::PromptTooLong {
            needed: fixed,
            limit: context,
        });
    }
    let mut budget = context - fixed;
    let mut included = Vec::new();
    let mut sources = String::new();
    for (i, hit) in hits.iter().enumerate() {
        if included.len() == max_passages {
            break;
        }
        let block = source_block(included.len() + 1, hit, &terms, options.passage_sentences);
        let cost = count(&block);
        if cost <= budget {
            budget -= cost;
            sources.push_str(&block);
            included.push(i);
        }
    }
    let (text, messages) = render(generator, history, &sources, question)?;
    let chat_template = !messages.is_empty();
    let stop = if chat_template {
        vec!["\nSources:".to_string(), "\nQuestion:".to_string()]
    } else {
        vec![
            "\nQuestion:".to_string(),
            "\nEarlier question:".to_string(),
            "\n\n".to_string(),
        ]
    };
    Ok(Prompt {
        tokens: count(&text),
        text,
        messages,
        included,
        stop,
    })
}
