//! The library panel: what is indexed, adding, re-indexing, removing,
//! cancelling. Progress arrives as `ingest:progress` events.

use tauri::State;

use super::blocking;
use crate::dto::{DocumentDto, EmbedderMismatch, LibraryOverview, RemoveReply};
use crate::error::{CommandError, CommandResult};
use crate::ingest::JobKind;
use crate::state::{to_paths, AppState};

#[tauri::command(rename_all = "snake_case")]
pub async fn library_overview(state: State<'_, AppState>) -> CommandResult<LibraryOverview> {
    let state = state.inner().clone();
    blocking(move || {
        let library = state.library()?;
        let documents = library.read().documents()?;
        let passages = documents.iter().map(|d| d.chunk_count).sum();
        Ok(LibraryOverview {
            dir: library.dir().display().to_string(),
            roots: library.roots()?.iter().map(|r| r.display().to_string()).collect(),
            documents: documents.into_iter().map(DocumentDto::from).collect(),
            ingest_running: state.ingest_running(),
            mismatch: library.mismatch().map(|made_with| EmbedderMismatch {
                library: made_with.described(),
                current: library.embedder().identity().described(),
                passages,
            }),
        })
    })
    .await
}

/// Index files and folders in the background (after any running job).
#[tauri::command(rename_all = "snake_case")]
pub async fn add_paths(state: State<'_, AppState>, paths: Vec<String>) -> CommandResult<()> {
    state.index(to_paths(&paths)?, JobKind::Add);
    Ok(())
}

/// Re-extract and re-embed documents or folders, even if unchanged.
#[tauri::command(rename_all = "snake_case")]
pub async fn reindex(state: State<'_, AppState>, paths: Vec<String>) -> CommandResult<()> {
    state.index(to_paths(&paths)?, JobKind::Reindex);
    Ok(())
}

/// Remove documents, or folders with everything in them (which also stops
/// watching them). Waits for a running ingest to finish first.
#[tauri::command(rename_all = "snake_case")]
pub async fn remove_paths(state: State<'_, AppState>, paths: Vec<String>) -> CommandResult<RemoveReply> {
    let done = state.remove(to_paths(&paths)?);
    let report = blocking(move || {
        done.recv()
            .map_err(|_| CommandError::new("library", "the indexing worker stopped"))?
    })
    .await?;
    if report.removed == 0 && report.failed > 0 {
        let reason = report
            .files
            .iter()
            .find_map(|f| f.error.clone())
            .unwrap_or_else(|| "not in the library".into());
        return Err(CommandError::not_found(reason));
    }
    Ok(RemoveReply {
        removed: report.removed,
    })
}

/// Re-embed every passage with the embedder now chosen (after a change of
/// model or precision), in the background after any running job; progress
/// arrives as `ingest:progress` events.
#[tauri::command(rename_all = "snake_case")]
pub async fn reembed_library(state: State<'_, AppState>) -> CommandResult<()> {
    state.reembed();
    Ok(())
}

/// Stop the running ingest after the files in flight, and drop queued ones.
#[tauri::command(rename_all = "snake_case")]
pub async fn cancel_ingest(state: State<'_, AppState>) -> CommandResult<()> {
    state.cancel_ingest();
    Ok(())
}
