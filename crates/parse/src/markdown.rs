//! Markdown: the source text itself, with headings found by pulldown-cmark.
//!
//! The text is kept verbatim so that byte spans point into what the user
//! wrote; headings give sections (and the chunker splits at them).

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::{Extracted, Format, Section};

pub(super) fn extract(text: String) -> Extracted {
    let mut sections = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (event, range) in Parser::new(&text).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { .. }) => current = Some((range.start, String::new())),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, title)) = current.as_mut() {
                    title.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((start, title)) = current.take() {
                    let title = title.trim().to_string();
                    if !title.is_empty() {
                        sections.push(Section { start, title });
                    }
                }
            }
            _ => {}
        }
    }
    Extracted::unpaged(Format::Markdown, text, sections)
}
