//! The one answering session every front end uses: a question goes in, a
//! stream of [`AnswerEvent`]s comes out.
//!
//! One thread owns the answer model (a llama.cpp context is not `Send`, and
//! one model in memory is all a laptop can afford). It takes questions in
//! order and runs each turn the same way for every front end: open the
//! conversation → retrieve ([`answer::retrieve`]) → store a new
//! conversation, so a front end can show it at once → [`AnswerEvent::Retrieved`]
//! → if the passages are relevant, load the model on first use
//! ([`AnswerEvent::LoadingModel`]) and generate, streaming
//! [`AnswerEvent::Token`]s, then check the citations ([`answer::generate`]);
//! otherwise say "not found" without a model → record the turn →
//! [`AnswerEvent::Done`] with the checked answer. A turn that fails ends with
//! [`AnswerEvent::Failed`] instead. A stopped answer is an answer: the text
//! written so far is checked, recorded and sent in `Done`, marked `stopped`.
//!
//! A front end that expects questions (the app when it opens, `quarry chat`)
//! calls [`Session::prepare`] first, so that no question waits for the
//! model to load. The weights are read on a thread of their own: a question
//! asked meanwhile is retrieved at once (its preview shown) and waits for
//! the weights only when the model is needed.
//!
//! A question may name a remote engine instead ([`AnswerEngine::Remote`]):
//! nothing is loaded then, the prompt's chat goes to that server, and its
//! streamed reply is checked and recorded exactly as a local model's.
//!
//! While a local model answers, the library's ingests (in this process or
//! another) pause: [`Library::answering`] is held for the turn.
//!
//! Invariant: the only place a question is turned into a recorded answer;
//! front ends map its events to their screens, terminals and wires.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use quarry_generate::{
    Decoding, Generation, Generator, LlamaCppGenerator, LlmError, LlmResult, LoadOptions, Message,
    ModelWeights, RemoteEngine, RemoteGenerator, DEFAULT_CONTEXT,
};

use crate::answer::{
    self, Answer, AnswerError, AnswerOptions, AnswerResult, Conversation, Passage, PastTurn, Preview,
};
use crate::models::{GeneratorChoice, ModelError, ModelSearch};
use crate::Library;

/// Which conversation a question belongs to.
#[derive(Debug, Clone)]
pub enum ConversationRef {
    /// A new conversation, stored (titled by the question) once retrieval
    /// is done.
    New,
    /// A stored conversation, continued.
    Stored(i64),
    /// Earlier turns the caller keeps itself (a stateless API's messages):
    /// used for the follow-up, and nothing is stored.
    Unstored(Vec<PastTurn>),
}

/// A question for the session.
pub struct Question {
    pub library: Arc<Library>,
    pub text: String,
    pub conversation: ConversationRef,
    pub options: AnswerOptions,
    /// Which model answers.
    pub model: AnswerEngine,
}

/// Which model answers a question.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AnswerEngine {
    /// Quarry's default GGUF wherever the session's [`ModelSearch`] finds
    /// it (or the first `.gguf` found).
    #[default]
    Default,
    /// This GGUF file.
    File(PathBuf),
    /// A model on an OpenAI-compatible server: the question, the
    /// conversation's last turns and the retrieved passages are sent there.
    Remote(RemoteEngine),
}

impl AnswerEngine {
    /// A GGUF file, or the default one.
    pub fn local(file: Option<PathBuf>) -> Self {
        file.map_or(AnswerEngine::Default, AnswerEngine::File)
    }

    /// The GGUF file named (`None`: the default, or a remote engine).
    pub fn file(&self) -> Option<&Path> {
        match self {
            AnswerEngine::File(path) => Some(path),
            AnswerEngine::Default | AnswerEngine::Remote(_) => None,
        }
    }
}

/// A turn that is done: the checked answer and where it was recorded
/// (`None` for an unstored conversation).
#[derive(Debug, Clone)]
pub struct Turn {
    pub conversation_id: Option<i64>,
    pub turn_id: Option<i64>,
    pub answer: Answer,
}

/// What a front end sees of a turn while it is made, in this order:
/// `Retrieved`, then (when the model is asked) possibly `LoadingModel` and
/// `Token`s, then exactly one of `Done` or `Failed`.
#[derive(Debug)]
pub enum AnswerEvent {
    /// Retrieval is done; `not_found` means no model will be asked. The
    /// passages are numbered as the prompt numbers them when they all fit
    /// (the usual case), so streamed marks find their passage; the checked
    /// answer in `Done` carries the exact numbering.
    Retrieved {
        conversation_id: Option<i64>,
        passages: Vec<Passage>,
        not_found: bool,
        /// The sentence to show at once, before the model's first token.
        preview: Option<Preview>,
    },
    /// The answer model is being loaded (the first question that needs it,
    /// or another model was chosen). `fallback`: the default model was not
    /// found and this one, the first found, is used instead.
    LoadingModel { path: PathBuf, fallback: bool },
    /// Text as the model writes it (citation marks not yet checked).
    Token(String),
    /// The checked answer, recorded.
    Done(Box<Turn>),
    /// The turn could not be answered.
    Failed(AnswerError),
}

/// A question or a chat on its way to the session's thread, with where its
/// events go.
struct Request<T, E> {
    work: T,
    events: Sender<E>,
    /// Its own stop flag: a stop given while it waits (behind another one)
    /// holds.
    cancel: Arc<AtomicBool>,
}

/// A chat for the model as it is, without the library: what a local model
/// server offers (`quarry serve` under a model's own id). Nothing is
/// retrieved, checked or recorded; it shares the one model and the queue
/// with the questions.
pub struct PlainChat {
    pub messages: Vec<Message>,
    pub max_tokens: usize,
    pub stop: Vec<String>,
    pub model: AnswerEngine,
}

/// What a front end sees of a plain chat: possibly `LoadingModel`, then
/// `Token`s, then exactly one of `Done` or `Failed`.
#[derive(Debug)]
pub enum ChatEvent {
    LoadingModel {
        path: PathBuf,
        fallback: bool,
    },
    Token(String),
    /// The model's whole reply and its counts (`stop_reason` `Cancelled`
    /// when stopped).
    Done(Generation),
    Failed(AnswerError),
}

/// What the session's thread is given to do, in order.
enum Job {
    Ask(Request<Question, AnswerEvent>),
    Chat(Request<PlainChat, ChatEvent>),
    /// Load this model (or reach this server) now, before a question needs it.
    Load(Engine),
    /// Say when every job before this one is done.
    Barrier(Sender<()>),
}

/// A model ready to answer, or the one to make ready.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Engine {
    File(PathBuf),
    Remote(RemoteEngine),
}

/// Stop flags of the questions asked and not yet answered.
type Pending = Arc<Mutex<Vec<Arc<AtomicBool>>>>;

fn lock(pending: &Pending) -> std::sync::MutexGuard<'_, Vec<Arc<AtomicBool>>> {
    pending.lock().unwrap_or_else(|p| p.into_inner())
}

/// The answering session: cheap to share behind an `Arc`; dropping the last
/// handle ends its thread once the questions queued are answered.
pub struct Session {
    jobs: Sender<Job>,
    pending: Pending,
    models: ModelSearch,
}

/// Where a loaded model's KV cache is kept between processes: the
/// platform cache folder (or `$QUARRY_CACHE_DIR`), `prompt-cache/`.
pub fn default_prompt_cache() -> PathBuf {
    crate::default_cache_dir().join("prompt-cache")
}

/// A question or chat on its way: iterate it for its events;
/// [`Events::cancel`] stops it alone.
pub struct Events<E> {
    events: Receiver<E>,
    cancel: Arc<AtomicBool>,
}

/// One question on its way (or [`Asking::finish`] it).
pub type Asking = Events<AnswerEvent>;
/// A plain chat on its way.
pub type Chatting = Events<ChatEvent>;

impl Session {
    /// Start the session's thread; `models` is where answer models are
    /// found; a loaded model's KV cache is kept between processes in
    /// [`default_prompt_cache`].
    pub fn start(models: ModelSearch) -> Self {
        Session::start_with_prompt_cache(models, Some(default_prompt_cache()))
    }

    /// [`Session::start`] with the KV cache kept in `prompt_cache` (`None`:
    /// in memory only, as an evaluation wants: its timings then do not
    /// depend on what ran before it).
    pub fn start_with_prompt_cache(models: ModelSearch, prompt_cache: Option<PathBuf>) -> Self {
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        let pending = Pending::default();
        let answered = pending.clone();
        let search = models.clone();
        std::thread::Builder::new()
            .name("quarry-answer".into())
            .spawn(move || serve(queue, search, prompt_cache.as_deref(), &answered))
            .expect("spawn a thread");
        Session {
            jobs,
            pending,
            models,
        }
    }

    /// Make ready, in the session's thread, the model a question with
    /// `model` would use (see [`Question::model`]) — load the GGUF, or reach
    /// the remote engine and check it serves the model — so the first
    /// question does not wait for it. Returns at once with the GGUF chosen
    /// (`None` for a remote engine; a front end can say that the default was
    /// not found), or why none can be; a model that then fails to load (or a
    /// server that fails to answer) is reported by the first question that
    /// needs it.
    pub fn prepare(&self, model: &AnswerEngine) -> Result<Option<GeneratorChoice>, ModelError> {
        let (engine, choice) = resolve(&self.models, model)?;
        // The thread ends only when the last handle is dropped: sending
        // cannot fail while `self` exists.
        let _ = self.jobs.send(Job::Load(engine));
        Ok(choice)
    }

    /// Wait until every job queued before this call is done — for example
    /// the load [`Session::prepare`] started — so what is timed next does
    /// not include it.
    pub fn wait_until_idle(&self) {
        let (done, finished) = crossbeam_channel::bounded(1);
        if self.jobs.send(Job::Barrier(done)).is_ok() {
            let _ = finished.recv();
        }
    }

    /// Queue a plain chat (see [`PlainChat`]); its events arrive on the
    /// returned [`Chatting`].
    pub fn chat(&self, chat: PlainChat) -> Chatting {
        self.queue(chat, Job::Chat, ChatEvent::Failed(AnswerError::SessionGone))
    }

    /// Queue a question; its events arrive on the returned [`Asking`].
    pub fn ask(&self, question: Question) -> Asking {
        self.queue(question, Job::Ask, AnswerEvent::Failed(AnswerError::SessionGone))
    }

    /// Hand `work` to the session's thread as `job`; `gone` is its only
    /// event if the thread has ended.
    fn queue<T, E>(&self, work: T, job: fn(Request<T, E>) -> Job, gone: E) -> Events<E> {
        let (events, receiver) = crossbeam_channel::unbounded();
        let cancel = Arc::new(AtomicBool::new(false));
        lock(&self.pending).push(cancel.clone());
        let request = Request {
            work,
            events: events.clone(),
            cancel: cancel.clone(),
        };
        if self.jobs.send(job(request)).is_err() {
            let _ = events.send(gone);
        }
        Events {
            events: receiver,
            cancel,
        }
    }

    /// Stop the answer being written and every question waiting; each ends
    /// with what it has (see [`AnswerEvent::Done`]).
    pub fn stop(&self) {
        for flag in lock(&self.pending).iter() {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

impl<E> Events<E> {
    /// Stop this question (or chat) only; what was written so far is kept.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// The flag [`Events::cancel`] sets, for a signal handler to hold.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }
}

impl<E> Iterator for Events<E> {
    type Item = E;
    fn next(&mut self) -> Option<E> {
        self.events.recv().ok()
    }
}

impl Asking {
    /// Hand every event to `on_event` until the turn ends; the finished turn,
    /// or why it failed.
    pub fn finish(self, mut on_event: impl FnMut(&AnswerEvent)) -> AnswerResult<Turn> {
        for event in self.events {
            on_event(&event);
            match event {
                AnswerEvent::Done(turn) => return Ok(*turn),
                AnswerEvent::Failed(error) => return Err(error),
                _ => {}
            }
        }
        Err(AnswerError::SessionGone)
    }
}

/// The answer model in memory, and the one being read beside the session's
/// thread; at most one of them at a time (one model in memory).
#[derive(Default)]
struct Loaded {
    ready: Option<(Engine, Box<dyn Generator>)>,
    reading: Option<(Engine, JoinHandle<LlmResult<Read>>)>,
}

/// What a reading thread returns: the part of a model that is `Send`.
enum Read {
    Weights(PathBuf, ModelWeights),
    Remote(RemoteGenerator),
}

/// Where the session's thread finds models, and keeps their KV caches.
struct Models<'a> {
    search: ModelSearch,
    prompt_cache: Option<&'a Path>,
}

fn serve(jobs: Receiver<Job>, models: ModelSearch, prompt_cache: Option<&Path>, pending: &Pending) {
    let mut loaded = Loaded::default();
    let models = Models {
        search: models,
        prompt_cache,
    };
    for job in jobs {
        match job {
            Job::Ask(request) => request.run(
                pending,
                |question, cancel, send| answer_turn(question, &models, &mut loaded, cancel, send),
                |outcome| match outcome {
                    Ok(turn) => AnswerEvent::Done(Box::new(turn)),
                    Err(error) => AnswerEvent::Failed(error),
                },
            ),
            Job::Chat(request) => request.run(
                pending,
                |chat, cancel, send| plain_chat(chat, &models, &mut loaded, cancel, send),
                |outcome| match outcome {
                    Ok(generation) => ChatEvent::Done(generation),
                    Err(error) => ChatEvent::Failed(error),
                },
            ),
            Job::Load(engine) => loaded.start_reading(engine),
            Job::Barrier(done) => {
                // A model being read is part of the work queued before.
                if let Err(e) = loaded.finish_reading(&models) {
                    tracing::warn!("cannot prepare the answer model: {e}");
                }
                let _ = done.send(());
            }
        }
    }
}

impl<T, E> Request<T, E> {
    /// Do the work, sending its events as it goes and then the one `end`
    /// makes of its outcome; it is no longer pending once done.
    fn run<R>(
        self,
        pending: &Pending,
        work: impl FnOnce(&T, &AtomicBool, &dyn Fn(E)) -> AnswerResult<R>,
        end: impl FnOnce(AnswerResult<R>) -> E,
    ) {
        let send = |event| {
            // A front end that stopped listening only loses the events.
            let _ = self.events.send(event);
        };
        let outcome = work(&self.work, &self.cancel, &send);
        lock(pending).retain(|flag| !Arc::ptr_eq(flag, &self.cancel));
        send(end(outcome));
    }
}

fn plain_chat(
    chat: &PlainChat,
    models: &Models,
    loaded: &mut Loaded,
    cancel: &AtomicBool,
    send: &dyn Fn(ChatEvent),
) -> AnswerResult<Generation> {
    let loading = |event: AnswerEvent| {
        if let AnswerEvent::LoadingModel { path, fallback } = event {
            send(ChatEvent::LoadingModel { path, fallback });
        }
    };
    let generator = model(models, &chat.model, loaded, &loading)?;
    let decoding = Decoding {
        max_tokens: chat.max_tokens,
        stop: chat.stop.clone(),
        ..Decoding::default()
    };
    let on_text = &mut |text: &str| send(ChatEvent::Token(text.to_string()));
    Ok(generator.generate_chat(&chat.messages, &decoding, cancel, on_text)?)
}

fn answer_turn(
    question: &Question,
    models: &Models,
    loaded: &mut Loaded,
    cancel: &AtomicBool,
    send: &dyn Fn(AnswerEvent),
) -> AnswerResult<Turn> {
    let text = question.text.trim();
    if text.is_empty() {
        return Err(AnswerError::EmptyQuestion);
    }
    let library = question.library.as_ref();
    // A local model answers on this machine's cores: ingests of the library
    // pause until the turn is done (a remote engine needs no room here).
    let _answering = match question.model {
        AnswerEngine::Remote(_) => None,
        AnswerEngine::Default | AnswerEngine::File(_) => library.answering(),
    };
    let (mut conversation, history, stored) = match &question.conversation {
        ConversationRef::New => (Conversation::new(), Vec::new(), true),
        ConversationRef::Stored(id) => {
            let conversation = Conversation::open(library, *id)?;
            let history = conversation.history();
            (conversation, history, true)
        }
        ConversationRef::Unstored(history) => (Conversation::new(), history.clone(), false),
    };
    let retrieval = answer::retrieve(library, text, &history, &question.options)?;
    // The conversation exists from its first question on, so a front end can
    // list it while the answer streams; it stays if the answer then fails,
    // and the next question goes there.
    let conversation_id = match stored {
        true => Some(conversation.store(library, text)?),
        false => None,
    };
    send(AnswerEvent::Retrieved {
        conversation_id,
        passages: retrieval
            .hits
            .iter()
            .take(question.options.passages)
            .enumerate()
            .map(|(i, hit)| answer::passage(i + 1, hit))
            .collect(),
        not_found: !retrieval.relevance.relevant,
        preview: answer::preview(&retrieval, question.options.passages),
    });
    let answer = if retrieval.relevance.relevant {
        let generator = model(models, &question.model, loaded, send)?;
        answer::generate(
            library,
            generator,
            &retrieval,
            &history,
            &question.options,
            cancel,
            &mut |text: &str| send(AnswerEvent::Token(text.to_string())),
        )?
    } else {
        answer::not_found(&retrieval, &question.options)
    };
    let turn_id = match stored {
        true => Some(conversation.record(library, &answer)?.turn_id),
        false => None,
    };
    Ok(Turn {
        conversation_id,
        turn_id,
        answer,
    })
}

/// The chosen answer model, loading it (and freeing the one loaded before)
/// when it is not the one in memory.
fn model<'a>(
    models: &Models,
    wanted: &AnswerEngine,
    loaded: &'a mut Loaded,
    send: &dyn Fn(AnswerEvent),
) -> AnswerResult<&'a mut dyn Generator> {
    let (engine, choice) = resolve(&models.search, wanted)?;
    if let Some(choice) = choice.filter(|_| loaded.must_wait_for(&engine)) {
        send(AnswerEvent::LoadingModel {
            path: choice.path,
            fallback: !choice.preferred,
        });
    }
    Ok(loaded.get(&engine, models)?)
}

/// What `wanted` names: a remote engine as it is, a GGUF (the default one
/// when none is named) found among the models, with how it was chosen.
fn resolve(
    models: &ModelSearch,
    wanted: &AnswerEngine,
) -> Result<(Engine, Option<GeneratorChoice>), ModelError> {
    Ok(match wanted {
        AnswerEngine::Remote(remote) => (Engine::Remote(remote.clone()), None),
        local => {
            let choice = models.choose_generator(local.file())?;
            (Engine::File(choice.path.clone()), Some(choice))
        }
    })
}

impl Loaded {
    fn is_ready(&self, engine: &Engine) -> bool {
        self.ready.as_ref().is_some_and(|(current, _)| current == engine)
    }

    /// The thread reading `engine`'s model, if one is.
    fn reading(&self, engine: &Engine) -> Option<&JoinHandle<LlmResult<Read>>> {
        self.reading
            .as_ref()
            .filter(|(current, _)| current == engine)
            .map(|(_, handle)| handle)
    }

    /// Whether getting `engine`'s model means waiting for it to be read: it
    /// is neither in memory nor read already by the reading thread.
    fn must_wait_for(&self, engine: &Engine) -> bool {
        let read_already = self.reading(engine).is_some_and(JoinHandle::is_finished);
        !self.is_ready(engine) && !read_already
    }

    /// Start reading `engine`'s model beside the session's thread, unless
    /// it is in memory or being read; the model before is freed first (one
    /// model at a time).
    fn start_reading(&mut self, engine: Engine) {
        if self.is_ready(&engine) || self.reading(&engine).is_some() {
            return;
        }
        self.ready = None;
        // What another model's reading gives is dropped, once read.
        if let Some((_, other)) = self.reading.take() {
            let _ = other.join();
        }
        let read = engine.clone();
        let spawned = std::thread::Builder::new()
            .name("quarry-model-read".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                let outcome = read.read();
                tracing::info!(ms = started.elapsed().as_millis() as u64, "answer model read");
                if let Err(e) = &outcome {
                    // Said now for the log; the question that needs the
                    // model says it where the person sees it.
                    tracing::warn!("cannot prepare the answer model: {e}");
                }
                outcome
            });
        match spawned {
            Ok(handle) => self.reading = Some((engine, handle)),
            // Without a thread the first question reads it (and says why if
            // that fails too).
            Err(e) => tracing::warn!("cannot start reading the answer model: {e}"),
        }
    }

    /// Wait for the model being read, if any, and make it ready.
    fn finish_reading(&mut self, models: &Models) -> LlmResult<()> {
        let Some((engine, handle)) = self.reading.take() else {
            return Ok(());
        };
        let read = handle
            .join()
            .unwrap_or_else(|_| Err(LlmError::Engine("reading the model panicked".into())))?;
        self.ready = Some((engine, read.generator(models)));
        Ok(())
    }

    /// The model `engine` names, ready: the one in memory, the one being
    /// read once read, or read now (the one before is freed first).
    fn get(&mut self, engine: &Engine, models: &Models) -> LlmResult<&mut dyn Generator> {
        if !self.is_ready(engine) {
            self.start_reading(engine.clone());
            match self.reading.is_some() {
                true => self.finish_reading(models)?,
                // No thread could be started: read here.
                false => self.ready = Some((engine.clone(), engine.read()?.generator(models))),
            }
        }
        Ok(self.ready.as_mut().expect("made ready above").1.as_mut())
    }
}

impl Engine {
    /// The slow part of loading: a GGUF's weights read, or the server
    /// reached and its model checked.
    fn read(&self) -> LlmResult<Read> {
        Ok(match self {
            Engine::File(path) => Read::Weights(path.clone(), LlamaCppGenerator::read(path)?),
            Engine::Remote(remote) => Read::Remote(RemoteGenerator::connect(remote)?),
        })
    }
}

impl Read {
    /// The generator for what was read.
    fn generator(self, models: &Models) -> Box<dyn Generator> {
        match self {
            Read::Weights(path, weights) => {
                // The KV cache of the last answer outlives the process, so a
                // new `quarry ask` (or a reopened app) reuses what its prompt
                // shares with the last one.
                let options = LoadOptions {
                    state_file: models
                        .prompt_cache
                        .map(|dir| dir.join(quarry_generate::state_file_name(&path, DEFAULT_CONTEXT))),
                    ..LoadOptions::default()
                };
                Box::new(LlamaCppGenerator::from_weights(weights, &options))
            }
            Read::Remote(remote) => Box::new(remote),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model being read does not hold up the session's thread: reading
    /// starts and returns at once even when the file's first byte is not
    /// there yet (a named pipe nobody has written), and what the reading
    /// finds — here, that it is no GGUF — reaches the question that needs
    /// the model.
    #[test]
    fn a_model_is_read_beside_the_sessions_thread() {
        let dir = tempfile::tempdir().unwrap();
        let pipe = dir.path().join("slow.gguf");
        let made = std::process::Command::new("mkfifo").arg(&pipe).status().unwrap();
        assert!(made.success(), "mkfifo failed");
        // Should reading block this thread after all, the pipe is written
        // from elsewhere after a minute, so the test fails instead of hanging.
        let late = pipe.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(60));
            let _ = std::fs::write(late, b"too late");
        });

        let engine = Engine::File(pipe.clone());
        let mut loaded = Loaded::default();
        loaded.start_reading(engine.clone());
        let reader = |loaded: &Loaded| loaded.reading.as_ref().map(|(_, handle)| handle.thread().id());
        let first = reader(&loaded).expect("a reading thread");
        assert!(!loaded.is_ready(&engine));
        // A second request for the same model is the reading under way.
        loaded.start_reading(engine.clone());
        assert_eq!(reader(&loaded), Some(first));

        std::fs::write(&pipe, b"plain words, no model").unwrap();
        let models = Models {
            search: ModelSearch::default(),
            prompt_cache: None,
        };
        let error = loaded.get(&engine, &models).err().expect("words are no model");
        assert!(
            matches!(&error, LlmError::NotGguf { path, found } if *path == pipe && found.contains("plai")),
            "{error}"
        );
        assert!(loaded.reading.is_none() && loaded.ready.is_none());
    }
}
