//! The single writer of a library's write path: it owns the catalog's
//! writing connection for the length of a job, and the lexical index writer
//! (tantivy's lock makes a second writing process fail fast with
//! `WriterBusy`). Each file is committed to the catalog in its own
//! transaction, so a kill loses at most the files in flight; the lexical
//! index commits every [`LEXICAL_COMMIT_EVERY`] and at the end, stamped with
//! the catalog generation, and is reconciled from the catalog when a kill
//! left it behind.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use quarry_index::lexical::{LexicalIndex, LexicalWriter};
use quarry_parse::ExtractError;
use quarry_store::{Catalog, NewChunk, NewDocument};

use super::ingest::{FileReport, Outcome};
use super::pipeline::{Prepared, Work};
use super::{lexical, lock, LibraryResult};

/// How often the lexical index commits during an ingest: a commit costs an
/// fsync and a segment, so not per file; a kill loses at most this much
/// lexical work, which the next open reconciles from the catalog.
const LEXICAL_COMMIT_EVERY: Duration = Duration::from_secs(2);

pub(super) struct Writer<'a> {
    catalog: &'a Mutex<Catalog>,
    lexical: LexicalWriter,
    last_commit: Instant,
}

impl<'a> Writer<'a> {
    /// Take the lexical index's writer and bring the index up to the
    /// catalog, so everything this job writes lands on a consistent index.
    pub(super) fn start(catalog: &'a Mutex<Catalog>, index: &LexicalIndex) -> LibraryResult<Self> {
        let mut writer = index.writer()?;
        lexical::reconcile(index, &lock(catalog), &mut writer)?;
        Ok(Writer {
            catalog,
            lexical: writer,
            last_commit: Instant::now(),
        })
    }

    /// Commit one prepared file to the catalog and the lexical index.
    pub(super) fn write(&mut self, item: Prepared) -> LibraryResult<FileReport> {
        let was_indexed = item.was_indexed();
        let Prepared {
            path,
            facts,
            previous,
            work,
        } = item;
        let failure = |path: String, error: String| FileReport {
            path,
            outcome: Outcome::Failed,
            chunks: 0,
            error: Some(error),
        };
        match work {
            Work::Unchanged => {
                lock(self.catalog).touch(&path, &facts)?;
                Ok(FileReport {
                    chunks: previous.map_or(0, |d| d.chunk_count as usize),
                    path,
                    outcome: Outcome::Unchanged,
                    error: None,
                })
            }
            Work::Failed { vanished: true, .. } if previous.is_some() => Ok(self
                .remove(&path)?
                .unwrap_or_else(|| failure(path, ExtractError::Vanished.to_string()))),
            Work::Failed { format, error, .. } => {
                let effect = lock(self.catalog).record_failure(&path, &facts, format, &error)?;
                for id in effect.removed_chunks {
                    self.lexical.delete(id);
                }
                Ok(failure(path, error))
            }
            Work::Ready {
                extracted,
                chunks,
                vectors,
            } => {
                let new_chunks: Vec<NewChunk> = chunks
                    .iter()
                    .zip(&vectors)
                    .map(|(c, v)| NewChunk {
                        ordinal: c.ordinal,
                        start: c.start,
                        end: c.end,
                        page: c.page,
                        section: c.section.as_deref(),
                        text: &c.text,
                        token_count: c.token_count,
                        vector: v,
                        ocr: c.ocr,
                    })
                    .collect();
                let doc = NewDocument {
                    path: &path,
                    facts: &facts,
                    format: extracted.format.as_str(),
                    title: extracted.title.as_deref(),
                    text: &extracted.text,
                    pages: &extracted.pages,
                    sections: &extracted.sections,
                };
                let mut catalog = lock(self.catalog);
                let effect = catalog.replace_document(&doc, &new_chunks)?;
                // A crash here: the catalog holds the file, the lexical
                // index does not yet (tests/it/failpoints.rs).
                fail::fail_point!("catalog-committed");
                for id in &effect.removed_chunks {
                    self.lexical.delete(*id);
                }
                lexical::index_chunks(&catalog, &mut self.lexical, &effect.added_chunks)?;
                drop(catalog);
                Ok(FileReport {
                    path,
                    outcome: if was_indexed {
                        Outcome::Updated
                    } else {
                        Outcome::Added
                    },
                    chunks: chunks.len(),
                    error: None,
                })
            }
        }
    }

    /// Remove `path` from the catalog and the lexical index; `None` if the
    /// library did not hold it.
    pub(super) fn remove(&mut self, path: &str) -> LibraryResult<Option<FileReport>> {
        let Some(effect) = lock(self.catalog).remove_document(path)? else {
            return Ok(None);
        };
        for id in &effect.removed_chunks {
            self.lexical.delete(*id);
        }
        Ok(Some(FileReport {
            path: path.to_string(),
            outcome: Outcome::Removed,
            chunks: effect.removed_chunks.len(),
            error: None,
        }))
    }

    /// Commit the lexical index if the last commit is old enough.
    pub(super) fn commit_if_due(&mut self) -> LibraryResult<()> {
        if self.last_commit.elapsed() >= LEXICAL_COMMIT_EVERY {
            self.commit()?;
        }
        Ok(())
    }

    /// Make the lexical index durable, stamped with the catalog generation.
    pub(super) fn commit(&mut self) -> LibraryResult<()> {
        let generation = lock(self.catalog).generation()?;
        self.lexical.commit(generation)?;
        self.last_commit = Instant::now();
        Ok(())
    }
}
