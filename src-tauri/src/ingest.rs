//! Background indexing: one worker thread takes jobs in order (files the
//! user added, re-index requests, batches from the folder watcher, the
//! start-up rescan, removals) and reports progress as [`IngestEvent`]s.
//! Jobs run one at a time because the library has one writer.
//!
//! The worker is started with what it needs — the library slot, the folder
//! watches and the event sink — and holds nothing else of the app.
//!
//! Other processes may change the library too (the `quarry` command line
//! adding a folder while the window is open): when idle, the worker looks
//! at the catalog's write generation every [`OUTSIDE_CHANGES_EVERY`], and
//! a change it did not make itself refreshes the window and watches the
//! folders such a change added.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use quarry_core::{AddOptions, AddReport, Library, Progress};

use crate::dto::IngestEvent;
use crate::error::{CommandError, CommandResult};
use crate::library_slot::LibrarySlot;
use crate::state::EventSink;
use crate::watches::Watches;

/// How often an idle worker looks for changes other processes made to the
/// library: one read of one catalog row, so a person who adds a folder
/// with the command line sees it in the window within this long.
pub const OUTSIDE_CHANGES_EVERY: Duration = Duration::from_secs(2);

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

enum Work {
    Ingest(JobKind),
    /// Removal goes through the queue too: it needs the library's one writer.
    Remove(Sender<CommandResult<AddReport>>),
    /// Re-embed every passage with the current embedder (after a change of
    /// model or precision); also the one writer's work.
    Reembed,
    /// The queue was dropped: end the worker (the folder watcher's
    /// submitter may still hold the channel open).
    Stop,
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
    /// Start the worker on the library in `library`, keeping `watches` on
    /// its roots and reporting to `events`.
    pub fn start(library: Arc<LibrarySlot>, watches: Arc<Watches>, events: Arc<dyn EventSink>) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        let flags = SharedFlags::default();
        let running = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            library,
            watches,
            events,
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

    /// Re-embed the library's passages once the jobs before it are done.
    pub fn reembed(&self) {
        self.submitter.send(Vec::new(), Work::Reembed);
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

impl Drop for IngestQueue {
    fn drop(&mut self) {
        self.submitter.send(Vec::new(), Work::Stop);
    }
}

struct Worker {
    library: Arc<LibrarySlot>,
    watches: Arc<Watches>,
    events: Arc<dyn EventSink>,
    flags: SharedFlags,
    running: Arc<AtomicBool>,
}

impl Worker {
    fn run(self, jobs: Receiver<Job>) {
        let mut seen = None;
        loop {
            let job = match jobs.recv_timeout(OUTSIDE_CHANGES_EVERY) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(library) = self.library.ready() {
                        if self.saw_outside_change(&library, &mut seen) {
                            self.watches.sync(&library);
                            self.events.library_changed();
                        }
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if matches!(job.work, Work::Stop) {
                break;
            }
            {
                let mut flags = lock(&self.flags);
                flags.queued.retain(|flag| !Arc::ptr_eq(flag, &job.cancel));
                flags.running = Some(job.cancel.clone());
            }
            self.running.store(true, Ordering::SeqCst);
            let end = self.run_job(&job, &mut seen);
            lock(&self.flags).running = None;
            self.running.store(false, Ordering::SeqCst);
            // The end is announced once the job is wholly done (watches
            // updated, no longer running), so whatever reacts to it sees that.
            if let Some(end) = end {
                self.events.ingest(&end);
            }
            self.events.library_changed();
        }
    }

    /// After a job's writes: what the catalog holds now is not news (the
    /// generation is read before the watches follow the roots, so a change
    /// made after the read is seen by the next look), and the watches
    /// follow the library's roots.
    fn settle(&self, library: &Arc<Library>, seen: &mut Option<(usize, u64)>) {
        self.saw_outside_change(library, seen);
        self.watches.sync(library);
    }

    /// Whether `library`'s catalog generation moved since `seen` (the same
    /// library's, last time), remembering the one read now. A library
    /// opened since (a settings change) is seen for the first time.
    fn saw_outside_change(&self, library: &Arc<Library>, seen: &mut Option<(usize, u64)>) -> bool {
        let Ok(generation) = library.read().generation() else {
            return false;
        };
        let now = (Arc::as_ptr(library) as usize, generation);
        let before = seen.replace(now);
        before.is_some_and(|(same, was)| same == now.0 && was != generation)
    }

    /// Re-embed every passage, then catch up with the library's folders
    /// (not rescanned when it opened: it could take no new passages then);
    /// one run, one summary.
    fn reembed(&self, library: &Library, cancel: &AtomicBool) -> CommandResult<IngestEvent> {
        let passages =
            library.reembed(&|done, total| self.events.ingest(&IngestEvent::Reembedding { done, total }))?;
        let roots = library.roots()?;
        let caught_up = match roots.is_empty() {
            true => AddReport::default(),
            false => {
                let observe = |p: Progress| self.events.ingest(&IngestEvent::from_progress(p));
                let rescan = AddOptions {
                    force: false,
                    from_user: false,
                };
                library.add_with(&roots, rescan, &observe, cancel)?
            }
        };
        Ok(IngestEvent::finished_after_reembedding(passages, &caught_up))
    }

    /// Run one job; returns the event that ends it, if it has one.
    fn run_job(&self, job: &Job, seen: &mut Option<(usize, u64)>) -> Option<IngestEvent> {
        let library = match self.library.get() {
            Ok(library) => library,
            Err(error) => {
                return match &job.work {
                    Work::Remove(reply) => {
                        let _ = reply.send(Err(error));
                        None
                    }
                    Work::Ingest(_) | Work::Reembed => Some(IngestEvent::Failed { error }),
                    Work::Stop => None,
                };
            }
        };
        match &job.work {
            Work::Remove(reply) => {
                let result = library.remove(&job.paths).map_err(CommandError::from);
                self.settle(&library, seen);
                let _ = reply.send(result);
                None
            }
            Work::Reembed => {
                let end = self
                    .reembed(&library, &job.cancel)
                    .unwrap_or_else(|error| IngestEvent::Failed { error });
                self.settle(&library, seen);
                Some(end)
            }
            Work::Ingest(kind) => {
                if job.cancel.load(Ordering::SeqCst) {
                    return None;
                }
                // A library whose passages are another embedder's can take
                // no new ones until it is re-embedded, which then catches its
                // folders up: what it would rescan or the watcher saw is
                // indexed then, not reported now as a failure the person
                // did not ask for. What a person adds still says why not.
                if matches!(kind, JobKind::Watched | JobKind::Rescan) && library.mismatch().is_some() {
                    return None;
                }
                let paths = if *kind == JobKind::Watched {
                    quarry_core::watch::paths_to_sync(&library, job.paths.clone())
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
                let observe = |p: Progress| self.events.ingest(&IngestEvent::from_progress(p));
                let end = match library.add_with(&paths, options, &observe, &job.cancel) {
                    Ok(report) => IngestEvent::finished(&report),
                    Err(e) => IngestEvent::Failed { error: e.into() },
                };
                self.settle(&library, seen);
                Some(end)
            }
            Work::Stop => None,
        }
    }
}
