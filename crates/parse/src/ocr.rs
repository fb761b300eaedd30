//! Text from images of pages: photos and scans (PNG, JPEG, TIFF, WebP) and
//! PDF pages without a text layer, read by Debian's `tesseract` (pages of a
//! PDF are first rendered by poppler's `pdftoppm`).
//!
//! Both are separate programs we call, never link: tesseract is the OCR
//! engine people already have (Apache-2.0); poppler is GPL, so it stays a
//! process. Each run has a deadline and is killed past it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use wait_timeout::ChildExt;

use super::sandbox::side_by_side;
use super::{ExtractError, Extracted, Format, Units};

/// How long one page may take to render or recognise.
const PAGE_DEADLINE: Duration = Duration::from_secs(120);
/// Rendering resolution for scanned PDF pages: tesseract is most accurate
/// around 300 dpi.
const RENDER_DPI: &str = "300";

/// Whether `tesseract` can be run on this machine: asked before rendering
/// a scanned PDF's pages, so that the reason names the tool a person must
/// install first.
fn tesseract_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("tesseract")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The languages tesseract reads, `+`-joined tesseract codes
/// (`QUARRY_OCR_LANGUAGES=eng+deu`); English unless set.
fn languages() -> String {
    std::env::var("QUARRY_OCR_LANGUAGES")
        .ok()
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| "eng".into())
}

pub(super) fn extract_image(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let dir = scratch()?;
    let image = dir.path().join("page");
    std::fs::write(&image, bytes).map_err(|e| ExtractError::OcrFailed(e.to_string()))?;
    let text = recognise(&image, "this image")?;
    let mut units = Units::default();
    units.push(1, None, &text, true);
    Ok(units.finish(Format::Image, None))
}

/// The recognised text of each of `pages` (numbered from 1) of a PDF.
pub(super) fn pdf_pages(pdf: &[u8], pages: &[u32]) -> Result<Vec<(u32, String)>, ExtractError> {
    let what = || format!("this PDF's {} scanned page(s)", pages.len());
    if !tesseract_available() {
        return Err(ExtractError::OcrUnavailable {
            what: what(),
            tool: "tesseract",
        });
    }
    let dir = scratch()?;
    let file = dir.path().join("document.pdf");
    std::fs::write(&file, pdf).map_err(|e| ExtractError::OcrFailed(e.to_string()))?;
    // Pages are rendered and recognised side by side, one per core: each
    // tesseract runs single-threaded, and a scan is often the only file
    // in flight.
    let settings = super::sandbox::worker_settings();
    let cores = settings
        .ocr_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let what = what();
    let mut out = Vec::with_capacity(pages.len());
    for batch in pages.chunks(cores) {
        let (dir, file, what) = (dir.path(), &file, &what);
        let results = side_by_side(batch.to_vec(), |page| {
            render_and_recognise(dir, file, page, what).map(|text| (page, text))
        });
        for result in results {
            out.push(result?);
            if settings.report_progress {
                eprintln!("{}", super::sandbox::PROGRESS_LINE);
            }
        }
    }
    Ok(out)
}

/// One page of `file` rendered by pdftoppm, then read by tesseract.
fn render_and_recognise(dir: &Path, file: &Path, page: u32, what: &str) -> Result<String, ExtractError> {
    let prefix = dir.join(format!("page-{page}"));
    let number = page.to_string();
    let mut render = Command::new("pdftoppm");
    render
        .args([
            "-r",
            RENDER_DPI,
            "-gray",
            "-png",
            "-singlefile",
            "-f",
            &number,
            "-l",
            &number,
        ])
        .arg(file)
        .arg(&prefix);
    let log = prefix.with_extension("log");
    run(
        render,
        &log,
        "pdftoppm (poppler-utils)",
        what,
        "rendering a scanned page",
    )?;
    let image = prefix.with_extension("png");
    let text = recognise(&image, what);
    // Rendered pages are large: none stays on disk longer than its OCR.
    let _ = std::fs::remove_file(&image);
    text
}

/// tesseract's text for one image file.
fn recognise(image: &Path, what: &str) -> Result<String, ExtractError> {
    let out_base = image.with_extension("ocr");
    let mut tesseract = Command::new("tesseract");
    tesseract
        .arg(image)
        .arg(&out_base)
        .args(["-l", &languages()])
        // Quarry parses files in parallel already; tesseract's own
        // threads would only fight those.
        .env("OMP_THREAD_LIMIT", "1");
    run(
        tesseract,
        &image.with_extension("log"),
        "tesseract",
        what,
        "recognising text (OCR)",
    )?;
    let text = std::fs::read_to_string(out_base.with_extension("ocr.txt"))
        .map_err(|e| ExtractError::OcrFailed(format!("tesseract wrote no text: {e}")))?;
    Ok(text.replace('\u{c}', "\n"))
}

/// Run `command` to completion within [`PAGE_DEADLINE`], killing it past it.
fn run(
    mut command: Command,
    log: &Path,
    tool: &'static str,
    what: &str,
    doing: &'static str,
) -> Result<(), ExtractError> {
    // The tool's messages go to a file: a pipe nobody reads while we wait
    // could fill and stall it.
    let log_file = std::fs::File::create(log).map_err(|e| ExtractError::OcrFailed(e.to_string()))?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ExtractError::OcrUnavailable {
                what: what.to_string(),
                tool,
            },
            _ => ExtractError::OcrFailed(format!("cannot run {tool}: {e}")),
        })?;
    match child.wait_timeout(PAGE_DEADLINE) {
        Ok(Some(status)) if status.success() => Ok(()),
        Ok(Some(status)) => {
            let stderr = std::fs::read_to_string(log).unwrap_or_default();
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
            Err(ExtractError::OcrFailed(format!(
                "{tool} failed ({status}): {last}"
            )))
        }
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(ExtractError::TimedOut {
                doing,
                seconds: PAGE_DEADLINE.as_secs(),
            })
        }
        Err(e) => Err(ExtractError::OcrFailed(e.to_string())),
    }
}

/// A scratch folder, inside the one the sandbox gave the worker (removed
/// by the caller even if this process is killed), else the system's.
fn scratch() -> Result<tempfile::TempDir, ExtractError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("quarry-ocr-");
    match super::sandbox::worker_settings().scratch {
        Some(base) => builder.tempdir_in(base),
        None => builder.tempdir(),
    }
    .map_err(|e| ExtractError::OcrFailed(format!("no scratch folder: {e}")))
}
