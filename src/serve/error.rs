//! Errors as OpenAI's API writes them — `{"error": {"message", "type",
//! "param", "code"}}` with the matching status — so every OpenAI client
//! raises its usual exception with Quarry's own reason in it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use quarry_core::answer::AnswerError;
use quarry_core::models::ModelError;
use quarry_core::LibraryError;
use serde_json::{json, Value};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// OpenAI's `type`: `invalid_request_error`, `authentication_error`,
    /// `not_found_error`, `server_error`.
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Run blocking work (the library, model files) off the async threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::server(format!("the request's worker failed: {e}")))?
}

/// A JSON request body, or why it is not one (made an [`ApiError`] by `?`).
pub type JsonBody<T> = Result<axum::Json<T>, axum::extract::rejection::JsonRejection>;

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            code: None,
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            kind: "authentication_error",
            code: Some("invalid_api_key"),
            message: message.into(),
        }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            kind: "not_found_error",
            code: Some(code),
            message: message.into(),
        }
    }

    pub fn server(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "server_error",
            code: None,
            message: message.into(),
        }
    }

    /// The body OpenAI sends, also written as an event into a stream that
    /// fails after it started.
    pub fn body(&self) -> Value {
        json!({ "error": {
            "message": self.message,
            "type": self.kind,
            "param": null,
            "code": self.code,
        }})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

impl From<LibraryError> for ApiError {
    fn from(e: LibraryError) -> Self {
        match e {
            // The library needs `quarry reembed` first: the request cannot
            // be served as the library stands.
            LibraryError::EmbedderMismatch { .. } => ApiError {
                status: StatusCode::CONFLICT,
                kind: "invalid_request_error",
                code: Some("embedder_mismatch"),
                message: e.to_string(),
            },
            other => ApiError::server(other.to_string()),
        }
    }
}

impl From<AnswerError> for ApiError {
    fn from(e: AnswerError) -> Self {
        match e {
            AnswerError::EmptyQuestion => {
                ApiError::bad_request("the last user message is empty: ask a question")
            }
            AnswerError::NoModel(
                ref model @ (ModelError::NoGenerator { .. } | ModelError::GeneratorMissing { .. }),
            ) => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                kind: "server_error",
                code: Some("model_not_available"),
                message: model.to_string(),
            },
            AnswerError::Library(library) => library.into(),
            other => ApiError::server(other.to_string()),
        }
    }
}

/// A request body that is not the JSON an endpoint takes.
impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        ApiError {
            status: rejection.status(),
            kind: "invalid_request_error",
            code: None,
            message: rejection.body_text(),
        }
    }
}
