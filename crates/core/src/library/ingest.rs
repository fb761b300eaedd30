//! The write path's API: adding files and folders ([`Library::add`]) or
//! in-memory texts ([`Library::add_texts`]), removing ([`Library::remove`])
//! and re-embedding ([`Library::reembed`]), with the per-file outcomes and
//! progress they report. Every file gets an outcome; a bad file is a
//! [`FileReport`] with a reason, never an error that stops the batch.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::pipeline::{prepare_file, prepare_text};
use super::plan::{path_key, plan};
use super::writer::Writer;
use super::{explain_storage, lock, Library, LibraryResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Added,
    Updated,
    Unchanged,
    Failed,
    Removed,
}

#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: String,
    pub outcome: Outcome,
    pub chunks: usize,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AddReport {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub removed: usize,
    pub chunks_embedded: usize,
    pub cancelled: bool,
    pub files: Vec<FileReport>,
}

impl AddReport {
    /// Count a file's outcome (and, for a file embedded anew, its chunks).
    pub(super) fn push(&mut self, report: FileReport) {
        match report.outcome {
            Outcome::Added => self.added += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Removed => self.removed += 1,
        }
        if matches!(report.outcome, Outcome::Added | Outcome::Updated) {
            self.chunks_embedded += report.chunks;
        }
        self.files.push(report);
    }
}

/// Ingest progress, for bars and UIs.
#[derive(Debug)]
pub enum Progress<'a> {
    /// The walk found `total` files to look at, of which `pending` need
    /// work (new, changed, or forced); the rest are unchanged or failed.
    Planned { total: usize, pending: &'a [String] },
    /// A file's text is ready and its passages are being embedded.
    Started { path: &'a str },
    /// Indexing pauses (`answering`) while a question is answered on this
    /// library, and goes on (`!answering`) when the answer is done.
    Paused { answering: bool },
    /// A file is done (`done` of `total`).
    File {
        done: usize,
        total: usize,
        report: &'a FileReport,
    },
}

/// How [`Library::add_with`] treats its inputs.
#[derive(Debug, Clone, Copy)]
pub struct AddOptions {
    /// Re-extract and re-embed even files whose size, time and content are
    /// unchanged (a user's "re-index": after a parser fix, or to be sure).
    pub force: bool,
    /// The user named these inputs: folders among them become roots, and
    /// earlier removals of them are forgotten. Off for rescans and watcher
    /// batches, which must neither add roots nor bring back what the user
    /// removed from inside a root.
    pub from_user: bool,
}

impl Default for AddOptions {
    fn default() -> Self {
        AddOptions {
            force: false,
            from_user: true,
        }
    }
}

/// A document that is text already (no file behind it): see [`Library::add_texts`].
#[derive(Debug, Clone)]
pub struct TextDocument {
    /// Stands where a file's path would: unique within the library.
    pub key: String,
    pub title: Option<String>,
    pub text: String,
}

impl Library {
    /// Index files and folders (recursively). Every file gets an outcome;
    /// failures are reported per file and never stop the batch.
    pub fn add(
        &self,
        inputs: &[PathBuf],
        observe: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> LibraryResult<AddReport> {
        self.add_with(inputs, AddOptions::default(), observe, cancel)
    }

    /// [`Library::add`] with options (forced re-indexing, rescans).
    pub fn add_with(
        &self,
        inputs: &[PathBuf],
        options: AddOptions,
        observe: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> LibraryResult<AddReport> {
        explain_storage(&self.dir, self.add_here(inputs, options, observe, cancel))
    }

    fn add_here(
        &self,
        inputs: &[PathBuf],
        options: AddOptions,
        observe: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> LibraryResult<AddReport> {
        let mut writer = self.start_writing()?;
        let mut report = AddReport::default();
        let (planned, vanished) = plan(&lock(&self.writer), inputs, options, &mut report)?;
        let total = planned.len() + vanished.len() + report.files.len();
        let pending: Vec<String> = planned.iter().map(|p| p.key.clone()).collect();
        observe(Progress::Planned {
            total,
            pending: &pending,
        });
        for (i, r) in report.files.iter().enumerate() {
            observe(Progress::File {
                done: i + 1,
                total,
                report: r,
            });
        }
        for key in vanished {
            if let Some(removed) = writer.remove(&key)? {
                report.push(removed);
            }
        }
        let prepare = |item| prepare_file(&self.chunker, &self.sandbox, item);
        self.run_pipeline(
            planned.into_iter(),
            prepare,
            &mut writer,
            total,
            &mut report,
            observe,
            cancel,
        )?;
        Ok(report)
    }

    /// Index in-memory texts as documents, each under its own `key` (in the
    /// catalog's path column): for evaluation corpora and other sources that
    /// are not files. Same pipeline, transactions and outcomes as [`Library::add`]:
    /// a key already held is replaced (or left alone when its text is unchanged).
    pub fn add_texts(
        &self,
        documents: Vec<TextDocument>,
        observe: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> LibraryResult<AddReport> {
        explain_storage(&self.dir, self.add_texts_here(documents, observe, cancel))
    }

    fn add_texts_here(
        &self,
        documents: Vec<TextDocument>,
        observe: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> LibraryResult<AddReport> {
        let mut writer = self.start_writing()?;
        let mut report = AddReport::default();
        let total = documents.len();
        let pending: Vec<String> = documents.iter().map(|d| d.key.clone()).collect();
        observe(Progress::Planned {
            total,
            pending: &pending,
        });
        let mut known = Vec::with_capacity(documents.len());
        {
            let catalog = lock(&self.writer);
            for doc in &documents {
                known.push(catalog.document(&doc.key)?);
            }
        }
        let items = documents.into_iter().zip(known);
        let prepare = |(doc, previous)| prepare_text(&self.chunker, doc, previous);
        self.run_pipeline(items, prepare, &mut writer, total, &mut report, observe, cancel)?;
        Ok(report)
    }

    /// How every add starts: the library must hold this embedder's vectors,
    /// and the one writer is taken.
    fn start_writing(&self) -> LibraryResult<Writer<'_>> {
        self.ensure_same_embedder()?;
        Writer::start(&self.writer, &self.lexical)
    }

    /// Bring the dense index up to what the write path committed, compact
    /// it if needed, and persist it.
    pub(super) fn save_dense(&self) -> LibraryResult<()> {
        self.dense
            .compact_and_save(self.embedder.identity(), &lock(&self.reader), false)
    }

    /// Remove documents (or every document under a folder) from all stores.
    /// A removed root is no longer one of the library's roots; a file or
    /// folder removed from inside a root is excluded from its later rescans.
    pub fn remove(&self, inputs: &[PathBuf]) -> LibraryResult<AddReport> {
        explain_storage(&self.dir, self.remove_here(inputs))
    }

    fn remove_here(&self, inputs: &[PathBuf]) -> LibraryResult<AddReport> {
        let mut writer = Writer::start(&self.writer, &self.lexical)?;
        let mut report = AddReport::default();
        for input in inputs {
            let key = path_key(input).to_string_lossy().to_string();
            let forgot_root = {
                let catalog = lock(&self.writer);
                let inside_root = catalog
                    .roots()?
                    .iter()
                    .any(|root| root != &key && Path::new(&key).starts_with(root));
                if inside_root {
                    catalog.exclude(&key)?;
                }
                catalog.remove_root(&key)? > 0
            };
            let mut targets = lock(&self.writer).paths_under(&key)?;
            targets.push(key.clone());
            let before = report.files.len();
            for path in targets {
                if let Some(removed) = writer.remove(&path)? {
                    report.push(removed);
                }
            }
            if report.files.len() == before && !forgot_root {
                report.push(FileReport {
                    path: key,
                    outcome: Outcome::Failed,
                    chunks: 0,
                    error: Some("not in the library".into()),
                });
            }
        }
        writer.commit()?;
        if self.ensure_same_embedder().is_ok() {
            self.save_dense()?;
        }
        Ok(report)
    }

    /// Re-embed every chunk with the current embedder (after a change of
    /// model, engine or precision), in one catalog transaction, then
    /// rebuild the dense index.
    pub fn reembed(&self, progress: &dyn Fn(u64, u64)) -> LibraryResult<u64> {
        explain_storage(&self.dir, self.reembed_here(progress))
    }

    fn reembed_here(&self, progress: &dyn Fn(u64, u64)) -> LibraryResult<u64> {
        let total = lock(&self.reader).chunk_count()?;
        let mut done = 0u64;
        let identity = self.embedder.identity().clone();
        let count = lock(&self.writer).replace_all_vectors(
            &identity,
            |rows| {
                let texts: Vec<&str> = rows.iter().map(|(_, t)| t.as_str()).collect();
                let vectors = self.embedder.embed(&texts).map_err(|e| e.to_string())?;
                done += rows.len() as u64;
                progress(done, total);
                Ok(vectors)
            },
            256,
        )?;
        *self.mismatch.write().unwrap_or_else(|p| p.into_inner()) = None;
        self.dense.reset(identity.dimension, count as usize);
        self.save_dense()?;
        Ok(count)
    }
}
