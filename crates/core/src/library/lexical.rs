//! Keeping the BM25 index in step with the catalog: chunks enter it only
//! through [`index_chunks`] (from the ingest writer and from a
//! reconciliation alike, so the two cannot disagree on what a chunk's
//! lexical document is), and [`reconcile`] makes it hold exactly the
//! catalog's chunks when its generation lags (after a kill, or a schema
//! change that recreated it).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use quarry_index::lexical::{contexts, LexicalIndex, LexicalWriter};
use quarry_index::IndexError;
use quarry_store::{Catalog, CatalogReader};

use super::{lock, LibraryResult};

/// Add these catalog chunks to the lexical index as the catalog describes
/// them: each with its document's title and file name, its own text, and its
/// context (the span of its document covering it and its neighbours, see
/// `quarry_index::lexical::contexts`). Missing ids are skipped.
pub(super) fn index_chunks(
    catalog: &CatalogReader,
    writer: &mut LexicalWriter,
    chunk_ids: &[u64],
) -> LibraryResult<()> {
    let mut chunks = catalog.chunks(chunk_ids)?;
    // Grouped by document, so each document's text and spans are read once,
    // however many of its chunks are asked for.
    chunks.sort_by_key(|c| c.document_id);
    let mut document: Option<(i64, HashMap<u64, String>)> = None;
    for chunk in chunks {
        if document.as_ref().map(|(id, _)| *id) != Some(chunk.document_id) {
            let spans = catalog.chunk_spans(chunk.document_id)?;
            let text = catalog
                .document_text(chunk.document_id)?
                .map(|stored| stored.text)
                .unwrap_or_default();
            let bounds: Vec<(usize, usize)> = spans.iter().map(|&(_, start, end)| (start, end)).collect();
            let by_id = spans
                .iter()
                .zip(contexts(&text, &bounds))
                .filter_map(|(&(id, _, _), context)| Some((id, context?.to_string())))
                .collect();
            document = Some((chunk.document_id, by_id));
        }
        let (_, by_id) = document.as_mut().expect("loaded above");
        let context = by_id.remove(&chunk.chunk_id).unwrap_or_else(|| {
            tracing::warn!(
                chunk = chunk.chunk_id,
                document_id = chunk.document_id,
                "chunk context not found in the stored text; indexing the chunk alone"
            );
            chunk.text.clone()
        });
        let title = lexical_title(&chunk.path, chunk.title.as_deref());
        writer.add(chunk.chunk_id, &title, &chunk.text, &context)?;
    }
    Ok(())
}

/// What the lexical index searches besides the chunk text: the title and
/// file name, so a query naming a document finds it.
fn lexical_title(path: &str, title: Option<&str>) -> String {
    let file = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path);
    match title {
        Some(t) => format!("{t} {file}"),
        None => file.to_string(),
    }
}

/// Make the lexical index hold exactly the catalog's chunks (added and
/// deleted by chunk id), if its generation lags the catalog's.
pub(super) fn reconcile(
    lexical: &LexicalIndex,
    catalog: &Catalog,
    writer: &mut LexicalWriter,
) -> LibraryResult<()> {
    if lexical.generation()? == Some(catalog.generation()?) {
        return Ok(());
    }
    make_equal(lexical, catalog, writer).map(|_| ())
}

/// Make the lexical index hold exactly the catalog's chunks, whatever its
/// generation says: (chunks added, chunks removed).
pub(super) fn make_equal(
    lexical: &LexicalIndex,
    catalog: &Catalog,
    writer: &mut LexicalWriter,
) -> LibraryResult<(usize, usize)> {
    let generation = catalog.generation()?;
    let indexed: HashSet<u64> = lexical.chunk_ids()?.into_iter().collect();
    let live = catalog.chunk_ids()?;
    let live_set: HashSet<u64> = live.iter().copied().collect();
    let mut removed = 0;
    for &id in indexed.difference(&live_set) {
        writer.delete(id);
        removed += 1;
    }
    let missing: Vec<u64> = live.into_iter().filter(|id| !indexed.contains(id)).collect();
    for part in missing.chunks(1000) {
        index_chunks(catalog, writer, part)?;
    }
    writer.commit(generation)?;
    tracing::info!(
        added = missing.len(),
        removed,
        generation,
        "lexical index reconciled with the catalog"
    );
    Ok((missing.len(), removed))
}

/// [`reconcile`] at open, if the index lags and no other process is
/// writing (that one reconciles when it is done).
pub(super) fn sync_if_free(lexical: &LexicalIndex, catalog: &Mutex<Catalog>) -> LibraryResult<()> {
    if lexical.generation()? == Some(lock(catalog).generation()?) {
        return Ok(());
    }
    match lexical.writer() {
        Ok(mut writer) => reconcile(lexical, &lock(catalog), &mut writer),
        Err(IndexError::WriterBusy) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
