//! Token-aware chunking that keeps positions for citations.
//!
//! Sizes are counted in the embedder's own word pieces (text-splitter, sizing
//! its candidates from one tokenisation of each page with the model's
//! `tokenizers::Tokenizer`: `SegmentSizer`), and text-splitter prefers the largest
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

use std::cell::RefCell;

use text_splitter::{ChunkCapacity, ChunkConfig, ChunkSizer, MarkdownSplitter, TextSplitter};
use tokenizers::{PostProcessor, Tokenizer};

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
    /// Word pieces the tokenizer adds to one text ([CLS] and [SEP]).
    special_tokens: usize,
    capacity: ChunkCapacity,
    overlap: usize,
    model_max_tokens: usize,
}

/// Bytes of a segment tokenised at a time by [`SegmentSizer`]: bounds the
/// tokenizer's transient memory (its `Encoding` holds ~40 bytes per word
/// piece) for a long text file, which is one segment.
const TOKENISED_AT_ONCE: usize = 64 * 1024;

/// Sizes text-splitter's candidates, pieces of one segment, by counting the
/// segment's word pieces that lie inside them. text-splitter's own sizer for
/// a `Tokenizer` tokenises every candidate it weighs: 1.35 s of CPU to chunk
/// 291 SciFact abstracts whose single tokenisation takes 0.13 s (5% of `quarry
/// add`'s CPU, taken from the encoder it shares two cores with). A BERT
/// tokenizer splits at whitespace and punctuation before it cuts words into
/// pieces, so a candidate whose ends fall between pre-tokens holds exactly
/// the pieces the whole segment has there; a candidate cutting through a word
/// piece (text-splitter's last resort, a word longer than a passage) is
/// tokenised itself. The passages and their counts are those of the
/// tokenizer itself on every candidate (`tests/it/ingest.rs` compares them).
struct SegmentSizer<'a> {
    tokenizer: &'a Tokenizer,
    segment: &'a str,
    /// The word pieces of the part of the segment text-splitter is weighing.
    window: RefCell<Window>,
}

/// Word pieces of `segment[from..tokenised_to]`, tokenised block by block
/// as text-splitter moves forward and dropped once it is well past them, so
/// a 200 MB text file holds the pieces of a few blocks, not 50 million.
#[derive(Default)]
struct Window {
    from: usize,
    tokenised_to: usize,
    /// Byte spans in the segment, in order.
    pieces: Vec<(usize, usize)>,
}

impl<'a> SegmentSizer<'a> {
    fn new(tokenizer: &'a Tokenizer, segment: &'a str) -> Self {
        SegmentSizer {
            tokenizer,
            segment,
            window: RefCell::default(),
        }
    }

    /// Tokenise blocks until `end` is covered; `None` if the tokenizer fails.
    fn cover(&self, window: &mut Window, end: usize) -> Option<()> {
        while window.tokenised_to < end {
            let block_start = window.tokenised_to;
            // Blocks end at whitespace, which no word piece crosses.
            let mut cut = (block_start + TOKENISED_AT_ONCE).min(self.segment.len());
            while !self.segment.is_char_boundary(cut) {
                cut += 1;
            }
            let block_end = self.segment[cut..]
                .find(char::is_whitespace)
                .map_or(self.segment.len(), |at| cut + at);
            let encoding = self
                .tokenizer
                .encode(&self.segment[block_start..block_end], false)
                .ok()?;
            window.pieces.extend(
                encoding
                    .get_offsets()
                    .iter()
                    .map(|&(start, end)| (block_start + start, block_start + end)),
            );
            window.tokenised_to = block_end;
        }
        Some(())
    }
}

impl ChunkSizer for SegmentSizer<'_> {
    fn size(&self, chunk: &str) -> usize {
        let window = &mut *self.window.borrow_mut();
        let span = (chunk.as_ptr() as usize)
            .checked_sub(self.segment.as_ptr() as usize)
            .map(|start| (start, start + chunk.len()))
            .filter(|&(start, end)| start >= window.from && end <= self.segment.len());
        let counted = span.and_then(|(start, end)| {
            self.cover(window, end)?;
            // Pieces a block behind the candidate are not asked about again.
            let behind = window
                .pieces
                .partition_point(|p| p.1 + TOKENISED_AT_ONCE <= start);
            if behind > window.pieces.len() / 2 {
                window.from = window.pieces[behind - 1].1;
                window.pieces.drain(..behind);
            }
            let pieces = &window.pieces;
            // Whether no word piece has `at` strictly inside it.
            let between_pieces = |at: usize| {
                let piece = pieces.partition_point(|p| p.1 <= at);
                pieces.get(piece).is_none_or(|p| p.0 >= at)
            };
            (between_pieces(start) && between_pieces(end)).then(|| {
                let first = pieces.partition_point(|p| p.0 < start);
                let after = pieces.partition_point(|p| p.1 <= end);
                after.saturating_sub(first)
            })
        });
        // Not a slice of the segment's window, or its ends cut a word piece.
        counted.unwrap_or_else(|| self.tokenizer.size(chunk))
    }
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
        let capacity = ChunkCapacity::new(min)
            .with_max(max)
            .map_err(|e| ChunkError::Config(e.to_string()))?;
        let special_tokens = sizer.get_post_processor().map_or(0, |p| p.added_tokens(false));
        let chunker = Chunker {
            tokenizer: sizer,
            special_tokens,
            capacity,
            overlap,
            model_max_tokens,
        };
        // The configuration is checked here, once, not at each segment.
        chunker.config(&SegmentSizer::new(&chunker.tokenizer, ""))?;
        Ok(chunker)
    }

    /// text-splitter's configuration for one segment, sized by its pieces.
    fn config<'s>(&self, sizer: &'s SegmentSizer) -> Result<ChunkConfig<&'s SegmentSizer<'s>>, ChunkError> {
        Ok(ChunkConfig::new(self.capacity)
            .with_sizer(sizer)
            .with_overlap(self.overlap)
            .map_err(|e| ChunkError::Config(e.to_string()))?
            .with_trim(true))
    }

    pub fn chunk(&self, doc: &Extracted) -> Result<Vec<Chunk>, ChunkError> {
        // Chunks never cross a page: a citation names one page, and all of
        // the chunk must be on it.
        let segments: Vec<(usize, usize)> = if doc.pages.is_empty() {
            vec![(0, doc.text.len())]
        } else {
            doc.pages.iter().map(|p| (p.start, p.end)).collect()
        };
        // (start in the document, text, word pieces with the special ones).
        let mut spans: Vec<(usize, &str, usize)> = Vec::new();
        for (start, end) in segments {
            let segment = &doc.text[start..end];
            let sizer = SegmentSizer::new(&self.tokenizer, segment);
            let config = self.config(&sizer)?;
            // Each passage is counted as text-splitter yields it, while its
            // word pieces are still in the sizer's window.
            let keep = |(_, text): &(usize, &str)| !text.trim().is_empty();
            let count = |(offset, text)| (start + offset, text, sizer.size(text) + self.special_tokens);
            match doc.format {
                Format::Markdown => spans.extend(
                    MarkdownSplitter::new(config)
                        .chunk_indices(segment)
                        .filter(keep)
                        .map(count),
                ),
                _ => spans.extend(
                    TextSplitter::new(config)
                        .chunk_indices(segment)
                        .filter(keep)
                        .map(count),
                ),
            }
        }
        spans
            .into_iter()
            .enumerate()
            .map(|(ordinal, (start, text, token_count))| {
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
