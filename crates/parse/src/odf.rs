//! OpenDocument (ODT, ODP, ODS): `content.xml` from the shared bounded zip
//! reader, walked once with `quick-xml`.
//!
//! - ODT: paragraphs; headings (`text:h`) are sections.
//! - ODP: each `draw:page` a slide, titled by its title frame, with its
//!   speaker notes (`presentation:notes`) marked as in PPTX.
//! - ODS: each `table:table` a sheet; repeated rows and cells
//!   (`number-*-repeated`, which is how ODF writes a far-off cell) advance
//!   a position instead of allocating, so a sheet costs its non-empty cells.

use quick_xml::events::{BytesStart, Event};

use super::pptx::NOTES_MARK;
use super::sheets::{Grid, MAX_CELLS};
use super::zipped::Archive;
use super::{xml, ExtractError, Extracted, Format, Paragraphs, Units};

/// A repeated non-empty cell is written at most this many times (a filled
/// column of one value says nothing new after a few copies).
const MAX_REPEATED_CELLS: u32 = 64;

fn content<'a>(bytes: &'a [u8], format: &'static str) -> Result<(Archive<'a>, Vec<u8>), ExtractError> {
    let mut archive = Archive::open(bytes, format)?;
    let content = archive.require("content.xml")?;
    Ok((archive, content))
}

/// The text of `text:p`/`text:h` elements, with ODF's inline elements for
/// spaces, tabs and line breaks written out.
#[derive(Default)]
struct Paragraph {
    depth: usize,
    text: String,
}

impl Paragraph {
    /// Feed one event; returns the finished paragraph's text when one ends.
    fn feed(&mut self, event: &Event<'_>) -> Option<String> {
        match event {
            Event::Start(e) if is_paragraph(e) => {
                if self.depth > 0 {
                    self.text.push('\n');
                }
                self.depth += 1;
            }
            Event::End(e) if matches!(e.local_name().as_ref(), "p" | "h") && self.depth > 0 => {
                self.depth -= 1;
                if self.depth == 0 {
                    return Some(xml::tidy_lines(&std::mem::take(&mut self.text)));
                }
            }
            Event::Empty(e) if self.depth > 0 => match e.local_name().as_ref() {
                "s" => {
                    let count = xml::attribute(e, "c")
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1usize);
                    self.text.push_str(&" ".repeat(count.min(64)));
                }
                "tab" => self.text.push('\t'),
                "line-break" => self.text.push('\n'),
                _ => {}
            },
            event if self.depth > 0 => {
                if let Some(text) = xml::text(event) {
                    self.text.push_str(&text);
                }
            }
            _ => {}
        }
        None
    }
}

fn is_paragraph(e: &BytesStart<'_>) -> bool {
    matches!(e.local_name().as_ref(), "p" | "h")
}

/// Elements whose text is not the document's: tracked deletions, and the
/// generated table of contents (it repeats the headings).
const SKIPPED: &[&str] = &["tracked-changes", "table-of-content", "sequence-decls"];

pub(super) fn extract_text(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let (archive, content) = content(bytes, "ODT")?;
    let mut reader = quick_xml::Reader::from_reader(content.as_slice());
    let mut buf = Vec::new();
    let mut paragraph = Paragraph::default();
    let mut document = Paragraphs::default();
    let (mut heading, mut skipping) = (false, 0usize);
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| archive.corrupt(e))?;
        match &event {
            Event::Start(e) if SKIPPED.contains(&e.local_name().as_ref()) => skipping += 1,
            Event::End(e) if SKIPPED.contains(&e.local_name().as_ref()) => {
                skipping = skipping.saturating_sub(1)
            }
            Event::Eof => break,
            _ => {}
        }
        if skipping > 0 {
            buf.clear();
            continue;
        }
        if let Event::Start(e) = &event {
            if paragraph.depth == 0 && is_paragraph(e) {
                heading = e.local_name().as_ref() == "h";
            }
        }
        if let Some(line) = paragraph.feed(&event) {
            document.push(&line, heading);
        }
        buf.clear();
    }
    Ok(document.finish(Format::Odt))
}

pub(super) fn extract_slides(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let (archive, content) = content(bytes, "ODP")?;
    let mut reader = quick_xml::Reader::from_reader(content.as_slice());
    let mut buf = Vec::new();
    let mut paragraph = Paragraph::default();
    let mut units = Units::default();
    let mut number = 0u32;
    let (mut title, mut body, mut notes) = (String::new(), String::new(), String::new());
    // The class of the presentation frame we are in (title, page-number…).
    let mut frame: Option<(String, usize)> = None;
    let (mut depth, mut in_notes) = (0usize, false);
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| archive.corrupt(e))?;
        match &event {
            Event::Start(e) => {
                depth += 1;
                match e.local_name().as_ref() {
                    "page" => {
                        number += 1;
                        title.clear();
                        body.clear();
                        notes.clear();
                    }
                    "notes" => in_notes = true,
                    "frame" if frame.is_none() => {
                        frame = xml::attribute(e, "class").map(|class| (class, depth));
                    }
                    _ => {}
                }
            }
            // An empty slide still counts: later slides keep their numbers.
            Event::Empty(e) if e.local_name().as_ref() == "page" => number += 1,
            Event::End(e) => {
                match e.local_name().as_ref() {
                    "page" if number > 0 => {
                        let mut text = xml::tidy_lines(&format!("{}\n{body}", title.trim()));
                        if !notes.trim().is_empty() {
                            text.push_str(&format!("\n\n{NOTES_MARK}\n{}", xml::tidy_lines(&notes)));
                        }
                        let fallback = format!("Slide {number}");
                        let name = title.trim().replace('\n', " ");
                        let name = if name.is_empty() { fallback } else { name };
                        units.push(number, Some(&name), &text, false);
                    }
                    "notes" => in_notes = false,
                    _ => {}
                }
                if frame.as_ref().is_some_and(|(_, d)| *d == depth) {
                    frame = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
        if let Some(line) = paragraph.feed(&event) {
            let class = frame.as_ref().map(|(c, _)| c.as_str());
            let target = match class {
                _ if in_notes => match class {
                    Some("page") => None,
                    _ => Some(&mut notes),
                },
                Some("title") => Some(&mut title),
                Some("page-number" | "footer" | "header" | "date-time") => None,
                _ => Some(&mut body),
            };
            if let Some(target) = target {
                target.push_str(&line);
                target.push('\n');
            }
        }
        buf.clear();
    }
    Ok(units.finish(Format::Odp, None))
}

pub(super) fn extract_sheets(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let (archive, content) = content(bytes, "ODS")?;
    let mut reader = quick_xml::Reader::from_reader(content.as_slice());
    let mut buf = Vec::new();
    let mut paragraph = Paragraph::default();
    let mut units = Units::default();
    let mut sheet: Option<(String, Grid)> = None;
    let (mut sheets, mut cells_left) = (0u32, MAX_CELLS);
    let (mut row, mut column) = (0u32, 0u32);
    let (mut rows_repeated, mut columns_repeated) = (1u32, 1u32);
    let (mut cell_text, mut cell_value) = (String::new(), None::<String>);
    let repeat = |e: &BytesStart<'_>, name: &str| {
        xml::attribute(e, name)
            .and_then(|r| r.parse::<u32>().ok())
            .unwrap_or(1)
            .max(1)
    };
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| archive.corrupt(e))?;
        match &event {
            Event::Start(e) => match e.local_name().as_ref() {
                "table" => {
                    let name = xml::attribute(e, "name").unwrap_or_else(|| format!("Sheet {}", sheets + 1));
                    sheet = Some((name, Grid::default()));
                    row = 0;
                }
                "table-row" => {
                    rows_repeated = repeat(e, "number-rows-repeated");
                    column = 0;
                }
                "table-cell" | "covered-table-cell" => {
                    columns_repeated = repeat(e, "number-columns-repeated");
                    cell_text.clear();
                    cell_value = xml::attribute(e, "value")
                        .or_else(|| xml::attribute(e, "date-value"))
                        .or_else(|| xml::attribute(e, "boolean-value"));
                }
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                // An empty sheet still counts: later sheets keep their numbers.
                "table" => sheets += 1,
                "table-row" => row = row.saturating_add(repeat(e, "number-rows-repeated")),
                "table-cell" | "covered-table-cell" => {
                    column = column.saturating_add(repeat(e, "number-columns-repeated"));
                }
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                "table-cell" | "covered-table-cell" => {
                    let shown = if cell_text.trim().is_empty() {
                        cell_value.take().unwrap_or_default()
                    } else {
                        std::mem::take(&mut cell_text)
                    };
                    if let Some((_, grid)) = sheet.as_mut() {
                        if !shown.trim().is_empty() && !grid.full(cells_left) {
                            for k in 0..columns_repeated.min(MAX_REPEATED_CELLS) {
                                grid.set(row, column.saturating_add(k), shown.clone());
                            }
                        }
                    }
                    column = column.saturating_add(columns_repeated);
                }
                "table-row" => {
                    // A repeated row with content is written like repeated
                    // cells: a few copies, not all of them.
                    if let Some((_, grid)) = sheet.as_mut() {
                        for k in 1..rows_repeated.min(MAX_REPEATED_CELLS) {
                            if grid.full(cells_left) {
                                break;
                            }
                            grid.copy_row(row, row.saturating_add(k));
                        }
                    }
                    row = row.saturating_add(rows_repeated)
                }
                "table" => {
                    if let Some((name, grid)) = sheet.take() {
                        sheets += 1;
                        cells_left = cells_left.saturating_sub(grid.cells());
                        units.push(sheets, Some(&name), &grid.render(), false);
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        if let Some(line) = paragraph.feed(&event) {
            if !cell_text.is_empty() {
                cell_text.push(' ');
            }
            cell_text.push_str(&line);
        }
        buf.clear();
    }
    Ok(units.finish(Format::Ods, None))
}
