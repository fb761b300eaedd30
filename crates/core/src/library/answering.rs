//! Indexing gives way to answering. A question answered by a local model
//! needs every core for its prompt (its time to first token is CPU-bound),
//! and an ingest would take half of them on a laptop: so while a question
//! is answered, ingests of the library pause between embedding calls and
//! between files, and go on when the answer is done.
//!
//! The signal is a shared `flock` on `answering.lock` in the library's
//! folder, held by [`Library::answering`] for a turn; an ingest finds it by
//! trying an exclusive lock. A lock rather than a flag in memory because
//! the desktop app, `quarry ask`, `quarry chat` and the server may be
//! different processes on one library, and a lock rather than a lower
//! scheduling priority because priorities are compared only within one
//! session's autogroup on Linux desktops (`quarry add` in one terminal and
//! `quarry ask` in another would still share the CPU half and half), and
//! because an OCR or embedding pass at any priority holds the cores' caches.
//! The kernel drops the lock with its holder, so a crashed answer never
//! leaves an ingest waiting.
//!
//! An embedding call already running when the question comes is not cut
//! short, but the answer waits for it (each call holds a shared lock on
//! `embedding.lock`, which [`Library::answering`] takes exclusively for a
//! moment): the answer model counts the cores that are free when it makes
//! its context, and one still embedding cost the answer a thread. Measured
//! in one process before this wait (`benches/answer_under_load.rs`): the
//! first token 1.9× an idle machine's, against 1.0× across processes, where
//! loading the model gave the call time to end.
//!
//! Invariant: an ingest never waits for anything but a turn being answered
//! (or its cancel), and answering never waits for an ingest.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::Library;

const ANSWERING_FILE: &str = "answering.lock";
const EMBEDDING_FILE: &str = "embedding.lock";

/// How often a paused ingest, or an answer waiting for a call in flight,
/// looks again.
const POLL: Duration = Duration::from_millis(25);

/// The longest an answer waits for an embedding call in flight (one call
/// is ~0.06 s at int8 and ~0.15 s at f32 on 2 cores; a remote embedder's may
/// take longer, and the answer then goes on beside it).
const CALL_IN_FLIGHT: Duration = Duration::from_secs(3);

/// Held while a question is answered on this library (see the module
/// documentation); dropping it lets paused ingests go on.
#[derive(Debug)]
pub struct Answering {
    _lock: File,
}

/// A lock file, created if it is missing and the folder is writable.
fn open_lock(dir: &Path, name: &str) -> Option<File> {
    let path = dir.join(name);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .or_else(|_| File::open(&path))
        .ok()
}

/// Whether another holder (another open of the file, in this process or
/// another) has a lock on `file` now: it cannot be taken exclusively. When
/// it can, it is let go at once.
fn held_elsewhere(file: &File) -> bool {
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}

impl Library {
    /// Mark a question as being answered until the guard is dropped.
    /// `None` when the lock cannot be taken (a read-only folder that has no
    /// lock file, say: nothing can be indexing there either).
    /// Returns once no embedding call of an ingest is in flight (or after
    /// [`CALL_IN_FLIGHT`]).
    pub fn answering(&self) -> Option<Answering> {
        let lock = open_lock(self.dir(), ANSWERING_FILE)?;
        lock.lock_shared().ok()?;
        if let Some(calls) = open_lock(self.dir(), EMBEDDING_FILE) {
            let waited = std::time::Instant::now();
            while held_elsewhere(&calls) && waited.elapsed() < CALL_IN_FLIGHT {
                std::thread::sleep(POLL / 5);
            }
        }
        Some(Answering { _lock: lock })
    }
}

/// An ingest's view of the locks.
pub(super) struct GiveWay {
    lock: Option<File>,
    calls: Option<File>,
}

/// Held for one embedding call (see [`GiveWay::call`]).
pub(super) struct CallInFlight<'a>(Option<&'a File>);

impl Drop for CallInFlight<'_> {
    fn drop(&mut self) {
        if let Some(calls) = self.0 {
            let _ = calls.unlock();
        }
    }
}

impl GiveWay {
    pub(super) fn new(dir: &Path) -> Self {
        GiveWay {
            lock: open_lock(dir, ANSWERING_FILE),
            calls: open_lock(dir, EMBEDDING_FILE),
        }
    }

    /// Mark an embedding call as in flight until the guard is dropped, so
    /// an answer that begins meanwhile waits for it. Never held while
    /// waiting in [`GiveWay::wait`].
    pub(super) fn call(&self) -> CallInFlight<'_> {
        CallInFlight(self.calls.as_ref().filter(|calls| calls.lock_shared().is_ok()))
    }

    /// Whether a question is being answered now.
    fn answering(&self) -> bool {
        self.lock.as_ref().is_some_and(held_elsewhere)
    }

    /// Wait while a question is answered (or until `cancel`), calling
    /// `paused(true)` when waiting begins and `paused(false)` when it ends.
    pub(super) fn wait(&self, cancel: &AtomicBool, paused: &dyn Fn(bool)) {
        if !self.answering() {
            return;
        }
        paused(true);
        while self.answering() && !cancel.load(Ordering::Relaxed) {
            std::thread::sleep(POLL);
        }
        paused(false);
    }
}
