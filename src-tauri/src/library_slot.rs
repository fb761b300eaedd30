//! Where the open library lives. The library opens on a background thread
//! (loading the embedding model takes a moment), so the window shows at
//! once; whoever needs the library waits here until it is open, or gets
//! the reason it could not be.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use quarry_core::Library;

use crate::error::{CommandError, CommandResult};

enum Slot {
    Opening,
    Ready(Arc<Library>),
    Failed(CommandError),
}

pub struct LibrarySlot {
    slot: Mutex<Slot>,
    changed: Condvar,
    /// Bumped whenever a library is installed or the slot closes, so an
    /// open that finishes after a newer one (start-up vs. a settings change)
    /// is discarded.
    generation: AtomicU64,
}

impl Default for LibrarySlot {
    fn default() -> Self {
        LibrarySlot {
            slot: Mutex::new(Slot::Opening),
            changed: Condvar::new(),
            generation: AtomicU64::new(0),
        }
    }
}

impl LibrarySlot {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The open library, waiting while it opens.
    pub fn get(&self) -> CommandResult<Arc<Library>> {
        let mut slot = self.lock();
        loop {
            match &*slot {
                Slot::Ready(library) => return Ok(library.clone()),
                Slot::Failed(e) => return Err(e.clone()),
                Slot::Opening => {
                    slot = self.changed.wait(slot).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }

    /// The open library, if it is open now (never waits).
    pub fn ready(&self) -> Option<Arc<Library>> {
        match &*self.lock() {
            Slot::Ready(library) => Some(library.clone()),
            _ => None,
        }
    }

    /// Whether the last open failed (a settings change then reopens even
    /// the same folder).
    pub fn failed(&self) -> bool {
        matches!(*self.lock(), Slot::Failed(_))
    }

    /// The generation an open that starts now belongs to.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// A new generation: opens that started before it are stale.
    pub fn next_generation(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Install the outcome of an open started at `generation`, unless a
    /// newer one was installed since; true when it was installed.
    pub fn install(&self, outcome: CommandResult<Arc<Library>>, generation: u64) -> bool {
        let mut slot = self.lock();
        if self.generation() != generation {
            return false;
        }
        *slot = match outcome {
            Ok(library) => Slot::Ready(library),
            Err(e) => Slot::Failed(e),
        };
        self.changed.notify_all();
        true
    }

    /// No library from now on: whoever waits or asks gets `reason`.
    pub fn close(&self, reason: CommandError) {
        let generation = self.next_generation();
        self.install(Err(reason), generation);
    }
}
