//! EPUB: the chapters of the spine, in reading order, each read as HTML;
//! chapter titles (and the headings inside them) are sections.
//!
//! Read with the shared bounded zip reader and `quick-xml` for the package
//! document: the EPUB crates (rbook, epub) open the zip themselves without
//! bounds on inflation, and the HTML reader we already have does the rest.

use std::collections::HashMap;

use quick_xml::events::Event;

use super::pptx::resolve;
use super::zipped::Archive;
use super::{html, xml, ExtractError, Extracted, Format, Section};

pub(super) fn extract(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let mut archive = Archive::open(bytes, "EPUB")?;
    let container = archive.require("META-INF/container.xml")?;
    let package_path = first_attribute(&container, "rootfile", "full-path")
        .map_err(|e| archive.corrupt(e))?
        .ok_or_else(|| archive.corrupt("META-INF/container.xml names no package document"))?;
    let package = archive.require(&package_path)?;
    let package = Package::read(&package).map_err(|e| archive.corrupt(e))?;
    let base = package_path.rsplit_once('/').map_or("", |(dir, _)| dir);
    let (mut text, mut sections) = (String::new(), Vec::new());
    for idref in &package.spine {
        let Some((href, media_type)) = package.manifest.get(idref) else {
            continue;
        };
        if !media_type.contains("html") {
            continue;
        }
        let path = resolve(base, &percent_decoded(href));
        let Some(chapter) = archive.read(&path)? else {
            tracing::warn!(path, "EPUB spine names a chapter that is not in the file");
            continue;
        };
        let chapter = html::extract(&String::from_utf8_lossy(&chapter));
        if chapter.text.trim().is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        let start = text.len();
        // The chapter is a section from its first byte, named by its first
        // heading or its HTML title.
        let chapter_title = chapter
            .sections
            .first()
            .filter(|s| s.start == 0)
            .map(|s| s.title.clone())
            .or(chapter.title.clone());
        if let Some(title) = chapter_title.filter(|_| chapter.sections.first().is_none_or(|s| s.start > 0)) {
            sections.push(Section { start, title });
        }
        sections.extend(chapter.sections.into_iter().map(|s| Section {
            start: start + s.start,
            title: s.title,
        }));
        text.push_str(&chapter.text);
    }
    Ok(Extracted {
        format: Format::Epub,
        title: package
            .title
            .or_else(|| sections.first().map(|s| s.title.clone())),
        text,
        pages: Vec::new(),
        sections,
    })
}

/// What the package document (`.opf`) says: title, manifest, reading order.
#[derive(Default)]
struct Package {
    title: Option<String>,
    /// id → (href, media type)
    manifest: HashMap<String, (String, String)>,
    /// Manifest ids in reading order.
    spine: Vec<String>,
}

impl Package {
    fn read(opf: &[u8]) -> Result<Package, quick_xml::Error> {
        let mut reader = quick_xml::Reader::from_reader(opf);
        let mut buf = Vec::new();
        let mut package = Package::default();
        let (mut in_title, mut title) = (false, String::new());
        loop {
            let event = reader.read_event_into(&mut buf)?;
            if in_title {
                if let Some(text) = xml::text(&event) {
                    title.push_str(&text);
                }
            }
            match &event {
                Event::Start(e) if e.local_name().as_ref() == "title" && package.title.is_none() => {
                    in_title = true
                }
                Event::End(e) if e.local_name().as_ref() == "title" && in_title => {
                    in_title = false;
                    package.title = Some(title.trim().to_string()).filter(|t| !t.is_empty());
                }
                Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                    "item" => {
                        if let (Some(id), Some(href)) = (xml::attribute(e, "id"), xml::attribute(e, "href")) {
                            let media_type = xml::attribute(e, "media-type").unwrap_or_default();
                            package.manifest.insert(id, (href, media_type));
                        }
                    }
                    "itemref" => package.spine.extend(xml::attribute(e, "idref")),
                    _ => {}
                },
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        Ok(package)
    }
}

/// The value of `attribute` on the first `element` of an XML document.
fn first_attribute(
    document: &[u8],
    element: &str,
    attribute: &str,
) -> Result<Option<String>, quick_xml::Error> {
    let mut reader = quick_xml::Reader::from_reader(document);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == element => {
                return Ok(xml::attribute(&e, attribute));
            }
            Event::Eof => return Ok(None),
            _ => {}
        }
        buf.clear();
    }
}

/// Manifest hrefs are URLs: `chapter%201.xhtml` names `chapter 1.xhtml`.
fn percent_decoded(href: &str) -> String {
    let href = href.split('#').next().unwrap_or(href);
    percent_encoding::percent_decode_str(href)
        .decode_utf8_lossy()
        .into_owned()
}
