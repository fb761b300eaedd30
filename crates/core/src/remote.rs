//! The user's own servers, configured the same way by every front end: the
//! URL and model come from flags or settings; an API key only from the
//! environment — never a flag or a settings file, which end up in shell
//! histories, process lists and backups.

use quarry_embed::EmbedError;
use quarry_generate::LlmError;

pub use quarry_embed::RemoteEmbedding;
pub use quarry_generate::RemoteEngine;
pub use quarry_openai::{Endpoint, WireError};

/// Where a remote answer engine's API key is read from.
pub const ENGINE_KEY_VARIABLE: &str = "QUARRY_ENGINE_API_KEY";
/// Where a remote embedder's API key is read from.
pub const EMBED_KEY_VARIABLE: &str = "QUARRY_EMBED_API_KEY";

/// The value of the environment variable `variable`, when it is set and not
/// blank: how keys, and a front end's first-run server settings, are read.
pub fn env_text(variable: &str) -> Option<String> {
    std::env::var(variable).ok().filter(|k| !k.trim().is_empty())
}

/// An answer engine at `url` asking `model`, with the key from
/// [`ENGINE_KEY_VARIABLE`].
pub fn answer_engine(url: &str, model: &str, context: Option<usize>) -> Result<RemoteEngine, LlmError> {
    RemoteEngine::new(url, model, env_text(ENGINE_KEY_VARIABLE), context)
}

/// An embedding server at `url` asking `model`, with the key from
/// [`EMBED_KEY_VARIABLE`].
pub fn embedding_server(url: &str, model: &str) -> Result<RemoteEmbedding, EmbedError> {
    RemoteEmbedding::new(url, model, env_text(EMBED_KEY_VARIABLE))
}
