//! HTML: the readable main text, without scripts, styles or navigation.
//!
//! Prefers `<main>` or `<article>` when the page has one; otherwise the body
//! minus page furniture (nav, header, footer, aside, forms).

use scraper::{ElementRef, Html, Node, Selector};

use super::{Extracted, Format, Section};

/// Elements whose content is never document text.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "button", "svg",
    "iframe", "canvas", "select", "head",
];
/// Elements that start a new line of text.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "tr",
    "table",
    "blockquote",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "br",
    "hr",
    "figure",
    "figcaption",
    "address",
    "details",
    "summary",
];

pub(super) fn extract(source: &str) -> Extracted {
    let doc = Html::parse_document(source);
    let select = |s: &str| Selector::parse(s).expect("static selector");
    let title = doc
        .select(&select("title"))
        .next()
        .map(|t| collapse(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let root = doc
        .select(&select("main, article, [role=main]"))
        .next()
        .or_else(|| doc.select(&select("body")).next())
        .unwrap_or_else(|| doc.root_element());

    let mut out = Writer::default();
    out.walk(root, false);
    let mut extracted = Extracted::unpaged(Format::Html, out.text.trim_end().to_string(), out.sections);
    if title.is_some() {
        extracted.title = title;
    }
    extracted
}

#[derive(Default)]
struct Writer {
    text: String,
    sections: Vec<Section>,
}

impl Writer {
    fn walk(&mut self, element: ElementRef, in_pre: bool) {
        let name = element.value().name();
        if SKIPPED.contains(&name) {
            return;
        }
        let block = BLOCKS.contains(&name);
        let heading = matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
        let pre = in_pre || name == "pre";
        if block {
            self.break_line(heading);
        }
        let heading_start = self.text.len();
        for child in element.children() {
            match child.value() {
                Node::Text(t) => self.push_inline(t, pre),
                Node::Element(_) => {
                    if let Some(el) = ElementRef::wrap(child) {
                        self.walk(el, pre);
                    }
                }
                _ => {}
            }
        }
        if heading {
            let title = collapse(&self.text[heading_start..]);
            if !title.is_empty() {
                self.sections.push(Section {
                    start: heading_start,
                    title,
                });
            }
        }
        if block {
            self.break_line(heading);
        }
    }

    fn push_inline(&mut self, raw: &str, pre: bool) {
        if pre {
            self.text.push_str(raw);
            return;
        }
        let collapsed = collapse(raw);
        if collapsed.is_empty() {
            if raw.chars().any(char::is_whitespace)
                && !self.text.ends_with([' ', '\n'])
                && !self.text.is_empty()
            {
                self.text.push(' ');
            }
            return;
        }
        let needs_space = raw.starts_with(char::is_whitespace)
            && !self.text.is_empty()
            && !self.text.ends_with([' ', '\n']);
        if needs_space {
            self.text.push(' ');
        }
        self.text.push_str(&collapsed);
        if raw.ends_with(char::is_whitespace) {
            self.text.push(' ');
        }
    }

    /// End the current line; headings get a blank line around them so the
    /// chunker sees them as paragraph boundaries.
    fn break_line(&mut self, paragraph: bool) {
        while self.text.ends_with(' ') {
            self.text.pop();
        }
        if self.text.is_empty() {
            return;
        }
        let want = if paragraph { "\n\n" } else { "\n" };
        if !self.text.ends_with(want) {
            if self.text.ends_with('\n') && paragraph {
                self.text.push('\n');
            } else if !self.text.ends_with('\n') {
                self.text.push_str(want);
            }
        }
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_text_without_furniture() {
        let page = r#"<!doctype html><html><head><title>Pump notes</title>
            <style>p{color:red}</style><script>var secret = "tracking";</script></head>
            <body><nav><a href="/">Home</a> | <a href="/x">Menu item</a></nav>
            <h1>Seals</h1><p>The <b>impeller</b> seal
               lasts 2000 hours.</p><ul><li>one</li><li>two</li></ul>
            <footer>Copyright footer</footer></body></html>"#;
        let e = extract(page);
        assert_eq!(e.title.as_deref(), Some("Pump notes"));
        assert_eq!(e.text, "Seals\n\nThe impeller seal lasts 2000 hours.\none\ntwo");
        assert_eq!(
            e.sections,
            vec![Section {
                start: 0,
                title: "Seals".into()
            }]
        );
        for absent in ["tracking", "color", "Menu", "Copyright"] {
            assert!(!e.text.contains(absent), "{absent} leaked into {:?}", e.text);
        }
    }

    #[test]
    fn prefers_main_element() {
        let e = extract("<body><div>sidebar junk</div><main><p>Real content.</p></main></body>");
        assert_eq!(e.text, "Real content.");
    }
}
