//! PDF text layer, page by page: lopdf parses, pdf-extract reports each
//! glyph and where it is, `pdf_layout` puts them in reading order and
//! paragraphs; pages without a text layer are read by OCR.

use super::pdf_layout::{self, PageGlyphs};
use super::{find, ocr, ExtractError, Extracted, Format, Units};

pub(super) fn extract(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    // A broken cross-reference table (an offset off by an edit, a
    // truncated trailer) is repaired as PDF readers do: by finding the
    // objects themselves.
    let (doc, broken) = match lopdf::Document::load_mem(bytes) {
        Ok(doc) => return read(doc, bytes),
        Err(e) if matches!(classify(&e), ExtractError::Encrypted) => return Err(ExtractError::Encrypted),
        Err(e) => match rebuilt_xref(bytes).and_then(|repaired| lopdf::Document::load_mem(&repaired).ok()) {
            Some(doc) => (doc, e),
            None => return Err(classify(&e)),
        },
    };
    // A file cut short repairs into a document whose pages point at objects
    // that are not there, on which pdf-extract panics: for a repaired file
    // that is the file's damage, not a parser crash.
    let damaged = |detail: String| ExtractError::Corrupt {
        format: "PDF",
        detail: format!("{broken}; {detail}"),
    };
    if doc.is_encrypted() {
        return Err(damaged("and it is encrypted".into()));
    }
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(doc, bytes))) {
        Ok(Ok(extracted)) => {
            tracing::info!("read a PDF whose cross-reference table was broken ({broken})");
            Ok(extracted)
        }
        Ok(Err(e)) => Err(damaged(e.to_string())),
        Err(_) => Err(damaged("the file is damaged or cut short".into())),
    }
}

/// Make the chain of `/Parent` links above `page` end. pdf-extract looks up
/// a page's inherited attributes (resources, media box) by following them
/// with no end but the root, so a damaged file whose chain loops (a page
/// its own parent; the fuzzer found one, `tests/data/fuzz/`) kept it
/// spinning until the worker's CPU limit. The link that closes the loop
/// is removed: the page then inherits what it can from the pages above.
fn cut_parent_cycle(doc: &mut lopdf::Document, page: lopdf::ObjectId) {
    let parent_of = |doc: &lopdf::Document, id| {
        doc.get_dictionary(id)
            .ok()?
            .get(b"Parent")
            .ok()?
            .as_reference()
            .ok()
    };
    let mut seen = std::collections::HashSet::from([page]);
    let mut current = page;
    while let Some(parent) = parent_of(doc, current) {
        if !seen.insert(parent) {
            if let Ok(dict) = doc.get_dictionary_mut(current) {
                dict.remove(b"Parent");
            }
            return;
        }
        current = parent;
    }
}

/// The text of a loaded document, page by page.
fn read(mut doc: lopdf::Document, bytes: &[u8]) -> Result<Extracted, ExtractError> {
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        // An empty user password opens "owner-password only" PDFs; anything
        // else needs a password we do not have.
        return Err(ExtractError::Encrypted);
    }
    let page_ids = doc.get_pages();
    for &page in page_ids.values() {
        cut_parent_cycle(&mut doc, page);
    }
    let page_numbers: Vec<u32> = page_ids.keys().copied().collect();
    if page_numbers.is_empty() {
        return Err(ExtractError::Corrupt {
            format: "PDF",
            detail: "the document has no pages".into(),
        });
    }
    let mut pages: Vec<(u32, Vec<String>)> = Vec::with_capacity(page_numbers.len());
    let mut failed_pages = Vec::new();
    let mut first_panic: Option<String> = None;
    for page in page_numbers {
        let mut glyphs = PageGlyphs::default();
        // pdf-extract panics on some fonts; that costs the page, not the
        // document.
        let output = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pdf_extract::output_doc_page(&doc, &mut glyphs, page)
        }));
        match output {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                failed_pages.push(page);
                continue;
            }
            Err(panic) => {
                failed_pages.push(page);
                first_panic.get_or_insert_with(|| super::panic_message(&*panic));
                continue;
            }
        }
        pages.push((page, glyphs.paragraphs()));
    }
    let mut paragraphs: Vec<Vec<String>> = pages.iter_mut().map(|(_, p)| std::mem::take(p)).collect();
    pdf_layout::drop_running_lines(&mut paragraphs);
    let page_texts: Vec<(u32, String)> = pages
        .iter()
        .zip(paragraphs)
        .map(|((page, _), paragraphs)| (*page, paragraphs.join("\n\n")))
        .collect();
    if page_texts.is_empty() {
        // Every page crashed the parser: that, with its words, is the reason.
        if let Some(message) = first_panic {
            return Err(ExtractError::ParserPanic {
                format: "pdf",
                message,
            });
        }
        return Err(ExtractError::Corrupt {
            format: "PDF",
            detail: format!("no page could be read (pages {failed_pages:?})"),
        });
    }
    if !failed_pages.is_empty() {
        tracing::warn!(?failed_pages, "some PDF pages could not be read");
    }
    // Pages without a text layer are images (scans, photos): OCR reads them.
    // (A page without text and without an image is blank, or a drawing:
    // nothing for OCR.)
    let has_image = |page: u32| {
        page_ids
            .get(&page)
            .is_some_and(|&id| doc.get_page_images(id).is_ok_and(|images| !images.is_empty()))
    };
    let scanned: Vec<u32> = page_texts
        .iter()
        .filter(|(page, text)| !has_text(text) && has_image(*page))
        .map(|&(page, _)| page)
        .collect();
    let mut recognised = Vec::new();
    if !scanned.is_empty() {
        match ocr::pdf_pages(bytes, &scanned) {
            Ok(pages) => recognised = pages,
            // A PDF that is all scan is unreadable without OCR: say so. One
            // with some scanned pages keeps its text pages.
            Err(e) if scanned.len() == page_texts.len() => return Err(e),
            Err(e) => tracing::warn!(pages = ?scanned, "scanned pages not read: {e}"),
        }
    }
    let mut units = Units::default();
    for (page, text) in &page_texts {
        match recognised.iter().find(|(p, _)| p == page) {
            Some((_, ocr_text)) => units.push(*page, None, ocr_text, true),
            None => units.push(*page, None, text, false),
        }
    }
    if units.is_empty() {
        return Err(ExtractError::NoTextLayer {
            pages: page_texts.len(),
        });
    }
    Ok(units.finish(Format::Pdf, None))
}

/// A page with only a stray character or two (a page number, a scanner's
/// stamp) has no text layer worth reading: it is a scan.
fn has_text(page: &str) -> bool {
    page.chars().filter(|c| c.is_alphanumeric()).count() >= 3
}

/// The PDF with a new cross-reference table and trailer appended, built
/// from the `N G obj` headers found in the file (the last definition of an
/// object wins, as with incremental updates) and the document catalog
/// named by the last trailer, or found by its `/Type /Catalog`. `None` if
/// no catalog is found (e.g. it is inside a compressed object stream).
///
/// Written by hand: lopdf has no repair, and the tools that do (qpdf,
/// poppler) are C++ programs, poppler under the GPL.
fn rebuilt_xref(bytes: &[u8]) -> Option<Vec<u8>> {
    // Object numbers past this (PDF's own limit) or past the file's size
    // are not objects of this file: a table sized by them would be huge.
    let max_number = (bytes.len() as u64).min(8_388_607) as u32;
    let mut headers: Vec<(u32, u16, usize, usize)> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let line_start = at == 0 || matches!(bytes[at - 1], b'\n' | b'\r');
        if line_start && bytes[at].is_ascii_digit() {
            if let Some((number, generation, body)) = object_header(&bytes[at..]) {
                if number <= max_number {
                    headers.push((number, generation, at, at + body));
                }
                at += body;
                continue;
            }
        }
        at += 1;
    }
    let mut offsets: std::collections::BTreeMap<u32, (u16, usize)> = Default::default();
    let mut catalog = None;
    for (i, &(number, generation, start, body)) in headers.iter().enumerate() {
        offsets.insert(number, (generation, start));
        // An object ends at its `endobj`, or at the next header: each byte
        // is searched once.
        let next = headers.get(i + 1).map_or(bytes.len(), |h| h.2);
        let object = &bytes[body..next];
        let object = &object[..find(object, b"endobj").unwrap_or(object.len())];
        if find(object, b"/Type/Catalog").is_some() || find(object, b"/Type /Catalog").is_some() {
            catalog = Some((number, generation));
        }
    }
    let root = last_trailer_root(bytes)
        .filter(|(n, _)| offsets.contains_key(n))
        .or(catalog)?;
    let size = offsets.keys().next_back().map_or(1, |n| n.saturating_add(1));
    let mut out = bytes.to_vec();
    out.extend_from_slice(b"\n");
    let xref_at = out.len();
    out.extend_from_slice(format!("xref\n0 {size}\n").as_bytes());
    for number in 0..size {
        let entry = match offsets.get(&number) {
            Some((generation, offset)) => format!("{offset:010} {generation:05} n\r\n"),
            None => "0000000000 65535 f\r\n".to_string(),
        };
        out.extend_from_slice(entry.as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {size} /Root {} {} R >>\nstartxref\n{xref_at}\n%%EOF\n",
            root.0, root.1
        )
        .as_bytes(),
    );
    Some(out)
}

/// `N G obj` at the start of `bytes`: the object's number, generation and
/// where its body starts.
fn object_header(bytes: &[u8]) -> Option<(u32, u16, usize)> {
    let head = std::str::from_utf8(&bytes[..bytes.len().min(32)])
        .or_else(|e| std::str::from_utf8(&bytes[..e.valid_up_to()]))
        .ok()?;
    let mut words = head.split_ascii_whitespace();
    let number = words.next()?.parse().ok()?;
    let generation = words.next()?.parse().ok()?;
    let keyword = words.next()?;
    if !keyword.starts_with("obj") {
        return None;
    }
    let body = head.find("obj")? + 3;
    Some((number, generation, body))
}

/// The `/Root N G R` of the last `trailer` dictionary in the file.
fn last_trailer_root(bytes: &[u8]) -> Option<(u32, u16)> {
    let trailer = bytes.windows(7).rposition(|w| w == b"trailer")?;
    let root = trailer + find(&bytes[trailer..], b"/Root")? + 5;
    let text = String::from_utf8_lossy(&bytes[root..bytes.len().min(root + 32)]).into_owned();
    let mut words = text.split_ascii_whitespace();
    Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
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
