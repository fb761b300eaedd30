//! "Under the hood" for a retrieved passage (the same data as
//! `quarry inspect --json`).

use quarry_core::inspect::inspect;
use tauri::State;

use super::blocking;
use crate::dto::InspectionDto;
use crate::error::CommandResult;
use crate::state::AppState;

#[tauri::command(rename_all = "snake_case")]
pub async fn inspect_passage(
    state: State<'_, AppState>,
    question: String,
    chunk_id: u64,
) -> CommandResult<InspectionDto> {
    let state = state.inner().clone();
    blocking(move || Ok(inspect(state.library()?.as_ref(), &question, chunk_id)?.into())).await
}
