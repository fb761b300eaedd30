//! Spreadsheets: XLSX, XLSB and XLS through calamine, CSV and TSV through
//! `csv` (ODS is read with the other OpenDocument formats in `odf`). Each
//! sheet is a unit ("sheet N", titled by its name); rows are written so that
//! retrieval and the model can read them: under a header row, each row as
//! `Header: value; Header: value`, otherwise cells joined by ` | `.
//!
//! Cells are read one at a time where the format allows (XLSX, XLSB: a
//! sheet with one far-off cell costs one cell, not a rows × columns grid),
//! and at most [`MAX_CELLS`] per file are kept.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Reader};

use super::zipped::Archive;
use super::{ExtractError, Extracted, Format, Units, MAX_TEXT_BYTES};

/// The most non-empty cells read from one file; the rest is left out (and
/// logged). 200,000 cells of a few words each is already a long document.
pub(crate) const MAX_CELLS: usize = 200_000;

/// A sheet's non-empty cells, row by row, in the order they were read.
#[derive(Default)]
pub(crate) struct Grid {
    rows: BTreeMap<u32, BTreeMap<u32, String>>,
    cells: usize,
    bytes: usize,
}

impl Grid {
    pub(crate) fn set(&mut self, row: u32, column: u32, value: String) {
        let value = value.trim();
        if !value.is_empty() {
            let row = self.rows.entry(row).or_default();
            self.bytes += value.len();
            if row.insert(column, value.replace('\n', " ")).is_none() {
                self.cells += 1;
            }
        }
    }

    /// Row `from`'s cells again at row `to` (a repeated row).
    pub(crate) fn copy_row(&mut self, from: u32, to: u32) {
        if let Some(cells) = self.rows.get(&from).cloned() {
            for (column, value) in cells {
                self.set(to, column, value);
            }
        }
    }

    pub(crate) fn cells(&self) -> usize {
        self.cells
    }

    /// No more cells fit: the file's cell budget is spent, or the text
    /// read is already as large as a document may be (one long string
    /// shared by many cells is as large as all of them).
    pub(crate) fn full(&self, cells_left: usize) -> bool {
        self.cells >= cells_left || self.bytes >= MAX_TEXT_BYTES
    }

    /// The sheet as text: rows before a header row as they are; after it,
    /// `Header: value` pairs.
    pub(crate) fn render(&self) -> String {
        let header = self.rows.iter().find(|(_, cells)| is_header(cells));
        let mut out = String::new();
        for (row, cells) in &self.rows {
            if out.len() >= MAX_TEXT_BYTES {
                break;
            }
            let line = match header {
                Some((header_row, names)) if row > header_row => cells
                    .iter()
                    .map(|(column, value)| match names.get(column) {
                        Some(name) => format!("{name}: {value}"),
                        None => value.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                _ => cells.values().cloned().collect::<Vec<_>>().join(" | "),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

/// A header row: two or more cells, all labels (not numbers).
fn is_header(cells: &BTreeMap<u32, String>) -> bool {
    cells.len() >= 2
        && cells
            .values()
            .all(|v| v.parse::<f64>().is_err() && v.chars().count() <= 80)
}

/// Each sheet of an XLSX or XLSB `$book`, cell by cell, into `units`. (A
/// macro: calamine's two cell readers share no trait.)
macro_rules! stream_sheets {
    ($book:ident, $units:ident, $budget:ident, $corrupt:ident) => {{
        let mut $book = $book;
        for (index, sheet) in $book.sheet_names().into_iter().enumerate() {
            let mut reader = $book.worksheet_cells_reader(&sheet).map_err(|e| $corrupt(&e))?;
            let grid = read_cells(&sheet, &mut $budget, || {
                let cell = reader.next_cell().map_err(|e| $corrupt(&e))?;
                Ok(cell.map(|c| (c.get_position(), show(&Data::from(c.get_value().clone())))))
            })?;
            $units.push(index as u32 + 1, Some(&sheet), &grid.render(), false);
        }
    }};
}

pub(super) fn extract_workbook(format: Format, bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let name = match format {
        Format::Xls => "XLS",
        Format::Xlsb => "XLSB",
        _ => "XLSX",
    };
    let corrupt = |e: &dyn std::fmt::Display| ExtractError::Corrupt {
        format: name,
        detail: e.to_string(),
    };
    if format != Format::Xls {
        // calamine inflates the parts itself: bound what they claim first.
        Archive::open(bytes, name)?.check_declared()?;
    }
    let mut units = Units::default();
    let mut budget = MAX_CELLS;
    let cursor = Cursor::new(bytes);
    match format {
        Format::Xlsx => {
            let book = calamine::Xlsx::new(cursor).map_err(|e| corrupt(&e))?;
            stream_sheets!(book, units, budget, corrupt)
        }
        Format::Xlsb => {
            let book = calamine::Xlsb::new(cursor).map_err(|e| corrupt(&e))?;
            stream_sheets!(book, units, budget, corrupt)
        }
        _ => {
            // XLS has no cell reader: calamine reads each sheet into a
            // dense grid, as large as the rectangle its cells span. A sheet
            // whose cells lie far apart is bounded only by the sandbox
            // worker's memory cap (its reason then says so).
            let mut book = calamine::Xls::new(cursor).map_err(|e| corrupt(&e))?;
            for (index, sheet) in book.sheet_names().into_iter().enumerate() {
                let range = book.worksheet_range(&sheet).map_err(|e| corrupt(&e))?;
                let (first_row, first_column) = range.start().unwrap_or((0, 0));
                let mut cells = range.used_cells();
                let grid = read_cells(&sheet, &mut budget, || {
                    Ok(cells.next().map(|(row, column, value)| {
                        let position = (first_row + row as u32, first_column + column as u32);
                        (position, show(value))
                    }))
                })?;
                units.push(index as u32 + 1, Some(&sheet), &grid.render(), false);
            }
        }
    }
    Ok(units.finish(format, None))
}

/// A sheet's cells from `next_cell`, within what is left of the file's
/// cell budget.
fn read_cells(
    sheet: &str,
    budget: &mut usize,
    mut next_cell: impl FnMut() -> Result<Option<((u32, u32), String)>, ExtractError>,
) -> Result<Grid, ExtractError> {
    let mut grid = Grid::default();
    while let Some(((row, column), value)) = next_cell()? {
        if grid.full(*budget) {
            tracing::warn!(sheet, "cell limit reached; the rest of the workbook is left out");
            break;
        }
        grid.set(row, column, value);
    }
    *budget -= grid.cells();
    Ok(grid)
}

/// A cell as a person reads it: dates as dates, whole floats without `.0`.
fn show(value: &Data) -> String {
    match value {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::Error(e) => e.to_string(),
        Data::DateTime(d) => match d.as_datetime() {
            Some(t) => {
                let time = t.time().to_string();
                match time.as_str() {
                    "00:00:00" => t.date().to_string(),
                    _ => format!("{} {}", t.date(), &time[..5]),
                }
            }
            None => d.to_string(),
        },
    }
}

/// CSV and TSV: one table, a header row if the first row is labels.
pub(super) fn extract_delimited(format: Format, text: &str) -> Result<Extracted, ExtractError> {
    let delimiter = if format == Format::Tsv { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut grid = Grid::default();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ExtractError::Corrupt {
            format: if format == Format::Tsv { "TSV" } else { "CSV" },
            detail: e.to_string(),
        })?;
        for (column, value) in record.iter().enumerate() {
            grid.set(row as u32, column as u32, value.to_string());
        }
        if grid.full(MAX_CELLS) {
            tracing::warn!("cell limit reached; the rest of the table is left out");
            break;
        }
    }
    Ok(Extracted::unpaged(format, grid.render(), Vec::new()))
}
