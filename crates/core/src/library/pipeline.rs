//! The ingest pipeline (after meilisearch's indexer): an extract stage
//! (read, hash, parse, chunk: [`prepare_file`] and [`prepare_text`], on
//! its own thread, up to one file per core at a time) → bounded
//! channel → an embed thread → bounded channel → the single [`Writer`] on
//! the caller's thread. Parsing and chunking run ahead while the (much
//! slower) encoder works, within a bounded amount of memory; a stop flag is
//! checked between files.
//!
//! The embed stage takes the passages of every file waiting for it (up to
//! [`TOKENS_PER_CALL`] word pieces) into one call: a folder of one-passage
//! files would otherwise give the encoder one short text per call, which at
//! int8 it runs at about 0.7× its rate on full passes (`benches/embed.rs`,
//! calls of 1 text vs 16). Both stages give way to a question being answered
//! (`answering.rs`) before each call and each batch of files.

use std::sync::atomic::{AtomicBool, Ordering};

use quarry_embed::Embedder;
use quarry_parse::sandbox::{side_by_side, Sandbox};
use quarry_parse::{ExtractError, Extracted};
use quarry_store::{DocStatus, DocumentRow, FileFacts};
use sha2::{Digest, Sha256};

use super::answering::{CallInFlight, GiveWay};
use super::ingest::{AddReport, Progress, TextDocument};
use super::plan::Planned;
use super::writer::Writer;
use super::{Library, LibraryResult};
use crate::chunk::{Chunk, Chunker};

/// Extracted files waiting for the embedder.
const EXTRACTED_QUEUE: usize = 8;

/// Word pieces per embedding call: one of the encoder's packed passes
/// (about 7 passages), so a call keeps its pass full and is short enough
/// (≈ 0.06 s at int8, ≈ 0.15 s at f32 on 2 cores) that a question being
/// answered waits little for the call in flight.
const TOKENS_PER_CALL: usize = 1024;

/// One file on its way through the pipeline, with what planning knew of it.
pub(super) struct Prepared {
    pub(super) path: String,
    pub(super) facts: FileFacts,
    /// The catalog's row for this path before this run, if any.
    pub(super) previous: Option<DocumentRow>,
    pub(super) work: Work,
}

pub(super) enum Work {
    Unchanged,
    Failed {
        format: Option<&'static str>,
        error: String,
        vanished: bool,
    },
    Ready {
        extracted: Extracted,
        chunks: Vec<Chunk>,
        vectors: Vec<Vec<f32>>,
    },
}

impl Prepared {
    pub(super) fn was_indexed(&self) -> bool {
        self.previous
            .as_ref()
            .is_some_and(|d| d.status == DocStatus::Indexed)
    }
}

/// Whether the catalog already holds exactly this content, indexed (so
/// extracting and embedding it again would change nothing).
fn holds_content(previous: Option<&DocumentRow>, sha256: &str) -> bool {
    previous.is_some_and(|d| d.status == DocStatus::Indexed && d.content_sha256.as_deref() == Some(sha256))
}

/// How many times a file that changes while it is read is read again.
const READS_OF_A_CHANGING_FILE: usize = 3;

/// How long a file must have stood unmodified to be read as finished.
/// Linux stamps modification times from a coarse clock (one tick, 1–4
/// ms): a save's truncation and its writes can share one time, so equal
/// facts around a read prove nothing about a file modified this recently.
const QUIET: std::time::Duration = std::time::Duration::from_millis(100);

/// Read `path` as it is when it stands still: its size and modification
/// time after the read must be those of `facts` (the walk's, at first),
/// and that time at least [`QUIET`] old, else what was read may be part
/// of a save in progress, and it is read again (after the quiet time)
/// with the newer facts, up to [`READS_OF_A_CHANGING_FILE`] times; a file
/// still changing fails as such, and a failed file is tried again by the
/// next add (and by the watcher's). So an add indexes a file saved while
/// it was read as it stood after the save, not torn, and the catalog
/// records the facts of the bytes read (the walk's may be minutes older
/// in a large folder, which would make the next add read the file once
/// more for nothing). A save that pauses mid-file for longer than the
/// quiet time cannot be seen; its facts change when it goes on, so the
/// next add reads the file again.
fn read_settled(path: &std::path::Path, facts: &mut FileFacts) -> Result<Vec<u8>, ExtractError> {
    for _ in 0..READS_OF_A_CHANGING_FILE {
        let read = quarry_parse::read_file(path);
        // An editor's save truncates first: "empty" may be a moment of it.
        if matches!(&read, Err(e) if !matches!(e, ExtractError::Empty)) {
            return read;
        }
        let meta = std::fs::metadata(path)?;
        let after = super::plan::file_facts(&meta);
        let same = after.size == facts.size && after.mtime_ns == facts.mtime_ns;
        let whole = read.as_ref().map_or(0, Vec::len) as u64 == after.size;
        // A time in the future (another machine's clock) counts as quiet:
        // waiting for it could take forever.
        let age = meta
            .modified()
            .ok()
            .and_then(|t| std::time::SystemTime::now().duration_since(t).ok())
            .unwrap_or(QUIET);
        *facts = after;
        if same && whole && age >= QUIET {
            return read;
        }
        std::thread::sleep(QUIET.saturating_sub(age));
    }
    Err(ExtractError::Changing {
        reads: READS_OF_A_CHANGING_FILE,
    })
}

/// Read, hash, extract and chunk one file (runs on the extract thread).
pub(super) fn prepare_file(chunker: &Chunker, sandbox: &Sandbox, item: Planned) -> Prepared {
    let Planned {
        path,
        key,
        mut facts,
        stored,
        force,
    } = item;
    let failed = |format: Option<quarry_parse::Format>, error: String, vanished: bool| Work::Failed {
        format: format.map(quarry_parse::Format::as_str),
        error,
        vanished,
    };
    let work = match read_settled(&path, &mut facts) {
        Err(e) => failed(None, e.to_string(), matches!(e, ExtractError::Vanished)),
        Ok(bytes) => {
            let sha = hex::encode(Sha256::digest(&bytes));
            let unchanged = !force && holds_content(stored.as_ref(), &sha);
            facts.content_sha256 = Some(sha);
            if unchanged {
                Work::Unchanged
            } else {
                match sandbox.extract(&path, &bytes) {
                    Err(failure) => failed(failure.format, failure.error.to_string(), false),
                    Ok(extracted) => chunked(chunker, extracted),
                }
            }
        }
    };
    Prepared {
        path: key,
        facts,
        previous: stored,
        work,
    }
}

/// Hash and chunk one in-memory text (no file, no parsing).
pub(super) fn prepare_text(chunker: &Chunker, doc: TextDocument, previous: Option<DocumentRow>) -> Prepared {
    let sha = hex::encode(Sha256::digest(doc.text.as_bytes()));
    let size = doc.text.len() as u64;
    let work = if holds_content(previous.as_ref(), &sha) {
        Work::Unchanged
    } else if doc.text.trim().is_empty() {
        Work::Failed {
            format: Some(quarry_parse::Format::Text.as_str()),
            error: ExtractError::Empty.to_string(),
            vanished: false,
        }
    } else {
        chunked(
            chunker,
            Extracted {
                format: quarry_parse::Format::Text,
                title: doc.title,
                text: doc.text,
                pages: Vec::new(),
                sections: Vec::new(),
            },
        )
    };
    Prepared {
        path: doc.key,
        facts: FileFacts {
            size,
            mtime_ns: 0,
            content_sha256: Some(sha),
        },
        previous,
        work,
    }
}

/// An extracted document's passages, or its failure to chunk; both
/// kinds of source (files and texts) end here.
fn chunked(chunker: &Chunker, extracted: Extracted) -> Work {
    match chunker.chunk(&extracted) {
        Err(e) => Work::Failed {
            format: Some(extracted.format.as_str()),
            error: e.to_string(),
            vanished: false,
        },
        Ok(chunks) => Work::Ready {
            extracted,
            chunks,
            vectors: Vec::new(),
        },
    }
}

impl Library {
    /// Run `items` (the extract stage, on its own thread) through the
    /// embedder and into `writer`, reporting each file, then bring the dense
    /// index up to what was written.
    /// Run `prepare` (read, parse, chunk) on each item, up to one per core
    /// at a time (each file's parse is a sandbox worker of its own, so a
    /// folder of scans is recognised on every core), then embed and write
    /// them in the items' order.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_pipeline<T: Send>(
        &self,
        mut items: impl Iterator<Item = T> + Send,
        prepare: impl Fn(T) -> Prepared + Sync,
        writer: &mut Writer,
        total: usize,
        report: &mut AddReport,
        observe: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> LibraryResult<()> {
        let embedder = self.embedder.as_ref();
        let give_way = GiveWay::new(self.dir());
        let give_way = &give_way;
        let paused = &|answering: bool| observe(Progress::Paused { answering });
        let (extracted_tx, extracted_rx) = crossbeam_channel::bounded::<Prepared>(EXTRACTED_QUEUE);
        let (embedded_tx, embedded_rx) = crossbeam_channel::bounded::<Prepared>(2);
        let result = std::thread::scope(|scope| -> LibraryResult<()> {
            let prepare = &prepare;
            let parallel = self.sandbox.parallel();
            scope.spawn(move || {
                while !cancel.load(Ordering::Relaxed) {
                    give_way.wait(cancel, paused);
                    // A batch of files prepared side by side, passed on in
                    // order: outcomes and progress keep the walk's order.
                    let batch: Vec<T> = items.by_ref().take(parallel).collect();
                    if batch.is_empty() {
                        break;
                    }
                    for item in side_by_side(batch, prepare) {
                        if extracted_tx.send(item).is_err() {
                            return;
                        }
                    }
                }
            });
            scope.spawn(move || {
                while let Ok(first) = extracted_rx.recv() {
                    let mut waiting = vec![first];
                    let mut tokens = tokens_to_embed(&waiting[0]);
                    while tokens < TOKENS_PER_CALL {
                        let Ok(next) = extracted_rx.try_recv() else { break };
                        tokens += tokens_to_embed(&next);
                        waiting.push(next);
                    }
                    let before_call = || {
                        give_way.wait(cancel, paused);
                        give_way.call()
                    };
                    embed(embedder, &mut waiting, &before_call, observe);
                    for item in waiting {
                        if embedded_tx.send(item).is_err() {
                            return;
                        }
                    }
                }
            });
            for item in embedded_rx {
                report.push(writer.write(item)?);
                observe(Progress::File {
                    done: report.files.len(),
                    total,
                    report: report.files.last().expect("just pushed"),
                });
                writer.commit_if_due()?;
            }
            Ok(())
        });
        // Commit what was written even if the writer stopped on an error.
        writer.commit()?;
        result?;
        report.cancelled = cancel.load(Ordering::Relaxed);
        self.save_dense()
    }
}

/// Word pieces a file gives the encoder (none unless it is ready).
fn tokens_to_embed(item: &Prepared) -> usize {
    match &item.work {
        Work::Ready { chunks, .. } => chunks.iter().map(|c| c.token_count).sum(),
        _ => 0,
    }
}

/// The embed stage for the files waiting: their passages in calls of about
/// [`TOKENS_PER_CALL`] word pieces, a file's across calls if it is long,
/// `before_call` run before each and what it returns held through it. A
/// call the embedder fails is tried again passage by passage (up to each
/// file's first failure), so a file it cannot embed fails alone, with the
/// reason.
fn embed<'a>(
    embedder: &dyn Embedder,
    items: &mut [Prepared],
    before_call: &dyn Fn() -> CallInFlight<'a>,
    observe: &(dyn Fn(Progress) + Sync),
) {
    // (file, passage) of every passage to embed, in order.
    let passages: Vec<(usize, &Chunk)> = items
        .iter()
        .enumerate()
        .flat_map(|(file, item)| match &item.work {
            Work::Ready { chunks, .. } => chunks.iter().map(|c| (file, c)).collect(),
            _ => Vec::new(),
        })
        .collect();
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; passages.len()];
    let mut failed: Vec<Option<String>> = vec![None; items.len()];
    let mut started = vec![false; items.len()];
    let mut at = 0;
    while at < passages.len() {
        let mut end = at;
        let mut tokens = 0;
        while end < passages.len() && (end == at || tokens + passages[end].1.token_count <= TOKENS_PER_CALL) {
            tokens += passages[end].1.token_count;
            end += 1;
        }
        let _in_flight = before_call();
        let call = &passages[at..end];
        for &(file, _) in call {
            if !std::mem::replace(&mut started[file], true) {
                observe(Progress::Started {
                    path: &items[file].path,
                });
            }
        }
        let texts: Vec<&str> = call.iter().map(|(_, c)| c.text.as_str()).collect();
        match embedder.embed(&texts) {
            Ok(embedded) => {
                for (slot, vector) in vectors[at..end].iter_mut().zip(embedded) {
                    *slot = Some(vector);
                }
            }
            // Which file's passage failed the call: embed each alone.
            Err(_) => {
                for (slot, &(file, passage)) in vectors[at..end].iter_mut().zip(call) {
                    if failed[file].is_none() {
                        match embedder.embed(&[passage.text.as_str()]) {
                            Ok(mut one) => *slot = one.pop(),
                            Err(e) => failed[file] = Some(e.to_string()),
                        }
                    }
                }
            }
        }
        at = end;
    }
    let mut vectors = vectors.into_iter();
    for (item, failure) in items.iter_mut().zip(failed) {
        let Work::Ready {
            extracted,
            chunks,
            vectors: theirs,
        } = &mut item.work
        else {
            continue;
        };
        let mine: Vec<Option<Vec<f32>>> = vectors.by_ref().take(chunks.len()).collect();
        let failure = failure.or_else(|| {
            mine.iter()
                .any(Option::is_none)
                .then(|| "the embedder returned fewer vectors than passages".to_string())
        });
        match failure {
            None => *theirs = mine.into_iter().flatten().collect(),
            Some(e) => {
                item.work = Work::Failed {
                    format: Some(extracted.format.as_str()),
                    error: format!("embedding failed: {e}"),
                    vanished: false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts_of(path: &std::path::Path) -> FileFacts {
        super::super::plan::file_facts(&std::fs::metadata(path).unwrap())
    }

    #[test]
    fn a_file_changed_after_the_walk_is_read_as_it_is_now_with_its_new_facts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "first draft").unwrap();
        let mut facts = facts_of(&path);
        // Saved again between the walk and the read: longer, and later.
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::write(&path, "second draft, longer").unwrap();
        let bytes = read_settled(&path, &mut facts).unwrap();
        assert_eq!(bytes, b"second draft, longer");
        let now = facts_of(&path);
        assert_eq!((facts.size, facts.mtime_ns), (now.size, now.mtime_ns));
    }

    #[test]
    fn a_file_that_vanishes_before_it_is_read_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut facts = FileFacts {
            size: 5,
            mtime_ns: 1,
            content_sha256: None,
        };
        let err = read_settled(&dir.path().join("gone.txt"), &mut facts).unwrap_err();
        assert!(matches!(err, ExtractError::Vanished), "{err:?}");
    }
}
