//! Grounded answers: retrieval → relevance test → prompt → generation →
//! citation check, and the conversations that hold them.
//!
//! Retrieval runs first and on its own, so a question the library cannot
//! answer is refused ("not found in your documents") without loading or
//! calling the model. Follow-up questions are searched together with the
//! previous question (see [`search_query`]) and the model sees the last
//! turns, so "and its warranty?" finds and answers about the right thing.
//!
//! Invariant: no SQL and no llama.cpp here; the library and the
//! [`Generator`] are reached through their APIs.

pub mod cite;
mod conversation;
pub mod focus;
mod marks;
pub mod prompt;
pub mod record;
pub mod relevance;

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use quarry_generate::{Decoding, Generator, LlmError, StopReason};
use quarry_store::StoreError;

use crate::fusion::HitScores;
use crate::library::{LibraryError, SearchHit, SearchOptions};
use crate::models::ModelError;
use crate::Library;
use cite::{CitationReport, CitationStatus, SentenceCitation};
pub use conversation::Conversation;
pub use prompt::{PastTurn, PROMPT_VERSION};
use relevance::Relevance;

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Catalog(#[from] StoreError),
    #[error(transparent)]
    Model(#[from] LlmError),
    /// No answer model could be found (or the one chosen does not exist).
    #[error(transparent)]
    NoModel(#[from] ModelError),
    #[error("type a question first")]
    EmptyQuestion,
    #[error("conversation {0} does not exist")]
    NoConversation(i64),
    #[error("checking citations: {0}")]
    Embed(#[from] quarry_embed::EmbedError),
    #[error("stored answer record is unreadable: {0}")]
    Record(#[from] serde_json::Error),
    #[error("the answering session has stopped")]
    SessionGone,
}

pub type AnswerResult<T> = Result<T, AnswerError>;

/// The reply when retrieval finds nothing relevant.
pub const NOT_FOUND_TEXT: &str =
    "Not found in your documents: no passage in the library matches this question closely enough.";

#[derive(Debug, Clone)]
pub struct AnswerOptions {
    /// Passages given to the model (at most; fewer if the context is full).
    pub passages: usize,
    /// Tokens the answer may use.
    pub answer_tokens: usize,
    /// Sentences kept of each passage, around what matches the question
    /// (0: whole passages); see [`focus::trim`].
    pub passage_sentences: usize,
    pub search: SearchOptions,
}

impl Default for AnswerOptions {
    fn default() -> Self {
        AnswerOptions {
            // Four passages of ≤200 word pieces keep the default model's
            // prompt near 1,000 tokens: ~12 s to the first token here.
            passages: 4,
            // Three cited sentences need well under 200 tokens; the budget
            // stops a small model that starts to ramble.
            answer_tokens: 200,
            // Each passage trimmed to the 3 sentences around what matches
            // the question: on the SciFact question set (scripts/qa-from-scifact,
            // `quarry eval --qa`) the gold abstract was cited for 23 of 30
            // questions instead of 20, with 9% fewer prompt tokens (p50 626
            // against 686); on tests/data/qa/samples.json, whose passages
            // are 1–3 sentences, nothing changed.
            passage_sentences: 3,
            search: SearchOptions::default(),
        }
    }
}

/// A passage as it was given to the model (or retrieved beside it).
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// Its source number in the prompt (`[n]`); 0 for passages not given.
    pub number: usize,
    pub chunk_id: u64,
    pub document_id: i64,
    pub path: String,
    pub title: Option<String>,
    pub page: Option<u32>,
    /// What `page` counts: "page", "slide", "sheet", "message".
    pub unit: String,
    /// The text was recognised by OCR from a scan or photo.
    pub ocr: bool,
    pub section: Option<String>,
    /// Byte span in the document's extracted text.
    pub span: Span,
    pub text: String,
    pub rank: usize,
    pub scores: HitScores,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A cited passage and the sentences that cite it.
#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    pub number: usize,
    pub path: String,
    pub title: Option<String>,
    pub page: Option<u32>,
    /// What `page` counts: "page", "slide", "sheet", "message".
    pub unit: String,
    /// The text was recognised by OCR from a scan or photo.
    pub ocr: bool,
    pub span: Span,
    pub text: String,
    /// 0-based indexes of the answer's sentences that cite it.
    pub sentences: Vec<usize>,
    /// True when the model cited nothing and Quarry inferred this source.
    pub inferred: bool,
    /// Best support of a citing sentence by this passage (0..1).
    pub support: f32,
}

/// Who decided that the documents do not answer the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abstention {
    /// Retrieval found nothing relevant; the model was not called.
    Retrieval,
    /// The model said the sources do not contain the answer.
    Model,
    /// No passage given supports any sentence the model wrote: what it
    /// wrote is kept (and marked unsupported) but does not come from the
    /// documents.
    Unsupported,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timing {
    pub retrieval_ms: f64,
    pub prompt_tokens: usize,
    /// Prompt tokens whose KV cache was reused from the previous question.
    pub reused_prompt_tokens: usize,
    pub prompt_tokens_per_second: f64,
    pub time_to_first_token_ms: f64,
    pub generated_tokens: usize,
    pub tokens_per_second: f64,
    pub total_ms: f64,
}

/// An answer with everything needed to check it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub question: String,
    /// What was searched (the question, with the previous one for a follow-up).
    pub search_query: String,
    /// The answer with citation marks corrected by the check.
    pub answer: String,
    /// The model's text as generated.
    pub raw_answer: String,
    pub citations: Vec<Citation>,
    /// The passages given to the model, as numbered in the prompt.
    pub retrieved: Vec<Passage>,
    /// Passages given to the model that no sentence cites.
    pub also_retrieved: Vec<Passage>,
    pub not_found: bool,
    pub abstention: Option<Abstention>,
    /// Generation was cancelled; `answer` is what came before the stop.
    pub stopped: bool,
    pub sentences: Vec<String>,
    pub sentence_citations: Vec<SentenceCitation>,
    pub citation_check: CitationReport,
    pub relevance: Relevance,
    pub timing: Timing,
    pub model: Option<String>,
    pub prompt_version: String,
}

/// What retrieval found for a question, before any model is involved.
#[derive(Debug, Clone)]
pub struct Retrieval {
    pub question: String,
    pub search_query: String,
    pub hits: Vec<SearchHit>,
    pub relevance: Relevance,
    pub retrieval_ms: f64,
}

/// The text searched for a question. A follow-up ("and how long does it
/// last?") rarely names its subject, so it is searched together with the
/// previous question. This costs nothing (asking the model to rewrite the
/// question would cost a generation, seconds on a CPU, before retrieval
/// could start) and a first question is searched exactly as asked.
pub fn search_query(question: &str, history: &[PastTurn]) -> String {
    match history.last() {
        Some(previous) => format!("{}\n{}", previous.question.trim(), question.trim()),
        None => question.trim().to_string(),
    }
}

/// Words by which a question leans on the conversation ("what is *its*
/// part number?", "*and* the filter?").
const REFERRING_WORDS: [&str; 17] = [
    "it", "its", "they", "them", "their", "theirs", "that", "this", "these", "those", "he", "she", "his",
    "her", "there", "one", "ones",
];
const FOLLOW_UP_OPENINGS: [&str; 4] = ["and", "also", "what about", "how about"];

/// Does the question lean on the earlier turns for its subject?
pub fn refers_back(question: &str) -> bool {
    let lower = question.trim().to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    FOLLOW_UP_OPENINGS.iter().any(|o| lower.starts_with(o))
        || words.iter().any(|w| REFERRING_WORDS.contains(w))
        || quarry_index::lexical::analyze(question).len() < 2
}

/// Search the library for a question and judge whether the hits can answer it.
///
/// In a conversation the relevance test is stricter than the search: the
/// question must find relevant passages on its own, unless it refers back
/// ([`refers_back`]) — otherwise "What is the capital of Australia?" after
/// a question about tomatoes would pass on the tomato passages.
pub fn retrieve(
    library: &Library,
    question: &str,
    history: &[PastTurn],
    options: &AnswerOptions,
) -> AnswerResult<Retrieval> {
    let started = Instant::now();
    let search_query = search_query(question, history);
    let search = SearchOptions {
        // A few spares, for passages that do not fit the context whole.
        k: options.passages * 2,
        ..options.search
    };
    let hits = library.search(&search_query, &search)?;
    let mut relevance = relevance::judge(&search_query, &hits);
    if !history.is_empty() && !refers_back(question) {
        let own_hits = library.search(question, &search)?;
        relevance = relevance::judge(question, &own_hits);
    }
    Ok(Retrieval {
        question: question.trim().to_string(),
        search_query,
        hits,
        relevance,
        retrieval_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// What a front end shows the moment retrieval is done, while the model is
/// still reading: the sentence of the best passage that matches the
/// question most closely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The passage's number among those retrieved (`[n]`).
    pub number: usize,
    /// The sentence, exactly as it is in the passage's text.
    pub sentence: String,
}

/// The preview for a retrieval: the best-matching sentence of the
/// best-ranked of its first `passages` passages that has one; `None` when
/// nothing relevant was found.
pub fn preview(retrieval: &Retrieval, passages: usize) -> Option<Preview> {
    if !retrieval.relevance.relevant {
        return None;
    }
    let terms = focus::question_terms(&retrieval.question);
    retrieval
        .hits
        .iter()
        .take(passages)
        .enumerate()
        .find_map(|(i, hit)| {
            let text = &hit.passage.text;
            focus::best_sentence(&terms, text).map(|range| Preview {
                number: i + 1,
                sentence: text[range].to_string(),
            })
        })
}

/// A search hit as a passage numbered `number` (0: not given to the model).
pub fn passage(number: usize, hit: &SearchHit) -> Passage {
    let p = &hit.passage;
    Passage {
        number,
        chunk_id: p.chunk_id,
        document_id: p.document_id,
        path: p.path.clone(),
        title: p.title.clone(),
        page: p.page,
        unit: p.unit.to_string(),
        ocr: p.ocr,
        section: p.section.clone(),
        span: Span {
            start: p.start,
            end: p.end,
        },
        text: p.text.clone(),
        rank: hit.rank,
        scores: hit.scores,
    }
}

/// The answer when retrieval found nothing relevant (no model involved).
pub fn not_found(retrieval: &Retrieval, options: &AnswerOptions) -> Answer {
    Answer {
        question: retrieval.question.clone(),
        search_query: retrieval.search_query.clone(),
        answer: NOT_FOUND_TEXT.to_string(),
        raw_answer: String::new(),
        citations: Vec::new(),
        retrieved: Vec::new(),
        also_retrieved: retrieval
            .hits
            .iter()
            .take(options.passages)
            .map(|h| passage(0, h))
            .collect(),
        not_found: true,
        abstention: Some(Abstention::Retrieval),
        stopped: false,
        sentences: Vec::new(),
        sentence_citations: Vec::new(),
        citation_check: CitationReport::default(),
        relevance: retrieval.relevance,
        timing: Timing {
            retrieval_ms: retrieval.retrieval_ms,
            total_ms: retrieval.retrieval_ms,
            ..Default::default()
        },
        model: None,
        prompt_version: PROMPT_VERSION.to_string(),
    }
}

/// Did the model say that the sources do not answer (and cite nothing)?
fn model_abstained(text: &str, citations: &[Citation]) -> bool {
    let lower = text.to_lowercase();
    let says_so = [
        "do not say",
        "does not say",
        "do not contain",
        "does not contain",
        "not stated",
        "not mentioned",
        "no information",
        "not provided",
    ]
    .iter()
    .any(|p| lower.contains(p));
    says_so && citations.iter().all(|c| c.inferred)
}

/// Generate and check an answer from retrieved passages, streaming the
/// model's text to `on_text`.
pub fn generate(
    library: &Library,
    generator: &mut dyn Generator,
    retrieval: &Retrieval,
    history: &[PastTurn],
    options: &AnswerOptions,
    cancel: &AtomicBool,
    on_text: &mut dyn FnMut(&str),
) -> AnswerResult<Answer> {
    let started = Instant::now();
    let prompt = prompt::build(generator, &retrieval.question, history, &retrieval.hits, options)?;
    let decoding = Decoding {
        max_tokens: options.answer_tokens,
        stop: prompt.stop.clone(),
        ..Decoding::default()
    };
    tracing::debug!(tokens = prompt.tokens, passages = prompt.included.len(), prompt = %prompt.text, "answer prompt");
    let generation = match prompt.chat_template() {
        true => generator.generate_chat(&prompt.messages, &decoding, cancel, on_text)?,
        false => generator.generate(&prompt.text, &decoding, cancel, on_text)?,
    };
    let retrieved: Vec<Passage> = prompt
        .included
        .iter()
        .enumerate()
        .map(|(n, &i)| passage(n + 1, &retrieval.hits[i]))
        .collect();
    let labels: Vec<String> = prompt
        .included
        .iter()
        .map(|&i| prompt::source_label(&retrieval.hits[i]))
        .collect();
    let evidence: Vec<cite::Evidence> = retrieved
        .iter()
        .zip(&labels)
        .map(|(p, label)| cite::Evidence { label, text: &p.text })
        .collect();
    let raw = generation.text.trim().to_string();
    let checked = cite::check(&raw, &evidence, library.embedder().as_ref())?;
    let mut citations: Vec<Citation> = Vec::new();
    for sc in &checked.citations {
        let source = &retrieved[sc.source - 1];
        match citations.iter_mut().find(|c| c.number == sc.source) {
            Some(c) => {
                c.sentences.push(sc.sentence);
                c.support = c.support.max(sc.support);
            }
            None => citations.push(Citation {
                number: sc.source,
                path: source.path.clone(),
                title: source.title.clone(),
                page: source.page,
                unit: source.unit.clone(),
                ocr: source.ocr,
                span: source.span,
                text: source.text.clone(),
                sentences: vec![sc.sentence],
                inferred: sc.status == CitationStatus::Inferred,
                support: sc.support,
            }),
        }
    }
    citations.sort_by_key(|c| c.number);
    let also_retrieved = retrieved
        .iter()
        .filter(|p| !citations.iter().any(|c| c.number == p.number))
        .cloned()
        .collect();
    let abstention = if model_abstained(&raw, &citations) {
        Some(Abstention::Model)
    } else if !checked.sentences.is_empty()
        && checked.report.unsupported_sentences.len() == checked.sentences.len()
    {
        Some(Abstention::Unsupported)
    } else {
        None
    };
    Ok(Answer {
        question: retrieval.question.clone(),
        search_query: retrieval.search_query.clone(),
        answer: checked.text.trim().to_string(),
        raw_answer: generation.text.clone(),
        citations,
        retrieved,
        also_retrieved,
        not_found: abstention.is_some(),
        abstention,
        stopped: generation.stop_reason == StopReason::Cancelled,
        sentences: checked.sentences,
        sentence_citations: checked.citations,
        citation_check: checked.report,
        relevance: retrieval.relevance,
        timing: Timing {
            retrieval_ms: retrieval.retrieval_ms,
            prompt_tokens: generation.prompt_tokens,
            reused_prompt_tokens: generation.reused_prompt_tokens,
            prompt_tokens_per_second: generation.prompt_tokens_per_second(),
            time_to_first_token_ms: generation.time_to_first_token_ms,
            generated_tokens: generation.generated_tokens,
            tokens_per_second: generation.decode_tokens_per_second(),
            total_ms: retrieval.retrieval_ms + started.elapsed().as_secs_f64() * 1000.0,
        },
        model: Some(generator.model_name()),
        prompt_version: PROMPT_VERSION.to_string(),
    })
}

/// Retrieve, then answer with the model or say "not found".
pub fn ask(
    library: &Library,
    generator: &mut dyn Generator,
    question: &str,
    history: &[PastTurn],
    options: &AnswerOptions,
    cancel: &AtomicBool,
    on_text: &mut dyn FnMut(&str),
) -> AnswerResult<Answer> {
    let retrieval = retrieve(library, question, history, options)?;
    if !retrieval.relevance.relevant {
        return Ok(not_found(&retrieval, options));
    }
    generate(library, generator, &retrieval, history, options, cancel, on_text)
}
