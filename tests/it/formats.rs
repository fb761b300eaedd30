//! Properties: every format Quarry reads gives its text in order, with the
//! citation unit a person recognises (slide, sheet, message, OCR'd page)
//! and its section names; hostile files of every zip-based format give
//! their reason without exhausting memory.
//!
//! The fixtures are real files written by the formats' own libraries
//! (`tests/data/make_fixtures.py` says which); the hostile ones are built
//! here.

use std::io::Write;
use std::path::Path;

use quarry_parse::{extract, read_file, ExtractError, Extracted, Format};

use crate::cli::{json, quarry};
use crate::support::fixture;

fn read(name: &str) -> Extracted {
    let path = fixture(name);
    extract(&path, &read_file(&path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The text of unit (page, slide, sheet, message) `number`.
fn unit(doc: &Extracted, number: u32) -> &str {
    let span = doc.pages.iter().find(|p| p.page == number).expect("unit exists");
    &doc.text[span.start..span.end]
}

fn sections(doc: &Extracted) -> Vec<&str> {
    doc.sections.iter().map(|s| s.title.as_str()).collect()
}

#[test]
fn pptx_slides_in_show_order_with_titles_tables_and_notes() {
    let doc = read("review.pptx");
    assert_eq!(doc.format, Format::Pptx);
    assert_eq!(Format::Pptx.unit(), "slide");
    assert_eq!(doc.title.as_deref(), Some("Quarterly Review"));
    assert_eq!(sections(&doc), ["Quarterly Review", "Risks", "Revenue"]);
    assert_eq!(
        unit(&doc, 1),
        "Quarterly Review\nNorthbridge Supplies, third quarter"
    );
    assert_eq!(
        unit(&doc, 2),
        "Risks\nSupplier | Lead time\nNorthbridge | six weeks"
    );
    assert_eq!(
        unit(&doc, 3),
        "Revenue\nRevenue grew 18 percent to 4.2 million euros\nTile sales doubled in Porto\n\n\
         Speaker notes:\nMention that the Porto office opened in May."
    );
    let porto = doc.text.find("Porto office").unwrap();
    assert_eq!(
        (doc.page_at(porto), doc.section_at(porto)),
        (Some(3), Some("Revenue"))
    );
}

#[test]
fn odp_slides_with_titles_and_notes() {
    let doc = read("review.odp");
    assert_eq!(doc.format, Format::Odp);
    assert_eq!(sections(&doc), ["Harbour Project", "Budget"]);
    assert_eq!(
        unit(&doc, 1),
        "Harbour Project\nStatus update for the harbour wall repair\n\nSpeaker notes:\nThank the divers from Cascais."
    );
    assert_eq!(
        unit(&doc, 2),
        "Budget\nSpent 1.1 million of 1.6 million euros\nConcrete costs rose 9 percent"
    );
}

/// The expenses sheet as every workbook format must render it: each row
/// under its header as `Header: value` pairs, dates as dates.
const EXPENSES: &str = "Item | Amount (EUR) | Date\n\
    Item: Ceramic tiles; Amount (EUR): 1250.5; Date: 2025-03-03\n\
    Item: Delivery; Amount (EUR): 80; Date: 2025-03-04\n\
    Item: Grout and adhesive; Amount (EUR): 312.25; Date: 2025-03-10";

#[test]
fn workbooks_render_rows_under_their_headers_one_unit_per_sheet() {
    for (name, format) in [
        ("budget.xlsx", Format::Xlsx),
        ("budget.xls", Format::Xls),
        ("budget.ods", Format::Ods),
    ] {
        let doc = read(name);
        assert_eq!(doc.format, format, "{name}");
        assert_eq!(format.unit(), "sheet");
        assert_eq!(sections(&doc), ["Expenses", "Notes"], "{name}");
        assert_eq!(unit(&doc, 1), EXPENSES, "{name}");
        assert_eq!(
            unit(&doc, 2),
            "Budget approved by the finance committee on 12 March.",
            "{name}"
        );
    }
}

#[test]
fn csv_and_tsv_tables() {
    let csv = extract(
        Path::new("prices.csv"),
        b"Item,Price\n\"Tile, blue\",4.80\nBorder tile,2.10\n",
    )
    .unwrap();
    assert_eq!(csv.format, Format::Csv);
    assert_eq!(
        csv.text,
        "Item | Price\nItem: Tile, blue; Price: 4.80\nItem: Border tile; Price: 2.10\n"
    );
    let tsv = extract(Path::new("t.tsv"), b"3\t4\n5\t6\n").unwrap();
    assert_eq!((tsv.format, tsv.text.as_str()), (Format::Tsv, "3 | 4\n5 | 6\n"));
}

#[test]
fn odt_headings_are_sections() {
    let doc = read("minutes.odt");
    assert_eq!(doc.format, Format::Odt);
    assert_eq!(sections(&doc), ["Board Minutes", "Decisions"]);
    let vans = doc.text.find("two electric delivery vans").unwrap();
    assert_eq!(doc.section_at(vans), Some("Decisions"));
    assert!(doc
        .text
        .starts_with("Board Minutes\n\nThe board met on 14 April 2025"));
}

#[test]
fn epub_chapters_in_spine_order() {
    let doc = read("lighthouse.epub");
    assert_eq!(doc.format, Format::Epub);
    assert_eq!(doc.title.as_deref(), Some("The Lighthouse Keeper"));
    assert_eq!(
        sections(&doc),
        ["Chapter One: The Storm", "Chapter Two: The Rescue"]
    );
    let rescue = doc.text.find("saved its crew of six").unwrap();
    assert!(doc.text.find("broke the lamp").unwrap() < rescue);
    assert_eq!(doc.section_at(rescue), Some("Chapter Two: The Rescue"));
}

#[test]
fn rtf_body_text_only() {
    let doc = read("letter.rtf");
    assert_eq!(doc.format, Format::Rtf);
    assert_eq!(
        doc.text,
        "Dear Ms Ferreira,\nYour order of ceramic tiles for the café in Setúbal will ship on Friday 7 March. \
         The total is 1 250 € including delivery.\nKind regards,\nNorthbridge Supplies"
    );
}

#[test]
fn mail_messages_with_their_attachments() {
    let eml = read("order.eml");
    assert_eq!(eml.format, Format::Eml);
    assert_eq!(sections(&eml), ["Tile order for the Setubal cafe"]);
    let message = unit(&eml, 1);
    assert!(message.starts_with(
        "Subject: Tile order for the Setubal cafe\nFrom: Ana Ferreira <ana@cafe-setubal.example>\nDate: 2025-03-03T09:30:00Z"
    ), "{message}");
    assert!(
        message.contains("blue azulejo tiles before the cafe reopens"),
        "{message}"
    );
    assert!(
        message.contains("Attachment: prices.csv\nItem | Price\nItem: Blue azulejo tile; Price: 4.80"),
        "{message}"
    );

    let mbox = read("archive.mbox");
    assert_eq!(mbox.format, Format::Mbox);
    assert_eq!(Format::Mbox.unit(), "message");
    assert_eq!(sections(&mbox), ["Invoice 2025-114", "Delivery delayed"]);
    assert!(unit(&mbox, 2).contains("The lorry from Aveiro broke down"));
}

#[test]
fn scans_and_photos_are_read_by_ocr_and_marked() {
    let scan = read("scanned.pdf");
    assert_eq!(scan.format, Format::Pdf);
    assert!(scan.pages[0].ocr, "the page has no text layer");
    let text = scan.text.to_lowercase();
    for words in [
        "delivery note 5580",
        "twelve pallets of ceramic tiles",
        "northbridge supplies",
    ] {
        assert!(text.contains(words), "OCR missed {words:?}: {text}");
    }
    assert!(scan.ocr_at(scan.text.len() - 1));

    let photo = read("photo.png");
    assert_eq!((photo.format, photo.ocr_pages()), (Format::Image, 1));
    let text = photo.text.to_lowercase();
    for words in ["warranty card", "five year warranty on the compressor", "30 days"] {
        assert!(text.contains(words), "OCR missed {words:?}: {text}");
    }
    // A text PDF is never OCR'd.
    assert_eq!(read("manual.pdf").ocr_pages(), 0);
}

#[test]
fn content_decides_the_format_not_the_name() {
    let path = fixture("review.pptx");
    let bytes = read_file(&path).unwrap();
    assert_eq!(
        extract(Path::new("renamed.bin"), &bytes).unwrap().format,
        Format::Pptx
    );
    let odt = read_file(&fixture("minutes.odt")).unwrap();
    assert_eq!(
        extract(Path::new("minutes.docx"), &odt).unwrap().format,
        Format::Odt
    );
    let e = extract(Path::new("fake.xlsx"), &zip_of(&[("readme.txt", b"hi")])).unwrap_err();
    assert!(e.to_string().contains("named .xlsx, but"), "{e}");
    let e = extract(
        Path::new("slides.ppt"),
        &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
    )
    .unwrap_err();
    assert!(e.to_string().contains("save them as .docx/.pptx"), "{e}");
    let gif = extract(Path::new("a.gif"), b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").unwrap_err();
    assert!(
        gif.to_string().contains("OCR reads PNG, JPEG, TIFF and WebP"),
        "{gif}"
    );
}

/// A zip holding `entries`, deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        out.start_file(*name, options).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// A zip whose `big` entry inflates to 300 MB of spaces (from ~300 KB).
fn bomb(entries: &[(&str, &[u8])], big: &str) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for (name, bytes) in entries {
        out.start_file(*name, options).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.start_file(big, options).unwrap();
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..300 {
        out.write_all(&spaces).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn a_zip_bomb_in_every_zip_format_is_refused() {
    let odf = |mimetype: &'static str| vec![("mimetype", mimetype.as_bytes())];
    // (file name, the entries beside the bomb, the entry that is the bomb)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a [u8])>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "bomb.pptx",
            vec![("ppt/_rels/presentation.xml.rels", b"<Relationships/>")],
            "ppt/presentation.xml",
        ),
        ("bomb.xlsx", vec![], "xl/workbook.xml"),
        ("bomb.xlsb", vec![], "xl/workbook.bin"),
        (
            "bomb.odt",
            odf("application/vnd.oasis.opendocument.text"),
            "content.xml",
        ),
        (
            "bomb.odp",
            odf("application/vnd.oasis.opendocument.presentation"),
            "content.xml",
        ),
        (
            "bomb.ods",
            odf("application/vnd.oasis.opendocument.spreadsheet"),
            "content.xml",
        ),
        (
            "bomb.epub",
            vec![
                ("mimetype", b"application/epub+zip"),
                (
                    "META-INF/container.xml",
                    br#"<container><rootfiles><rootfile full-path="content.opf"/></rootfiles></container>"#,
                ),
            ],
            "content.opf",
        ),
    ];
    for (name, entries, big) in cases {
        let bytes = bomb(&entries, big);
        assert!(bytes.len() < 2_000_000, "{name}: {} bytes", bytes.len());
        let e = extract(Path::new(name), &bytes).expect_err(name);
        assert!(matches!(e, ExtractError::ZipBomb { .. }), "{name}: {e}");
    }
}

#[test]
fn a_far_off_cell_costs_one_cell() {
    // A workbook whose only cells are A1 and the last cell Excel allows:
    // a dense grid of it would hold 17 billion cells.
    let sheet = br#"<?xml version="1.0" encoding="UTF-8"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>first cell</t></is></c></row>
<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>far away</t></is></c></row>
</sheetData></worksheet>"#;
    let workbook = br#"<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Edge" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    let rels = br#"<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
    let types = br#"<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
    let package_rels = br#"<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    let bytes = zip_of(&[
        ("[Content_Types].xml", types),
        ("_rels/.rels", package_rels),
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", rels),
        ("xl/worksheets/sheet1.xml", sheet),
    ]);
    let doc = extract(Path::new("edge.xlsx"), &bytes).unwrap();
    assert_eq!(doc.text, "first cell\nfar away");
    assert_eq!(sections(&doc), ["Edge"]);
    // The ODS fixture ends with 1,048,000 repeated rows of 16,384 empty
    // cells, as ODF writes a sheet's unused area: read in no time and space.
    assert!(!read("budget.ods").text.contains("\n\n\n"));
}

/// Copies of every format's fixture in one folder.
fn folder_of_every_format(root: &Path) -> std::path::PathBuf {
    let dir = root.join("documents");
    std::fs::create_dir_all(&dir).unwrap();
    for name in [
        "review.pptx",
        "review.odp",
        "budget.xlsx",
        "budget.xls",
        "budget.ods",
        "minutes.odt",
        "lighthouse.epub",
        "letter.rtf",
        "order.eml",
        "archive.mbox",
        "photo.png",
        "scanned.pdf",
        "manual.pdf",
    ] {
        std::fs::copy(fixture(name), dir.join(name)).unwrap();
    }
    std::fs::write(dir.join("prices.csv"), "Item,Price\nBlue azulejo tile,4.80\n").unwrap();
    dir
}

#[test]
fn every_format_indexes_and_cites_its_own_unit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = folder_of_every_format(tmp.path());
    let lib = tmp.path().join("lib");
    let added = json(&quarry(&lib, &["add", dir.to_str().unwrap(), "--json"]));
    assert_eq!(
        (added["added"].as_u64(), added["failed"].as_u64()),
        (Some(14), Some(0)),
        "{added}"
    );

    // `docs` says what each file is and how much of it was read.
    let docs = json(&quarry(&lib, &["docs", "--json"]));
    let doc = |name: &str| -> serde_json::Value {
        docs["documents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["path"].as_str().unwrap().ends_with(name))
            .cloned()
            .unwrap_or_else(|| panic!("{name} not listed"))
    };
    let facts = |name: &str| {
        let d = doc(name);
        (
            d["format"].as_str().unwrap().to_string(),
            d["unit"].as_str().unwrap().to_string(),
            d["units"].as_u64().unwrap(),
            d["ocr_units"].as_u64().unwrap(),
        )
    };
    let owned = |f: &str, u: &str, n: u64, o: u64| (f.to_string(), u.to_string(), n, o);
    assert_eq!(facts("review.pptx"), owned("pptx", "slide", 3, 0));
    assert_eq!(facts("budget.xls"), owned("xls", "sheet", 2, 0));
    assert_eq!(facts("archive.mbox"), owned("mbox", "message", 2, 0));
    assert_eq!(facts("scanned.pdf"), owned("pdf", "page", 1, 1));
    assert_eq!(facts("photo.png"), owned("image", "page", 1, 1));
    assert_eq!(facts("lighthouse.epub"), owned("epub", "page", 0, 0));
    let listing = quarry(&lib, &["docs"]);
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("pptx, 3 slides"), "{listing}");
    assert!(listing.contains("pdf, 1 page (1 by OCR)"), "{listing}");

    // A search hit names its slide, and OCR'd text says so.
    let hits = json(&quarry(
        &lib,
        &["search", "When did the Porto office open?", "--json"],
    ));
    let top = &hits["results"][0];
    assert!(top["path"].as_str().unwrap().ends_with("review.pptx"), "{hits}");
    assert_eq!(
        (top["unit"].as_str(), top["page"].as_u64(), top["ocr"].as_bool()),
        (Some("slide"), Some(3), Some(false))
    );
    let hits = json(&quarry(
        &lib,
        &["search", "pallets of ceramic tiles delivery note", "--json"],
    ));
    let top = &hits["results"][0];
    assert!(top["path"].as_str().unwrap().ends_with("scanned.pdf"), "{hits}");
    assert_eq!(top["ocr"].as_bool(), Some(true));
    let text = quarry(&lib, &["search", "When did the Porto office open?"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("review.pptx, slide 3"));
}

#[test]
fn without_tesseract_a_scan_says_how_to_get_it_and_the_rest_indexes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("documents");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["photo.png", "scanned.pdf", "manual.pdf"] {
        std::fs::copy(fixture(name), dir.join(name)).unwrap();
    }
    let lib = tmp.path().join("lib");
    // A PATH without tesseract (or anything else): as on a machine that
    // never installed it.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args([
            "--library",
            lib.to_str().unwrap(),
            "add",
            dir.to_str().unwrap(),
            "--json",
        ])
        .env("QUARRY_EMBEDDER", crate::support::model_dir())
        .env("PATH", tmp.path())
        .output()
        .unwrap();
    let added = json(&output);
    assert_eq!(
        (added["added"].as_u64(), added["failed"].as_u64()),
        (Some(1), Some(2)),
        "{added}"
    );
    for file in added["files"].as_array().unwrap() {
        let path = file["path"].as_str().unwrap();
        if path.ends_with("manual.pdf") {
            continue;
        }
        let reason = file["error"].as_str().unwrap();
        assert!(
            reason.contains("can only be read by OCR, and tesseract is not installed"),
            "{path}: {reason}"
        );
        assert!(reason.contains("sudo apt install tesseract-ocr"), "{reason}");
    }
}

#[test]
fn a_parser_that_hangs_spins_hoards_or_crashes_costs_only_its_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("documents");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["manual.pdf", "report.docx"] {
        std::fs::copy(fixture(name), dir.join(name)).unwrap();
    }
    // Test-only parsers in the worker (QUARRY_EXTRACT_TEST_HOOKS): one
    // loops on the CPU, one waits forever, one allocates without bound,
    // one aborts.
    for hook in ["spin", "sleep", "allocate", "crash"] {
        std::fs::write(dir.join(format!("quarry-test-{hook}.txt")), "misbehaves").unwrap();
    }
    let lib = tmp.path().join("lib");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_quarry"))
            .arg("--library")
            .arg(&lib)
            .args(args)
            .env("QUARRY_EMBEDDER", crate::support::model_dir())
            .env("QUARRY_EXTRACT_TEST_HOOKS", "1")
            .env("QUARRY_EXTRACT_CPU_SECS", "2")
            .env("QUARRY_EXTRACT_TIMEOUT_SECS", "6")
            .env("QUARRY_EXTRACT_MEMORY_MIB", "256")
            .output()
            .unwrap()
    };
    let added = json(&run(&["add", dir.to_str().unwrap(), "--json"]));
    assert_eq!(
        (added["added"].as_u64(), added["failed"].as_u64()),
        (Some(2), Some(4)),
        "{added}"
    );
    let reason = |hook: &str| -> String {
        added["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| {
                f["path"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("quarry-test-{hook}.txt"))
            })
            .and_then(|f| f["error"].as_str())
            .unwrap_or_else(|| panic!("{hook} has no reason: {added}"))
            .to_string()
    };
    assert_eq!(reason("spin"), "used more than 2 s of CPU time while parsing");
    assert_eq!(reason("sleep"), "took longer than 6 s while parsing");
    assert_eq!(
        reason("allocate"),
        "used more than 256 MiB of memory while parsing"
    );
    assert!(
        reason("crash").starts_with("the parser crashed"),
        "{}",
        reason("crash")
    );

    // The library is whole: every file listed with its outcome, the good
    // ones searchable, and adding again changes nothing.
    let docs = json(&run(&["docs", "--json"]));
    assert_eq!(docs["documents"].as_array().unwrap().len(), 6);
    let hits = json(&run(&["search", "impeller seal part number", "--json"]));
    assert!(hits["results"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("manual.pdf"));
    let again = json(&run(&["add", dir.to_str().unwrap(), "--json"]));
    assert_eq!(again["added"].as_u64(), Some(0), "{again}");
}

/// The layout fixtures' text, paragraph by paragraph (tests/data/make_fixtures.py).
fn layout_truth() -> (String, Vec<String>) {
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("layout.truth.json")).unwrap()).unwrap();
    let paragraphs = truth["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    (truth["header"].as_str().unwrap().to_string(), paragraphs)
}

#[test]
fn pdf_text_reads_in_columns_and_paragraphs_without_running_headers() {
    let (header, truth) = layout_truth();
    for name in ["layout-onecol.pdf", "layout-twocol.pdf"] {
        let doc = read(name);
        assert_eq!(doc.pages.len(), 2, "{name}");
        // Paragraphs whole (wrapped lines joined, hyphenated words rejoined,
        // ligatures as letters), in reading order, and nothing else: the
        // running header and the page numbers are gone.
        let paragraphs: Vec<&str> = doc
            .pages
            .iter()
            .flat_map(|p| doc.text[p.start..p.end].split("\n\n"))
            .collect();
        assert_eq!(paragraphs, truth, "{name}");
        assert!(
            !doc.text.contains(&header) && !doc.text.contains("Page 1"),
            "{name}"
        );
    }
}

#[test]
fn a_pdf_with_a_broken_cross_reference_table_is_repaired() {
    let original = read_file(&fixture("manual.pdf")).unwrap();
    let expected = read("manual.pdf").text;
    let at = original.windows(9).rposition(|w| w == b"startxref").unwrap();
    // The offset of the table points nowhere.
    let mut wrong_offset = original[..at].to_vec();
    wrong_offset.extend_from_slice(b"startxref\n999\n%%EOF\n");
    // An editor inserted bytes: every offset in the table is off.
    let object = original.windows(7).position(|w| w == b"1 0 obj").unwrap();
    let mut shifted = original[..object].to_vec();
    shifted.extend_from_slice(b"% a line an editor added\n");
    shifted.extend_from_slice(&original[object..]);
    for (case, bytes) in [("wrong offset", wrong_offset), ("shifted", shifted)] {
        let doc = extract(Path::new("broken.pdf"), &bytes).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(doc.text, expected, "{case}");
        assert_eq!(doc.pages.len(), 3, "{case}");
    }
    // A file with no objects at all stays corrupt, with its reason; so do
    // objects numbered past any table this file could hold (a table sized
    // by them would take gigabytes).
    for junk in [
        &b"%PDF-1.7\nnothing here\n"[..],
        b"%PDF-1.4\n99999999 0 obj<</Type/Catalog>>endobj\n",
        b"%PDF-1.4\n4294967295 0 obj<</Type/Catalog>>endobj\n",
    ] {
        let e = extract(Path::new("junk.pdf"), junk).unwrap_err();
        assert!(matches!(e, ExtractError::Corrupt { format: "PDF", .. }), "{e}");
    }
}

/// One BIFF12 record (MS-XLSB 2.1.4): its type and size in 7-bit groups.
fn record(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if kind < 0x80 {
        out.push(kind as u8);
    } else {
        out.extend([(kind & 0x7F) as u8 | 0x80, (kind >> 7) as u8]);
    }
    let mut size = body.len();
    loop {
        let byte = (size & 0x7F) as u8;
        size >>= 7;
        out.push(if size > 0 { byte | 0x80 } else { byte });
        if size == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

/// An XLWideString: a character count, then UTF-16LE.
fn wide(text: &str) -> Vec<u8> {
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut out = (units.len() as u32).to_le_bytes().to_vec();
    out.extend(units.iter().flat_map(|u| u.to_le_bytes()));
    out
}

#[test]
fn an_xlsb_workbook_is_read_cell_by_cell() {
    // A binary workbook as Excel writes it, record by record (MS-XLSB):
    // a sheet "Expenses" with a header row, a string and a number.
    let mut bundle = 0u32.to_le_bytes().to_vec(); // visible
    bundle.extend(1u32.to_le_bytes()); // tab id
    bundle.extend(wide("rId1"));
    bundle.extend(wide("Expenses"));
    let workbook = [record(0x009C, &bundle), record(0x0090, &[]), record(0x0084, &[])].concat();
    let cell = |column: u32| {
        let mut c = column.to_le_bytes().to_vec();
        c.extend([0, 0, 0, 0]); // style 0, no flags
        c
    };
    let row = |r: u32| {
        let mut h = r.to_le_bytes().to_vec();
        h.extend([0u8; 13]);
        record(0x0000, &h)
    };
    let string = |column: u32, text: &str| record(0x0006, &[cell(column), wide(text)].concat());
    let number =
        |column: u32, value: f64| record(0x0005, &[cell(column), value.to_le_bytes().to_vec()].concat());
    let mut dimension = Vec::new();
    for bound in [0u32, 1, 0, 1] {
        dimension.extend(bound.to_le_bytes());
    }
    let sheet = [
        record(0x0081, &[]),
        record(0x0094, &dimension),
        record(0x0091, &[]),
        row(0),
        string(0, "Item"),
        string(1, "Amount (EUR)"),
        row(1),
        string(0, "Ceramic tiles"),
        number(1, 1250.5),
        record(0x0092, &[]),
        record(0x0082, &[]),
    ]
    .concat();
    let rels = br#"<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.bin"/></Relationships>"#;
    let bytes = zip_of(&[
        ("xl/workbook.bin", &workbook),
        ("xl/_rels/workbook.bin.rels", rels),
        ("xl/worksheets/sheet1.bin", &sheet),
    ]);
    let doc = extract(Path::new("budget.xlsb"), &bytes).unwrap();
    assert_eq!(doc.format, Format::Xlsb);
    assert_eq!(sections(&doc), ["Expenses"]);
    assert_eq!(
        doc.text,
        "Item | Amount (EUR)\nItem: Ceramic tiles; Amount (EUR): 1250.5"
    );
}
