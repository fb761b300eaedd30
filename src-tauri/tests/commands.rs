//! The window's commands, called as the window calls them (through Tauri's
//! `State`), against a real library in a temp folder, the real embedding
//! model, real files, a real folder watcher and a real GGUF model.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use quarry_core::embed::Precision;
use quarry_core::models::ModelSearch;
use quarry_desktop::commands::{chat, inspect, library, settings as settings_cmd, sources};
use quarry_desktop::dto::{AnswerEvent, AskReply, FileOutcome, IngestEvent};
use quarry_desktop::error::CommandError;
use quarry_desktop::settings::Settings;
use quarry_desktop::{AppConfig, AppState, EventSink};
use serde_json::Value;
use tauri::async_runtime::block_on;
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::test::MockRuntime;
use tauri::{App, Manager};

const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// Long enough for a slow shared machine; a test never waits this long
/// unless something is broken.
const PATIENCE: Duration = Duration::from_secs(120);

fn repo_models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn smollm2() -> PathBuf {
    repo_models().join("gguf").join(SMOLLM2)
}

/// Records the app's events and lets a test wait for them.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<IngestEvent>>,
    arrived: Condvar,
    /// Runs once, at the first `file` event (where a person would press
    /// Cancel).
    at_first_file: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    /// `library_changed` calls so far.
    changes: Mutex<usize>,
}

impl EventSink for Recorder {
    fn ingest(&self, event: &IngestEvent) {
        if matches!(event, IngestEvent::File { .. }) {
            if let Some(hook) = self.at_first_file.lock().unwrap().take() {
                hook();
            }
        }
        self.events.lock().unwrap().push(event.clone());
        self.arrived.notify_all();
    }
    fn library_changed(&self) {
        *self.changes.lock().unwrap() += 1;
        self.arrived.notify_all();
    }
}

impl Recorder {
    /// Wait for the `n`-th job end (Finished or Failed) and return it.
    fn job_end(&self, n: usize) -> IngestEvent {
        let deadline = Instant::now() + PATIENCE;
        let mut events = self.events.lock().unwrap();
        loop {
            let ends: Vec<&IngestEvent> = events
                .iter()
                .filter(|e| matches!(e, IngestEvent::Finished { .. } | IngestEvent::Failed { .. }))
                .collect();
            if ends.len() >= n {
                return ends[n - 1].clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no job end #{n}; events so far: {events:#?}");
            events = self.arrived.wait_timeout(events, left).unwrap().0;
        }
    }

    fn changes(&self) -> usize {
        *self.changes.lock().unwrap()
    }

    /// Wait until `library_changed` has been called more than `seen` times.
    fn change_after(&self, seen: usize) {
        let deadline = Instant::now() + PATIENCE;
        let mut changes = self.changes.lock().unwrap();
        while *changes <= seen {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the window was not told of the change");
            changes = self.arrived.wait_timeout(changes, left).unwrap().0;
        }
    }

    fn all(&self) -> Vec<IngestEvent> {
        self.events.lock().unwrap().clone()
    }
}

struct Harness {
    app: App<MockRuntime>,
    events: Arc<Recorder>,
    root: tempfile::TempDir,
}

impl Harness {
    /// An app with its own settings and library under a temp folder, the
    /// repository's MiniLM, and `models` as the only place for GGUFs.
    fn new(model_path: Option<PathBuf>, models: ModelSearch) -> Harness {
        Harness::start_in(tempfile::tempdir().unwrap(), model_path, models)
    }

    /// Start the app on `root`'s settings and library (a restart when the
    /// folder was used before).
    fn start_in(root: tempfile::TempDir, model_path: Option<PathBuf>, models: ModelSearch) -> Harness {
        Harness::launch(root, model_path, models, false)
    }

    /// The app as a person without models starts it: no embedder or answer
    /// model anywhere it looks.
    fn without_models(root: tempfile::TempDir) -> Harness {
        Harness::launch_with(root, None, ModelSearch::default(), false, None)
    }

    /// The app as a person starts it: the answer model loads at once.
    fn preloading(model_path: PathBuf) -> Harness {
        let root = tempfile::tempdir().unwrap();
        Harness::launch(root, Some(model_path), ModelSearch::default(), true)
    }

    fn launch(
        root: tempfile::TempDir,
        model_path: Option<PathBuf>,
        models: ModelSearch,
        preload_model: bool,
    ) -> Harness {
        let embedder = Some(repo_models().join("all-MiniLM-L6-v2"));
        Harness::launch_with(root, model_path, models, preload_model, embedder)
    }

    fn launch_with(
        root: tempfile::TempDir,
        model_path: Option<PathBuf>,
        models: ModelSearch,
        preload_model: bool,
        embedder_dir: Option<PathBuf>,
    ) -> Harness {
        let config = AppConfig {
            settings_file: root.path().join("settings.json"),
            defaults: Settings {
                library_dir: root.path().join("library"),
                model_path,
                embedder_dir: None,
                embed_precision: None,
                passages: 3,
                engine_url: None,
                engine_model: None,
                engine_context: None,
                embed_url: None,
                embed_model: None,
            },
            models,
            embedder_dir,
            embed_precision: None,
            models_dir: root.path().join("app-models"),
            prompt_cache: Some(root.path().join("prompt-cache")),
            preload_model,
        };
        let events = Arc::new(Recorder::default());
        let app = tauri::test::mock_app();
        app.manage(AppState::start(config, events.clone()));
        Harness { app, events, root }
    }

    fn with_smollm2() -> Harness {
        Harness::new(Some(smollm2()), ModelSearch::default())
    }

    fn state(&self) -> tauri::State<'_, AppState> {
        self.app.state::<AppState>()
    }

    fn docs(&self) -> PathBuf {
        let dir = self.root.path().join("docs");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn fixture_folder(dir: &Path) {
    write(
        &dir.join("pump.md"),
        "# Pump manual\n\nIf the pump hums but does not turn, check the start capacitor. \
         The impeller seal, part number ZX-4417-B, is replaced every 2000 operating hours.\n",
    );
    write(
        &dir.join("bread.txt"),
        "Sourdough bread needs a lively starter. Feed the starter twice a day and bake when it doubles.\n",
    );
    write(
        &dir.join("garden.html"),
        "<html><head><title>Tomato notes</title></head><body><p>Tomatoes need six hours of sun \
         and deep watering twice a week.</p></body></html>",
    );
    std::fs::write(dir.join("broken.pdf"), b"%PDF-1.7\nthis is not really a pdf").unwrap();
}

fn paths(list: &[&Path]) -> Vec<String> {
    list.iter().map(|p| p.display().to_string()).collect()
}

fn outcome_of(events: &[IngestEvent], path: &Path) -> Option<(FileOutcome, Option<String>)> {
    events.iter().rev().find_map(|e| match e {
        IngestEvent::File {
            path: p,
            outcome,
            error,
            ..
        } if Path::new(p) == path => Some((*outcome, error.clone())),
        _ => None,
    })
}

#[test]
fn adding_a_folder_reports_each_file_and_fills_the_library() {
    let h = Harness::new(None, ModelSearch::default());
    let docs = h.docs();
    fixture_folder(&docs);
    block_on(library::add_paths(h.state(), paths(&[&docs]))).unwrap();
    let end = h.events.job_end(1);
    assert!(
        matches!(
            end,
            IngestEvent::Finished {
                added: 3,
                failed: 1,
                cancelled: false,
                ..
            }
        ),
        "{end:?}"
    );
    let events = h.events.all();
    // The plan names every file that needs work, before any is done.
    let queued = events
        .iter()
        .find_map(|e| match e {
            IngestEvent::Queued { total, paths } => Some((*total, paths.clone())),
            _ => None,
        })
        .expect("a queued event");
    assert_eq!(queued.0, 4);
    assert_eq!(queued.1.len(), 4);
    assert!(events
        .iter()
        .any(|e| matches!(e, IngestEvent::Started { path } if path.ends_with("pump.md"))));
    let (outcome, error) = outcome_of(&events, &docs.join("broken.pdf")).unwrap();
    assert_eq!(outcome, FileOutcome::Failed);
    assert!(error.unwrap().to_lowercase().contains("pdf"));

    let overview = block_on(library::library_overview(h.state())).unwrap();
    assert_eq!(overview.roots, vec![docs.display().to_string()]);
    let indexed: Vec<&str> = overview
        .documents
        .iter()
        .filter(|d| d.error.is_none())
        .map(|d| d.path.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(indexed, ["bread.txt", "garden.html", "pump.md"]);
    let broken = overview
        .documents
        .iter()
        .find(|d| d.path.ends_with("broken.pdf"))
        .unwrap();
    assert!(broken.error.is_some() && broken.chunks == 0);
    assert_eq!(h.state().watched(), vec![docs.clone()]);

    // Re-index one file: re-embedded although unchanged.
    block_on(library::reindex(h.state(), paths(&[&docs.join("bread.txt")]))).unwrap();
    let end = h.events.job_end(2);
    assert!(
        matches!(end, IngestEvent::Finished { updated: 1, .. }),
        "{end:?}\n{:#?}",
        h.events.all()
    );
    // Adding again changes nothing.
    block_on(library::add_paths(h.state(), paths(&[&docs]))).unwrap();
    assert!(matches!(
        h.events.job_end(3),
        IngestEvent::Finished {
            unchanged: 3,
            added: 0,
            ..
        }
    ));

    // Remove one document, then a path the library never held.
    let removed = block_on(library::remove_paths(
        h.state(),
        paths(&[&docs.join("bread.txt")]),
    ))
    .unwrap();
    assert_eq!(removed.removed, 1);
    let overview = block_on(library::library_overview(h.state())).unwrap();
    assert!(!overview.documents.iter().any(|d| d.path.ends_with("bread.txt")));
    let missing = block_on(library::remove_paths(h.state(), vec!["/no/such/file.txt".into()])).unwrap_err();
    assert_eq!(missing.code, "not_found");
    let empty = block_on(library::add_paths(h.state(), vec![])).unwrap_err();
    assert_eq!(empty.code, "invalid");
}

#[test]
fn a_citation_opens_in_context_and_under_the_hood_shows_what_was_stored() {
    let h = Harness::new(None, ModelSearch::default());
    let docs = h.docs();
    fixture_folder(&docs);
    block_on(library::add_paths(h.state(), paths(&[&docs]))).unwrap();
    h.events.job_end(1);
    let question = "What should I check if the pump hums?";
    let library = h.state().library().unwrap();
    let hit = library
        .search(question, &quarry_core::SearchOptions::default())
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    assert!(hit.passage.path.ends_with("pump.md"));

    let context = block_on(sources::passage_context(
        h.state(),
        hit.passage.document_id,
        hit.passage.start,
        hit.passage.end,
    ))
    .unwrap();
    assert_eq!(context.passage, hit.passage.text);
    assert!(context.passage.contains("start capacitor"));
    let whole = format!("{}{}{}", context.before, context.passage, context.after);
    assert!(whole.contains("Pump manual"));
    let bad = block_on(sources::passage_context(
        h.state(),
        hit.passage.document_id,
        5,
        1_000_000,
    ))
    .unwrap_err();
    assert_eq!(bad.code, "not_found");
    let gone = block_on(sources::open_document(h.state(), 999_999)).unwrap_err();
    assert_eq!(gone.code, "not_found");

    let seen = block_on(inspect::inspect_passage(
        h.state(),
        question.into(),
        hit.passage.chunk_id,
    ))
    .unwrap();
    let table = &seen.token_embeddings;
    assert!(table.tensor.ends_with("embeddings.word_embeddings.weight"));
    assert_eq!(table.shape, vec![30522, 384]);
    assert!(table.file.ends_with("model.safetensors"));
    assert_eq!(seen.word_pieces.first().unwrap().piece, "[CLS]");
    assert_eq!(seen.word_pieces.last().unwrap().piece, "[SEP]");
    // Ids are rows of the table: MiniLM's vocabulary numbers "pump" 10216
    // and cuts "capacitor" into three pieces.
    let pump = seen.word_pieces.iter().find(|w| w.piece == "pump").unwrap();
    assert_eq!((pump.id, pump.row), (10216, 10216));
    assert_eq!(seen.text[pump.start..pump.end].to_lowercase(), "pump");
    let pieces: Vec<&str> = seen.word_pieces.iter().map(|w| w.piece.as_str()).collect();
    assert!(
        pieces.windows(3).any(|w| w == ["cap", "##ac", "##itor"]),
        "{pieces:?}"
    );
    assert_eq!(seen.chunk_vector.dimension, 384);
    assert!((seen.chunk_vector.norm - 1.0).abs() < 1e-3);
    assert_eq!(seen.chunk_vector.first.len(), 8);
    // The stored vector's cosine is the dense score the search reported.
    let dense = hit.scores.dense_score.unwrap();
    assert!((seen.chunk_vector.cosine_with_question - dense).abs() < 1e-3);
    assert_eq!(seen.retrieval.fused_rank, Some(1));
    assert_eq!(seen.retrieval.dense_rank, hit.scores.dense_rank);
    assert_eq!(seen.retrieval.lexical_rank, hit.scores.lexical_rank);
    let none = block_on(inspect::inspect_passage(h.state(), question.into(), 987_654)).unwrap_err();
    assert_eq!(none.code, "not_found");
}

/// An app whose library holds one note, added from its documents folder
/// (which is now watched): the app and that folder.
fn with_one_note_added() -> (Harness, PathBuf) {
    let h = Harness::new(None, ModelSearch::default());
    let docs = h.docs();
    write(
        &docs.join("first.md"),
        "Kettles boil water for tea in a few minutes.\n",
    );
    block_on(library::add_paths(h.state(), paths(&[&docs]))).unwrap();
    assert!(matches!(
        h.events.job_end(1),
        IngestEvent::Finished { added: 1, .. }
    ));
    (h, docs)
}

#[test]
fn the_watcher_picks_up_new_changed_and_deleted_files_and_a_restart_catches_up() {
    let (h, docs) = with_one_note_added();

    let new = docs.join("sub/new.txt");
    write(
        &new,
        "Bicycles need their chains oiled every few hundred kilometres.\n",
    );
    let end = h.events.job_end(2);
    assert!(matches!(end, IngestEvent::Finished { added: 1, .. }), "{end:?}");
    write(&new, "Bicycles need their chains cleaned and oiled after rain.\n");
    let end = h.events.job_end(3);
    assert!(matches!(end, IngestEvent::Finished { updated: 1, .. }), "{end:?}");
    std::fs::remove_file(&new).unwrap();
    let end = h.events.job_end(4);
    assert!(matches!(end, IngestEvent::Finished { removed: 1, .. }), "{end:?}");
    // Editors' temporary files are not documents: only the real file that
    // follows the swap file and the backup is indexed.
    write(&docs.join(".first.md.swp"), "swap");
    write(&docs.join("draft.md~"), "backup");
    write(&docs.join("second.md"), "Teapots keep tea warm under a cosy.\n");
    let end = h.events.job_end(5);
    assert!(
        matches!(
            end,
            IngestEvent::Finished {
                added: 1,
                failed: 0,
                ..
            }
        ),
        "{end:?}"
    );
    let library = h.state().library().unwrap();
    let paths_now: Vec<String> = library
        .read()
        .documents()
        .unwrap()
        .into_iter()
        .map(|d| d.path)
        .collect();
    assert_eq!(
        paths_now,
        vec![
            docs.join("first.md").display().to_string(),
            docs.join("second.md").display().to_string()
        ]
    );

    // While the app is closed a file arrives; the next start finds it.
    h.state().shutdown();
    drop(library);
    write(
        &docs.join("later.txt"),
        "Lanterns were lit with oil before electric light.\n",
    );
    let restarted = Harness::start_in(h.root, None, ModelSearch::default());
    let end = restarted.events.job_end(1);
    assert!(
        matches!(
            end,
            IngestEvent::Finished {
                added: 1,
                unchanged: 2,
                ..
            }
        ),
        "{end:?}"
    );
}

#[test]
fn what_another_process_adds_to_the_open_library_reaches_the_window_and_is_watched() {
    let (h, _) = with_one_note_added();

    // The command line (its own `Library` on the same folder, as `quarry
    // add` opens it) adds a folder the app has never seen, while the app
    // is open and idle.
    let papers = h.root.path().join("papers");
    write(
        &papers.join("lanterns.txt"),
        "Lighthouse lanterns burned whale oil before kerosene arrived.\n",
    );
    // Told twice so far: the library opened, the add finished.
    h.events.change_after(1);
    let before = h.events.changes();
    // (The encoder's weights are the app's, shared: only the library is the point.)
    let cli =
        quarry_core::Library::open(&h.root.path().join("library"), h.state().embedder().unwrap()).unwrap();
    let report = cli
        .add(
            std::slice::from_ref(&papers),
            &|_| {},
            &std::sync::atomic::AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!((report.added, report.failed), (1, 0), "{report:#?}");
    drop(cli);

    // The window hears of it, lists it, and the app's searches find it.
    h.events.change_after(before);
    let overview = block_on(library::library_overview(h.state())).unwrap();
    let listed: Vec<&str> = overview.documents.iter().map(|d| d.path.as_str()).collect();
    assert!(listed.iter().any(|p| p.ends_with("lanterns.txt")), "{listed:?}");
    let hits = h
        .state()
        .library()
        .unwrap()
        .search("what did lighthouse lanterns burn", &Default::default())
        .unwrap();
    assert!(hits[0].passage.path.ends_with("lanterns.txt"), "{hits:#?}");
    // Only once: the app's own jobs are not reported again as outside changes.
    std::thread::sleep(quarry_desktop::ingest::OUTSIDE_CHANGES_EVERY * 2);
    assert_eq!(h.events.changes(), before + 1);

    // The folder the command line added is watched by the app from now on.
    write(
        &papers.join("fog.txt"),
        "Foghorns sound every thirty seconds in thick fog.\n",
    );
    let end = h.events.job_end(2);
    assert!(matches!(end, IngestEvent::Finished { added: 1, .. }), "{end:?}");
}

#[test]
fn cancelling_an_ingest_keeps_what_was_done_and_adding_again_finishes_it() {
    let h = Harness::new(None, ModelSearch::default());
    let docs = h.docs();
    for i in 0..40 {
        write(
            &docs.join(format!("note-{i:02}.txt")),
            &format!("Note {i}: the lighthouse keeper logged {i} ships passing the northern reef today.\n"),
        );
    }
    // Cancel as soon as the first file is done.
    let state = h.state().inner().clone();
    *h.events.at_first_file.lock().unwrap() = Some(Box::new(move || state.cancel_ingest()));
    block_on(library::add_paths(h.state(), paths(&[&docs]))).unwrap();
    let end = h.events.job_end(1);
    let IngestEvent::Finished { added, cancelled, .. } = end else {
        panic!("{end:?}")
    };
    assert!(cancelled);
    assert!((1..40).contains(&added), "added {added}");
    block_on(library::add_paths(h.state(), paths(&[&docs]))).unwrap();
    let end = h.events.job_end(2);
    assert!(
        matches!(end, IngestEvent::Finished { added: a, unchanged: u, cancelled: false, .. } if a + u == 40 && u == added),
        "{end:?}"
    );
}

/// A channel like the window's: collects what the command sends, and runs
/// `on_token` for each streamed token.
fn answer_channel(
    on_token: impl Fn() + Send + Sync + 'static,
) -> (Channel<AnswerEvent>, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let channel = Channel::new(move |body| {
        let InvokeResponseBody::Json(json) = body else {
            panic!("answers are sent as JSON")
        };
        let event: Value = serde_json::from_str(&json).unwrap();
        if event["kind"] == "token" {
            on_token();
        }
        sink.lock().unwrap().push(event);
        Ok(())
    });
    (channel, received)
}

fn kinds(events: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = events
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.dedup();
    kinds
}

fn indexed(h: &Harness) {
    let docs = h.docs();
    fixture_folder(&docs);
    block_on(library::add_paths(h.state(), paths(&[&docs]))).unwrap();
    h.events.job_end(1);
}

/// Ask the fixture's pump question in a new conversation: the reply and
/// the events the window received.
fn ask_about_the_pump(h: &Harness) -> (AskReply, Vec<Value>) {
    let (channel, received) = answer_channel(|| {});
    let reply = block_on(chat::ask(
        h.state(),
        "What should I check if the pump hums but does not turn?".into(),
        None,
        channel,
    ))
    .unwrap();
    let events = received.lock().unwrap().clone();
    (reply, events)
}

#[test]
fn the_model_loads_when_the_app_starts_so_no_question_waits_for_it() {
    let h = Harness::preloading(smollm2());
    indexed(&h);
    // The model is read on a thread of its own from the start; a question
    // asked while it is read would say it waits (a loading step). Without
    // the preload, the question would load it, and say so.
    h.state().wait_until_answering_idle();
    let (reply, events) = ask_about_the_pump(&h);
    assert_eq!(kinds(&events), ["retrieved", "token", "done"]);
    assert!(!reply.answer.not_found && !reply.answer.raw_answer.trim().is_empty());
    assert!(reply.answer.retrieved.iter().any(|p| p.path.ends_with("pump.md")));
}

#[test]
fn an_answer_streams_then_is_stored_in_a_conversation() {
    let h = Harness::with_smollm2();
    indexed(&h);
    let (reply, events) = ask_about_the_pump(&h);
    assert_eq!(kinds(&events), ["retrieved", "loading_model", "token", "done"]);
    assert_eq!(events[0]["not_found"], false);
    assert!(events[0]["passages"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("pump.md"));
    let streamed: String = events
        .iter()
        .filter(|e| e["kind"] == "token")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, reply.answer.raw_answer);
    assert!(!reply.answer.not_found && !reply.answer.stopped);
    assert!(reply.answer.retrieved.iter().any(|p| p.path.ends_with("pump.md")));
    assert_eq!(events.last().unwrap()["turn_id"], reply.turn_id);

    // The conversation is listed and reopens with its answer.
    let conversations = block_on(chat::list_conversations(h.state())).unwrap();
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0].id, reply.conversation_id);
    assert!(conversations[0].title.starts_with("What should I check"));
    // A follow-up in the same conversation reuses the loaded model.
    let (channel, received) = answer_channel(|| {});
    let follow = block_on(chat::ask(
        h.state(),
        "And how often is its seal replaced?".into(),
        Some(reply.conversation_id),
        channel,
    ))
    .unwrap();
    assert_eq!(follow.conversation_id, reply.conversation_id);
    assert!(!kinds(&received.lock().unwrap()).contains(&"loading_model".to_string()));
    let turns = block_on(chat::conversation_turns(h.state(), reply.conversation_id)).unwrap();
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[0].id, reply.turn_id);
    assert_eq!(turns[0].answer, reply.answer);
    assert_eq!(turns[1].question, "And how often is its seal replaced?");

    block_on(chat::delete_conversation(h.state(), reply.conversation_id)).unwrap();
    assert!(block_on(chat::list_conversations(h.state())).unwrap().is_empty());
    let again = block_on(chat::delete_conversation(h.state(), reply.conversation_id)).unwrap_err();
    assert_eq!(again.code, "not_found");
    let missing = block_on(chat::conversation_turns(h.state(), reply.conversation_id)).unwrap_err();
    assert_eq!(missing.code, "not_found");
}

#[test]
fn stop_keeps_the_partial_answer() {
    let h = Harness::with_smollm2();
    indexed(&h);
    let state = h.state().inner().clone();
    let stopper = Mutex::new(Some(state));
    let (channel, received) = answer_channel(move || {
        // Press Stop at the first token, as a person would.
        if let Some(state) = stopper.lock().unwrap().take() {
            state.stop_answer();
        }
    });
    let reply = block_on(chat::ask(
        h.state(),
        "Describe everything the pump manual says about the impeller seal and the capacitor.".into(),
        None,
        channel,
    ))
    .unwrap();
    assert!(reply.answer.stopped, "{:?}", reply.answer.answer);
    let tokens = received
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "token")
        .count();
    assert!(tokens <= 3, "{tokens} tokens after Stop");
    // Stopped answers are stored too.
    let turns = block_on(chat::conversation_turns(h.state(), reply.conversation_id)).unwrap();
    assert!(turns[0].answer.stopped);
}

#[test]
fn without_a_model_not_found_still_works_and_the_app_says_what_it_looked_for() {
    let empty = tempfile::tempdir().unwrap();
    let models = ModelSearch {
        quarry_models: Some(empty.path().to_path_buf()),
        ..ModelSearch::default()
    };
    let h = Harness::new(None, models);
    indexed(&h);
    let status = block_on(chat::model_status(h.state())).unwrap();
    assert!(!status.ready);
    assert_eq!(status.default_file, quarry_core::models::DEFAULT_GENERATOR_FILE);
    assert_eq!(status.looked_in, vec![empty.path().display().to_string()]);
    assert!(status
        .message
        .unwrap()
        .contains(quarry_core::models::DEFAULT_GENERATOR_FILE));
    assert!(status.how_to_get.contains("models/fetch"));

    let (channel, _) = answer_channel(|| {});
    let reply = block_on(chat::ask(
        h.state(),
        "What is the capital of Australia?".into(),
        None,
        channel,
    ))
    .unwrap();
    assert!(reply.answer.not_found);
    let (channel, received) = answer_channel(|| {});
    let error = block_on(chat::ask(
        h.state(),
        "How often is the impeller seal replaced?".into(),
        None,
        channel,
    ))
    .unwrap_err();
    assert_eq!(error.code, "no_model");
    assert!(error
        .message
        .contains(quarry_core::models::DEFAULT_GENERATOR_FILE));
    let events = received.lock().unwrap().clone();
    assert_eq!(kinds(&events), ["retrieved"]);
    // The window is in the conversation the failed question started; it
    // stays (empty), and the next question can go there.
    let failed_in = events[0]["conversation_id"].as_i64().unwrap();
    let conversations = block_on(chat::list_conversations(h.state())).unwrap();
    let empty = conversations.iter().find(|c| c.id == failed_in).unwrap();
    assert_eq!(empty.turns, 0);
    let (channel, _) = answer_channel(|| {});
    let reply = block_on(chat::ask(
        h.state(),
        "Who won the 1998 World Cup?".into(),
        Some(failed_in),
        channel,
    ))
    .unwrap();
    assert!(reply.answer.not_found);
    assert_eq!(reply.conversation_id, failed_in);
}

#[test]
fn a_new_library_is_made_at_int8_and_a_change_of_precision_is_re_embedded_from_the_window() {
    let h = Harness::new(None, ModelSearch::default());
    let docs = h.docs();
    fixture_folder(&docs);
    block_on(library::add_paths(h.state(), paths(&[&docs]))).unwrap();
    assert!(matches!(
        h.events.job_end(1),
        IngestEvent::Finished { added: 3, .. }
    ));
    let view = block_on(settings_cmd::get_settings(h.state())).unwrap();
    assert_eq!(view.embed_precision, None);
    assert_eq!(view.embedder.as_ref().unwrap().precision, "int8");
    let overview = block_on(library::library_overview(h.state())).unwrap();
    assert!(overview.mismatch.is_none());
    let passages: u64 = overview.documents.iter().map(|d| d.chunks).sum();
    assert!(passages >= 3);

    // Choosing f32 reopens the library with the f32 encoder: its int8
    // passages are another embedder's, so the window offers re-embedding.
    let with = |precision| Settings {
        library_dir: PathBuf::from(&view.library_dir),
        passages: 3,
        embed_precision: precision,
        ..Settings::default()
    };
    let saved = block_on(settings_cmd::save_settings(h.state(), with(Some(Precision::F32)))).unwrap();
    assert_eq!(saved.embed_precision, Some(Precision::F32));
    assert_eq!(saved.embedder.as_ref().unwrap().precision, "f32");
    let mismatch = block_on(library::library_overview(h.state()))
        .unwrap()
        .mismatch
        .expect("the library's passages are int8 ones");
    assert!(mismatch.library.ends_with("at int8"), "{mismatch:?}");
    assert!(mismatch.current.ends_with("at f32"), "{mismatch:?}");
    assert_eq!(mismatch.passages, passages);
    // Adding would mix f32 vectors into int8 ones: refused, saying why.
    block_on(library::add_paths(h.state(), paths(&[&docs]))).unwrap();
    match h.events.job_end(2) {
        IngestEvent::Failed { error } => assert!(error.message.contains("int8"), "{}", error.message),
        other => panic!("an add into a library of the other precision ran: {other:?}"),
    }

    // A file saved in the watched folder meanwhile is not a failure to
    // report: the watcher's job waits for the re-embedding's catch-up.
    write(
        &docs.join("late.txt"),
        "Lighthouses were kept by keepers who trimmed the wicks each night.\n",
    );
    std::thread::sleep(quarry_core::watch::DEFAULT_QUIET * 4);
    let ends = |events: &[IngestEvent]| {
        events
            .iter()
            .filter(|e| matches!(e, IngestEvent::Finished { .. } | IngestEvent::Failed { .. }))
            .count()
    };
    assert_eq!(ends(&h.events.all()), 2, "{:#?}", h.events.all());

    block_on(library::reembed_library(h.state())).unwrap();
    // One run: the passages re-embedded, then the folder (not rescanned
    // while the library could take nothing) caught up: the new file added
    // (and the broken PDF tried again).
    let end = h.events.job_end(3);
    assert!(
        matches!(end, IngestEvent::Finished { reembedded, added: 1, unchanged: 3, failed: 1, cancelled: false, .. } if reembedded == passages),
        "{end:?}"
    );
    let progress: Vec<(u64, u64)> = h
        .events
        .all()
        .iter()
        .filter_map(|e| match e {
            IngestEvent::Reembedding { done, total } => Some((*done, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(progress.last(), Some(&(passages, passages)), "{progress:?}");
    assert!(block_on(library::library_overview(h.state()))
        .unwrap()
        .mismatch
        .is_none());

    // Back to "as the library was made": it is f32 now, so nothing changes.
    let following = block_on(settings_cmd::save_settings(h.state(), with(None))).unwrap();
    assert_eq!(following.embedder.as_ref().unwrap().precision, "f32");
    assert!(block_on(library::library_overview(h.state()))
        .unwrap()
        .mismatch
        .is_none());
    let stored: Value =
        serde_json::from_slice(&std::fs::read(h.root.path().join("settings.json")).unwrap()).unwrap();
    assert_eq!(stored["embed_precision"], Value::Null);
}

#[test]
fn settings_are_validated_saved_and_a_new_library_folder_is_opened() {
    let h = Harness::with_smollm2();
    let view = block_on(settings_cmd::get_settings(h.state())).unwrap();
    assert_eq!(view.passages, 3);
    let embedder = view.embedder.as_ref().expect("the local encoder loads");
    assert_eq!(embedder.dimension, 384);
    assert_eq!(embedder.max_tokens, 256);
    assert!(embedder.name.contains("all-MiniLM-L6-v2"));
    let smol = view.models.iter().find(|m| m.file_name == SMOLLM2).unwrap();
    assert!(smol.is_default);
    assert_eq!(smol.architecture.as_deref(), Some("llama"));

    let bad = block_on(settings_cmd::save_settings(
        h.state(),
        Settings {
            library_dir: PathBuf::from(&view.library_dir),
            passages: 0,
            ..Settings::default()
        },
    ))
    .unwrap_err();
    assert_eq!(bad.code, "invalid");
    let no_file = block_on(settings_cmd::save_settings(
        h.state(),
        Settings {
            library_dir: PathBuf::from(&view.library_dir),
            model_path: Some(PathBuf::from("/no/such/model.gguf")),
            passages: 4,
            ..Settings::default()
        },
    ))
    .unwrap_err();
    assert_eq!(no_file.code, "no_model");

    let other = h.root.path().join("other-library");
    let saved = block_on(settings_cmd::save_settings(
        h.state(),
        Settings {
            library_dir: other.clone(),
            model_path: view.model_path.as_ref().map(PathBuf::from),
            passages: 5,
            ..Settings::default()
        },
    ))
    .unwrap();
    assert_eq!(saved.passages, 5);
    assert_eq!(
        (saved.answers_by.as_str(), saved.embeddings_by.as_str()),
        ("this computer", "this computer")
    );
    let overview = block_on(library::library_overview(h.state())).unwrap();
    assert_eq!(overview.dir, other.display().to_string());
    assert!(other.join("catalog.sqlite").is_file());
    let stored: Value =
        serde_json::from_slice(&std::fs::read(h.root.path().join("settings.json")).unwrap()).unwrap();
    assert_eq!(stored["passages"], 5);
    assert_eq!(stored["library_dir"], other.display().to_string());

    // A remote engine: checked, saved, and named as where answers are made.
    let not_a_url = block_on(settings_cmd::save_settings(
        h.state(),
        Settings {
            library_dir: other.clone(),
            passages: 5,
            engine_url: Some("gpu-box:8000".into()),
            engine_model: Some("qwen2.5-7b".into()),
            ..Settings::default()
        },
    ))
    .unwrap_err();
    assert_eq!(not_a_url.code, "invalid");
    // A key in the environment, as a person gives one: it must never reach
    // the settings file. (No other test here reads this variable.)
    const KEY: &str = "sk-quarry-sentinel-4f1d9c";
    std::env::set_var(quarry_core::remote::ENGINE_KEY_VARIABLE, KEY);
    let remote = block_on(settings_cmd::save_settings(
        h.state(),
        Settings {
            library_dir: other.clone(),
            passages: 5,
            engine_url: Some("http://gpu-box:8000/v1/".into()),
            engine_model: Some("qwen2.5-7b".into()),
            engine_context: Some(8192),
            ..Settings::default()
        },
    ))
    .unwrap();
    assert_eq!(remote.answers_by, "qwen2.5-7b at http://gpu-box:8000/v1");
    assert_eq!(remote.engine_context, Some(8192));
    let file = std::fs::read(h.root.path().join("settings.json")).unwrap();
    assert!(
        !String::from_utf8_lossy(&file).contains(KEY),
        "the settings file holds the key"
    );
    let stored: Value = serde_json::from_slice(&file).unwrap();
    assert_eq!(stored["engine_model"], "qwen2.5-7b");
    // Keys are never written: the file holds these settings and no others.
    let mut written: Vec<&str> = stored.as_object().unwrap().keys().map(String::as_str).collect();
    written.sort_unstable();
    assert_eq!(
        written,
        [
            "embed_model",
            "embed_precision",
            "embed_url",
            "embedder_dir",
            "engine_context",
            "engine_model",
            "engine_url",
            "library_dir",
            "model_path",
            "passages",
            "version"
        ],
        "the settings file holds no key"
    );

    // An embedding server that cannot be reached changes nothing, and says why.
    let unreachable = block_on(settings_cmd::save_settings(
        h.state(),
        Settings {
            library_dir: other.clone(),
            passages: 5,
            embed_url: Some("http://127.0.0.1:9/v1".into()),
            embed_model: Some("bge-small-en".into()),
            ..Settings::default()
        },
    ))
    .unwrap_err();
    assert!(
        unreachable.message.contains("cannot reach it"),
        "{}",
        unreachable.message
    );
    let view = block_on(settings_cmd::get_settings(h.state())).unwrap();
    assert_eq!(
        (view.embed_url, view.embeddings_by.as_str()),
        (None, "this computer")
    );
}

#[test]
fn errors_reach_the_window_as_code_message_details() {
    let error = CommandError::new("no_model", "no answer model found");
    let json = serde_json::to_value(&error).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "code": "no_model", "message": "no answer model found", "details": null })
    );
    // A library error keeps its cause chain in `details`.
    let io = quarry_core::LibraryError::LibraryDir {
        path: "/root/x".into(),
        source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied"),
    };
    let error = CommandError::from(io);
    assert_eq!(error.code, "io");
    assert!(error.message.contains("/root/x"));
    assert_eq!(error.details.as_deref(), Some("permission denied"));
}

/// `call<…>('name'` and `invoke<…>('name'` in a TypeScript source: the
/// commands it calls.
fn commands_called_in(source: &str) -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    for opener in ["call<", "invoke<", "call(", "invoke("] {
        for (at, _) in source.match_indices(opener) {
            let rest = &source[at + opener.len()..];
            let rest = rest.split_once('(').map_or(rest, |(_, after)| after);
            let rest = rest.trim_start();
            if let Some(quoted) = rest.strip_prefix('\'') {
                if let Some((name, _)) = quoted.split_once('\'') {
                    found.insert(name.to_string());
                }
            }
        }
    }
    found
}

#[test]
fn the_window_calls_exactly_the_commands_registered_and_permitted() {
    let registered: std::collections::BTreeSet<String> =
        quarry_desktop::COMMANDS.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        registered.len(),
        quarry_desktop::COMMANDS.len(),
        "no command listed twice"
    );

    let ipc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/ipc.ts")).unwrap();
    assert_eq!(
        commands_called_in(&ipc),
        registered,
        "ui/src/lib/ipc.ts and src-tauri/src/command_list.rs name the same commands"
    );

    let capability: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("capabilities/default.json")).unwrap(),
    )
    .unwrap();
    let granted: std::collections::BTreeSet<String> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .filter_map(|p| p.strip_prefix("allow-").map(|c| c.replace('-', "_")))
        .collect();
    assert_eq!(
        granted, registered,
        "the window is granted each command, and only those"
    );
}

#[test]
fn the_window_may_load_and_run_only_its_own_files() {
    // The configuration the app is built with (tauri.conf.json at the
    // repository root, which src-tauri/build.rs reads).
    let config: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tauri.conf.json")).unwrap(),
    )
    .unwrap();
    let csp = config["app"]["security"]["csp"]
        .as_object()
        .expect("a CSP is set");
    let sources = |directive: &str| -> Vec<String> {
        csp.get(directive)
            .or_else(|| csp.get("default-src"))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{directive} is not limited"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    // Scripts: only the app's own bundle, never inline or eval'd code.
    assert_eq!(sources("script-src"), ["'self'"]);
    assert_eq!(sources("default-src"), ["'self'"]);
    // Nothing from another origin: no remote image (a document's tracking
    // pixel), font, style, frame or connection; only the app's IPC.
    for directive in [
        "img-src",
        "font-src",
        "style-src",
        "media-src",
        "frame-src",
        "object-src",
    ] {
        for source in sources(directive) {
            assert!(
                ["'self'", "'none'", "data:"].contains(&source.as_str()),
                "{directive} allows {source}"
            );
        }
    }
    assert_eq!(sources("connect-src"), ["ipc:", "http://ipc.localhost"]);
    for directive in ["object-src", "base-uri", "form-action", "frame-src"] {
        assert_eq!(sources(directive), ["'none'"], "{directive}");
    }
    assert_eq!(config["app"]["security"]["freezePrototype"], true);

    // The page builds its DOM from text only: no raw HTML from a document
    // can reach it (a passage with <script> or a javascript: link is shown
    // as the characters it is).
    for entry in walkdir::WalkDir::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src")) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let code = std::fs::read_to_string(entry.path()).unwrap();
        for raw in [
            "dangerouslySetInnerHTML",
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!code.contains(raw), "{} uses {raw}", entry.path().display());
        }
    }
}

/// Copy a folder tree (a library fixture) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn conversations_written_before_the_records_open_in_the_window() {
    // A library with conversations, written by the single-crate build
    // (tests/data/compat/README.md), and a settings file as that build
    // wrote it: no version.
    let root = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/compat/v3");
    copy_tree(&fixture, &root.path().join("library"));
    std::fs::write(
        root.path().join("settings.json"),
        serde_json::to_vec_pretty(&serde_json::json!({
            "library_dir": root.path().join("library"), "model_path": null, "passages": 6
        }))
        .unwrap(),
    )
    .unwrap();
    let h = Harness::start_in(root, None, ModelSearch::default());
    assert_eq!(h.state().settings().passages, 6);
    // Its folder (the samples where it was written) is not on this machine:
    // the start-up rescan removes the documents. Their conversations stay
    // readable, because each turn keeps its passages.
    assert!(
        matches!(h.events.job_end(1), IngestEvent::Finished { removed: 4, .. }),
        "{:#?}",
        h.events.all()
    );

    let listed = block_on(chat::list_conversations(h.state())).unwrap();
    assert_eq!(listed.len(), 2);
    let seal = listed.iter().find(|c| c.turns == 2).unwrap();
    let turns = block_on(chat::conversation_turns(h.state(), seal.id)).unwrap();
    assert_eq!(turns[0].question, "How often is the impeller seal replaced?");
    let answer = serde_json::to_value(&turns[1].answer).unwrap();
    assert_eq!(answer["citations"][0]["page"], 2);
    assert!(answer["citations"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("pump-manual.pdf"));
    assert_eq!(answer["sentence_citations"][0]["status"], "moved");
    assert_eq!(answer["sentence_citations"][0]["moved_from"], 2);
    assert_eq!(answer["citation_check"]["moved"], 1);
    assert_eq!(answer["abstention"], Value::Null);
    assert!(turns[0].answer.retrieved[0]
        .text
        .contains("every 2000 operating hours"));
}

#[test]
fn first_run_without_models_chooses_them_on_disk() {
    let root = tempfile::tempdir().unwrap();
    let models_dir = root.path().join("app-models");
    let h = Harness::without_models(root);
    let choose = |kind, path: &Path| {
        block_on(settings_cmd::choose_model(
            h.state(),
            kind,
            path.display().to_string(),
        ))
    };
    let view = block_on(settings_cmd::get_settings(h.state())).unwrap();
    assert!(view.embedder.is_none());
    assert!(
        view.embedder_error
            .as_deref()
            .unwrap_or_default()
            .contains("not found"),
        "{view:?}"
    );
    assert_eq!(view.models_dir, models_dir.display().to_string());
    assert!(block_on(library::library_overview(h.state())).is_err());
    assert!(!block_on(chat::model_status(h.state())).unwrap().ready);

    // Wrong choices are refused with the reason, and nothing is placed.
    let empty = h.root.path().join("empty-folder");
    std::fs::create_dir_all(&empty).unwrap();
    let refused = choose(settings_cmd::ModelKind::Embedder, &empty).unwrap_err();
    assert_eq!(refused.code, "no_model");
    assert!(
        refused.message.contains("missing config.json"),
        "{}",
        refused.message
    );
    let not_gguf = h.root.path().join("notes.gguf");
    write(&not_gguf, "these are my notes, not a model");
    let refused = choose(settings_cmd::ModelKind::Answer, &not_gguf).unwrap_err();
    assert_eq!(refused.code, "no_model");
    assert!(refused.message.contains("notes.gguf"), "{}", refused.message);
    assert!(!models_dir.exists());

    // The real ones: linked into the app's models folder and used at once.
    let minilm = repo_models().join("all-MiniLM-L6-v2");
    let view = choose(settings_cmd::ModelKind::Embedder, &minilm).unwrap();
    assert!(view.embedder.is_some(), "{view:?}");
    let placed = PathBuf::from(view.embedder_dir.clone().unwrap());
    assert_eq!(placed, models_dir.join("all-MiniLM-L6-v2"));
    assert_eq!(
        std::fs::canonicalize(&placed).unwrap(),
        std::fs::canonicalize(&minilm).unwrap()
    );
    assert!(block_on(library::library_overview(h.state())).is_ok());
    let view = choose(settings_cmd::ModelKind::Answer, &smollm2()).unwrap();
    assert_eq!(PathBuf::from(view.model_path.unwrap()), models_dir.join(SMOLLM2));
    assert!(block_on(chat::model_status(h.state())).unwrap().ready);

    // Kept across a restart.
    h.state().shutdown();
    let h = Harness::without_models(h.root);
    let view = block_on(settings_cmd::get_settings(h.state())).unwrap();
    assert!(view.embedder.is_some() && view.model_path.is_some(), "{view:?}");
}
