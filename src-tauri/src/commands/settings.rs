//! Settings: library folder, answer model or remote engine, passages; the
//! embedding model is shown read-only (changing it means re-embedding, a
//! CLI job).

use tauri::State;

use super::blocking;
use crate::dto::{EmbedderInfo, ModelInfo, SettingsView};
use crate::error::CommandResult;
use crate::settings::Settings;
use crate::state::AppState;
use quarry_core::remote::{self, ENGINE_KEY_VARIABLE};
use quarry_core::session::AnswerEngine;

fn view(state: &AppState, settings: &Settings) -> CommandResult<SettingsView> {
    // The embedder, not the library: settings must open even when the
    // library folder cannot (so the folder can be changed), and even when
    // an embedding server cannot be reached (so it can be changed too).
    let (embedder, embedder_error) = match state.embedder() {
        Ok(embedder) => (Some(embedder), None),
        Err(e) => (None, Some(e.message)),
    };
    let answers_by = match settings.answer_engine() {
        Ok(AnswerEngine::Remote(engine)) => engine.describe(),
        _ => "this computer".to_string(),
    };
    let embeddings_by = match (&embedder, &settings.embed_url) {
        (Some(embedder), _) => {
            let identity = embedder.identity();
            match identity.server() {
                Some(url) => format!("{} at {url}", identity.name),
                None => "this computer".to_string(),
            }
        }
        (None, Some(url)) => format!(
            "{} at {url} (not reachable)",
            settings.embed_model.as_deref().unwrap_or("?")
        ),
        (None, None) => "this computer (the model is missing)".to_string(),
    };
    Ok(SettingsView {
        library_dir: settings.library_dir.display().to_string(),
        model_path: settings.model_path.as_ref().map(|p| p.display().to_string()),
        passages: settings.passages,
        engine_url: settings.engine_url.clone(),
        engine_model: settings.engine_model.clone(),
        engine_context: settings.engine_context,
        engine_key_set: remote::env_text(ENGINE_KEY_VARIABLE).is_some(),
        embed_url: settings.embed_url.clone(),
        embed_model: settings.embed_model.clone(),
        answers_by,
        embeddings_by,
        embedder: embedder.map(|embedder| {
            let identity = embedder.identity();
            EmbedderInfo {
                name: identity.name.clone(),
                path: embedder
                    .token_embeddings()
                    .map_or_else(|| identity.engine.clone(), |t| t.file.display().to_string()),
                dimension: identity.dimension,
                weights_sha256: identity.weights_sha256.clone(),
                engine: identity.engine.clone(),
                precision: identity.precision.clone(),
                max_tokens: embedder.max_tokens(),
            }
        }),
        embedder_error,
        models: state
            .models()
            .answer_models(settings.model_path.as_deref())
            .into_iter()
            .map(|model| {
                let facts = model.facts.as_ref().ok();
                ModelInfo {
                    file_name: model
                        .path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    architecture: facts.map(|f| f.architecture.clone()),
                    parameters: facts
                        .and_then(|f| f.parameters)
                        .map(|p| format!("{:.2}B", p as f64 / 1e9)),
                    quantization: facts.map(|f| f.quantization.clone()),
                    is_default: model.chosen,
                    path: model.path.display().to_string(),
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

/// Save settings; a new library folder (or embedder) is in use before this
/// returns.
#[tauri::command(rename_all = "snake_case")]
pub async fn save_settings(state: State<'_, AppState>, update: Settings) -> CommandResult<SettingsView> {
    let state = state.inner().clone();
    blocking(move || {
        let settings = state.apply_settings(update.without_blanks())?;
        view(&state, &settings)
    })
    .await
}
