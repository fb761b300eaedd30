//! What the app holds while it runs: the settings, the open library, the
//! ingest queue, the answer worker and the folder watcher.
//!
//! The library opens on a background thread (loading the embedding model
//! takes a moment), so the window shows at once; commands that need the
//! library wait for it. Events leave through an [`EventSink`], which the
//! running app implements with Tauri events and tests with a recorder.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use quarry::embed::{Embedder, SentenceEncoder};
use quarry::models::{ModelSearch, DEFAULT_EMBEDDER};
use quarry::watch::{FolderWatcher, DEFAULT_QUIET};
use quarry::Library;

use crate::answers::AnswerWorker;
use crate::error::{CommandError, CommandResult};
use crate::ingest::{IngestEvent, IngestQueue, JobKind};
use crate::settings::Settings;

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
        }
    }
}

enum Slot {
    Opening,
    Ready(Arc<Library>),
    Failed(CommandError),
}

pub(crate) struct Shared {
    pub(crate) config: AppConfig,
    settings: Mutex<Settings>,
    library: Mutex<Slot>,
    /// Bumped whenever a library is installed, so an open that finishes
    /// after a newer one (start-up vs. a settings change) is discarded.
    opened: std::sync::atomic::AtomicU64,
    library_changed: Condvar,
    embedder: Mutex<Option<Arc<dyn Embedder>>>,
    watcher: Mutex<Option<FolderWatcher>>,
    pub(crate) events: Arc<dyn EventSink>,
    pub(crate) ingest: IngestQueue,
    pub(crate) answers: AnswerWorker,
}

/// The state every command receives (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    pub(crate) shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    /// Start the workers and begin opening the library in the background.
    pub fn start(config: AppConfig, events: Arc<dyn EventSink>) -> AppState {
        let settings = Settings::load(&config.settings_file, config.defaults.clone());
        let shared = Arc::new_cyclic(|weak| Shared {
            config,
            settings: Mutex::new(settings),
            library: Mutex::new(Slot::Opening),
            opened: std::sync::atomic::AtomicU64::new(0),
            library_changed: Condvar::new(),
            embedder: Mutex::new(None),
            watcher: Mutex::new(None),
            events,
            ingest: IngestQueue::start(weak.clone()),
            answers: AnswerWorker::start(),
        });
        let state = AppState { shared };
        let opener = state.clone();
        std::thread::Builder::new()
            .name("quarry-open".into())
            .spawn(move || {
                let generation = opener.generation();
                let dir = opener.settings().library_dir;
                match opener.open_at(&dir) {
                    Ok(library) => opener.install(library, generation),
                    Err(e) => {
                        tracing::error!("cannot open the library in {}: {}", dir.display(), e.message);
                        if opener.generation() == generation {
                            *lock(&opener.shared.library) = Slot::Failed(e);
                            opener.shared.library_changed.notify_all();
                        }
                    }
                }
            })
            .expect("spawn a thread");
        state
    }

    fn generation(&self) -> u64 {
        self.shared.opened.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn settings(&self) -> Settings {
        lock(&self.shared.settings).clone()
    }

    /// The open library, waiting while it opens.
    pub fn library(&self) -> CommandResult<Arc<Library>> {
        self.shared.library()
    }

    /// Apply new settings. A new library folder is opened first; if it
    /// cannot be, nothing changes and the error says why.
    pub fn apply_settings(&self, new: Settings) -> CommandResult<Settings> {
        new.validate()?;
        let old = self.settings();
        let reopen =
            new.library_dir != old.library_dir || matches!(*lock(&self.shared.library), Slot::Failed(_));
        if reopen && self.shared.ingest.running() {
            return Err(CommandError::busy(
                "indexing is running; cancel it or let it finish before changing the library folder",
            ));
        }
        let library = if reopen {
            Some(self.open_at(&new.library_dir)?)
        } else {
            None
        };
        new.save(&self.shared.config.settings_file)?;
        *lock(&self.shared.settings) = new.clone();
        if let Some(library) = library {
            // The old folders are no longer watched for the new library.
            *lock(&self.shared.watcher) = None;
            let generation = self
                .shared
                .opened
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                + 1;
            self.install(library, generation);
        }
        Ok(new)
    }

    /// Open the library in `dir` (a panic while opening becomes an error,
    /// so the app never waits on a library that will not come).
    fn open_at(&self, dir: &Path) -> CommandResult<Arc<Library>> {
        let embedder = self.embedder()?;
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

    /// Make `library` the open one (unless a newer one was installed since
    /// `generation`), watch its folders and rescan them for what changed
    /// while the app was closed.
    fn install(&self, library: Arc<Library>, generation: u64) {
        {
            let mut slot = lock(&self.shared.library);
            if self.generation() != generation {
                return;
            }
            *slot = Slot::Ready(library.clone());
        }
        self.shared.library_changed.notify_all();
        self.shared.restart_watcher(&library);
        match library.roots() {
            Ok(roots) if !roots.is_empty() => self.shared.ingest.submit(roots, JobKind::Rescan),
            Ok(_) => {}
            Err(e) => tracing::warn!("cannot read the library's folders: {e}"),
        }
        self.shared.events.library_changed();
    }

    /// Stop watching and close the library once the running job is done
    /// (the window is closing; tests use it to stand for a closed app).
    pub fn shutdown(&self) {
        *lock(&self.shared.watcher) = None;
        while self.shared.ingest.running() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.shared
            .opened
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        *lock(&self.shared.library) = Slot::Failed(CommandError::new("library", "Quarry is closing"));
        self.shared.library_changed.notify_all();
    }

    /// The embedding model, loaded once.
    pub fn embedder(&self) -> CommandResult<Arc<dyn Embedder>> {
        let mut slot = lock(&self.shared.embedder);
        if let Some(embedder) = slot.as_ref() {
            return Ok(embedder.clone());
        }
        let dir = match &self.shared.config.embedder_dir {
            Some(dir) => dir.clone(),
            None => self.shared.config.models.find_embedder(DEFAULT_EMBEDDER)?,
        };
        let embedder: Arc<dyn Embedder> = Arc::new(
            SentenceEncoder::load(&dir).map_err(|e| CommandError::from(quarry::EngineError::Embed(e)))?,
        );
        *slot = Some(embedder.clone());
        Ok(embedder)
    }

    /// Stop the running ingest after the files in flight, and drop the
    /// user's queued ones.
    pub fn cancel_ingest(&self) {
        self.shared.ingest.cancel();
    }

    /// Stop the answer being written (the Stop button).
    pub fn stop_answer(&self) {
        self.shared.answers.stop();
    }

    /// The folders being watched.
    pub fn watched(&self) -> Vec<PathBuf> {
        lock(&self.shared.watcher)
            .as_ref()
            .map(FolderWatcher::watched)
            .unwrap_or_default()
    }
}

impl Shared {
    pub(crate) fn library(&self) -> CommandResult<Arc<Library>> {
        let mut slot = lock(&self.library);
        loop {
            match &*slot {
                Slot::Ready(library) => return Ok(library.clone()),
                Slot::Failed(e) => return Err(e.clone()),
                Slot::Opening => {
                    slot = self.library_changed.wait(slot).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }

    /// A new watcher for `library`'s folders (its own folder ignored).
    fn restart_watcher(&self, library: &Library) {
        let ingest = self.ingest.submitter();
        // The library's own files never count as documents, whichever
        // spelling of its folder a watched path uses.
        let own = library.dir().to_path_buf();
        let ignore = vec![own.clone(), std::fs::canonicalize(&own).unwrap_or(own)];
        let watcher = FolderWatcher::start(DEFAULT_QUIET, ignore, move |paths| {
            ingest.submit(paths, JobKind::Watched)
        });
        match watcher {
            Ok(watcher) => {
                *lock(&self.watcher) = Some(watcher);
                self.sync_watches(library);
            }
            Err(e) => tracing::warn!("new and changed files will not be picked up while Quarry runs: {e}"),
        }
    }

    /// Watch exactly the library's roots (after an add or a removal).
    pub(crate) fn sync_watches(&self, library: &Library) {
        let Ok(roots) = library.roots() else { return };
        let mut guard = lock(&self.watcher);
        let Some(watcher) = guard.as_mut() else { return };
        for gone in watcher.watched().into_iter().filter(|w| !roots.contains(w)) {
            watcher.unwatch(&gone);
        }
        for root in &roots {
            if let Err(e) = watcher.watch(root) {
                tracing::warn!("{e}");
            }
        }
    }
}

/// The paths a command received, as paths (empty strings are refused).
pub fn to_paths(paths: &[String]) -> CommandResult<Vec<PathBuf>> {
    if paths.is_empty() || paths.iter().any(|p| p.trim().is_empty()) {
        return Err(CommandError::invalid("no files or folders were given"));
    }
    Ok(paths.iter().map(|p| Path::new(p).to_path_buf()).collect())
}
