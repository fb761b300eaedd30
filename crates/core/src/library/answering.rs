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
//! Invariant: an ingest never waits for anything but a turn being answered
//! (or its cancel), and answering never waits for an ingest.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::Library;

const ANSWERING_FILE: &str = "answering.lock";

/// How often a paused ingest looks again.
const POLL: Duration = Duration::from_millis(25);

/// Held while a question is answered on this machine (see the module
/// documentation); dropping it lets paused ingests go on.
#[derive(Debug)]
pub struct Answering {
    _lock: File,
}

/// The lock file, created if it is missing and the folder is writable.
fn open_lock(dir: &Path) -> Option<File> {
    let path = dir.join(ANSWERING_FILE);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .or_else(|_| File::open(&path))
        .ok()
}

impl Library {
    /// Mark a question as being answered until the guard is dropped.
    /// `None` when the lock cannot be taken (a read-only folder that has no
    /// lock file, say: nothing can be indexing there either).
    pub fn answering(&self) -> Option<Answering> {
        let lock = open_lock(self.dir())?;
        lock.lock_shared().ok()?;
        Some(Answering { _lock: lock })
    }
}

/// An ingest's view of the lock.
pub(super) struct GiveWay {
    lock: Option<File>,
}

impl GiveWay {
    pub(super) fn new(dir: &Path) -> Self {
        GiveWay { lock: open_lock(dir) }
    }

    /// Whether a question is being answered now.
    fn answering(&self) -> bool {
        let Some(lock) = &self.lock else {
            return false;
        };
        match lock.try_lock() {
            // Nobody holds it: let go at once, so an answer can begin.
            Ok(()) => {
                let _ = lock.unlock();
                false
            }
            Err(TryLockError::WouldBlock) => true,
            Err(TryLockError::Error(_)) => false,
        }
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
