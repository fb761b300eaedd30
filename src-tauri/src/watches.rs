//! The folder watcher of the open library: it watches exactly the library's
//! roots and hands what changed to the ingest queue.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use quarry_core::watch::{FolderWatcher, DEFAULT_QUIET};
use quarry_core::Library;

use crate::ingest::{JobKind, Submitter};

#[derive(Default)]
pub struct Watches {
    watcher: Mutex<Option<FolderWatcher>>,
}

impl Watches {
    fn lock(&self) -> MutexGuard<'_, Option<FolderWatcher>> {
        self.watcher.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Watch `library`'s folders with a new watcher (its own folder
    /// ignored), handing batches of changed paths to `ingest`.
    pub fn restart(&self, library: &Library, ingest: Submitter) {
        // The library's own files never count as documents, whichever
        // spelling of its folder a watched path uses.
        let own = library.dir().to_path_buf();
        let ignore = vec![own.clone(), std::fs::canonicalize(&own).unwrap_or(own)];
        let watcher = FolderWatcher::start(DEFAULT_QUIET, ignore, move |paths| {
            ingest.submit(paths, JobKind::Watched)
        });
        match watcher {
            Ok(watcher) => {
                *self.lock() = Some(watcher);
                self.sync(library);
            }
            Err(e) => tracing::warn!("new and changed files will not be picked up while Quarry runs: {e}"),
        }
    }

    /// Watch exactly the library's roots (after an add or a removal).
    pub fn sync(&self, library: &Library) {
        let Ok(roots) = library.roots() else { return };
        let mut guard = self.lock();
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

    /// Stop watching.
    pub fn stop(&self) {
        *self.lock() = None;
    }

    /// The folders being watched.
    pub fn watched(&self) -> Vec<PathBuf> {
        self.lock()
            .as_ref()
            .map(FolderWatcher::watched)
            .unwrap_or_default()
    }
}
