//! Properties: every input the fuzzer found that broke a parser
//! (`tests/data/fuzz/`, see its README) is now one file's failure with a
//! reason, or read, never the end of the process: a parser's panic is
//! caught by `extract_as`; an input that makes a parser ask for more memory
//! than the machine has is stopped by the extraction worker's cap; a PDF
//! whose page tree loops is read instead of spinning.

use std::path::{Path, PathBuf};

use quarry_parse::sandbox::{Limits, Sandbox};
use quarry_parse::{extract_as, ExtractError, Format};

/// The `extract` target's inputs named `prefix*`: (file, format, bytes).
fn found(prefix: &str) -> Vec<(PathBuf, Format, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fuzz/extract");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .map(|path| {
            let data = std::fs::read(&path).unwrap();
            let (&choice, bytes) = data.split_first().unwrap();
            // As the target reads it: an index into the formats it reads
            // (every format but images).
            let format = Format::ALL[choice as usize % (Format::ALL.len() - 1)];
            (path, format, bytes.to_vec())
        })
        .collect();
    inputs.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!inputs.is_empty(), "no {prefix}* inputs in {}", dir.display());
    inputs
}

#[test]
fn parser_panics_the_fuzzer_found_are_caught_as_the_files_failure() {
    // A panic that escaped `extract_as` would fail this test; whatever it
    // returns (calamine may stop panicking on these one day) is fine, and
    // a failure must say why.
    for (path, format, bytes) in found("caught-panic-") {
        if let Err(e) = extract_as(format, &bytes) {
            assert!(!e.to_string().is_empty(), "{}", path.display());
        }
    }
}

#[test]
fn inputs_the_fuzzer_found_that_ask_for_all_memory_are_stopped_by_the_workers_cap() {
    let sandbox = Sandbox::new(
        Some(env!("CARGO_BIN_EXE_quarry-extract").into()),
        Limits::default(),
        1,
    );
    for (path, format, bytes) in found("memory-") {
        let name = PathBuf::from(format!("found.{}", format.as_str()));
        let failure = sandbox.extract(&name, &bytes).unwrap_err();
        assert!(
            matches!(failure.error, ExtractError::MemoryLimit { .. }),
            "{}: {}",
            path.display(),
            failure.error
        );
        assert_eq!(
            failure.error.to_string(),
            "used more than 1024 MiB of memory while parsing"
        );
    }
}

#[test]
fn a_pdf_the_fuzzer_found_spinning_forever_now_ends_with_its_damage() {
    // Through the worker, with limits far above what reading the file takes
    // (15 ms by `time quarry extract`), so a regression fails here instead of hanging the suite.
    let limits = Limits {
        cpu_seconds: 30,
        wall_clock: std::time::Duration::from_secs(60),
        ..Limits::default()
    };
    let sandbox = Sandbox::new(Some(env!("CARGO_BIN_EXE_quarry-extract").into()), limits, 1);
    for (path, format, bytes) in found("spin-") {
        assert_eq!(format, Format::Pdf);
        // Its cross-reference table is broken too, and no page has text:
        // a damaged PDF, said so, rather than a parser out of time.
        // (The worker reports its reason as text: `Reported`.)
        let failure = sandbox.extract(Path::new("found.pdf"), &bytes).unwrap_err();
        let reason = failure.error.to_string();
        assert!(
            matches!(failure.error, ExtractError::Reported(_))
                && reason.starts_with("corrupt or malformed PDF"),
            "{}: {reason}",
            path.display()
        );
    }
}
