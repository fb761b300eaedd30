//! "Under the hood": why a passage was found for a question, and what Quarry
//! stored for it.
//!
//! Two kinds of embeddings meet here and are kept apart on purpose:
//! - **token embeddings** are rows of the model's `[vocab, dim]` table
//!   (`embeddings.word_embeddings.weight` in the model's weight file); a word
//!   piece's id is its row. They belong to the model and are never stored.
//! - the **chunk vector** is the one pooled vector the whole encoder made for
//!   the passage; the library stores exactly that, beside the passage's text.
//!
//! Invariant: inspection reads; it never changes the library.

use quarry_embed::{cosine, norm, EmbedError, TokenEmbeddingTable};
use quarry_store::StoreError;

use crate::{Library, LibraryError, SearchOptions};

/// Values of the stored vector shown: enough to see it is a real vector.
const VECTOR_PREVIEW: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Catalog(#[from] StoreError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error("passage {0} is not in the library (it may have been re-indexed or removed)")]
    NoPassage(u64),
    #[error("the question is empty")]
    EmptyQuestion,
}

/// One word piece of the passage as the embedding model's tokenizer cut it.
#[derive(Debug, Clone, PartialEq)]
pub struct WordPiece {
    pub piece: String,
    pub id: u32,
    /// Its row in the token-embedding table (the id, by construction).
    pub row: u32,
    /// Byte span in the passage text (0..0 for special tokens).
    pub start: usize,
    pub end: usize,
}

/// The pooled vector the library stored for the passage.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVector {
    pub dimension: usize,
    pub first: Vec<f32>,
    pub norm: f32,
    pub cosine_with_question: f32,
    /// Where it lives: the library's catalog.
    pub stored_in: String,
}

/// The passage's place in each ranking for this question (1-based ranks;
/// `None` where the retriever's candidates did not include it).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RetrievalScores {
    pub dense_rank: Option<usize>,
    pub dense_score: Option<f32>,
    pub lexical_rank: Option<usize>,
    pub lexical_score: Option<f32>,
    pub fused_rank: Option<usize>,
    pub fused_score: Option<f32>,
}

/// The model's token-embedding table, with what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEmbeddings {
    pub table: TokenEmbeddingTable,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub question: String,
    pub chunk_id: u64,
    pub path: String,
    pub page: Option<u32>,
    /// What `page` counts: "page", "slide", "sheet", "message".
    pub unit: &'static str,
    pub text: String,
    pub word_pieces: Vec<WordPiece>,
    /// The passage is longer than the model's window; pieces past it were
    /// not embedded.
    pub word_pieces_truncated: bool,
    pub token_embeddings: TokenEmbeddings,
    pub chunk_vector: StoredVector,
    pub retrieval: RetrievalScores,
}

/// Inspect passage `chunk_id` as retrieved for `question`.
pub fn inspect(library: &Library, question: &str, chunk_id: u64) -> Result<Inspection, InspectError> {
    if question.trim().is_empty() {
        return Err(InspectError::EmptyQuestion);
    }
    let (passage, stored) = {
        let catalog = library.read();
        let passage = catalog.chunks(&[chunk_id])?.pop();
        let vector = catalog.chunk_vector(chunk_id)?;
        passage.zip(vector).ok_or(InspectError::NoPassage(chunk_id))?
    };
    let embedder = library.embedder();

    let encoding = embedder
        .tokenizer()
        .encode(passage.text.as_str(), true)
        .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
    let word_pieces = encoding
        .get_tokens()
        .iter()
        .zip(encoding.get_ids())
        .zip(encoding.get_offsets())
        .map(|((piece, &id), &(start, end))| WordPiece {
            piece: piece.clone(),
            id,
            row: id,
            start,
            end,
        })
        .collect();
    let token_embeddings = match embedder.token_embeddings() {
        Some(table) => TokenEmbeddings {
            note: format!(
                "Each word piece's id is its row in this [{}] table inside the model's weights. \
                 The encoder starts from these rows; Quarry never stores them.",
                table
                    .shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(" × ")
            ),
            table: table.clone(),
        },
        None => TokenEmbeddings {
            note: format!(
                "The model runs on a server ({}): its token-embedding table is there, not here. \
                 The word pieces above come from the local tokenizer that sizes passages.",
                embedder.identity().engine
            ),
            table: TokenEmbeddingTable {
                file: std::path::PathBuf::new(),
                tensor: String::new(),
                shape: Vec::new(),
            },
        },
    };

    let question_vector = embedder.embed(&[question])?.pop().unwrap_or_default();
    let options = SearchOptions::default();
    let hits = library.search(
        question,
        &SearchOptions {
            k: options.candidates,
            ..options
        },
    )?;
    let retrieval = hits
        .iter()
        .find(|h| h.passage.chunk_id == chunk_id)
        .map(|h| RetrievalScores {
            dense_rank: h.scores.dense_rank,
            dense_score: h.scores.dense_score,
            lexical_rank: h.scores.lexical_rank,
            lexical_score: h.scores.lexical_score,
            fused_rank: Some(h.rank),
            fused_score: Some(h.scores.score),
        })
        .unwrap_or_default();

    Ok(Inspection {
        question: question.to_string(),
        chunk_id,
        path: passage.path,
        page: passage.page,
        unit: passage.unit,
        text: passage.text,
        word_pieces,
        word_pieces_truncated: !encoding.get_overflowing().is_empty(),
        token_embeddings,
        chunk_vector: StoredVector {
            dimension: stored.len(),
            first: stored.iter().take(VECTOR_PREVIEW).copied().collect(),
            norm: norm(&stored),
            cosine_with_question: cosine(&stored, &question_vector),
            stored_in: library.catalog_path().display().to_string(),
        },
        retrieval,
    })
}
