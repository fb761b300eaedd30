//! Part 7 of issue 13: indexing never starves answering. Time to the first
//! token of an answer from the default model on an idle machine, and while
//! a folder is being indexed, the two ways a person meets it:
//!
//! - **one process** (the desktop app's case, through the code the app
//!   runs: `Library::add` on an ingest thread, the answering `Session`);
//! - **two processes**: `quarry ask` beside `quarry add` (the real binary).
//!
//! Each under three conditions, alternated round by round so they share
//! the machine's moments alike: *idle*; *indexing this library* (the add
//! gives way to the answer: `crates/core/src/library/answering.rs`); and
//! *indexing another library* (nothing gives way: what every add did
//! before, and still does across libraries). Every answer starts cold (a
//! new session, or a new process with an empty prompt cache) and stops
//! after 8 tokens; the time is retrieval + the model's time to its first
//! token, as the person waits for it. Prints one JSON line per condition
//! (median of the rounds) and the ratio to idle.
//!
//! `cargo bench --bench answer_under_load` (3 rounds; ~6 minutes on 2
//! cores); under `cargo test` one round of the one-process case only.
//! Needs the default models (`models/fetch`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use quarry_core::answer::AnswerOptions;
use quarry_core::models::{ModelSearch, DEFAULT_EMBEDDER};
use quarry_core::session::{AnswerEngine, ConversationRef, Question, Session};
use quarry_core::{Library, Progress};
use quarry_embed::SentenceEncoder;

const QUESTION: &str = "What should I check if the pump hums but does not turn?";
const ANSWER_TOKENS: usize = 8;

/// A folder of `files` notes (three paragraphs each, about two passages)
/// that no earlier round indexed: `round` makes them new.
fn notes(dir: &Path, round: usize, files: usize) -> PathBuf {
    let folder = dir.join(format!("notes-{round}"));
    std::fs::create_dir_all(&folder).unwrap();
    for i in 0..files {
        let paragraph = |p: usize| {
            format!(
                "Round {round}, note {i}, part {p}: the survey crew walked the north embankment of reservoir {i} \
                 and logged seepage at marker {p}, a cracked spillway slab, and willow roots lifting the toe drain. \
                 The engineer asked for piezometer readings every week until the autumn inspection, and for the \
                 outlet valve to be exercised twice before the rains; the contractor quoted {p} weeks for the slab."
            )
        };
        let text = (0..3).map(paragraph).collect::<Vec<_>>().join("\n\n");
        std::fs::write(folder.join(format!("note-{i:04}.txt")), text).unwrap();
    }
    folder
}

/// Milliseconds from the question to the model's first token, answered by
/// a session of its own (no cached prompt), in this process.
fn ask_here(models: &ModelSearch, library: &Arc<Library>) -> f64 {
    let session = Session::start_with_prompt_cache(models.clone(), None);
    session
        .prepare(&AnswerEngine::Default)
        .expect("the default model");
    session.wait_until_idle();
    let turn = session
        .ask(Question {
            library: library.clone(),
            text: QUESTION.into(),
            conversation: ConversationRef::Unstored(Vec::new()),
            options: AnswerOptions {
                answer_tokens: ANSWER_TOKENS,
                ..AnswerOptions::default()
            },
            model: AnswerEngine::Default,
        })
        .finish(|_| {})
        .expect("an answer");
    let t = &turn.answer.timing;
    assert!(t.generated_tokens > 0, "the question was answered by the model");
    t.retrieval_ms + t.time_to_first_token_ms
}

/// The same through `quarry ask`, a process of its own with an empty
/// prompt cache.
fn ask_process(env: &[(&str, &Path)], library: &Path, cache: &Path) -> f64 {
    let _ = std::fs::remove_dir_all(cache);
    let output = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .arg("--library")
        .arg(library)
        .args([
            "ask",
            QUESTION,
            "--json",
            "--max-tokens",
            &ANSWER_TOKENS.to_string(),
        ])
        .envs(env.iter().copied())
        .env("QUARRY_CACHE_DIR", cache)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let t = &answer["timing"];
    assert!(t["generated_tokens"].as_u64().unwrap() > 0, "the model answered");
    t["retrieval_ms"].as_f64().unwrap() + t["time_to_first_token_ms"].as_f64().unwrap()
}

/// An ingest of `folder` into `library` on a thread of this process, once
/// it is embedding; `stop` cancels it and waits for it.
struct IngestThread {
    cancel: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl IngestThread {
    fn start(library: Arc<Library>, folder: PathBuf) -> Self {
        let cancel = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let (started_tx, started) = std::sync::mpsc::channel();
        let thread = {
            let (cancel, paused) = (cancel.clone(), paused.clone());
            std::thread::spawn(move || {
                let observe = |p: Progress| match p {
                    Progress::Started { .. } => drop(started_tx.send(())),
                    Progress::Paused { answering: true } => paused.store(true, Ordering::Relaxed),
                    _ => {}
                };
                library.add(&[folder], &observe, &cancel).expect("the add runs");
            })
        };
        started
            .recv_timeout(Duration::from_secs(120))
            .expect("the add begins embedding");
        IngestThread {
            cancel,
            paused,
            thread,
        }
    }

    /// Stop it; whether it paused for the answer.
    fn stop(self) -> bool {
        self.cancel.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
        self.paused.load(Ordering::Relaxed)
    }
}

/// `quarry add` of `folder` into `library`, given time to be embedding.
fn add_process(env: &[(&str, &Path)], library: &Path, folder: &Path) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .arg("--library")
        .arg(library)
        .arg("add")
        .arg(folder)
        .arg("--json")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Loading the encoder and walking the folder take well under this.
    std::thread::sleep(Duration::from_secs(4));
    child
}

/// Ctrl-C for an add: it stops after the files in flight.
fn interrupt(mut child: Child) {
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    child.wait().unwrap();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let models = ModelSearch::from_env(None);
    let embedder_dir = models.find_embedder(DEFAULT_EMBEDDER).expect("run models/fetch");
    let encoder = Arc::new(SentenceEncoder::load(&embedder_dir).expect("load embedder"));
    let tmp = tempfile::tempdir().unwrap();
    let (this_dir, other_dir) = (tmp.path().join("library"), tmp.path().join("other-library"));
    let this = Arc::new(Library::open(&this_dir, encoder.clone()).unwrap());
    let other = Arc::new(Library::open(&other_dir, encoder.clone()).unwrap());
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    this.add(&[samples], &|_| {}, &AtomicBool::new(false)).unwrap();

    // Enough notes that an add is still embedding when the answer begins
    // (it is cancelled right after).
    let (rounds, files) = if measuring { (3, 400) } else { (1, 300) };
    let conditions = ["idle", "indexing this library", "indexing another library"];
    let mut here: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut processes: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut paused = [0usize; 3];
    let env = [("QUARRY_EMBEDDER", embedder_dir.as_path())];
    let cache = tmp.path().join("prompt-cache");
    let mut folders = 0;
    let mut fresh = || {
        folders += 1;
        notes(tmp.path(), folders, files)
    };
    for _ in 0..rounds {
        for (c, condition) in conditions.iter().enumerate() {
            let (library, library_dir) = match c {
                0 => (None, None),
                1 => (Some(&this), Some(&this_dir)),
                _ => (Some(&other), Some(&other_dir)),
            };
            let ingest = library.map(|l| IngestThread::start(l.clone(), fresh()));
            here[c].push(ask_here(&models, &this));
            if let Some(ingest) = ingest {
                paused[c] += usize::from(ingest.stop());
            }
            eprintln!("one process, {condition}: {:.0} ms", here[c].last().unwrap());
            if !measuring {
                continue;
            }
            let add = library_dir.map(|d| add_process(&env, d, &fresh()));
            processes[c].push(ask_process(&env, &this_dir, &cache));
            if let Some(add) = add {
                interrupt(add);
            }
            eprintln!(
                "two processes, {condition}: {:.0} ms",
                processes[c].last().unwrap()
            );
        }
    }
    // The add on the answered library gave way every time; the other never.
    assert_eq!(paused, [0, rounds, 0], "ingests that paused, by condition");
    for (front, times) in [
        ("one process (the desktop app's code)", here),
        ("quarry ask beside quarry add", processes),
    ] {
        if times[0].is_empty() {
            continue;
        }
        let idle = median(times[0].clone());
        for (c, condition) in conditions.iter().enumerate() {
            let ms = median(times[c].clone());
            println!(
                "{}",
                serde_json::json!({
                    "area": "answer-under-load", "front_end": front, "condition": condition,
                    "rounds": times[c].len(), "first_token_ms_p50": ms, "ratio_to_idle": ms / idle,
                    "first_token_ms": times[c],
                    "ingest_paused_in_rounds": (front.starts_with("one") && c > 0).then_some(paused[c]),
                })
            );
        }
    }
}
