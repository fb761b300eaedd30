//! PDF text layer, page by page (lopdf parses, pdf-extract lays out text).

use super::{ExtractError, Extracted, Format, PageSpan};

/// Pages are joined with a blank line so a chunk never glues the last word
/// of one page to the first of the next.
const PAGE_SEPARATOR: &str = "\n\n";

pub(super) fn extract(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let mut doc = lopdf::Document::load_mem(bytes).map_err(|e| classify(&e))?;
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        // An empty user password opens "owner-password only" PDFs; anything
        // else needs a password we do not have.
        return Err(ExtractError::Encrypted);
    }
    let page_numbers: Vec<u32> = doc.get_pages().keys().copied().collect();
    if page_numbers.is_empty() {
        return Err(ExtractError::Corrupt {
            format: "PDF",
            detail: "the document has no pages".into(),
        });
    }
    let mut text = String::new();
    let mut pages = Vec::with_capacity(page_numbers.len());
    let mut failed_pages = Vec::new();
    for page in page_numbers {
        let mut page_text = String::new();
        let mut output = pdf_extract::PlainTextOutput::new(&mut page_text);
        if pdf_extract::output_doc_page(&doc, &mut output, page).is_err() {
            failed_pages.push(page);
            continue;
        }
        let page_text = tidy(&page_text);
        if !text.is_empty() {
            text.push_str(PAGE_SEPARATOR);
        }
        let start = text.len();
        text.push_str(&page_text);
        pages.push(PageSpan {
            page,
            start,
            end: text.len(),
        });
    }
    if pages.is_empty() {
        return Err(ExtractError::Corrupt {
            format: "PDF",
            detail: format!("no page could be read (pages {failed_pages:?})"),
        });
    }
    if !failed_pages.is_empty() {
        tracing::warn!(?failed_pages, "some PDF pages could not be read");
    }
    Ok(Extracted {
        format: Format::Pdf,
        title: None,
        text,
        pages,
        sections: Vec::new(),
    })
}

fn classify(e: &lopdf::Error) -> ExtractError {
    let detail = e.to_string();
    if matches!(e, lopdf::Error::Decryption(_)) || detail.to_lowercase().contains("decrypt") {
        ExtractError::Encrypted
    } else {
        ExtractError::Corrupt {
            format: "PDF",
            detail,
        }
    }
}

/// pdf-extract emits ragged whitespace: trim each line, drop runs of blank
/// lines, keep paragraph breaks.
fn tidy(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut blank_run = 0;
    for line in raw.lines() {
        let line = line.trim();
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }
    out
}
