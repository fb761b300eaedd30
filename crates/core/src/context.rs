//! A passage shown in its document: the text around a cited span, cut at
//! paragraph or sentence boundaries, with the page the span starts on.
//!
//! Invariant: reads the catalog's stored text only; spans are byte offsets
//! into that text, exactly as the chunker recorded them.

use crate::{Library, LibraryError};

/// Bytes of surrounding text shown on each side of a passage, before
/// snapping to a boundary: a few paragraphs, enough to read the passage in
/// context without loading a whole book into the view.
pub const CONTEXT_BYTES: usize = 1500;

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Catalog(#[from] quarry_store::StoreError),
    #[error("document {0} is not in the library (it may have been removed)")]
    NoDocument(i64),
    #[error("span {start}..{end} is outside document {document_id} (it may have been re-indexed)")]
    BadSpan {
        document_id: i64,
        start: usize,
        end: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct PassageContext {
    pub document_id: i64,
    pub path: String,
    pub title: Option<String>,
    /// The page the passage starts on (documents with pages only).
    pub page: Option<u32>,
    /// What `page` counts: "page", "slide", "sheet", "message".
    pub unit: &'static str,
    /// The passage's page was read by OCR from a scan or photo.
    pub ocr: bool,
    pub before: String,
    pub passage: String,
    pub after: String,
    /// The document goes on beyond what is shown.
    pub truncated_before: bool,
    pub truncated_after: bool,
}

/// The passage at `start..end` of `document_id` with `context` bytes (about)
/// on each side.
pub fn passage_context(
    library: &Library,
    document_id: i64,
    start: usize,
    end: usize,
    context: usize,
) -> Result<PassageContext, ContextError> {
    let (document, stored) = {
        let catalog = library.read();
        let document = catalog.document_by_id(document_id)?;
        let stored = catalog.document_text(document_id)?;
        document
            .zip(stored)
            .ok_or(ContextError::NoDocument(document_id))?
    };
    let text = stored.text.as_str();
    let bad_span = || ContextError::BadSpan {
        document_id,
        start,
        end,
    };
    if start > end || end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
        return Err(bad_span());
    }
    let from = snap_back(text, start.saturating_sub(context), start);
    let to = snap_forward(text, (end + context).min(text.len()), end);
    let page_span = stored
        .pages
        .iter()
        .find(|p| p.start <= start && start < p.end.max(p.start + 1));
    Ok(PassageContext {
        document_id,
        path: document.path,
        title: document.title,
        page: page_span.map(|p| p.page),
        unit: quarry_parse::unit_of(document.format.as_deref().unwrap_or("")),
        ocr: page_span.is_some_and(|p| p.ocr),
        before: text[from..start].to_string(),
        passage: text[start..end].to_string(),
        after: text[end..to].to_string(),
        truncated_before: from > 0,
        truncated_after: to < text.len(),
    })
}

/// Move `at` (≤ `limit`) forward to the start of a paragraph, else of a
/// sentence, else of a word, without passing `limit`.
fn snap_back(text: &str, at: usize, limit: usize) -> usize {
    if at == 0 {
        return 0;
    }
    let window = &text[floor_boundary(text, at)..limit];
    let base = limit - window.len();
    for separator in ["\n\n", ". ", " "] {
        if let Some(i) = window.find(separator) {
            return base + i + separator.len();
        }
    }
    limit
}

/// Move `at` (≥ `limit`) back to the end of a paragraph, else of a
/// sentence, else of a word, without passing `limit`.
fn snap_forward(text: &str, at: usize, limit: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    let window = &text[limit..floor_boundary(text, at)];
    for (separator, keep) in [("\n\n", 0), (". ", 1), (" ", 0)] {
        if let Some(i) = window.rfind(separator) {
            return limit + i + keep;
        }
    }
    limit
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::{snap_back, snap_forward};

    #[test]
    fn context_snaps_to_paragraphs_then_sentences_then_words() {
        let text =
            "First para.\n\nSecond one. Third sentence here. Cited passage. After it. More words follow";
        let start = text.find("Cited").unwrap();
        let end = start + "Cited passage.".len();
        // A cut inside the second paragraph snaps to a sentence start.
        assert_eq!(&text[snap_back(text, 16, start)..start], "Third sentence here. ");
        // A cut in the first paragraph snaps to the paragraph break.
        assert_eq!(
            &text[snap_back(text, 3, start)..start],
            "Second one. Third sentence here. "
        );
        // Forward: to the end of a sentence, keeping its full stop.
        let to = snap_forward(text, text.len() - 3, end);
        assert_eq!(&text[end..to], " After it.");
        // Nothing to cut at: the whole span is kept.
        assert_eq!(snap_back(text, 0, start), 0);
        assert_eq!(snap_forward(text, text.len(), end), text.len());
        // Multi-byte text never splits a character.
        let accents = "éé éé. ééé ééé";
        let cut = snap_back(accents, 1, accents.len());
        assert!(accents.is_char_boundary(cut));
    }
}
