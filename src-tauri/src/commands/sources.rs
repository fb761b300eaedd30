//! The source view: a cited passage in its document, and opening the
//! original file with the system's default application.

use quarry_core::context::{passage_context as context_of, CONTEXT_BYTES};
use tauri::State;

use super::blocking;
use crate::dto::PassageContextDto;
use crate::error::{CommandError, CommandResult};
use crate::state::AppState;

#[tauri::command(rename_all = "snake_case")]
pub async fn passage_context(
    state: State<'_, AppState>,
    document_id: i64,
    start: usize,
    end: usize,
) -> CommandResult<PassageContextDto> {
    let state = state.inner().clone();
    blocking(move || {
        Ok(context_of(state.library()?.as_ref(), document_id, start, end, CONTEXT_BYTES)?.into())
    })
    .await
}

/// Open a library document in the system's default application. Only
/// documents the library holds can be opened: the window cannot name an
/// arbitrary path.
#[tauri::command(rename_all = "snake_case")]
pub async fn open_document(state: State<'_, AppState>, document_id: i64) -> CommandResult<()> {
    let state = state.inner().clone();
    blocking(move || {
        let document = state
            .library()?
            .read()
            .document_by_id(document_id)?
            .ok_or_else(|| {
                CommandError::not_found(format!("document {document_id} is not in the library"))
            })?;
        if !std::path::Path::new(&document.path).exists() {
            return Err(CommandError::not_found(format!(
                "{} no longer exists on disk",
                document.path
            )));
        }
        tauri_plugin_opener::open_path(&document.path, None::<&str>)
            .map_err(|e| CommandError::new("io", format!("cannot open {}: {e}", document.path)))
    })
    .await
}
