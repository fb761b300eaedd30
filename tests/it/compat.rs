//! Properties: libraries written by earlier Quarry builds (`tests/data/compat/`,
//! see its README) open with the current code and answer as they did — the
//! schema-1 one, embedded by candle's BERT, searches with its vectors and
//! graph as they were; the schema-3 one, written before the crates and
//! the answer records existed, also lists its conversations and shows each
//! turn as that build showed it (`conversations show --json` prints what it
//! printed then, plus the record's version). Users' libraries survive
//! upgrades: when the schema or a record changes, keep these tests.

use std::path::Path;
use std::process::Command;

use quarry_core::answer::cite::CitationStatus;
use quarry_core::answer::{Abstention, Conversation};
use quarry_core::SearchOptions;

use crate::support::{model_dir, open, repo};

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn schema_1_library_opens_and_searches() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("v1");
    copy_dir(&repo().join("tests/data/compat/v1"), &lib);
    let library = open(&lib);
    let info = library.info().unwrap();
    assert_eq!((info.documents, info.chunks), (4, 6));
    // Made by candle-transformers' BERT; Quarry's own forward pass computes
    // the same vectors, so neither re-embedding nor a rebuilt graph: the
    // dump written then is the one loaded.
    assert!(info.mismatch.is_none());
    let current: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lib.join("dense/CURRENT.json")).unwrap()).unwrap();
    assert_eq!(current["dump"], "gen-4-15898", "the dense index was rebuilt");
    assert_eq!(info.dense_vectors, 6);
    assert_eq!(info.lexical_generation, Some(info.generation));
    let hits = library.search("ZX-4417-B", &SearchOptions::default()).unwrap();
    assert!(
        hits[0].passage.path.ends_with("samples/pump-manual.pdf"),
        "{hits:#?}"
    );
    assert_eq!(hits[0].passage.page, Some(2));
    let hits = library
        .search("what happens if indexing crashes", &SearchOptions::default())
        .unwrap();
    assert!(
        hits[0].passage.path.ends_with("samples/quarry-faq.md"),
        "{hits:#?}"
    );
}

#[test]
fn schema_3_library_with_conversations_opens_lists_and_renders() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("v3");
    copy_dir(&repo().join("tests/data/compat/v3"), &lib);
    let library = open(&lib);
    let info = library.info().unwrap();
    assert_eq!((info.documents, info.chunks, info.dense_vectors), (4, 6, 6));
    assert!(
        info.mismatch.is_none(),
        "an identity without engine and precision is candle f32"
    );
    let hits = library.search("ZX-4417-B", &SearchOptions::default()).unwrap();
    assert!(hits[0].passage.path.ends_with("samples/pump-manual.pdf"));

    let listed = library.read().conversations().unwrap();
    let titles: Vec<(&str, i64)> = listed.iter().map(|c| (c.title.as_str(), c.turns)).collect();
    assert_eq!(
        titles,
        [
            ("What is the capital of Australia?", 1),
            ("How often is the impeller seal replaced?", 2)
        ]
    );
    let seal = Conversation::open(&library, 1).unwrap();
    let [first, second] = &seal.turns[..] else {
        panic!("two turns: {seal:#?}")
    };
    assert_eq!(
        first.answer,
        "The impeller seal is replaced every 2000 operating hours. [1]"
    );
    assert!(first.citations[0].path.ends_with("samples/pump-manual.pdf"));
    assert_eq!(first.citations[0].page, Some(2));
    assert!(second.answer.contains("ZX-4417-B. [1]"));
    assert_eq!(
        second.sentence_citations[0].status,
        CitationStatus::Moved { from: 2 }
    );
    assert_eq!(seal.history().len(), 2, "both turns carry a follow-up");
    let refused = Conversation::open(&library, 2).unwrap();
    assert_eq!(refused.turns[0].abstention, Some(Abstention::Retrieval));
    drop(library);

    // Rendered by today's CLI: the text view, and the JSON that build printed.
    let quarry = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_quarry"))
            .arg("--library")
            .arg(&lib)
            .args(args)
            .env("QUARRY_EMBEDDER", model_dir())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    let text = String::from_utf8(quarry(&["conversations", "show", "1"])).unwrap();
    assert!(text.contains("> And what is its part number?"), "{text}");
    assert!(text.contains("samples/pump-manual.pdf, page 2"), "{text}");
    assert!(
        text.contains("1 moved to the passage that supports them"),
        "{text}"
    );
    let mut shown: serde_json::Value =
        serde_json::from_slice(&quarry(&["conversations", "show", "1", "--json"])).unwrap();
    for turn in shown["turns"].as_array_mut().unwrap() {
        assert_eq!(turn["version"], 1);
        turn.as_object_mut().unwrap().remove("version");
    }
    // Since then, passages and citations say what their page counts and
    // whether OCR read it: additions a script of then ignores. A record of
    // then reads as pages of text layers.
    fn strip_additions(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(unit) = map.remove("unit") {
                    assert!(unit == "page" || unit == "", "{unit}");
                    assert_eq!(map.remove("ocr"), Some(serde_json::Value::Bool(false)));
                }
                map.values_mut().for_each(strip_additions);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip_additions),
            _ => {}
        }
    }
    strip_additions(&mut shown);
    let printed_then: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("tests/data/compat/v3-conversation-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(shown, printed_then);
}
