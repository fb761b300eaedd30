//! Properties: a damaged library never panics and loses nothing that can be
//! kept. A damaged derived index (the HNSW dump, the tantivy segments) is
//! detected by its checksums when loaded and rebuilt from the catalog, with
//! a warning, and search gives what it gave before; `quarry doctor` says
//! what it found and repaired (also a lexical index whose files are sound
//! but whose chunks are not the catalog's), and finds it sound afterwards;
//! a damaged catalog (the source of truth) is refused by every command in
//! one line that says what to do, and is left exactly as it was.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cli::{json, quarry, quarry_command};
use crate::crash::assert_consistent;
use crate::support::{catalog_generation, corpus};

/// Overwrite a few bytes in the middle of `file`, as a bad sector or a
/// stray write would.
fn damage(file: &Path) {
    let mut bytes = std::fs::read(file).unwrap();
    let middle = bytes.len() / 2;
    let end = (middle + 16).min(bytes.len());
    for b in &mut bytes[middle..end] {
        *b ^= 0x5a;
    }
    std::fs::write(file, bytes).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The catalog generation a lexical index says it reflects.
fn lexical_generation(dir: &Path) -> u64 {
    let metas: Value = serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    metas["payload"].as_str().unwrap().parse().unwrap()
}

fn files_in(dir: &Path, ending: &str) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(ending))
        .collect()
}

/// The test corpus under `root`, added to a library there by the CLI:
/// (the corpus folder, the library folder).
fn indexed_corpus(root: &Path) -> (PathBuf, PathBuf) {
    let docs = corpus(root);
    let lib = root.join("lib");
    json(&quarry(&lib, &["add", docs.to_str().unwrap(), "--json"]));
    (docs, lib)
}

/// `quarry doctor --json`: its exit code and each part's health and detail.
fn doctor(lib: &Path) -> (Option<i32>, Vec<(String, String, String)>) {
    let output = quarry(lib, &["doctor", "--json"]);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
    let parts = report["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let field = |k: &str| p[k].as_str().unwrap().to_string();
            (field("part"), field("health"), field("detail"))
        })
        .collect();
    (output.status.code(), parts)
}

/// The health doctor gives each part, in order.
fn healths(parts: &[(String, String, String)]) -> Vec<(&str, &str)> {
    parts.iter().map(|(p, h, _)| (p.as_str(), h.as_str())).collect()
}

const SOUND: [(&str, &str); 3] = [
    ("catalog", "sound"),
    ("lexical index", "sound"),
    ("dense index", "sound"),
];

/// The top hit for the part number: its path, both retrievers' ranks, and
/// the warnings logged on the way.
fn top_hit(lib: &Path) -> (String, Value, Value, String) {
    let output = quarry_command(
        lib,
        &["search", "drive belt for the conveyor ZX-4471-C", "--json"],
    )
    .env("QUARRY_LOG", "warn")
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let found = json(&output);
    let top = &found["results"][0];
    (
        top["path"].as_str().unwrap().to_string(),
        top["dense_rank"].clone(),
        top["lexical_rank"].clone(),
        stderr,
    )
}

#[test]
fn damaged_derived_indexes_are_rebuilt_from_the_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let (docs, lib) = indexed_corpus(tmp.path());
    let (path, dense, lexical, _) = top_hit(&lib);
    assert!(path.ends_with("parts.txt"));
    assert!(
        dense.is_u64() && lexical.is_u64(),
        "both retrievers find it: {dense} {lexical}"
    );
    let (code, parts) = doctor(&lib);
    assert_eq!((code, healths(&parts)), (Some(0), SOUND.to_vec()), "{parts:?}");

    // The HNSW dump: its checksums no longer match.
    let graphs = files_in(&lib.join("dense"), ".hnsw.graph");
    assert_eq!(graphs.len(), 1, "one dump in force");
    damage(&graphs[0]);
    let (after, dense_after, _, warning) = top_hit(&lib);
    assert_eq!((after.as_str(), &dense_after), (path.as_str(), &dense));
    assert!(warning.contains("damaged dump"), "{warning}");
    let (code, parts) = doctor(&lib);
    assert_eq!(code, Some(0));
    assert_eq!(parts[2].1, "repaired", "{parts:?}");
    assert!(parts[2].2.contains("damaged dump"), "{parts:?}");
    // Repaired means saved: the next look finds it sound.
    assert_eq!(healths(&doctor(&lib).1), SOUND.to_vec());

    // Every tantivy term dictionary.
    let terms = files_in(&lib.join("lexical"), ".term");
    assert!(!terms.is_empty());
    for file in &terms {
        damage(file);
    }
    let (after, _, lexical_after, warning) = top_hit(&lib);
    assert_eq!((after.as_str(), &lexical_after), (path.as_str(), &lexical));
    assert!(warning.contains("lexical index damaged"), "{warning}");
    // Opening the library repaired it for good; damaged again, the doctor
    // is the first to open it.
    for file in files_in(&lib.join("lexical"), ".term") {
        damage(&file);
    }
    let (code, parts) = doctor(&lib);
    assert_eq!((code, parts[1].1.as_str()), (Some(0), "repaired"), "{parts:?}");
    assert!(parts[1].2.contains("damaged"), "{parts:?}");
    assert_eq!(healths(&doctor(&lib).1), SOUND.to_vec());

    // Sound files, wrong chunks: the lexical index of before a file was
    // added, stamped with the catalog's generation of after, which opening
    // the library trusts (it reconciles only an index whose generation lags). Only the doctor's chunk-by-chunk look finds it.
    let before = tmp.path().join("lexical-before");
    copy_dir(&lib.join("lexical"), &before);
    let before_generation = lexical_generation(&before);
    crate::support::write(
        &docs.join("late.txt"),
        "A late note about the QZ-9 valve and its gasket.\n",
    );
    json(&quarry(&lib, &["add", docs.to_str().unwrap(), "--json"]));
    let after_generation = catalog_generation(&lib);
    assert!(after_generation > before_generation);
    std::fs::remove_dir_all(lib.join("lexical")).unwrap();
    copy_dir(&before, &lib.join("lexical"));
    let meta = lib.join("lexical/meta.json");
    let mut metas: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    metas["payload"] = Value::String(after_generation.to_string());
    std::fs::write(&meta, serde_json::to_vec(&metas).unwrap()).unwrap();
    let (code, parts) = doctor(&lib);
    assert_eq!((code, parts[1].1.as_str()), (Some(0), "repaired"), "{parts:?}");
    assert!(parts[1].2.starts_with("1 chunks added"), "{parts:?}");
    assert_eq!(healths(&doctor(&lib).1), SOUND.to_vec());

    // A dump written before checksums, damaged where hnsw_rs's reader
    // unwraps (its header): caught, rebuilt, answered.
    let added = json(&quarry(&lib, &["add", docs.to_str().unwrap(), "--json"]));
    assert_eq!(added["failed"], 0);
    let current = lib.join("dense/CURRENT.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&current).unwrap()).unwrap();
    assert!(
        manifest["checksums"].as_object().is_some_and(|c| c.len() == 2),
        "{manifest}"
    );
    manifest.as_object_mut().unwrap().remove("checksums");
    std::fs::write(&current, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let graphs = files_in(&lib.join("dense"), ".hnsw.graph");
    let mut bytes = std::fs::read(&graphs[0]).unwrap();
    bytes[..8].copy_from_slice(b"garbage!");
    std::fs::write(&graphs[0], bytes).unwrap();
    let output = quarry(
        &lib,
        &["search", "drive belt for the conveyor ZX-4471-C", "--json"],
    );
    let found = json(&output);
    assert!(found["results"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("parts.txt"));
    assert!(found["results"][0]["dense_rank"].is_u64(), "{found}");

    assert_consistent(&lib);
}

#[test]
fn a_damaged_catalog_is_refused_in_one_line_and_left_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let (docs, lib) = indexed_corpus(tmp.path());
    let catalog = lib.join("catalog.sqlite");
    // What the last run left in SQLite's write-ahead log is part of the
    // catalog: fold it in first, so the file alone is the catalog.
    rusqlite::Connection::open(&catalog)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let whole = std::fs::read(&catalog).unwrap();

    let not_sqlite: Vec<u8> = (0..whole.len()).map(|i| (i * 31 % 251) as u8).collect();
    let truncated = whole[..whole.len() / 2].to_vec();
    for (damage, bytes, reason) in [
        ("overwritten", not_sqlite, "it is not an SQLite database"),
        ("truncated", truncated, "SQLite reports it malformed"),
    ] {
        std::fs::write(&catalog, &bytes).unwrap();
        for command in [
            vec!["info"],
            vec!["docs"],
            vec!["search", "sourdough"],
            vec!["add", docs.to_str().unwrap()],
            vec!["doctor"],
        ] {
            let output = quarry(&lib, &command);
            let stderr = String::from_utf8_lossy(&output.stderr).to_string();
            assert_eq!(output.status.code(), Some(1), "{damage}, {command:?}: {stderr}");
            assert_eq!(
                stderr.trim().lines().count(),
                1,
                "{damage}, {command:?}: {stderr}"
            );
            assert!(
                stderr.contains("the catalog (catalog.sqlite) is damaged") && stderr.contains(reason),
                "{damage}, {command:?}: {stderr}"
            );
            assert_eq!(
                std::fs::read(&catalog).unwrap(),
                bytes,
                "{damage}: {command:?} wrote to it"
            );
        }
    }
}
