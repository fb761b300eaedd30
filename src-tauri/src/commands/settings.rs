//! Settings: library folder, answer model, passages; the embedding model is
//! shown read-only (changing it means re-embedding, a CLI job).

use std::path::PathBuf;

use quarry::llm::inspect as inspect_gguf;
use serde::Serialize;
use tauri::State;

use super::blocking;
use crate::error::CommandResult;
use crate::settings::Settings;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize)]
pub struct EmbedderInfo {
    pub name: String,
    pub path: String,
    pub dimension: usize,
    pub weights_sha256: String,
    pub max_tokens: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub path: String,
    pub file_name: String,
    pub architecture: Option<String>,
    pub parameters: Option<String>,
    pub quantization: Option<String>,
    pub is_default: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SettingsView {
    pub library_dir: String,
    pub model_path: Option<String>,
    pub passages: usize,
    pub embedder: EmbedderInfo,
    pub models: Vec<ModelInfo>,
}

fn view(state: &AppState, settings: &Settings) -> CommandResult<SettingsView> {
    // The embedder, not the library: settings must open even when the
    // library folder cannot (so the folder can be changed).
    let embedder = state.embedder()?;
    let identity = embedder.identity();
    let models = &state.shared.config.models;
    let chosen = models.choose_generator(settings.model_path.as_deref()).ok();
    let mut found = models.find_generators();
    if let Some(explicit) = &settings.model_path {
        if !found.contains(explicit) {
            found.insert(0, explicit.clone());
        }
    }
    Ok(SettingsView {
        library_dir: settings.library_dir.display().to_string(),
        model_path: settings.model_path.as_ref().map(|p| p.display().to_string()),
        passages: settings.passages,
        embedder: EmbedderInfo {
            name: identity.name.clone(),
            path: embedder.token_embeddings().file.display().to_string(),
            dimension: identity.dimension,
            weights_sha256: identity.weights_sha256.clone(),
            max_tokens: embedder.max_tokens(),
        },
        models: found
            .into_iter()
            .map(|path| {
                let facts = inspect_gguf(&path).ok();
                ModelInfo {
                    file_name: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    architecture: facts.as_ref().map(|f| f.architecture.clone()),
                    parameters: facts
                        .as_ref()
                        .and_then(|f| f.parameters)
                        .map(|p| format!("{:.2}B", p as f64 / 1e9)),
                    quantization: facts.as_ref().map(|f| f.quantization.clone()),
                    is_default: chosen.as_ref().is_some_and(|c| c.path == path),
                    path: path.display().to_string(),
                }
            })
            .collect(),
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_settings(state: State<'_, AppState>) -> CommandResult<SettingsView> {
    let state = state.inner().clone();
    blocking(move || view(&state, &state.settings())).await
}

/// Save settings; a new library folder is opened before this returns.
#[tauri::command(rename_all = "snake_case")]
pub async fn save_settings(
    state: State<'_, AppState>,
    library_dir: String,
    model_path: Option<String>,
    passages: usize,
) -> CommandResult<SettingsView> {
    let state = state.inner().clone();
    blocking(move || {
        let settings = state.apply_settings(Settings {
            library_dir: PathBuf::from(library_dir),
            model_path: model_path.filter(|p| !p.trim().is_empty()).map(PathBuf::from),
            passages,
        })?;
        view(&state, &settings)
    })
    .await
}
