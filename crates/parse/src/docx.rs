//! DOCX: paragraph text and heading styles from `word/document.xml`.
//!
//! Written on the shared bounded zip reader and `quick-xml` rather than a
//! DOCX crate: we need a bound on decompression (zip bombs) and a streaming
//! read of only the paragraph text and heading styles, not a document model.

use quick_xml::events::Event;

use super::zipped::Archive;
use super::{xml, ExtractError, Extracted, Format, Paragraphs};

pub(super) fn extract(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let mut archive = Archive::open(bytes, "DOCX")?;
    let document = archive.require("word/document.xml")?;
    paragraphs(&document).map_err(|e| archive.corrupt(e))
}

/// Walk the body: each `w:p` becomes a line; `w:t` is text, `w:tab` a tab,
/// `w:br` a newline; a `w:pStyle` of Heading*/Title marks a section.
fn paragraphs(document: &[u8]) -> Result<Extracted, quick_xml::Error> {
    let mut reader = quick_xml::Reader::from_reader(document);
    let mut buf = Vec::new();
    let mut document = Paragraphs::default();
    let mut paragraph = String::new();
    let mut heading = false;
    let mut in_text = false;
    loop {
        let event = reader.read_event_into(&mut buf)?;
        if in_text {
            if let Some(text) = xml::text(&event) {
                paragraph.push_str(&text);
            }
        }
        match event {
            Event::Start(e) if e.local_name().as_ref() == "t" => in_text = true,
            Event::End(e) if e.local_name().as_ref() == "t" => in_text = false,
            Event::Empty(e) | Event::Start(e) => match e.local_name().as_ref() {
                "tab" => paragraph.push('\t'),
                "br" | "cr" => paragraph.push('\n'),
                "pStyle" => {
                    if let Some(style) = xml::attribute(&e, "val") {
                        let style = style.to_ascii_lowercase();
                        heading = style.starts_with("heading") || style == "title";
                    }
                }
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == "p" => {
                document.push(&paragraph, heading);
                paragraph.clear();
                heading = false;
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(document.finish(Format::Docx))
}
