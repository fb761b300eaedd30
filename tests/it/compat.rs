//! Properties: a library written by an earlier Quarry (schema 1, made from
//! `samples/` by `quarry --library tests/data/compat/v1 add samples`) opens
//! with the current code and answers as it did: users' libraries survive
//! upgrades. When the schema changes, add a migration and keep this test.

use std::path::Path;

use quarry::SearchOptions;

use crate::support::{open, repo};

fn copy_dir(from: &Path, to: &Path) {
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
    assert!(info.mismatch.is_none());
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
