//! Background indexing: one worker thread takes jobs in order (files the
//! user added, re-index requests, batches from the folder watcher, the
//! start-up rescan, removals) and reports progress as [`IngestEvent`]s.
//! Jobs run one at a time because the library has one writer.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crossbeam_channel::{Receiver, Sender};
use quarry::{AddOptions, AddReport, Outcome, Progress};
use serde::Serialize;

use crate::error::{CommandError, CommandResult};
use crate::state::Shared;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Files and folders the user added.
    Add,
    /// Re-extract and re-embed, even if unchanged.
    Reindex,
    /// Paths the folder watcher saw change.
    Watched,
    /// The library's folders, rescanned at start.
    Rescan,
}

/// Progress of the running job, as the UI receives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IngestEvent {
    /// `paths` will be (re)indexed; `total` counts every file looked at.
    Queued { total: usize, paths: Vec<String> },
    /// A file's passages are being embedded.
    Started { path: String },
    File {
        done: usize,
        total: usize,
        path: String,
        outcome: Outcome,
        chunks: usize,
        error: Option<String>,
    },
    Finished {
        added: usize,
        updated: usize,
        unchanged: usize,
        failed: usize,
        removed: usize,
        cancelled: bool,
    },
    /// The job could not run at all (e.g. the library failed to open).
    Failed { error: CommandError },
}

impl IngestEvent {
    fn from_progress(progress: Progress) -> Self {
        match progress {
            Progress::Planned { total, pending } => IngestEvent::Queued {
                total,
                paths: pending.to_vec(),
            },
            Progress::Started { path } => IngestEvent::Started {
                path: path.to_string(),
            },
            Progress::File { done, total, report } => IngestEvent::File {
                done,
                total,
                path: report.path.clone(),
                outcome: report.outcome,
                chunks: report.chunks,
                error: report.error.clone(),
            },
        }
    }

    fn finished(report: &AddReport) -> Self {
        IngestEvent::Finished {
            added: report.added,
            updated: report.updated,
            unchanged: report.unchanged,
            failed: report.failed,
            removed: report.removed,
            cancelled: report.cancelled,
        }
    }
}

enum Work {
    Ingest(JobKind),
    /// Removal goes through the queue too: it needs the library's one writer.
    Remove(crossbeam_channel::Sender<CommandResult<AddReport>>),
}

struct Job {
    paths: Vec<PathBuf>,
    work: Work,
    cancel: Arc<AtomicBool>,
}

/// Hands jobs to the worker (what the folder watcher holds).
#[derive(Clone)]
pub struct Submitter {
    tx: Sender<Job>,
    live: Arc<Mutex<Vec<Arc<AtomicBool>>>>,
}

impl Submitter {
    fn send(&self, paths: Vec<PathBuf>, work: Work) {
        let cancel = Arc::new(AtomicBool::new(false));
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(cancel.clone());
        let _ = self.tx.send(Job { paths, work, cancel });
    }

    pub fn submit(&self, paths: Vec<PathBuf>, kind: JobKind) {
        if !paths.is_empty() {
            self.send(paths, Work::Ingest(kind));
        }
    }
}

pub struct IngestQueue {
    submitter: Submitter,
    running: Arc<AtomicBool>,
}

impl IngestQueue {
    pub(crate) fn start(shared: Weak<Shared>) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        let live = Arc::new(Mutex::new(Vec::new()));
        let running = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            shared,
            live: live.clone(),
            running: running.clone(),
        };
        std::thread::Builder::new()
            .name("quarry-ingest".into())
            .spawn(move || worker.run(rx))
            .expect("spawn a thread");
        IngestQueue {
            submitter: Submitter { tx, live },
            running,
        }
    }

    pub fn submitter(&self) -> Submitter {
        self.submitter.clone()
    }

    pub fn submit(&self, paths: Vec<PathBuf>, kind: JobKind) {
        self.submitter.submit(paths, kind)
    }

    /// Remove documents or folders once the jobs before it are done; the
    /// receiver gets the removal's report.
    pub fn remove(&self, paths: Vec<PathBuf>) -> crossbeam_channel::Receiver<CommandResult<AddReport>> {
        let (reply, done) = crossbeam_channel::bounded(1);
        self.submitter.send(paths, Work::Remove(reply));
        done
    }

    /// Stop the running job after the files in flight (they are committed,
    /// so a later add continues from there) and drop the queued ones.
    pub fn cancel(&self) {
        for flag in self
            .submitter
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            flag.store(true, Ordering::SeqCst);
        }
    }

    pub fn running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }
}

struct Worker {
    shared: Weak<Shared>,
    live: Arc<Mutex<Vec<Arc<AtomicBool>>>>,
    running: Arc<AtomicBool>,
}

impl Worker {
    fn run(self, jobs: Receiver<Job>) {
        for job in jobs {
            let Some(shared) = self.shared.upgrade() else {
                break;
            };
            self.running.store(true, Ordering::SeqCst);
            self.run_job(&shared, &job);
            self.live
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|flag| !Arc::ptr_eq(flag, &job.cancel));
            self.running.store(false, Ordering::SeqCst);
        }
    }

    fn run_job(&self, shared: &Shared, job: &Job) {
        let events = &shared.events;
        let library = match shared.library() {
            Ok(library) => library,
            Err(error) => {
                if let Work::Remove(reply) = &job.work {
                    let _ = reply.send(Err(error));
                } else {
                    events.ingest(&IngestEvent::Failed { error });
                }
                return;
            }
        };
        match &job.work {
            Work::Remove(reply) => {
                let result = library.remove(&job.paths).map_err(CommandError::from);
                let _ = reply.send(result);
            }
            Work::Ingest(kind) => {
                if job.cancel.load(Ordering::SeqCst) {
                    return;
                }
                let paths = if *kind == JobKind::Watched {
                    quarry::watch::paths_to_sync(&library, job.paths.clone())
                } else {
                    job.paths.clone()
                };
                if paths.is_empty() {
                    return;
                }
                let options = AddOptions {
                    force: *kind == JobKind::Reindex,
                };
                let observe = |p: Progress| events.ingest(&IngestEvent::from_progress(p));
                match library.add_with(&paths, options, &observe, &job.cancel) {
                    Ok(report) => events.ingest(&IngestEvent::finished(&report)),
                    Err(e) => events.ingest(&IngestEvent::Failed { error: e.into() }),
                }
            }
        }
        shared.sync_watches(&library);
        events.library_changed();
    }
}
