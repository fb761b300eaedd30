//! Chunk embeddings: text in, one L2-normalised vector per text out.
//!
//! The [`Embedder`] trait is what the library (in `quarry-core`) sees; [`bert::SentenceEncoder`]
//! implements it with candle for any BERT-family sentence-transformers folder,
//! computing what `SentenceTransformer.encode(normalize_embeddings=True)`
//! computes: the whole encoder, then the folder's pooling, then L2 norm.
//! (Token embeddings — `embeddings.word_embeddings.weight` — are a part of
//! the model used inside the encoder; Quarry never stores them.)
//!
//! [`remote::RemoteEmbedder`] asks an OpenAI-compatible server instead.
//!
//! Invariant: embed loads weights from a local folder it is given, or asks
//! the server it is given; it never searches for models, and knows nothing
//! of storage or indexes.

pub mod bert;
mod forward;
pub mod int8;
pub mod remote;

use serde::{Deserialize, Serialize};

pub use bert::SentenceEncoder;
pub use remote::{RemoteEmbedder, RemoteEmbedding};

/// What identifies the vectors an embedder makes: a library remembers this
/// and refuses to mix vectors from two embedders. The same weights run by
/// another engine or at another precision (int8, say) make other vectors,
/// so both are part of the identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedderIdentity {
    pub name: String,
    pub dimension: usize,
    /// sha256 of the weights file (for a remote model, of its endpoint and
    /// id: its weights are out of reach).
    pub weights_sha256: String,
    /// The code that runs the model ([`CANDLE_ENGINE`] for
    /// [`SentenceEncoder`]). Libraries written before this was recorded
    /// were all made by that engine, hence the default.
    #[serde(default = "default_engine")]
    pub engine: String,
    /// The arithmetic of the forward pass ([`F32`] for [`SentenceEncoder`]);
    /// the default, likewise, is what older libraries used.
    #[serde(default = "default_precision")]
    pub precision: String,
}

/// The engine of libraries made before Quarry ran its own forward pass:
/// candle-transformers' BERT ([`bert::CandleReference`] now).
pub const CANDLE_ENGINE: &str = "candle";
/// [`SentenceEncoder`]'s engine: Quarry's own BERT forward pass.
pub const QUARRY_ENGINE: &str = "quarry";
/// Engines that compute the same f32 function of the same weights: their
/// vectors differ by rounding only (the differential test holds every
/// pooled vector of one to cosine ≥ 0.9999 with the other's), so a library
/// made by one is searched and extended by the other without re-embedding.
const EXACT_F32_ENGINES: [&str; 2] = [CANDLE_ENGINE, QUARRY_ENGINE];
/// A [`RemoteEmbedder`]'s engine is this followed by the server's URL.
pub const REMOTE_ENGINE_PREFIX: &str = "openai-compatible ";
/// Full single precision throughout the encoder.
pub const F32: &str = "f32";
/// Linear layers in 8-bit integers, the rest in f32 ([`int8`]).
pub const INT8: &str = "int8";

fn default_engine() -> String {
    CANDLE_ENGINE.to_string()
}

fn default_precision() -> String {
    F32.to_string()
}

impl EmbedderIdentity {
    /// The model and where or how it runs, as a person reads it:
    /// "all-MiniLM-L6-v2 at int8", "bge-small-en at http://gpu-box:8080/v1".
    pub fn described(&self) -> String {
        match self.server() {
            Some(url) => format!("{} at {url}", self.name),
            None => format!("{} at {}", self.name, self.precision),
        }
    }

    /// The server that computes these vectors, for a remote embedder.
    pub fn server(&self) -> Option<&str> {
        self.engine.strip_prefix(REMOTE_ENGINE_PREFIX)
    }

    /// The engine as far as the vectors are concerned: every engine of
    /// [`EXACT_F32_ENGINES`] at f32 is named as the first of them.
    fn vectors_engine(&self) -> &str {
        if self.precision == F32 && EXACT_F32_ENGINES.contains(&self.engine.as_str()) {
            CANDLE_ENGINE
        } else {
            &self.engine
        }
    }

    /// Whether vectors of `self` and of `other` may share a library: the
    /// same weights at the same precision, run by one engine or by two that
    /// compute the same thing (see [`EXACT_F32_ENGINES`]).
    pub fn same_vectors(&self, other: &EmbedderIdentity) -> bool {
        self.fingerprint() == other.fingerprint() && self.dimension == other.dimension
    }

    /// One string that changes whenever the vectors would: weights, engine
    /// and precision (the name and dimension follow from the weights). Stamped
    /// on derived indexes so a graph of other vectors is never loaded.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}:{}:{}",
            self.weights_sha256,
            self.vectors_engine(),
            self.precision
        )
    }
}

impl std::fmt::Display for EmbedderIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}-d, weights {}, {} {})",
            self.name,
            self.dimension,
            &self.weights_sha256[..12.min(self.weights_sha256.len())],
            self.engine,
            self.precision
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid model file ({detail}); it may be corrupt or truncated: run `models/fetch` again or point --embedder at a good copy")]
    Corrupt {
        path: std::path::PathBuf,
        detail: String,
    },
    #[error("unsupported embedding model at {path}: {detail}")]
    Unsupported {
        path: std::path::PathBuf,
        detail: String,
    },
    #[error("tokenizer failed: {0}")]
    Tokenizer(String),
    #[error("encoder failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// (Not a `#[source]`: the message holds the wire error's already.)
    #[error("embedding server: {0}")]
    Remote(quarry_openai::WireError),
}

impl From<quarry_openai::WireError> for EmbedError {
    fn from(e: quarry_openai::WireError) -> Self {
        EmbedError::Remote(e)
    }
}

/// Euclidean length of a vector.
pub fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// Cosine similarity (0 when either vector is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let denominator = norm(a) * norm(b);
    if denominator > 0.0 {
        dot / denominator
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cosine_and_norm_of_known_vectors() {
        use super::{cosine, norm};
        assert!(cosine(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-6);
        assert!((cosine(&[3.0, 4.0], &[6.0, 8.0]) - 1.0).abs() < 1e-6);
        assert!((cosine(&[1.0, 1.0], &[1.0, 0.0]) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert!((norm(&[3.0, 4.0]) - 5.0).abs() < 1e-6);
    }

    #[test]
    fn identities_written_before_engine_and_precision_read_as_candle_f32_the_own_engines_vectors() {
        use super::EmbedderIdentity;
        let old: EmbedderIdentity = serde_json::from_str(
            r#"{"name":"all-MiniLM-L6-v2","dimension":384,"weights_sha256":"53aa51172d14"}"#,
        )
        .unwrap();
        assert_eq!((old.engine.as_str(), old.precision.as_str()), ("candle", "f32"));
        let int8 = EmbedderIdentity {
            precision: "int8".into(),
            ..old.clone()
        };
        assert_ne!(old, int8, "another precision is another embedder");
        assert_ne!(old.fingerprint(), int8.fingerprint());
        assert!(!old.same_vectors(&int8));
        // Quarry's own forward pass in f32 computes candle's vectors.
        let own = EmbedderIdentity {
            engine: super::QUARRY_ENGINE.into(),
            ..old.clone()
        };
        assert!(own.same_vectors(&old) && old.same_vectors(&own));
        assert_eq!(own.fingerprint(), old.fingerprint());
        let own_int8 = EmbedderIdentity {
            precision: "int8".into(),
            ..own.clone()
        };
        assert!(!own_int8.same_vectors(&own));
        // Only f32 engines are interchangeable: at int8 each quantises its own way.
        assert!(!own_int8.same_vectors(&int8));
        let other_weights = EmbedderIdentity {
            weights_sha256: "0".repeat(64),
            ..own.clone()
        };
        assert!(!other_weights.same_vectors(&old));
        assert!(int8.to_string().contains("int8"), "{int8}");
    }
}

/// Where a model keeps its token embeddings: the `[vocab, dim]` table the
/// encoder's first layer looks each word piece up in (row = token id).
/// These are part of the model's weights; the library never stores them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenEmbeddingTable {
    pub file: std::path::PathBuf,
    /// The tensor's name in that file, e.g. `embeddings.word_embeddings.weight`.
    pub tensor: String,
    pub shape: Vec<usize>,
}

/// An embedding model Quarry can index and search with.
pub trait Embedder: Send + Sync {
    fn identity(&self) -> &EmbedderIdentity;
    /// The model's window in word pieces, special tokens included.
    fn max_tokens(&self) -> usize;
    fn tokenizer(&self) -> &tokenizers::Tokenizer;
    /// One unit-length vector per text, in input order. Texts longer than
    /// the window are truncated, as sentence-transformers does.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// The model's token-embedding table (`None` when the weights are on
    /// another machine).
    fn token_embeddings(&self) -> Option<&TokenEmbeddingTable>;
}
