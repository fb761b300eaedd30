//! Chat: asking (the answer streams over a `Channel`), stopping, the
//! conversations sidebar, and whether an answer model is available.

use quarry_core::answer::Conversation;
use quarry_core::models::{DEFAULT_GENERATOR_FILE, DEFAULT_GENERATOR_SOURCE};
use tauri::ipc::Channel;
use tauri::State;

use super::blocking;
use crate::dto::{AnswerEvent, AskReply, ConversationDto, ModelStatus, TurnDto};
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
        let turn = state.ask(question, conversation_id, |event| {
            if let Some(event) = AnswerEvent::from_session(event) {
                if let Err(e) = on_event.send(event) {
                    tracing::warn!("the window stopped listening to the answer: {e}");
                }
            }
        })?;
        Ok(AskReply {
            conversation_id: turn.conversation_id.unwrap_or_default(),
            turn_id: turn.turn_id.unwrap_or_default(),
            answer: (&turn.answer).into(),
        })
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
pub async fn list_conversations(state: State<'_, AppState>) -> CommandResult<Vec<ConversationDto>> {
    let state = state.inner().clone();
    blocking(move || {
        let rows = state.library()?.read().conversations()?;
        Ok(rows.into_iter().map(ConversationDto::from).collect())
    })
    .await
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
        let ids = library.read().turns(conversation_id)?.into_iter().map(|t| t.id);
        Ok(ids
            .zip(&conversation.turns)
            .map(|(id, answer)| TurnDto {
                id,
                question: answer.question.clone(),
                answer: answer.into(),
            })
            .collect())
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn delete_conversation(state: State<'_, AppState>, conversation_id: i64) -> CommandResult<()> {
    let state = state.inner().clone();
    blocking(move || {
        if Conversation::delete(state.library()?.as_ref(), conversation_id)? {
            Ok(())
        } else {
            Err(CommandError::not_found(format!(
                "conversation {conversation_id} does not exist"
            )))
        }
    })
    .await
}

/// Which answer model a question would use, or why there is none.
#[tauri::command(rename_all = "snake_case")]
pub async fn model_status(state: State<'_, AppState>) -> CommandResult<ModelStatus> {
    let state = state.inner().clone();
    blocking(move || {
        let models = state.models();
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
                "Download {DEFAULT_GENERATOR_FILE} from {DEFAULT_GENERATOR_SOURCE} \
                 (or use any instruction-tuned .gguf answer model), then choose it in Settings or put it in \
                 one of these folders. In Quarry's source folder, `models/fetch` assembles it offline."
            ),
            message,
        })
    })
    .await
}
