//! Files in, text with positions out.
//!
//! [`read_file`] reads a file's bytes within a size limit; [`extract`] detects
//! the format from content and extension and turns the bytes into one
//! [`Extracted`] text with page spans and section headings, so that every
//! later byte offset (chunk spans, citations) points into that one string.
//!
//! Every failure is an [`ExtractError`] naming what is wrong with *this file*;
//! a parser panic is caught here and becomes [`ExtractError::ParserPanic`].
//!
//! Invariant: parse knows nothing of models, chunking, storage or indexes
//! (its dependency tree holds none of them: `tests/it/tidy.rs`).

mod docx;
mod epub;
mod html;
mod mail;
mod markdown;
mod ocr;
mod odf;
mod pdf;
mod pdf_layout;
mod pptx;
mod rtf;
pub mod sandbox;
mod sheets;
mod xml;
mod zipped;

use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Files larger than this are refused before reading (memory bound).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// Extracted text larger than this is refused (a chunked and embedded
/// document of this size would take hours on a laptop CPU).
pub const MAX_TEXT_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Pdf,
    Docx,
    Odt,
    Html,
    Markdown,
    Text,
    Pptx,
    Odp,
    Xlsx,
    Xls,
    Xlsb,
    Ods,
    Csv,
    Tsv,
    Epub,
    Rtf,
    Eml,
    Mbox,
    /// A photo or scan of a page (PNG, JPEG, TIFF, WebP), read by OCR.
    Image,
}

impl Format {
    /// Every format, in declaration order (the fuzzer's inputs name a
    /// format by its index here).
    pub const ALL: [Format; 19] = [
        Format::Pdf,
        Format::Docx,
        Format::Odt,
        Format::Html,
        Format::Markdown,
        Format::Text,
        Format::Pptx,
        Format::Odp,
        Format::Xlsx,
        Format::Xls,
        Format::Xlsb,
        Format::Ods,
        Format::Csv,
        Format::Tsv,
        Format::Epub,
        Format::Rtf,
        Format::Eml,
        Format::Mbox,
        Format::Image,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Odt => "odt",
            Format::Html => "html",
            Format::Markdown => "markdown",
            Format::Text => "text",
            Format::Pptx => "pptx",
            Format::Odp => "odp",
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
            Format::Xlsb => "xlsb",
            Format::Ods => "ods",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Epub => "epub",
            Format::Rtf => "rtf",
            Format::Eml => "eml",
            Format::Mbox => "mbox",
            Format::Image => "image",
        }
    }

    /// What one of this format's [`PageSpan`]s is to a person: the word a
    /// citation and the source view put before its number.
    pub fn unit(self) -> &'static str {
        unit_of(self.as_str())
    }
}

/// [`Format::unit`] for a format stored by name (`"pptx"` → `"slide"`);
/// unknown names (and formats without units) read as pages.
pub fn unit_of(format: &str) -> &'static str {
    match format {
        "pptx" | "odp" => "slide",
        "xlsx" | "xls" | "xlsb" | "ods" => "sheet",
        "eml" | "mbox" => "message",
        _ => "page",
    }
}

/// Where in its document a passage is, as a person says it ("slide 3",
/// "page 12"), from its unit word and number; `None` without a number.
pub fn place(unit: &str, page: Option<u32>) -> Option<String> {
    page.map(|page| format!("{unit} {page}"))
}

/// A page's byte range in [`Extracted::text`]; pages are numbered from 1.
/// "Page" is the format's unit: a slide, a sheet, a mail message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageSpan {
    pub page: u32,
    pub start: usize,
    pub end: usize,
    /// The text was recognised from an image of the page (OCR), not read
    /// from a text layer: it may hold recognition errors.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ocr: bool,
}

/// A heading and the byte offset in [`Extracted::text`] where it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub start: usize,
    pub title: String,
}

/// The text of one document with the positions citations need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extracted {
    pub format: Format,
    pub title: Option<String>,
    pub text: String,
    /// Empty for formats without pages.
    pub pages: Vec<PageSpan>,
    pub sections: Vec<Section>,
}

impl Extracted {
    fn unpaged(format: Format, text: String, sections: Vec<Section>) -> Self {
        let title = sections.first().map(|s| s.title.clone());
        Extracted {
            format,
            title,
            text,
            pages: Vec::new(),
            sections,
        }
    }

    /// The page holding byte `offset` (or the last page starting before it,
    /// for offsets in the separator between pages), if the format has pages.
    pub fn page_at(&self, offset: usize) -> Option<u32> {
        let idx = self.pages.partition_point(|p| p.start <= offset);
        idx.checked_sub(1).map(|i| self.pages[i].page)
    }

    /// Whether the text at byte `offset` was recognised by OCR.
    pub fn ocr_at(&self, offset: usize) -> bool {
        let idx = self.pages.partition_point(|p| p.start <= offset);
        idx.checked_sub(1).is_some_and(|i| self.pages[i].ocr)
    }

    /// How many pages were read by OCR.
    pub fn ocr_pages(&self) -> usize {
        self.pages.iter().filter(|p| p.ocr).count()
    }

    /// The title of the section holding byte `offset`.
    pub fn section_at(&self, offset: usize) -> Option<&str> {
        let idx = self.sections.partition_point(|s| s.start <= offset);
        idx.checked_sub(1).map(|i| self.sections[i].title.as_str())
    }
}

/// Builds an [`Extracted`] unit by unit (pages, slides, sheets, messages),
/// so that every paged format separates and records its units the same way.
#[derive(Default)]
pub(crate) struct Units {
    text: String,
    pages: Vec<PageSpan>,
    sections: Vec<Section>,
}

impl Units {
    /// Units are joined with a blank line so a chunk never glues the last
    /// word of one to the first of the next.
    const SEPARATOR: &'static str = "\n\n";

    /// Append unit `number`; `title` (a slide's title, a sheet's name)
    /// becomes a section starting with it. Units without text are skipped.
    pub(crate) fn push(&mut self, number: u32, title: Option<&str>, body: &str, ocr: bool) {
        let body = body.trim();
        // Past the text limit, units are left out: `extract_as` reports the
        // document as too large without it growing further first.
        if body.is_empty() || self.text.len() > MAX_TEXT_BYTES {
            return;
        }
        if !self.text.is_empty() {
            self.text.push_str(Self::SEPARATOR);
        }
        let start = self.text.len();
        if let Some(title) = title.map(str::trim).filter(|t| !t.is_empty()) {
            self.sections.push(Section {
                start,
                title: title.to_string(),
            });
        }
        self.text.push_str(body);
        self.pages.push(PageSpan {
            page: number,
            start,
            end: self.text.len(),
            ocr,
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    pub(crate) fn finish(self, format: Format, title: Option<String>) -> Extracted {
        let title = title.or_else(|| self.sections.first().map(|s| s.title.clone()));
        Extracted {
            format,
            title,
            text: self.text,
            pages: self.pages,
            sections: self.sections,
        }
    }
}

/// Builds the text of a document of paragraphs and headings (DOCX, ODT):
/// one paragraph a line, each heading a section followed by a blank line,
/// which lets the chunker keep it with the paragraph that follows.
#[derive(Default)]
pub(crate) struct Paragraphs {
    text: String,
    sections: Vec<Section>,
}

impl Paragraphs {
    pub(crate) fn push(&mut self, paragraph: &str, heading: bool) {
        let paragraph = paragraph.trim();
        if paragraph.is_empty() {
            return;
        }
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        if heading {
            self.sections.push(Section {
                start: self.text.len(),
                title: paragraph.replace('\n', " "),
            });
        }
        self.text.push_str(paragraph);
        if heading {
            self.text.push('\n');
        }
    }

    pub(crate) fn finish(self, format: Format) -> Extracted {
        Extracted::unpaged(format, self.text, self.sections)
    }
}

/// A size as a person reads it: `256 MiB`, `1.5 MiB`.
fn mebibytes(bytes: u64) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib.fract() == 0.0 {
        format!("{mib:.0} MiB")
    } else {
        format!("{mib:.1} MiB")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("empty file")]
    Empty,
    #[error("too large: {} ({size} bytes); Quarry reads files of up to {}", mebibytes(*size), mebibytes(*limit))]
    TooLarge { size: u64, limit: u64 },
    #[error("file disappeared before it could be read")]
    Vanished,
    #[error("cannot read file: {0}")]
    Unreadable(std::io::Error),
    /// Its size or modification time moved during each of `reads` reads:
    /// it is being written, and what was read may be half of it.
    #[error("the file changed while it was read, {reads} times (is it being written?): it will be read again by the next add")]
    Changing { reads: usize },
    #[error("not a document: {0}")]
    NotADocument(String),
    #[error("unsupported format: {0}")]
    Unsupported(String),
    #[error("encrypted PDF: password-protected files cannot be read")]
    Encrypted,
    #[error("PDF has no text layer and OCR found no text on its {pages} page(s)")]
    NoTextLayer { pages: usize },
    #[error("{what} can only be read by OCR, and {tool} is not installed: install it with `sudo apt install tesseract-ocr tesseract-ocr-eng poppler-utils` (Debian/Ubuntu) and add the folder again")]
    OcrUnavailable { what: String, tool: &'static str },
    #[error("OCR failed: {0}")]
    OcrFailed(String),
    #[error("took longer than {seconds} s while {doing}")]
    TimedOut { doing: &'static str, seconds: u64 },
    #[error("contains no readable text")]
    NoText,
    #[error("corrupt or malformed {format}: {detail}")]
    Corrupt { format: &'static str, detail: String },
    #[error("refused: archive would expand to {declared} bytes from {compressed} (zip bomb?)")]
    ZipBomb { declared: u64, compressed: u64 },
    #[error("the {format} parser crashed on this file: {message}")]
    ParserPanic { format: &'static str, message: String },
    #[error("used more than {mebibytes} MiB of memory while parsing")]
    MemoryLimit { mebibytes: u64 },
    #[error("used more than {seconds} s of CPU time while parsing")]
    CpuLimit { seconds: u64 },
    /// The extraction worker could not be run, or ended without a reply.
    #[error("{0}")]
    WorkerFailed(String),
    /// A reason the extraction worker reported, as it said it.
    #[error("{0}")]
    Reported(String),
}

/// Files that editors, office suites and browsers write while saving or
/// downloading (`~$report.docx`, `notes.md~`, `x.swp`, `y.part`): never
/// documents, so neither the folder walk nor the folder watcher takes them.
pub fn is_temporary_file(name: &str) -> bool {
    name.starts_with("~$")
        || name.ends_with('~')
        || [".swp", ".tmp", ".part", ".crdownload"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// A file that cannot be read: gone, or unreadable for the reason given.
impl From<std::io::Error> for ExtractError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => ExtractError::Vanished,
            _ => ExtractError::Unreadable(e),
        }
    }
}

/// Read a file's bytes, refusing empty and oversized files before allocating.
pub fn read_file(path: &Path) -> Result<Vec<u8>, ExtractError> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size == 0 {
        return Err(ExtractError::Empty);
    }
    if size > MAX_FILE_BYTES {
        return Err(ExtractError::TooLarge {
            size,
            limit: MAX_FILE_BYTES,
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // `take` guards against a file that grows while we read it.
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

thread_local! {
    static PARSING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True while a format parser runs on this thread. A panic hook can stay
/// quiet for these panics: [`extract`] reports them as the file's failure.
pub fn parser_running_on_this_thread() -> bool {
    PARSING.with(|p| p.get())
}

/// Detect the format of `bytes` (named `path`) and extract its text.
pub fn extract(path: &Path, bytes: &[u8]) -> Result<Extracted, ExtractError> {
    extract_as(detect(path, bytes)?, bytes)
}

/// Extract the text of `bytes`, already detected as `format`.
pub fn extract_as(format: Format, bytes: &[u8]) -> Result<Extracted, ExtractError> {
    // Parsers of untrusted files can panic (pdf-extract does on odd fonts);
    // a panic must become this file's failure, not the batch's.
    // Nested (a mail's attachment): the outer parse is still running after.
    let outer = PARSING.with(|p| p.replace(true));
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| match format {
        Format::Pdf => pdf::extract(bytes),
        Format::Docx => docx::extract(bytes),
        Format::Odt => odf::extract_text(bytes),
        Format::Html => Ok(html::extract(&decode_text(bytes)?)),
        Format::Markdown => Ok(markdown::extract(decode_text(bytes)?)),
        Format::Text => Ok(Extracted::unpaged(Format::Text, decode_text(bytes)?, Vec::new())),
        Format::Pptx => pptx::extract(bytes),
        Format::Odp => odf::extract_slides(bytes),
        Format::Xlsx | Format::Xls | Format::Xlsb => sheets::extract_workbook(format, bytes),
        Format::Ods => odf::extract_sheets(bytes),
        Format::Csv | Format::Tsv => sheets::extract_delimited(format, &decode_text(bytes)?),
        Format::Epub => epub::extract(bytes),
        Format::Rtf => rtf::extract(bytes),
        Format::Eml | Format::Mbox => mail::extract(format, bytes),
        Format::Image => ocr::extract_image(bytes),
    }));
    PARSING.with(|p| p.set(outer));
    let extracted = match result {
        Ok(r) => r?,
        Err(panic) => {
            return Err(ExtractError::ParserPanic {
                format: format.as_str(),
                message: panic_message(&*panic),
            });
        }
    };
    if extracted.text.len() > MAX_TEXT_BYTES {
        return Err(ExtractError::TooLarge {
            size: extracted.text.len() as u64,
            limit: MAX_TEXT_BYTES as u64,
        });
    }
    if extracted.text.trim().is_empty() {
        return Err(match format {
            Format::Pdf => ExtractError::NoTextLayer {
                pages: extracted.pages.len(),
            },
            _ => ExtractError::NoText,
        });
    }
    Ok(extracted)
}

/// What a caught panic said.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Content first, extension second: a PDF renamed `.txt` is still a PDF, and
/// a `.pdf` that is not one is reported as such.
pub fn detect(path: &Path, bytes: &[u8]) -> Result<Format, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    let ext = extension(path);
    if bytes.starts_with(b"%PDF-") || find(&bytes[..bytes.len().min(1024)], b"%PDF-").is_some() {
        return Ok(Format::Pdf);
    }
    let sniffed = infer::get(bytes);
    if ext == "pdf" {
        let what = sniffed.map_or("no PDF header", |k| k.mime_type());
        return Err(ExtractError::Corrupt {
            format: "PDF",
            detail: format!("file is named .pdf but is not a PDF ({what})"),
        });
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return zipped::detect(&ext, bytes);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        // OLE2 compound files: only workbooks are read (calamine).
        return match ext.as_str() {
            "xls" | "xla" => Ok(Format::Xls),
            _ if find(bytes, &utf16le("Workbook")).is_some() => Ok(Format::Xls),
            _ => Err(ExtractError::Unsupported(
                "legacy Microsoft Word and PowerPoint (.doc/.ppt) files; save them as .docx/.pptx".into(),
            )),
        };
    }
    if bytes.starts_with(b"{\\rtf") {
        return Ok(Format::Rtf);
    }
    if looks_binary(bytes) {
        // Photos and scans of pages: read by OCR. (Only binary content is
        // asked: "BMP/SMAD1 …" in a text file is not a bitmap.)
        if let Some(kind) = sniffed.filter(|k| {
            matches!(
                k.mime_type(),
                "image/png" | "image/jpeg" | "image/tiff" | "image/webp" | "image/bmp" | "image/gif"
            )
        }) {
            return match kind.mime_type() {
                // What tesseract (leptonica) reads on Debian.
                "image/png" | "image/jpeg" | "image/tiff" | "image/webp" => Ok(Format::Image),
                other => Err(ExtractError::Unsupported(format!(
                    "{other} images; OCR reads PNG, JPEG, TIFF and WebP"
                ))),
            };
        }
        // `infer` only names what is already known to be binary: its short
        // signatures match ordinary text ("BMP/SMAD1 …" reads as a BMP image,
        // "BCR/ABL …" as LLVM bitcode; both seen in SciFact abstracts).
        let what = sniffed.map_or("binary data".to_string(), |k| format!("{} data", k.mime_type()));
        return Err(ExtractError::NotADocument(what));
    }
    Ok(match ext.as_str() {
        "html" | "htm" | "xhtml" => Format::Html,
        "md" | "markdown" | "mdown" | "mkd" => Format::Markdown,
        "csv" => Format::Csv,
        "tsv" | "tab" => Format::Tsv,
        "mbox" | "mbx" => Format::Mbox,
        "eml" => Format::Eml,
        _ if looks_like_html(bytes) => Format::Html,
        // An mbox starts with a "From " separator line; a saved message
        // with the headers every mail carries.
        _ if mail::looks_like_mbox(bytes) => Format::Mbox,
        _ if mail::looks_like_message(bytes) => Format::Eml,
        _ => Format::Text,
    })
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// NUL bytes, or many control characters, in the first 8 KiB mean binary.
fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return true;
    }
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    if controls * 10 > head.len() {
        return true;
    }
    // Not UTF-8 and mostly non-ASCII: compressed or encoded data, not a
    // legacy-encoded text (Latin-1 prose is mostly ASCII).
    let valid_utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut at the 8 KiB edge is still UTF-8.
        Err(e) => e.error_len().is_none(),
    };
    let high = head.iter().filter(|&&b| b >= 0x80).count();
    !valid_utf8 && high * 10 > head.len() * 3
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// UTF-8 (with or without BOM), UTF-16 with BOM, else Latin-1: every byte
/// sequence decodes, so a legacy-encoded text file still indexes.
fn decode_text(bytes: &[u8]) -> Result<String, ExtractError> {
    let text = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        String::from_utf8_lossy(rest).into_owned()
    } else if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        let le = bytes[0] == 0xFF;
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_string(),
            // ISO-8859-1 maps each byte to the code point of the same value.
            Err(_) => bytes.iter().map(|&b| b as char).collect(),
        }
    };
    Ok(text.replace("\r\n", "\n"))
}

#[cfg(test)]
mod tests {
    //! Properties: detection trusts content over extension; binary and empty
    //! input are named; text decoding never fails; page/section lookup.
    use super::*;

    fn detect_str(name: &str, bytes: &[u8]) -> String {
        match detect(Path::new(name), bytes) {
            Ok(f) => f.as_str().to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn detection() {
        assert_eq!(detect_str("a.txt", b"%PDF-1.4 ..."), "pdf");
        assert_eq!(detect_str("a.md", b"# Title\n"), "markdown");
        assert_eq!(detect_str("a", b"<!DOCTYPE html><p>x"), "html");
        assert_eq!(detect_str("main.rs", b"fn main() {}\n"), "text");
        assert!(detect_str("a.pdf", b"hello").contains("not a PDF"));
        // Photos and scans of pages are read by OCR.
        assert_eq!(detect_str("a.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image");
        assert!(detect_str("a.bmp", b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0").contains("OCR reads PNG"));
        assert!(detect_str("a.bin", b"\x01\x02\0\x03abc").contains("binary"));
        // Text that starts like a weak magic number is still text.
        assert_eq!(
            detect_str("11831598.txt", b"BMP/SMAD1 signaling sets a threshold"),
            "text"
        );
        assert_eq!(
            detect_str("13023410.txt", b"BCR/ABL oncogenic kinase promotes"),
            "text"
        );
        assert!(detect_str(
            "a.dat",
            &[0xC3u8, 0x28, 0xF1, 0x9A, 0xE2, 0x11, 0xB5, 0xFE].repeat(50)
        )
        .contains("binary"));
        assert_eq!(
            detect_str(
                "latin1.txt",
                b"Caf\xe9 cr\xe8me br\xfbl\xe9e, une recette simple."
            ),
            "text"
        );
        assert!(detect_str("a.zip", b"PK\x03\x04rest").contains("corrupt or malformed zip"));
        assert!(detect_str("a.doc", &[0xD0, 0xCF, 0x11, 0xE0, 1, 2]).contains("legacy"));
    }

    #[test]
    fn empty_and_whitespace() {
        assert!(matches!(
            extract(Path::new("a.txt"), b""),
            Err(ExtractError::Empty)
        ));
        assert!(matches!(
            extract(Path::new("a.txt"), b"  \n\t "),
            Err(ExtractError::NoText)
        ));
    }

    #[test]
    fn decoding() {
        assert_eq!(decode_text(b"caf\xe9").unwrap(), "café");
        assert_eq!(decode_text("\u{feff}hé\r\n".as_bytes()).unwrap(), "hé\n");
        assert_eq!(decode_text(b"\xFF\xFEh\0i\0").unwrap(), "hi");
    }

    #[test]
    fn positions() {
        let e = Extracted {
            format: Format::Pdf,
            title: None,
            text: "aaaa\n\nbbbb".into(),
            pages: vec![
                PageSpan {
                    page: 1,
                    start: 0,
                    end: 4,
                    ocr: false,
                },
                PageSpan {
                    page: 2,
                    start: 6,
                    end: 10,
                    ocr: true,
                },
            ],
            sections: vec![Section {
                start: 6,
                title: "B".into(),
            }],
        };
        assert_eq!(e.page_at(0), Some(1));
        assert_eq!(e.page_at(5), Some(1));
        assert_eq!(e.page_at(7), Some(2));
        assert!(!e.ocr_at(2) && e.ocr_at(7));
        assert_eq!(e.section_at(2), None);
        assert_eq!(e.section_at(8), Some("B"));
    }
}
