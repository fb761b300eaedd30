//! What every XML-based format (DOCX, PPTX, ODF, EPUB's package) needs from
//! quick-xml: an element's text with entity references resolved, and an
//! attribute by local name.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::XmlVersion;

/// The text an event contributes to its element: text and CDATA as they
/// are, `&amp;`-style and `&#233;` references resolved (quick-xml reports
/// them as events of their own). Unknown entities contribute nothing.
pub(crate) fn text<'a>(event: &'a Event<'_>) -> Option<Cow<'a, str>> {
    match event {
        Event::Text(t) => Some(t.xml10_content()),
        Event::CData(c) => Some(Cow::Borrowed(c.as_ref())),
        Event::GeneralRef(r) => {
            if r.is_char_ref() {
                r.resolve_char_ref()
                    .ok()
                    .flatten()
                    .map(|c| Cow::Owned(c.to_string()))
            } else {
                quick_xml::escape::resolve_predefined_entity(&r.xml10_content()).map(Cow::Borrowed)
            }
        }
        _ => None,
    }
}

/// The value of the attribute whose local name (no namespace prefix) is
/// `name`, unescaped.
pub(crate) fn attribute(element: &BytesStart<'_>, name: &str) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .map(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .map(Cow::into_owned)
                .unwrap_or_else(|_| a.value.clone().into_owned())
        })
}

/// Collapse runs of whitespace within each line and drop blank lines beyond
/// one, so text assembled from XML runs reads like the document.
pub(crate) fn tidy_lines(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut blank = false;
    for line in raw.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        blank = false;
        out.push_str(&line);
    }
    out
}
