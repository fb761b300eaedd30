//! PPTX: each slide a unit ("slide N"), in the presentation's order, titled
//! by its title placeholder; its speaker notes follow, marked as notes.
//!
//! Read with the shared bounded zip reader and `quick-xml`, like DOCX: the
//! Rust PPTX crates build whole document models (or write only), and we
//! need the text of a few parts with decompression bounded.

use std::collections::HashMap;

use quick_xml::events::Event;

use super::zipped::Archive;
use super::{xml, ExtractError, Extracted, Format, Units};

/// Marks where a slide's speaker notes begin, in the text and the source view.
pub(crate) const NOTES_MARK: &str = "Speaker notes:";

pub(super) fn extract(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let mut archive = Archive::open(bytes, "PPTX")?;
    let presentation = archive.require("ppt/presentation.xml")?;
    let relations = archive.require("ppt/_rels/presentation.xml.rels")?;
    let targets = relationships(&relations).map_err(|e| archive.corrupt(e))?;
    let order = slide_ids(&presentation).map_err(|e| archive.corrupt(e))?;
    let mut units = Units::default();
    for (index, id) in order.iter().enumerate() {
        let number = index as u32 + 1;
        let Some(target) = targets.get(id) else { continue };
        let path = resolve("ppt", target);
        let Some(slide) = archive.read(&path)? else {
            continue;
        };
        let shapes = shapes(&slide).map_err(|e| archive.corrupt(e))?;
        let notes = match notes_path(&mut archive, &path)? {
            Some(notes) => match archive.read(&notes)? {
                Some(xml) => shapes_text(&shapes_of_notes(&xml).map_err(|e| archive.corrupt(e))?),
                None => String::new(),
            },
            None => String::new(),
        };
        let title = shapes
            .iter()
            .find(|s| matches!(s.placeholder.as_deref(), Some("title" | "ctrTitle")))
            .map(|s| xml::tidy_lines(&s.text).replace('\n', " "))
            .filter(|t| !t.is_empty());
        let mut body = shapes_text(&shapes);
        if !notes.is_empty() {
            body.push_str(&format!("\n\n{NOTES_MARK}\n{notes}"));
        }
        let fallback = format!("Slide {number}");
        units.push(number, Some(title.as_deref().unwrap_or(&fallback)), &body, false);
    }
    let title = match archive.read("docProps/core.xml")? {
        Some(core) => document_title(&core),
        None => None,
    };
    Ok(units.finish(Format::Pptx, title))
}

/// A shape's placeholder type (`title`, `body`, `sldNum`…) and its text.
struct Shape {
    placeholder: Option<String>,
    text: String,
}

/// Placeholders that repeat on every slide and say nothing of its content.
const FURNITURE: &[&str] = &["sldNum", "dt", "ftr", "hdr", "sldImg"];

/// The text of the slide's shapes, title first, furniture left out.
fn shapes_text(shapes: &[Shape]) -> String {
    let is_title = |s: &&Shape| matches!(s.placeholder.as_deref(), Some("title" | "ctrTitle"));
    let titles = shapes.iter().filter(is_title);
    let others = shapes
        .iter()
        .filter(|s| !is_title(s) && !FURNITURE.contains(&s.placeholder.as_deref().unwrap_or("")));
    let parts: Vec<String> = titles
        .chain(others)
        .map(|s| xml::tidy_lines(&s.text))
        .filter(|t| !t.is_empty())
        .collect();
    parts.join("\n")
}

fn shapes_of_notes(xml: &[u8]) -> Result<Vec<Shape>, quick_xml::Error> {
    // In a notes page, the slide's image and number are furniture and the
    // `body` placeholder holds the notes.
    Ok(shapes(xml)?
        .into_iter()
        .filter(|s| matches!(s.placeholder.as_deref(), Some("body") | None))
        .collect())
}

/// Shapes (`p:sp`) and tables (`p:graphicFrame`) of a slide, in order.
fn shapes(slide: &[u8]) -> Result<Vec<Shape>, quick_xml::Error> {
    let mut reader = quick_xml::Reader::from_reader(slide);
    let mut buf = Vec::new();
    let mut shapes = Vec::new();
    let mut current: Option<Shape> = None;
    let mut depth = 0usize;
    let (mut in_text, mut in_table) = (false, false);
    loop {
        let event = reader.read_event_into(&mut buf)?;
        if in_text {
            if let (Some(shape), Some(text)) = (current.as_mut(), xml::text(&event)) {
                shape.text.push_str(&text);
            }
        }
        match &event {
            Event::Start(e) => match e.local_name().as_ref() {
                "sp" | "graphicFrame" => {
                    if current.is_none() {
                        current = Some(Shape {
                            placeholder: None,
                            text: String::new(),
                        });
                        depth = 0;
                    }
                    depth += 1;
                }
                "t" => in_text = true,
                "tbl" => in_table = true,
                _ => {}
            },
            Event::Empty(e) => match (e.local_name().as_ref(), current.as_mut()) {
                ("ph", Some(shape)) => {
                    shape.placeholder = Some(xml::attribute(e, "type").unwrap_or_else(|| "body".into()));
                }
                ("br", Some(shape)) => shape.text.push('\n'),
                ("tab", Some(shape)) => shape.text.push('\t'),
                _ => {}
            },
            Event::End(e) => match (e.local_name().as_ref(), current.as_mut()) {
                ("t", _) => in_text = false,
                ("p", Some(shape)) => shape.text.push(if in_table { ' ' } else { '\n' }),
                ("tc", Some(shape)) => shape.text.push_str(" | "),
                ("tr", Some(shape)) => {
                    // Cells are separated, not terminated, by the bar.
                    let end = shape.text.trim_end().trim_end_matches('|').trim_end().len();
                    shape.text.truncate(end);
                    shape.text.push('\n');
                }
                ("tbl", _) => in_table = false,
                ("sp" | "graphicFrame", Some(_)) => {
                    depth -= 1;
                    if depth == 0 {
                        shapes.extend(current.take());
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(shapes)
}

/// The `r:id`s of `p:sldIdLst`, in the order the slides are shown.
fn slide_ids(presentation: &[u8]) -> Result<Vec<String>, quick_xml::Error> {
    let mut reader = quick_xml::Reader::from_reader(presentation);
    let mut buf = Vec::new();
    let mut ids = Vec::new();
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Empty(e) | Event::Start(e) if e.local_name().as_ref() == "sldId" => {
                // `id` is the slide's number; `r:id` (the same local name
                // in the relationships namespace) names its part.
                let part = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.prefix().is_some() && a.key.local_name().as_ref() == "id")
                    .map(|a| a.value.into_owned());
                ids.extend(part);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(ids)
}

/// A `.rels` part: relationship id → target.
pub(crate) fn relationships(rels: &[u8]) -> Result<HashMap<String, String>, quick_xml::Error> {
    let mut reader = quick_xml::Reader::from_reader(rels);
    let mut buf = Vec::new();
    let mut map = HashMap::new();
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Empty(e) | Event::Start(e) if e.local_name().as_ref() == "Relationship" => {
                if let (Some(id), Some(target)) = (xml::attribute(&e, "Id"), xml::attribute(&e, "Target")) {
                    map.insert(id, target);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(map)
}

/// The notes page of the slide at `slide_path`, from the slide's `.rels`.
fn notes_path(archive: &mut Archive<'_>, slide_path: &str) -> Result<Option<String>, ExtractError> {
    let (dir, file) = slide_path.rsplit_once('/').unwrap_or(("", slide_path));
    let Some(rels) = archive.read(&format!("{dir}/_rels/{file}.rels"))? else {
        return Ok(None);
    };
    let targets = relationships(&rels).map_err(|e| archive.corrupt(e))?;
    Ok(targets
        .values()
        .find(|t| t.contains("notesSlide"))
        .map(|t| resolve(dir, t)))
}

/// A relationship target resolved against the folder of the part naming it
/// (`ppt` + `slides/slide1.xml`, `ppt/slides` + `../notesSlides/n.xml`).
pub(crate) fn resolve(base_dir: &str, target: &str) -> String {
    if let Some(absolute) = target.strip_prefix('/') {
        return absolute.to_string();
    }
    let mut parts: Vec<&str> = base_dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in target.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// `dc:title` of an OOXML `docProps/core.xml`.
fn document_title(core: &[u8]) -> Option<String> {
    let mut reader = quick_xml::Reader::from_reader(core);
    let mut buf = Vec::new();
    let mut in_title = false;
    let mut title = String::new();
    loop {
        let event = reader.read_event_into(&mut buf).ok()?;
        if in_title {
            if let Some(text) = xml::text(&event) {
                title.push_str(&text);
            }
        }
        match event {
            Event::Start(e) if e.local_name().as_ref() == "title" => in_title = true,
            Event::End(e) if e.local_name().as_ref() == "title" => in_title = false,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let title = title.trim().to_string();
    (!title.is_empty()).then_some(title)
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn relationship_targets() {
        assert_eq!(resolve("ppt", "slides/slide1.xml"), "ppt/slides/slide1.xml");
        assert_eq!(
            resolve("ppt/slides", "../notesSlides/notesSlide1.xml"),
            "ppt/notesSlides/notesSlide1.xml"
        );
        assert_eq!(resolve("ppt", "/ppt/slides/slide2.xml"), "ppt/slides/slide2.xml");
    }
}
