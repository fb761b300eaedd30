//! Chunk vectors from an OpenAI-compatible `/embeddings` server (Hugging
//! Face TEI, vLLM, Ollama, Infinity, another `quarry serve`), for a team
//! whose GPU box already embeds.
//!
//! The identity records the endpoint and the model, so a library never
//! mixes these vectors with a local model's (or another server's), even
//! when both run the same weights: the library refuses, and says to
//! re-embed. Chunks are sized with a local tokenizer the caller gives (the
//! server's is out of reach); the vectors are L2-normalised here whatever
//! the server sends, as the indexes assume.

use quarry_openai::{Client, Endpoint, WireError};
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use crate::{EmbedError, Embedder, EmbedderIdentity, TokenEmbeddingTable, REMOTE_ENGINE_PREFIX};

/// Texts per request: small enough for any server's batch limit.
const BATCH: usize = 32;

/// [`RemoteEmbedder`]'s precision: whatever the server computes in.
pub const REMOTE_PRECISION: &str = "remote";

/// An OpenAI-compatible server and the embedding model to ask there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEmbedding {
    pub endpoint: Endpoint,
    /// The model's id on that server.
    pub model: String,
}

impl RemoteEmbedding {
    /// `url` checked and normalised (see [`Endpoint::new`]); `model` named.
    pub fn new(url: &str, model: &str, api_key: Option<String>) -> Result<Self, EmbedError> {
        let endpoint = Endpoint::new(url, api_key)?;
        Ok(RemoteEmbedding {
            model: endpoint.model_name(model, "embedding model")?,
            endpoint,
        })
    }

    /// Where embeddings are made, as a person reads it.
    pub fn describe(&self) -> String {
        self.endpoint.serving(&self.model)
    }
}

/// A model on an OpenAI-compatible server, asked for embeddings.
pub struct RemoteEmbedder {
    identity: EmbedderIdentity,
    model: String,
    client: Client,
    tokenizer: Tokenizer,
    max_tokens: usize,
}

impl RemoteEmbedder {
    /// Reach the server, check it serves `model`, and learn the vectors'
    /// dimension from one embedding. `tokenizer` sizes chunks (truncating
    /// at `max_tokens` word pieces).
    pub fn connect(
        server: &RemoteEmbedding,
        tokenizer: Tokenizer,
        max_tokens: usize,
    ) -> Result<Self, EmbedError> {
        let (endpoint, model) = (&server.endpoint, server.model.as_str());
        let client = Client::new(endpoint)?;
        client.check_model(model)?;
        let probe = client.embeddings(model, &["dimension probe"])?;
        let dimension = probe.first().map_or(0, Vec::len);
        if dimension == 0 {
            return Err(WireError::Protocol {
                url: endpoint.url.clone(),
                reason: format!("`{model}` sent an empty embedding"),
            }
            .into());
        }
        let identity = EmbedderIdentity {
            name: model.to_string(),
            dimension,
            // The weights are out of reach: the endpoint and model stand
            // for them, so another server's vectors never pass as these.
            weights_sha256: hex::encode(Sha256::digest(format!("{}\n{model}", endpoint.url))),
            engine: format!("{REMOTE_ENGINE_PREFIX}{}", endpoint.url),
            precision: REMOTE_PRECISION.to_string(),
        };
        Ok(RemoteEmbedder {
            identity,
            model: model.to_string(),
            client,
            tokenizer,
            max_tokens,
        })
    }
}

impl Embedder for RemoteEmbedder {
    fn identity(&self) -> &EmbedderIdentity {
        &self.identity
    }

    fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            for mut vector in self.client.embeddings(&self.model, batch)? {
                if vector.len() != self.identity.dimension {
                    return Err(WireError::Protocol {
                        url: self.client.endpoint().url.clone(),
                        reason: format!(
                            "`{}` sent a {}-dimensional vector, not {}",
                            self.model,
                            vector.len(),
                            self.identity.dimension
                        ),
                    }
                    .into());
                }
                let length = crate::norm(&vector);
                if length > 0.0 {
                    vector.iter_mut().for_each(|x| *x /= length);
                }
                vectors.push(vector);
            }
        }
        Ok(vectors)
    }

    /// A remote model's weights are on its server.
    fn token_embeddings(&self) -> Option<&TokenEmbeddingTable> {
        None
    }
}
