//! Watching the folders a user added, so new, changed and deleted files are
//! picked up while Quarry runs.
//!
//! `notify` reports raw file-system events, many per save (editors write a
//! temporary file, rename it, touch it). The watcher gathers the paths until
//! the folders have been quiet for a moment and hands them over as one batch;
//! the caller re-adds the batch through [`Library::add`], which re-embeds only
//! what really changed (size, time, then content hash) and removes what
//! vanished. What happened while Quarry was closed is found by re-adding the
//! library's roots at start, the same way.
//!
//! Invariant: the watcher only reports paths; it never writes to a library.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::ModifyKind;
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::Library;

/// How long the folders must be quiet before a batch is handed over: long
/// enough to coalesce one save or one copied folder, short enough to feel live.
pub const DEFAULT_QUIET: Duration = Duration::from_millis(800);

/// A file written without pause (a log, a download) never lets the folders
/// go quiet; a batch is handed over after this long anyway.
const LONGEST_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot watch {path}: {source}")]
    Watch { path: PathBuf, source: notify::Error },
    #[error("cannot start the folder watcher: {0}")]
    Start(notify::Error),
}

/// Watches folders; reports batches of changed paths from its own thread.
pub struct FolderWatcher {
    watcher: RecommendedWatcher,
    watched: HashSet<PathBuf>,
}

impl FolderWatcher {
    /// Start watching nothing yet. `on_batch` runs on the watcher's thread
    /// with the paths that changed, once the folders have been quiet for
    /// `quiet`. Paths under `ignore` (the library's own folder, if it sits
    /// inside a watched one) and editors' temporary files are left out.
    pub fn start(
        quiet: Duration,
        ignore: Vec<PathBuf>,
        on_batch: impl Fn(Vec<PathBuf>) + Send + 'static,
    ) -> Result<Self, WatchError> {
        let (tx, rx) = crossbeam_channel::unbounded::<notify::Result<notify::Event>>();
        let watcher = notify::recommended_watcher(move |event| {
            let _ = tx.send(event);
        })
        .map_err(WatchError::Start)?;
        std::thread::Builder::new()
            .name("quarry-watch".into())
            .spawn(move || {
                let mut pending = BTreeSet::new();
                let mut waiting_since = std::time::Instant::now();
                loop {
                    if !pending.is_empty() && waiting_since.elapsed() >= LONGEST_WAIT {
                        on_batch(std::mem::take(&mut pending).into_iter().collect());
                    }
                    match rx.recv_timeout(quiet) {
                        Ok(Ok(event)) => {
                            // Reads, and attribute changes such as the access
                            // time a read updates, change no document.
                            if matches!(
                                event.kind,
                                EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_))
                            ) {
                                continue;
                            }
                            if event.need_rescan() {
                                tracing::warn!(
                                    "the system dropped file events; changes are picked up at the next start"
                                );
                            }
                            if pending.is_empty() {
                                waiting_since = std::time::Instant::now();
                            }
                            pending.extend(
                                event.paths.into_iter().filter(|p| {
                                    worth_indexing(p) && !ignore.iter().any(|i| p.starts_with(i))
                                }),
                            );
                        }
                        Ok(Err(e)) => tracing::warn!("folder watcher: {e}"),
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                            if !pending.is_empty() {
                                on_batch(std::mem::take(&mut pending).into_iter().collect());
                            }
                        }
                        // The watcher was dropped: stop.
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                    }
                }
            })
            .map_err(|e| WatchError::Start(notify::Error::io(e)))?;
        Ok(FolderWatcher {
            watcher,
            watched: HashSet::new(),
        })
    }

    /// Watch `root` and everything below it (again watching is a no-op).
    pub fn watch(&mut self, root: &Path) -> Result<(), WatchError> {
        if self.watched.contains(root) {
            return Ok(());
        }
        self.watcher
            .watch(root, RecursiveMode::Recursive)
            .map_err(|source| WatchError::Watch {
                path: root.to_path_buf(),
                source,
            })?;
        self.watched.insert(root.to_path_buf());
        Ok(())
    }

    /// Stop watching `root` (a folder the user removed).
    pub fn unwatch(&mut self, root: &Path) {
        if self.watched.remove(root) {
            let _ = self.watcher.unwatch(root);
        }
    }

    /// The folders being watched.
    pub fn watched(&self) -> Vec<PathBuf> {
        self.watched.iter().cloned().collect()
    }
}

/// Hidden files and editors' temporary files are not documents (the folder
/// walk skips the same names).
fn worth_indexing(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|name| !name.starts_with('.') && !quarry_parse::is_temporary_file(name))
}

/// The paths of a batch that [`Library::add`] should see: those that exist,
/// and those that vanished but the library holds (so they are removed). A
/// file created and deleted between two batches is dropped, rather than
/// reported as unreadable.
pub fn paths_to_sync(library: &Library, batch: Vec<PathBuf>) -> Vec<PathBuf> {
    batch
        .into_iter()
        .filter(|p| p.exists() || library.holds(p).unwrap_or(false))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::worth_indexing;
    use std::path::Path;

    #[test]
    fn temporary_and_hidden_files_are_not_documents() {
        for skipped in [
            ".report.pdf.swp",
            "~$report.docx",
            "notes.md~",
            "download.pdf.part",
            "x.crdownload",
            ".DS_Store",
            "a.tmp",
        ] {
            assert!(
                !worth_indexing(Path::new("/docs").join(skipped).as_path()),
                "{skipped}"
            );
        }
        for kept in ["report.pdf", "notes.md", "index.html", "Read me.txt"] {
            assert!(worth_indexing(Path::new("/docs").join(kept).as_path()), "{kept}");
        }
    }
}
