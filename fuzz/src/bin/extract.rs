//! Every format's extractor and format detection. The first byte chooses
//! the format the rest is read as (or, for 0xFF, detection by content with
//! an extension from the second byte), as `quarry_parse::extract_as` would
//! after detection. Images are left out: they go to tesseract, a program
//! of its own, and would only time out here.
//!
//! A parser's panic is caught by `extract_as` and reported as that file's
//! failure (the promise under test), so this target runs without afl's
//! panic hook (`fuzz_nohook!`), which would abort on a caught panic too;
//! what AFL counts as a crash is what gets past `extract_as`: a panic
//! outside it, an abort (a failed allocation), a stack overflow, a hang.

use quarry_parse::{detect, extract_as, Format};

/// The formats read here: all but images (the last of `Format::ALL`).
const FORMATS: &[Format] = Format::ALL.split_last().unwrap().1;

const EXTENSIONS: [&str; 8] = ["txt", "pdf", "docx", "xlsx", "html", "md", "eml", "odt"];

fn main() {
    afl::fuzz_nohook!(|data: &[u8]| {
        let Some((&choice, bytes)) = data.split_first() else {
            return;
        };
        if choice == 0xFF {
            let Some((&ext, bytes)) = bytes.split_first() else {
                return;
            };
            let name = format!("fuzzed.{}", EXTENSIONS[ext as usize % EXTENSIONS.len()]);
            if let Ok(format) = detect(std::path::Path::new(&name), bytes) {
                if format != Format::Image {
                    let _ = extract_as(format, bytes);
                }
            }
        } else {
            let _ = extract_as(FORMATS[choice as usize % FORMATS.len()], bytes);
        }
    });
}
