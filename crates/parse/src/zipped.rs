//! The one bounded zip reader behind every zip-based format: DOCX, PPTX,
//! ODT/ODP/ODS, EPUB, and the check before calamine opens XLSX/XLSB.
//!
//! A zip can claim one size and inflate to another; both are bounded here,
//! per entry and for the whole file, before and while inflating.

use std::io::{Cursor, Read};

use super::{ExtractError, Format};

/// The most one entry (a slide's XML, a chapter) may inflate to.
const MAX_ENTRY_BYTES: u64 = 128 * 1024 * 1024;
/// The most all entries of one file may inflate to, together.
const MAX_TOTAL_BYTES: u64 = 512 * 1024 * 1024;
/// Compression ratios past this on a large entry are treated as a bomb
/// (XML compresses ~10–30×; bombs reach thousands).
const MAX_RATIO: u64 = 200;
/// Entries smaller than this are never bombs, whatever their ratio.
const RATIO_FLOOR: u64 = 16 * 1024 * 1024;

pub(crate) struct Archive<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
    format: &'static str,
    inflated: u64,
}

impl<'a> Archive<'a> {
    pub(crate) fn open(bytes: &'a [u8], format: &'static str) -> Result<Self, ExtractError> {
        let zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| corrupt(format, e))?;
        Ok(Archive {
            zip,
            format,
            inflated: 0,
        })
    }

    pub(crate) fn corrupt(&self, detail: impl ToString) -> ExtractError {
        corrupt(self.format, detail)
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.zip.index_for_name(name).is_some()
    }

    /// Refuse the file if the sizes its entries declare are already too
    /// large: the check for archives another crate (calamine) inflates.
    pub(crate) fn check_declared(&mut self) -> Result<(), ExtractError> {
        let (mut declared_total, mut compressed_total) = (0u64, 0u64);
        for i in 0..self.zip.len() {
            let entry = self.zip.by_index_raw(i).map_err(|e| corrupt(self.format, e))?;
            let (declared, compressed) = (entry.size(), entry.compressed_size().max(1));
            check_entry(declared, compressed)?;
            declared_total = declared_total.saturating_add(declared);
            compressed_total = compressed_total.saturating_add(compressed);
            if declared_total > MAX_TOTAL_BYTES {
                return Err(ExtractError::ZipBomb {
                    declared: declared_total,
                    compressed: compressed_total,
                });
            }
        }
        Ok(())
    }

    /// The inflated bytes of entry `name`, or `None` if there is none.
    pub(crate) fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, ExtractError> {
        let entry = match self.zip.by_name(name) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(corrupt(self.format, e)),
        };
        let (declared, compressed) = (entry.size(), entry.compressed_size().max(1));
        check_entry(declared, compressed)?;
        let budget = MAX_ENTRY_BYTES.min(MAX_TOTAL_BYTES - self.inflated);
        // The declared size can lie: bound what actually comes out, too.
        let mut bytes = Vec::with_capacity(declared.min(budget) as usize);
        entry
            .take(budget + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| corrupt(self.format, e))?;
        let actual = bytes.len() as u64;
        if actual > budget {
            return Err(ExtractError::ZipBomb {
                declared: actual.max(declared),
                compressed,
            });
        }
        self.inflated += actual;
        Ok(Some(bytes))
    }

    /// [`Archive::read`] for an entry the format requires.
    pub(crate) fn require(&mut self, name: &str) -> Result<Vec<u8>, ExtractError> {
        self.read(name)?
            .ok_or_else(|| self.corrupt(format!("no {name} inside")))
    }
}

fn check_entry(declared: u64, compressed: u64) -> Result<(), ExtractError> {
    if declared > MAX_ENTRY_BYTES || (declared > RATIO_FLOOR && declared / compressed > MAX_RATIO) {
        return Err(ExtractError::ZipBomb { declared, compressed });
    }
    Ok(())
}

fn corrupt(format: &'static str, detail: impl ToString) -> ExtractError {
    ExtractError::Corrupt {
        format,
        detail: detail.to_string(),
    }
}

/// Which zip-based format `bytes` is: by the entries that define each
/// format (an ODF `mimetype`, OOXML's part names), then by extension.
pub(crate) fn detect(extension: &str, bytes: &[u8]) -> Result<Format, ExtractError> {
    // A file whose zip directory is unreadable is reported as what its
    // name says it is ("corrupt or malformed DOCX").
    let named = match extension {
        "docx" => "DOCX",
        "pptx" => "PPTX",
        "xlsx" => "XLSX",
        "xlsb" => "XLSB",
        "odt" => "ODT",
        "odp" => "ODP",
        "ods" => "ODS",
        "epub" => "EPUB",
        _ => "zip",
    };
    let Ok(mut archive) = Archive::open(bytes, named) else {
        return Err(corrupt(named, "the archive's directory cannot be read"));
    };
    // ODF and EPUB name their type in a `mimetype` entry.
    let mimetype = archive.read("mimetype").ok().flatten().unwrap_or_default();
    match String::from_utf8_lossy(&mimetype).trim() {
        "application/epub+zip" => return Ok(Format::Epub),
        "application/vnd.oasis.opendocument.text" => return Ok(Format::Odt),
        "application/vnd.oasis.opendocument.presentation" => return Ok(Format::Odp),
        "application/vnd.oasis.opendocument.spreadsheet" => return Ok(Format::Ods),
        _ => {}
    }
    if archive.contains("word/document.xml") {
        return Ok(Format::Docx);
    }
    if archive.contains("ppt/presentation.xml") {
        return Ok(Format::Pptx);
    }
    if archive.contains("xl/workbook.bin") {
        return Ok(Format::Xlsb);
    }
    if archive.contains("xl/workbook.xml") {
        return Ok(Format::Xlsx);
    }
    Err(match extension {
        "docx" | "pptx" | "xlsx" | "xlsb" | "odt" | "odp" | "ods" | "epub" => corrupt(
            "zip",
            format!("named .{extension}, but the parts a .{extension} file holds are missing"),
        ),
        _ => ExtractError::NotADocument("a zip archive".into()),
    })
}
