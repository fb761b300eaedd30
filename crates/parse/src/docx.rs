//! DOCX: paragraph text and heading styles from `word/document.xml`.
//!
//! Written on `zip` + `quick-xml` rather than a DOCX crate because we need
//! two things those crates do not give: a bound on decompression checked
//! before inflating (zip bombs), and a streaming read of only the paragraph
//! text and heading styles, without building a whole document model.

use std::io::{Cursor, Read};

use quick_xml::events::Event;

use super::{ExtractError, Extracted, Format, Section};

/// The most `word/document.xml` may inflate to.
const MAX_XML_BYTES: u64 = 128 * 1024 * 1024;
/// Compression ratios past this on a large entry are treated as a bomb.
const MAX_RATIO: u64 = 200;

fn corrupt(detail: impl ToString) -> ExtractError {
    ExtractError::Corrupt {
        format: "DOCX",
        detail: detail.to_string(),
    }
}

pub(super) fn extract(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    let entry = archive
        .by_name("word/document.xml")
        .map_err(|_| corrupt("no word/document.xml inside"))?;
    let declared = entry.size();
    let compressed = entry.compressed_size().max(1);
    if declared > MAX_XML_BYTES || (declared > 16 * 1024 * 1024 && declared / compressed > MAX_RATIO) {
        return Err(ExtractError::ZipBomb { declared, compressed });
    }
    // The declared size can lie: bound the actual inflation too.
    let mut xml = Vec::with_capacity(declared as usize);
    entry
        .take(MAX_XML_BYTES + 1)
        .read_to_end(&mut xml)
        .map_err(corrupt)?;
    if xml.len() as u64 > MAX_XML_BYTES {
        return Err(ExtractError::ZipBomb {
            declared: xml.len() as u64,
            compressed,
        });
    }
    paragraphs(&xml)
}

/// Walk the body: each `w:p` becomes a line; `w:t` is text, `w:tab` a tab,
/// `w:br` a newline; a `w:pStyle` of Heading*/Title marks a section.
fn paragraphs(xml: &[u8]) -> Result<Extracted, ExtractError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut text = String::new();
    let mut sections = Vec::new();
    let mut paragraph = String::new();
    let mut heading = false;
    let mut in_text = false;
    loop {
        match reader.read_event_into(&mut buf).map_err(corrupt)? {
            Event::Start(e) if e.local_name().as_ref() == b"t" => in_text = true,
            Event::End(e) if e.local_name().as_ref() == b"t" => in_text = false,
            Event::Text(t) if in_text => paragraph.push_str(&t.unescape().map_err(corrupt)?),
            Event::Empty(e) | Event::Start(e) => match e.local_name().as_ref() {
                b"tab" => paragraph.push('\t'),
                b"br" | b"cr" => paragraph.push('\n'),
                b"pStyle" => {
                    if let Some(val) = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"val")
                    {
                        let style = String::from_utf8_lossy(&val.value).to_ascii_lowercase();
                        heading = style.starts_with("heading") || style == "title";
                    }
                }
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == b"p" => {
                let line = paragraph.trim();
                if !line.is_empty() {
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    if heading {
                        sections.push(Section {
                            start: text.len(),
                            title: line.to_string(),
                        });
                        // A blank line after a heading lets the chunker keep
                        // it with the paragraph that follows.
                    }
                    text.push_str(line);
                    if heading {
                        text.push('\n');
                    }
                }
                paragraph.clear();
                heading = false;
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(Extracted::unpaged(Format::Docx, text, sections))
}
