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

impl Job {
    /// Cancel drops the user's own queued jobs; the watcher's and the
    /// rescan's stay queued, so no change on disk goes unseen.
    fn cancelled_when_queued(&self) -> bool {
        matches!(self.work, Work::Ingest(JobKind::Add | JobKind::Reindex))
    }
}

/// Cancel flags of the running job and of the queued jobs a cancel drops.
#[derive(Default)]
struct Flags {
    running: Option<Arc<AtomicBool>>,
    queued: Vec<Arc<AtomicBool>>,
}

type SharedFlags = Arc<Mutex<Flags>>;

fn lock(flags: &SharedFlags) -> std::sync::MutexGuard<'_, Flags> {
    flags.lock().unwrap_or_else(|p| p.into_inner())
}

/// Hands jobs to the worker (what the folder watcher holds).
#[derive(Clone)]
pub struct Submitter {
    tx: Sender<Job>,
    flags: SharedFlags,
}

impl Submitter {
    fn send(&self, paths: Vec<PathBuf>, work: Work) {
        let job = Job {
            paths,
            work,
            cancel: Arc::new(AtomicBool::new(false)),
        };
        if job.cancelled_when_queued() {
            lock(&self.flags).queued.push(job.cancel.clone());
        }
        let _ = self.tx.send(job);
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
        let flags = SharedFlags::default();
        let running = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            shared,
            flags: flags.clone(),
            running: running.clone(),
        };
        std::thread::Builder::new()
            .name("quarry-ingest".into())
            .spawn(move || worker.run(rx))
            .expect("spawn a thread");
        IngestQueue {
            submitter: Submitter { tx, flags },
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
    pub fn remove(&self, paths: Vec<PathBuf>) -> Receiver<CommandResult<AddReport>> {
        let (reply, done) = crossbeam_channel::bounded(1);
        self.submitter.send(paths, Work::Remove(reply));
        done
    }

    /// Stop the running job after the files in flight (they are committed,
    /// so a later add continues from there) and drop the user's queued ones.
    pub fn cancel(&self) {
        let flags = lock(&self.submitter.flags);
        for flag in flags.running.iter().chain(&flags.queued) {
            flag.store(true, Ordering::SeqCst);
        }
    }

    pub fn running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }
}

struct Worker {
    shared: Weak<Shared>,
    flags: SharedFlags,
    running: Arc<AtomicBool>,
}

impl Worker {
    fn run(self, jobs: Receiver<Job>) {
        for job in jobs {
            let Some(shared) = self.shared.upgrade() else {
                break;
            };
            {
                let mut flags = lock(&self.flags);
                flags.queued.retain(|flag| !Arc::ptr_eq(flag, &job.cancel));
                flags.running = Some(job.cancel.clone());
            }
            self.running.store(true, Ordering::SeqCst);
            let end = self.run_job(&shared, &job);
            lock(&self.flags).running = None;
            self.running.store(false, Ordering::SeqCst);
            // The end is announced once the job is wholly done (watches
            // updated, no longer running), so whatever reacts to it sees that.
            if let Some(end) = end {
                shared.events.ingest(&end);
            }
            shared.events.library_changed();
        }
    }

    /// Run one job; returns the event that ends it, if it has one.
    fn run_job(&self, shared: &Shared, job: &Job) -> Option<IngestEvent> {
        let events = &shared.events;
        let library = match shared.library() {
            Ok(library) => library,
            Err(error) => {
                return match &job.work {
                    Work::Remove(reply) => {
                        let _ = reply.send(Err(error));
                        None
                    }
                    Work::Ingest(_) => Some(IngestEvent::Failed { error }),
                };
            }
        };
        match &job.work {
            Work::Remove(reply) => {
                let result = library.remove(&job.paths).map_err(CommandError::from);
                shared.sync_watches(&library);
                let _ = reply.send(result);
                None
            }
            Work::Ingest(kind) => {
                if job.cancel.load(Ordering::SeqCst) {
                    return None;
                }
                let paths = if *kind == JobKind::Watched {
                    quarry::watch::paths_to_sync(&library, job.paths.clone())
                } else {
                    job.paths.clone()
                };
                if paths.is_empty() {
                    return None;
                }
                let options = AddOptions {
                    force: *kind == JobKind::Reindex,
                    from_user: matches!(kind, JobKind::Add | JobKind::Reindex),
                };
                let observe = |p: Progress| events.ingest(&IngestEvent::from_progress(p));
                let end = match library.add_with(&paths, options, &observe, &job.cancel) {
                    Ok(report) => IngestEvent::finished(&report),
                    Err(e) => IngestEvent::Failed { error: e.into() },
                };
                shared.sync_watches(&library);
                Some(end)
            }
        }
    }
}
