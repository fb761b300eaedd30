//! What the app holds while it runs, and the only way commands reach it:
//! [`AppState`]'s methods. Its parts — the settings, the library slot, the
//! folder watches, the ingest queue and the core's answering session — do
//! not know the app state; each is started with the parts it needs, so
//! nothing calls back into the state that holds it.
//!
//! Events leave through an [`EventSink`], which the running app implements
//! with Tauri events and tests with a recorder.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crossbeam_channel::Receiver;
use quarry_core::embed::{Embedder, Precision};
use quarry_core::models::{ModelSearch, DEFAULT_EMBEDDER};
use quarry_core::remote;
use quarry_core::session::{AnswerEngine, AnswerEvent, ConversationRef, Question, Session, Turn};
use quarry_core::{AddReport, Library};

use crate::dto::IngestEvent;
use crate::error::{CommandError, CommandResult};
use crate::ingest::{IngestQueue, JobKind};
use crate::library_slot::LibrarySlot;
use crate::settings::Settings;
use crate::watches::Watches;

/// Where the app's events go.
pub trait EventSink: Send + Sync {
    fn ingest(&self, event: &IngestEvent);
    /// The library's documents changed (an ingest or removal finished).
    fn library_changed(&self);
}

/// Where the app finds things; the running app builds it from the
/// environment, tests from temp folders.
pub struct AppConfig {
    pub settings_file: PathBuf,
    /// First-run settings, used when the settings file does not exist yet.
    pub defaults: Settings,
    pub models: ModelSearch,
    /// The embedding model's folder; `None` to find the default one.
    pub embedder_dir: Option<PathBuf>,
    /// The local encoder's precision the process was started with
    /// (`QUARRY_EMBED_PRECISION`, as the CLI reads it), over the settings'.
    pub embed_precision: Option<Precision>,
    /// Where models chosen in the window are linked (the app's models
    /// folder, which [`ModelSearch::from_env`] searches).
    pub models_dir: PathBuf,
    /// Where the answer model's KV cache is kept between runs (`None`: in
    /// memory only).
    pub prompt_cache: Option<PathBuf>,
    /// Load the answer model when the app starts (and when the settings
    /// choose another), so the first question does not wait for it.
    pub preload_model: bool,
}

impl AppConfig {
    pub fn from_env() -> Self {
        AppConfig {
            settings_file: std::env::var_os("QUARRY_DESKTOP_SETTINGS")
                .map(PathBuf::from)
                .unwrap_or_else(crate::settings::default_settings_file),
            defaults: Settings::from_env(),
            models: ModelSearch::from_env(None),
            embedder_dir: std::env::var_os("QUARRY_EMBEDDER").map(PathBuf::from),
            embed_precision: remote::env_text("QUARRY_EMBED_PRECISION").and_then(|text| {
                text.parse()
                    .map_err(|e| tracing::warn!("ignoring QUARRY_EMBED_PRECISION: {e}"))
                    .ok()
            }),
            models_dir: quarry_core::models::app_models_dir(),
            prompt_cache: Some(quarry_core::session::default_prompt_cache()),
            preload_model: true,
        }
    }
}

struct Parts {
    config: AppConfig,
    settings: Mutex<Settings>,
    library: Arc<LibrarySlot>,
    /// Loaded on first need and kept while the choice it was loaded for
    /// stays the same (across library changes made at the same precision).
    embedder: Mutex<Option<(EmbedderChoice, Arc<dyn Embedder>)>>,
    watches: Arc<Watches>,
    events: Arc<dyn EventSink>,
    ingest: IngestQueue,
    session: Session,
}

/// Everything that decides which embedder the app loads.
#[derive(Debug, Clone, PartialEq)]
struct EmbedderChoice {
    dir: Option<PathBuf>,
    /// The embedding server and its model id, if any.
    server: (Option<String>, Option<String>),
    precision: Precision,
}

/// The state every command receives (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    parts: Arc<Parts>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    /// Start the workers and begin opening the library in the background.
    pub fn start(config: AppConfig, events: Arc<dyn EventSink>) -> AppState {
        let settings = Settings::load(&config.settings_file, config.defaults.clone());
        let library = Arc::new(LibrarySlot::default());
        let watches = Arc::new(Watches::default());
        let state = AppState {
            parts: Arc::new(Parts {
                ingest: IngestQueue::start(library.clone(), watches.clone(), events.clone()),
                session: Session::start_with_prompt_cache(config.models.clone(), config.prompt_cache.clone()),
                config,
                settings: Mutex::new(settings),
                library,
                embedder: Mutex::new(None),
                watches,
                events,
            }),
        };
        state.preload_model();
        let opener = state.clone();
        std::thread::Builder::new()
            .name("quarry-open".into())
            .spawn(move || {
                let generation = opener.parts.library.generation();
                let dir = opener.settings().library_dir;
                let opened = opener
                    .embedder()
                    .and_then(|embedder| opener.open_at(&dir, embedder));
                if let Err(e) = &opened {
                    tracing::error!("cannot open the library in {}: {}", dir.display(), e.message);
                }
                opener.install(opened, generation);
            })
            .expect("spawn a thread");
        state
    }

    pub fn settings(&self) -> Settings {
        lock(&self.parts.settings).clone()
    }

    /// Where models chosen in the window are linked.
    pub fn models_dir(&self) -> &Path {
        &self.parts.config.models_dir
    }

    /// Where answer models are looked for.
    pub fn models(&self) -> &ModelSearch {
        &self.parts.config.models
    }

    /// The open library, waiting while it opens.
    pub fn library(&self) -> CommandResult<Arc<Library>> {
        self.parts.library.get()
    }

    /// Apply new settings. A new library folder is opened first; if it
    /// cannot be, nothing changes and the error says why.
    pub fn apply_settings(&self, new: Settings) -> CommandResult<Settings> {
        new.validate()?;
        let old = self.settings();
        let choice = self.embedder_choice(&new);
        let embedder_changed = choice != self.embedder_choice(&old);
        let reopen = new.library_dir != old.library_dir || self.parts.library.failed() || embedder_changed;
        if reopen && self.parts.ingest.running() {
            return Err(CommandError::busy(
                "indexing is running; cancel it or let it finish before changing the library folder",
            ));
        }
        // A new embedder is reached (or loaded) before anything changes: a
        // server that cannot be used leaves the settings as they were.
        let embedder = match embedder_changed {
            true => self.embedder_for(&new, &choice)?,
            false => self.embedder()?,
        };
        let library = if reopen {
            Some(self.open_at(&new.library_dir, embedder.clone())?)
        } else {
            None
        };
        new.save(&self.parts.config.settings_file)?;
        *lock(&self.parts.settings) = new.clone();
        if embedder_changed {
            *lock(&self.parts.embedder) = Some((choice, embedder));
        }
        let engine_changed = (&new.engine_url, &new.engine_model, new.engine_context)
            != (&old.engine_url, &old.engine_model, old.engine_context);
        if new.model_path != old.model_path || engine_changed {
            self.preload_model();
        }
        if let Some(library) = library {
            // The old folders are no longer watched for the new library.
            self.parts.watches.stop();
            let generation = self.parts.library.next_generation();
            self.install(Ok(library), generation);
        }
        Ok(new)
    }

    /// Open the library in `dir` (a panic while opening becomes an error,
    /// so the app never waits on a library that will not come).
    fn open_at(&self, dir: &Path, embedder: Arc<dyn Embedder>) -> CommandResult<Arc<Library>> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Library::open(&dir, embedder)))
            .map_err(|_| {
                CommandError::new(
                    "library",
                    format!("opening the library in {} failed unexpectedly", dir.display()),
                )
            })?
            .map(Arc::new)
            .map_err(CommandError::from)
    }

    /// Make the outcome of an open the current library (unless a newer one
    /// was installed since `generation`); an open library's folders are
    /// watched and rescanned for what changed while the app was closed.
    fn install(&self, opened: CommandResult<Arc<Library>>, generation: u64) {
        // The folders to catch up on are those the library had when it
        // opened: read before anyone can add one (a folder added once the
        // slot is filled is indexed by its own job, not rescanned).
        let opened_with_roots = opened
            .as_ref()
            .ok()
            .map(|library| (library.clone(), library.roots()));
        if !self.parts.library.install(opened, generation) {
            return;
        }
        let Some((library, roots)) = opened_with_roots else {
            return;
        };
        self.parts
            .watches
            .restart(&library, self.parts.ingest.submitter());
        // The ingest worker holds this rescan back while the library's
        // passages are another embedder's: its re-embedding catches up.
        match roots {
            Ok(roots) => self.parts.ingest.submit(roots, JobKind::Rescan),
            Err(e) => tracing::warn!("cannot read the library's folders: {e}"),
        }
        self.parts.events.library_changed();
    }

    /// Stop watching and close the library once the running job is done
    /// (the window is closing; tests use it to stand for a closed app).
    pub fn shutdown(&self) {
        self.parts.watches.stop();
        while self.parts.ingest.running() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.parts
            .library
            .close(CommandError::new("library", "Quarry is closing"));
    }

    /// The embedder the settings choose for their library, loaded (or
    /// reached) once per choice.
    pub fn embedder(&self) -> CommandResult<Arc<dyn Embedder>> {
        let settings = self.settings();
        let choice = self.embedder_choice(&settings);
        if let Some((loaded_for, embedder)) = lock(&self.parts.embedder).as_ref() {
            if *loaded_for == choice {
                return Ok(embedder.clone());
            }
        }
        let embedder = self.embedder_for(&settings, &choice)?;
        *lock(&self.parts.embedder) = Some((choice, embedder.clone()));
        Ok(embedder)
    }

    /// What decides the embedder `settings` get: the process's own choices
    /// (QUARRY_EMBEDDER, QUARRY_EMBED_PRECISION) over the saved ones, and a
    /// precision left open follows the library (int8 for a new one).
    fn embedder_choice(&self, settings: &Settings) -> EmbedderChoice {
        let config = &self.parts.config;
        let chosen = config.embed_precision.or(settings.embed_precision);
        EmbedderChoice {
            dir: config
                .embedder_dir
                .clone()
                .or_else(|| settings.embedder_dir.clone()),
            server: (settings.embed_url.clone(), settings.embed_model.clone()),
            precision: quarry_core::embed_precision(&settings.library_dir, chosen),
        }
    }

    /// The local encoder, or the server `settings` name (whose passages are
    /// sized by the local encoder's tokenizer).
    fn embedder_for(&self, settings: &Settings, choice: &EmbedderChoice) -> CommandResult<Arc<dyn Embedder>> {
        let search = match &choice.dir {
            Some(dir) => ModelSearch {
                explicit: Some(dir.clone()),
                ..ModelSearch::default()
            },
            None => self.parts.config.models.clone(),
        };
        Ok(match settings.embed_server()? {
            Some(server) => search.connect_embedder(&server, DEFAULT_EMBEDDER)?,
            None => search.load_embedder(DEFAULT_EMBEDDER, choice.precision)?,
        })
    }

    /// Index files and folders in the background, after any running job.
    pub fn index(&self, paths: Vec<PathBuf>, kind: JobKind) {
        self.parts.ingest.submit(paths, kind);
    }

    /// Remove documents or folders once the jobs before it are done.
    pub fn remove(&self, paths: Vec<PathBuf>) -> Receiver<CommandResult<AddReport>> {
        self.parts.ingest.remove(paths)
    }

    /// Re-embed the library's passages with the embedder now chosen, after
    /// any running job, then catch up with its folders.
    pub fn reembed(&self) {
        self.parts.ingest.reembed();
    }

    /// Stop the running ingest after the files in flight, and drop the
    /// user's queued ones.
    pub fn cancel_ingest(&self) {
        self.parts.ingest.cancel();
    }

    pub fn ingest_running(&self) -> bool {
        self.parts.ingest.running()
    }

    /// Ask a question in a conversation (`None`: a new one), with the
    /// settings' model and passages; each event of the answer is handed to
    /// `on_event` as it comes. Waits for the library and for questions
    /// asked before.
    pub fn ask(
        &self,
        question: String,
        conversation_id: Option<i64>,
        on_event: impl FnMut(&AnswerEvent),
    ) -> CommandResult<Turn> {
        let settings = self.settings();
        let asking = self.parts.session.ask(Question {
            library: self.library()?,
            text: question,
            conversation: match conversation_id {
                Some(id) => ConversationRef::Stored(id),
                None => ConversationRef::New,
            },
            options: settings.answer_options(),
            model: settings.answer_engine()?,
        });
        Ok(asking.finish(on_event)?)
    }

    /// Start loading the settings' answer model in the background (when the
    /// app is configured to): the first question then finds it in memory.
    fn preload_model(&self) {
        if !self.parts.config.preload_model {
            return;
        }
        let Ok(engine) = self.settings().answer_engine() else {
            return; // settings are validated when saved; a question says why
        };
        match self.parts.session.prepare(&engine) {
            Ok(Some(choice)) => tracing::info!("loading the answer model {}", choice.path.display()),
            Ok(None) => {
                if let AnswerEngine::Remote(remote) = &engine {
                    tracing::info!("answers by {}", remote.describe());
                }
            }
            // The first question says why, where the person sees it.
            Err(e) => tracing::warn!("no answer model to load yet: {e}"),
        }
    }

    /// Wait until the answering session has done what it was given — the
    /// model preloaded at start, the questions asked — so what is timed or
    /// checked next starts from a settled session.
    pub fn wait_until_answering_idle(&self) {
        self.parts.session.wait_until_idle();
    }

    /// Stop the answer being written (the Stop button), and any question
    /// waiting; what was written is kept.
    pub fn stop_answer(&self) {
        self.parts.session.stop();
    }

    /// The folders being watched.
    pub fn watched(&self) -> Vec<PathBuf> {
        self.parts.watches.watched()
    }
}

/// The paths a command received, as paths (empty strings are refused).
pub fn to_paths(paths: &[String]) -> CommandResult<Vec<PathBuf>> {
    if paths.is_empty() || paths.iter().any(|p| p.trim().is_empty()) {
        return Err(CommandError::invalid("no files or folders were given"));
    }
    Ok(paths.iter().map(|p| Path::new(p).to_path_buf()).collect())
}
