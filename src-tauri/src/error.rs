//! The one error shape every command returns: `{ code, message, details }`.
//! `code` is for the UI to branch on, `message` is the sentence a person
//! reads, `details` the cause chain for a disclosure.

use quarry_core::answer::AnswerError;
use quarry_core::catalog::StoreError;
use quarry_core::context::ContextError;
use quarry_core::generate::LlmError;
use quarry_core::inspect::InspectError;
use quarry_core::models::{EmbedderLoadError, ModelError};
use quarry_core::LibraryError;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
    pub details: Option<String>,
}

pub type CommandResult<T> = Result<T, CommandError>;

impl CommandError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// `message` from the error's own text, `details` from its sources.
    fn from_error(code: &'static str, error: &dyn std::error::Error) -> Self {
        let mut causes = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            causes.push(cause.to_string());
            source = cause.source();
        }
        CommandError {
            code,
            message: error.to_string(),
            details: (!causes.is_empty()).then(|| causes.join("\n")),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("invalid", message)
    }

    pub fn busy(message: impl Into<String>) -> Self {
        Self::new("busy", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("not_found", message)
    }
}

impl From<LibraryError> for CommandError {
    fn from(e: LibraryError) -> Self {
        let code = match &e {
            LibraryError::Model(_) | LibraryError::Embed(_) | LibraryError::EmbedderMismatch { .. } => {
                "model"
            }
            LibraryError::LibraryDir { .. }
            | LibraryError::DiskFull { .. }
            | LibraryError::ReadOnly { .. } => "io",
            _ => "library",
        };
        Self::from_error(code, &e)
    }
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        Self::from_error("library", &e)
    }
}

impl From<EmbedderLoadError> for CommandError {
    fn from(e: EmbedderLoadError) -> Self {
        Self::from_error("model", &e)
    }
}

impl From<ModelError> for CommandError {
    fn from(e: ModelError) -> Self {
        let code = match &e {
            ModelError::NoGenerator { .. } | ModelError::GeneratorMissing { .. } => "no_model",
            _ => "model",
        };
        Self::from_error(code, &e)
    }
}

impl From<LlmError> for CommandError {
    fn from(e: LlmError) -> Self {
        Self::from_error("model", &e)
    }
}

impl From<AnswerError> for CommandError {
    fn from(e: AnswerError) -> Self {
        match e {
            AnswerError::Library(e) => e.into(),
            AnswerError::Catalog(e) => e.into(),
            AnswerError::Model(e) => e.into(),
            AnswerError::NoModel(e) => e.into(),
            AnswerError::EmptyQuestion => Self::from_error("invalid", &e),
            AnswerError::NoConversation(_) => Self::from_error("not_found", &e),
            other => Self::from_error("library", &other),
        }
    }
}

impl From<InspectError> for CommandError {
    fn from(e: InspectError) -> Self {
        match e {
            InspectError::Library(e) => e.into(),
            InspectError::Catalog(e) => e.into(),
            InspectError::NoPassage(_) => Self::from_error("not_found", &e),
            InspectError::EmptyQuestion => Self::from_error("invalid", &e),
            other => Self::from_error("model", &other),
        }
    }
}

impl From<ContextError> for CommandError {
    fn from(e: ContextError) -> Self {
        match e {
            ContextError::Library(e) => e.into(),
            ContextError::Catalog(e) => e.into(),
            other => Self::from_error("not_found", &other),
        }
    }
}
