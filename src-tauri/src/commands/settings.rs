//! Settings: library folder, answer model or remote engine, passages, the
//! encoder's precision; the embedding model is shown read-only. A person
//! without models chooses them on disk ([`choose_model`]: the first-run
//! screen offers both, the missing-model banner the answer model). A library
//! written by another embedder (another model or precision) then says so in
//! its overview and waits to be re-embedded (`reembed_library`, or
//! `quarry reembed`).

use tauri::State;

use super::blocking;
use crate::dto::{EmbedderInfo, ModelInfo, SettingsView};
use crate::error::{CommandError, CommandResult};
use crate::settings::Settings;
use crate::state::AppState;
use quarry_core::models::{adopt, inspect_answer_model, ModelSearch, DEFAULT_EMBEDDER};
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
                Some(_) => identity.described(),
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
        embedder_dir: settings.embedder_dir.as_ref().map(|p| p.display().to_string()),
        embed_precision: settings.embed_precision,
        models_dir: state.models_dir().display().to_string(),
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

/// What a person chooses on disk when Quarry has no model.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// A sentence-transformers folder (config.json, tokenizer.json,
    /// model.safetensors).
    Embedder,
    /// A `.gguf` answer model.
    Answer,
}

/// Use a model the person chose on disk: check it is one (an embedder
/// folder with its files, a GGUF file whose header reads), link it into the
/// app's models folder (so the CLI finds it too), and make it the one the
/// settings use. The embedder is loaded (and the library opened with it)
/// before this returns; the answer model starts loading.
#[tauri::command(rename_all = "snake_case")]
pub async fn choose_model(
    state: State<'_, AppState>,
    kind: ModelKind,
    path: String,
) -> CommandResult<SettingsView> {
    let state = state.inner().clone();
    blocking(move || {
        let chosen = std::path::PathBuf::from(path);
        let no_model = |message: String| CommandError::new("no_model", message);
        match kind {
            ModelKind::Embedder => {
                let search = ModelSearch {
                    explicit: Some(chosen.clone()),
                    ..ModelSearch::default()
                };
                search
                    .find_embedder(DEFAULT_EMBEDDER)
                    .map_err(|e| no_model(e.to_string()))?;
            }
            ModelKind::Answer => {
                inspect_answer_model(&chosen).map_err(|e| no_model(e.to_string()))?;
            }
        }
        let placed =
            adopt(&chosen, state.models_dir()).map_err(|e| CommandError::new("io", e.to_string()))?;
        let mut settings = state.settings();
        match kind {
            ModelKind::Embedder => settings.embedder_dir = Some(placed),
            ModelKind::Answer => settings.model_path = Some(placed),
        }
        let settings = state.apply_settings(settings)?;
        view(&state, &settings)
    })
    .await
}
