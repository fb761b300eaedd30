//! The answer worker: one thread owns the loaded model (a llama.cpp context
//! is not `Send`, and one model in memory is all a desktop can afford),
//! takes questions in order, and streams each answer as [`AnswerEvent`]s.
//!
//! The model loads on the first question that needs it and stays loaded; a
//! question that retrieval answers with "not found" never loads it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender};
use quarry::answer::{self, Answer, AnswerOptions, Conversation, Passage};
use quarry::llm::{LlamaCppGenerator, LoadOptions};
use quarry::models::ModelSearch;
use quarry::Library;
use serde::Serialize;

use crate::error::{CommandError, CommandResult};

/// What the UI sees of an answer while it is made.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnswerEvent {
    /// Retrieval is done; `not_found` means no model will be asked.
    Retrieved {
        conversation_id: i64,
        passages: Vec<Passage>,
        not_found: bool,
    },
    /// The model is being loaded (the first question of a session).
    LoadingModel { path: String },
    /// Text as the model writes it (citation marks not yet checked).
    Token { text: String },
    /// The checked answer, as stored.
    Done { turn_id: i64, answer: Box<Answer> },
}

#[derive(Debug, Clone, Serialize)]
pub struct AskReply {
    pub conversation_id: i64,
    pub turn_id: i64,
    pub answer: Answer,
}

pub struct AskJob {
    pub library: Arc<Library>,
    pub question: String,
    pub conversation_id: Option<i64>,
    pub options: AnswerOptions,
    pub models: ModelSearch,
    pub model_path: Option<PathBuf>,
    pub events: Box<dyn Fn(AnswerEvent) + Send>,
}

struct Request {
    job: AskJob,
    reply: Sender<CommandResult<AskReply>>,
    /// This question's own Stop flag: a Stop pressed while the question
    /// waits (for the library to open, or behind another question) holds.
    cancel: Arc<AtomicBool>,
}

/// Stop flags of the questions asked and not yet answered.
type Pending = Arc<Mutex<Vec<Arc<AtomicBool>>>>;

pub struct AnswerWorker {
    tx: Sender<Request>,
    pending: Pending,
}

impl AnswerWorker {
    pub fn start() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded::<Request>();
        let pending = Pending::default();
        let answered = pending.clone();
        std::thread::Builder::new()
            .name("quarry-answer".into())
            .spawn(move || serve(rx, &answered))
            .expect("spawn a thread");
        AnswerWorker { tx, pending }
    }

    /// Queue a question; the receiver gets the finished answer.
    pub fn ask(&self, job: AskJob) -> Receiver<CommandResult<AskReply>> {
        let (reply, done) = crossbeam_channel::bounded(1);
        let cancel = Arc::new(AtomicBool::new(false));
        lock(&self.pending).push(cancel.clone());
        if self.tx.send(Request { job, reply, cancel }).is_err() {
            tracing::error!("the answer worker has stopped");
        }
        done
    }

    /// Stop the answer being written (and any question waiting); the text
    /// so far is kept and stored.
    pub fn stop(&self) {
        for flag in lock(&self.pending).iter() {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

fn lock(pending: &Pending) -> std::sync::MutexGuard<'_, Vec<Arc<AtomicBool>>> {
    pending.lock().unwrap_or_else(|p| p.into_inner())
}

/// The loaded model and the file it came from.
type Loaded = Option<(PathBuf, LlamaCppGenerator)>;

fn serve(requests: Receiver<Request>, pending: &Pending) {
    let mut loaded: Loaded = None;
    for Request { job, reply, cancel } in requests {
        let result = answer_one(job, &mut loaded, &cancel);
        lock(pending).retain(|flag| !Arc::ptr_eq(flag, &cancel));
        let _ = reply.send(result);
    }
}

fn answer_one(job: AskJob, loaded: &mut Loaded, cancel: &AtomicBool) -> CommandResult<AskReply> {
    let question = job.question.trim();
    if question.is_empty() {
        return Err(CommandError::invalid("type a question first"));
    }
    let library = job.library.as_ref();
    let mut conversation = match job.conversation_id {
        Some(id) => Conversation::open(library, id)?,
        None => Conversation::new(),
    };
    let history = conversation.history();
    let retrieval = answer::retrieve(library, question, &history, &job.options)?;
    // The conversation exists from its first question, so the sidebar can
    // list it while the answer streams. It stays if the answer then fails
    // (no model, say): the window is in it, and the next question goes there.
    let conversation_id = match conversation.id {
        Some(id) => id,
        None => {
            let title: String = question.chars().take(80).collect();
            let id = library.create_conversation(&title)?;
            conversation.id = Some(id);
            id
        }
    };
    (job.events)(AnswerEvent::Retrieved {
        conversation_id,
        // Numbered as the prompt will number them when they all fit (the
        // usual case), so streamed marks find their passage; the checked
        // answer at `Done` carries the exact numbering.
        passages: retrieval
            .hits
            .iter()
            .take(job.options.passages)
            .enumerate()
            .map(|(i, hit)| answer::passage(i + 1, hit))
            .collect(),
        not_found: !retrieval.relevance.relevant,
    });
    let result = if retrieval.relevance.relevant {
        generate(&job, loaded, &retrieval, &history, cancel)
    } else {
        Ok(answer::not_found(&retrieval, &job.options))
    };
    let answer = result?;
    let recorded = conversation.record_turn(library, &answer)?;
    (job.events)(AnswerEvent::Done {
        turn_id: recorded.turn_id,
        answer: Box::new(answer.clone()),
    });
    Ok(AskReply {
        conversation_id: recorded.conversation_id,
        turn_id: recorded.turn_id,
        answer,
    })
}

fn generate(
    job: &AskJob,
    loaded: &mut Loaded,
    retrieval: &answer::Retrieval,
    history: &[answer::PastTurn],
    cancel: &AtomicBool,
) -> CommandResult<Answer> {
    let choice = job.models.choose_generator(job.model_path.as_deref())?;
    if loaded.as_ref().is_none_or(|(path, _)| path != &choice.path) {
        // Free the old model before loading the new one.
        *loaded = None;
        (job.events)(AnswerEvent::LoadingModel {
            path: choice.path.display().to_string(),
        });
        let generator = LlamaCppGenerator::load(&choice.path, &LoadOptions::default())?;
        *loaded = Some((choice.path.clone(), generator));
    }
    let (_, generator) = loaded.as_mut().expect("loaded above");
    let mut on_text = |text: &str| {
        (job.events)(AnswerEvent::Token {
            text: text.to_string(),
        })
    };
    Ok(answer::generate(
        job.library.as_ref(),
        generator,
        retrieval,
        history,
        &job.options,
        cancel,
        &mut on_text,
    )?)
}
