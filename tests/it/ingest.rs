//! Properties: each format yields its text with page numbers (PDF) and
//! sections; bad files yield their specific reason; chunks are exact slices
//! of the extracted text, stay on one page, and never exceed the window.

use std::path::Path;

use quarry_core::chunk::{Chunker, MAX_CHUNK_TOKENS, MIN_CHUNK_TOKENS, OVERLAP_TOKENS};
use quarry_embed::Embedder;
use quarry_parse::{extract, read_file, ExtractError, Format};

use crate::support::{embedder, fixture, panicking_pdf};

fn extract_fixture(name: &str) -> Result<quarry_parse::Extracted, ExtractError> {
    let path = fixture(name);
    extract(&path, &read_file(&path)?)
}

#[test]
fn pdf_pages() {
    let doc = extract_fixture("manual.pdf").unwrap();
    assert_eq!(doc.format, Format::Pdf);
    let pages: Vec<u32> = doc.pages.iter().map(|p| p.page).collect();
    assert_eq!(pages, vec![1, 2, 3]);
    let page_text = |n: usize| &doc.text[doc.pages[n].start..doc.pages[n].end];
    assert!(page_text(0).starts_with("QP-7731 Pump Installation Guide"));
    assert!(page_text(1).contains("ZX-4417-B"));
    assert!(page_text(1).contains("2000 operating hours"));
    assert!(page_text(2).contains("start capacitor"));
    assert!(!page_text(0).contains("ZX-4417-B"));
    let seal = doc.text.find("ZX-4417-B").unwrap();
    assert_eq!(doc.page_at(seal), Some(2));
}

#[test]
fn docx_text_sections_and_tables() {
    let doc = extract_fixture("report.docx").unwrap();
    assert_eq!(doc.format, Format::Docx);
    assert!(doc.text.starts_with("Annual Sustainability Report\n"));
    assert!(doc.text.contains("cutting its emissions by 61 percent."));
    assert!(doc.text.contains("Lisbon\n61% lower"), "{:?}", doc.text);
    let titles: Vec<&str> = doc.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, vec!["Annual Sustainability Report", "Travel"]);
    let trains = doc.text.find("overnight trains").unwrap();
    assert_eq!(doc.section_at(trains), Some("Travel"));
    assert_eq!(doc.title.as_deref(), Some("Annual Sustainability Report"));
}

#[test]
fn markdown_and_text_and_code() {
    let md = "# Guide\n\nIntro.\n\n## Setup `cargo`\n\nRun it.\n";
    let doc = extract(Path::new("a.md"), md.as_bytes()).unwrap();
    assert_eq!(
        doc.text, md,
        "markdown is kept verbatim so spans point at the source"
    );
    let titles: Vec<&str> = doc.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, vec!["Guide", "Setup cargo"]);
    assert_eq!(doc.section_at(md.find("Run it").unwrap()), Some("Setup cargo"));

    let code = extract(Path::new("main.rs"), b"fn main() {}\n").unwrap();
    assert_eq!(
        (code.format, code.text.as_str()),
        (Format::Text, "fn main() {}\n")
    );
}

#[test]
fn each_bad_file_has_its_reason() {
    let reason = |r: Result<quarry_parse::Extracted, ExtractError>| r.expect_err("must fail");
    assert!(matches!(
        reason(extract_fixture("encrypted.pdf")),
        ExtractError::Encrypted
    ));
    assert!(matches!(
        reason(extract_fixture("bomb.docx")),
        ExtractError::ZipBomb { .. }
    ));
    let truncated = &std::fs::read(fixture("manual.pdf")).unwrap()[..700];
    let e = reason(extract(Path::new("cut.pdf"), truncated));
    assert!(matches!(e, ExtractError::Corrupt { format: "PDF", .. }), "{e}");
    let e = reason(extract(Path::new("x.docx"), b"PK\x03\x04 not really a zip"));
    assert!(matches!(e, ExtractError::Corrupt { format: "DOCX", .. }), "{e}");
    let tmp = tempfile::tempdir().unwrap();
    let gone = tmp.path().join("gone.txt");
    assert!(matches!(read_file(&gone), Err(ExtractError::Vanished)));
    let empty = tmp.path().join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(read_file(&empty), Err(ExtractError::Empty)));
}

#[test]
fn chunks_round_trip_and_fit_the_window() {
    let e = embedder();
    let chunker = Chunker::new(e.tokenizer(), e.max_tokens()).unwrap();
    // A long document with headings, paragraphs, one huge paragraph and an
    // unbroken token run, as Markdown.
    let mut md = String::new();
    for s in 0..6 {
        md.push_str(&format!("## Section {s}\n\n"));
        for p in 0..5 {
            md.push_str(&format!(
                "Paragraph {p} of section {s} talks about valves, pumps and the maintenance schedule of machine {s}{p}. "
            ));
            md.push_str("It repeats a little to have some length to it, which chunking must respect.\n\n");
        }
    }
    md.push_str(&"word ".repeat(900));
    md.push_str(&"x".repeat(3000));
    let doc = extract(Path::new("long.md"), md.as_bytes()).unwrap();
    let chunks = chunker.chunk(&doc).unwrap();
    assert!(chunks.len() > 10, "{} chunks", chunks.len());
    for c in &chunks {
        assert_eq!(
            &doc.text[c.start..c.end],
            c.text,
            "chunk {} is not a slice",
            c.ordinal
        );
        assert!(
            c.token_count <= e.max_tokens(),
            "chunk {} has {} tokens",
            c.ordinal,
            c.token_count
        );
        assert!(c.token_count <= MAX_CHUNK_TOKENS + 2);
    }
    // Ordinals are 0..n and spans move forward.
    assert!(chunks.iter().enumerate().all(|(i, c)| c.ordinal == i));
    assert!(chunks.windows(2).all(|w| w[0].start < w[1].start));
    // Sections are attached.
    let in_three = chunks.iter().find(|c| c.text.contains("machine 32")).unwrap();
    assert_eq!(in_three.section.as_deref(), Some("Section 3"));

    // PDF chunks stay on one page.
    let pdf = extract_fixture("manual.pdf").unwrap();
    for c in chunker.chunk(&pdf).unwrap() {
        let page = pdf.pages.iter().find(|p| p.page == c.page.unwrap()).unwrap();
        assert!(c.start >= page.start && c.end <= page.end, "chunk crosses a page");
    }
}

#[test]
fn a_parser_panic_is_this_files_failure() {
    let err = extract(Path::new("odd-font.pdf"), &panicking_pdf()).expect_err("must not extract");
    assert!(
        matches!(err, ExtractError::ParserPanic { format: "pdf", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("unexpected encoding"), "{err}");
}

/// The chunker sizes text-splitter's candidates from one tokenisation of
/// each page (or text): its passages must be exactly those text-splitter
/// cuts when it tokenises every candidate itself, and each passage's count
/// the tokenizer's own, on prose, Markdown, every fixture format, and the
/// hard cases (accents, CJK, Cyrillic, emoji, URLs, code, words longer
/// than WordPiece's 100 characters, a run longer than a passage).
#[test]
fn chunks_are_those_text_splitter_cuts_tokenising_every_candidate() {
    use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter};
    let e = embedder();
    let chunker = Chunker::new(e.tokenizer(), e.max_tokens()).unwrap();
    let mut tokenizer = e.tokenizer().clone();
    tokenizer.with_truncation(None).unwrap();
    tokenizer.with_padding(None);
    assert_eq!(e.max_tokens(), 256, "the sizes below are all-MiniLM-L6-v2's");
    let config = || {
        ChunkConfig::new(MIN_CHUNK_TOKENS..MAX_CHUNK_TOKENS)
            .with_sizer(&tokenizer)
            .with_overlap(OVERLAP_TOKENS)
            .unwrap()
            .with_trim(true)
    };
    let corpus =
        std::fs::read_to_string(crate::support::repo().join("tests/data/beir-tiny/corpus.jsonl")).unwrap();
    let prose: String = corpus
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut hard = String::new();
    for i in 0..40 {
        hard.push_str(&format!(
            "Café naïve coöperation {i}: résumé — ÉCOLE. 東京の天気は晴れです{i}。 Привет, мир {i}! 🚀🔥 \
             see https://example.org/a/b?c={i}&d=e#f or foo_bar::baz({i}) -> Result<(), E>; \
             {} x{i}.y{i}.z{i} (1,234.5%) \"quoted\" [UNK] don't U.S.A.\n",
            "pneumonoultramicroscopicsilicovolcanoconiosis".repeat(1 + i % 4)
        ));
        if i % 7 == 0 {
            hard.push('\n');
        }
    }
    hard.push_str(&"y".repeat(5000));
    // Long enough (~300 KB) for the chunker to tokenise it in several
    // blocks and drop the pieces it has passed.
    let long_prose = (0..90).map(|_| prose.as_str()).collect::<Vec<_>>().join("\n\n");
    assert!(long_prose.len() > 250_000, "{}", long_prose.len());
    let mut docs = vec![
        extract(Path::new("prose.txt"), long_prose.as_bytes()).unwrap(),
        extract(Path::new("hard.txt"), hard.as_bytes()).unwrap(),
        extract(
            Path::new("hard.md"),
            format!("# Hard\n\n{hard}\n\n## Prose\n\n{prose}").as_bytes(),
        )
        .unwrap(),
    ];
    for name in [
        "manual.pdf",
        "report.docx",
        "review.pptx",
        "budget.xlsx",
        "minutes.odt",
        "lighthouse.epub",
        "letter.rtf",
        "order.eml",
        "archive.mbox",
    ] {
        docs.push(extract_fixture(name).unwrap());
    }
    let mut compared = 0;
    for doc in &docs {
        let segments: Vec<(usize, usize)> = if doc.pages.is_empty() {
            vec![(0, doc.text.len())]
        } else {
            doc.pages.iter().map(|p| (p.start, p.end)).collect()
        };
        let mut expected = Vec::new();
        for (start, end) in segments {
            let segment = &doc.text[start..end];
            let pieces: Vec<(usize, &str)> = match doc.format {
                Format::Markdown => MarkdownSplitter::new(config()).chunk_indices(segment).collect(),
                _ => TextSplitter::new(config()).chunk_indices(segment).collect(),
            };
            expected.extend(
                pieces
                    .into_iter()
                    .filter(|(_, text)| !text.trim().is_empty())
                    .map(|(offset, text)| {
                        (
                            start + offset,
                            text.to_string(),
                            tokenizer.encode_fast(text, true).unwrap().len(),
                        )
                    }),
            );
        }
        let chunks: Vec<(usize, String, usize)> = chunker
            .chunk(doc)
            .unwrap()
            .into_iter()
            .map(|c| (c.start, c.text, c.token_count))
            .collect();
        assert_eq!(chunks, expected, "{:?}", doc.format);
        compared += chunks.len();
    }
    assert!(compared > 500, "{compared} passages compared");
}
