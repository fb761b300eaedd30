//! Token-aware chunking that keeps positions for citations.
//!
//! Sizes are counted in the embedder's own word pieces (text-splitter with the
//! model's `tokenizers::Tokenizer`), and text-splitter prefers the largest
//! semantic unit that fits: sections (Markdown), paragraphs, lines, sentences,
//! then words. Each chunk is an exact slice `text[start..end]` of the
//! document's extracted text, so a citation can point back to it.
//!
//! Why these sizes, for all-MiniLM-L6-v2 (256 positions, 254 for content):
//! - at most [`MAX_CHUNK_TOKENS`] = 200 pieces: well inside the window, so no
//!   chunk is ever truncated, and about one paragraph, so one chunk vector
//!   stands for one topic (MiniLM was fine-tuned on 128-piece inputs; longer
//!   chunks blur their vector);
//! - at least [`MIN_CHUNK_TOKENS`] = 120 when the text allows: smaller chunks
//!   lose context and multiply the vectors to search;
//! - [`OVERLAP_TOKENS`] = 32 (about a sentence): a fact that straddles a
//!   boundary still appears whole in one chunk.
//!
//! Models with a smaller window get proportionally smaller chunks.
//!
//! Invariant: chunk knows nothing of storage or indexes; it never loads a
//! model, it is handed a tokenizer.

use text_splitter::{ChunkCapacity, ChunkConfig, MarkdownSplitter, TextSplitter};
use tokenizers::Tokenizer;

use quarry_parse::{Extracted, Format};

pub const MAX_CHUNK_TOKENS: usize = 200;
pub const MIN_CHUNK_TOKENS: usize = 120;
pub const OVERLAP_TOKENS: usize = 32;

/// One passage of a document, positioned in its extracted text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub ordinal: usize,
    /// Byte span in [`Extracted::text`].
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub page: Option<u32>,
    pub section: Option<String>,
    /// Word pieces including the model's special tokens ([CLS], [SEP]).
    pub token_count: usize,
    /// The text was recognised by OCR (its page is a scan or photo).
    pub ocr: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk configuration rejected: {0}")]
    Config(String),
    #[error("tokenizer failed: {0}")]
    Tokenizer(String),
    #[error("chunk {ordinal} has {tokens} word pieces, over the model's {limit}: it would be truncated")]
    Oversized {
        ordinal: usize,
        tokens: usize,
        limit: usize,
    },
}

pub struct Chunker {
    tokenizer: Tokenizer,
    text: TextSplitter<Tokenizer>,
    markdown: MarkdownSplitter<Tokenizer>,
    model_max_tokens: usize,
}

impl Chunker {
    /// `tokenizer` is the embedder's; `model_max_tokens` its window
    /// including special tokens.
    pub fn new(tokenizer: &Tokenizer, model_max_tokens: usize) -> Result<Self, ChunkError> {
        // The sizer must see whole texts: no truncation, no padding.
        let mut sizer = tokenizer.clone();
        sizer
            .with_truncation(None)
            .map_err(|e| ChunkError::Tokenizer(e.to_string()))?;
        sizer.with_padding(None);
        let room = model_max_tokens.saturating_sub(2 + 8).max(16);
        let max = MAX_CHUNK_TOKENS.min(room);
        let min = MIN_CHUNK_TOKENS.min(max * 3 / 5);
        let overlap = OVERLAP_TOKENS.min(min / 3);
        let config = || -> Result<ChunkConfig<Tokenizer>, ChunkError> {
            let capacity = ChunkCapacity::new(min)
                .with_max(max)
                .map_err(|e| ChunkError::Config(e.to_string()))?;
            Ok(ChunkConfig::new(capacity)
                .with_sizer(sizer.clone())
                .with_overlap(overlap)
                .map_err(|e| ChunkError::Config(e.to_string()))?
                .with_trim(true))
        };
        Ok(Chunker {
            text: TextSplitter::new(config()?),
            markdown: MarkdownSplitter::new(config()?),
            tokenizer: sizer,
            model_max_tokens,
        })
    }

    pub fn chunk(&self, doc: &Extracted) -> Result<Vec<Chunk>, ChunkError> {
        // Chunks never cross a page: a citation names one page, and all of
        // the chunk must be on it.
        let segments: Vec<(usize, usize)> = if doc.pages.is_empty() {
            vec![(0, doc.text.len())]
        } else {
            doc.pages.iter().map(|p| (p.start, p.end)).collect()
        };
        let mut spans: Vec<(usize, &str)> = Vec::new();
        for (start, end) in segments {
            let segment = &doc.text[start..end];
            let pieces: Vec<(usize, &str)> = match doc.format {
                Format::Markdown => self.markdown.chunk_indices(segment).collect(),
                _ => self.text.chunk_indices(segment).collect(),
            };
            spans.extend(pieces.into_iter().map(|(offset, text)| (start + offset, text)));
        }
        spans
            .into_iter()
            .filter(|(_, text)| !text.trim().is_empty())
            .enumerate()
            .map(|(ordinal, (start, text))| {
                let token_count = self
                    .tokenizer
                    .encode_fast(text, true)
                    .map_err(|e| ChunkError::Tokenizer(e.to_string()))?
                    .len();
                if token_count > self.model_max_tokens {
                    return Err(ChunkError::Oversized {
                        ordinal,
                        tokens: token_count,
                        limit: self.model_max_tokens,
                    });
                }
                Ok(Chunk {
                    ordinal,
                    start,
                    end: start + text.len(),
                    text: text.to_string(),
                    page: doc.page_at(start),
                    section: doc.section_at(start).map(str::to_string),
                    token_count,
                    ocr: doc.ocr_at(start),
                })
            })
            .collect()
    }
}
