//! Properties: a crash at each moment of the write path that matters leaves
//! a library that opens consistent, and the next add ends where a clean
//! ingest of the same folder ends. The moments are failpoints (the `fail`
//! crate, armed only here): after a file's SQLite commit and before the
//! lexical index has it (`catalog-committed`), inside tantivy's two-phase
//! commit (`lexical-commit-prepared`), after the HNSW dump is written and
//! before CURRENT.json names it (`dense-dump-written`), after the swap and
//! before the old dump is deleted (`dense-manifest-replaced`), and at the
//! end of a schema migration before its transaction commits
//! (`catalog-migrated`).
//!
//! The crash is real: this test binary runs itself again as a child
//! ([`crash_child`]), which arms one failpoint to SIGKILL its own process
//! and then opens the library and adds the folder through `quarry_core`.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use quarry_core::SearchOptions;

use crate::compat::copy_dir;
use crate::crash::assert_consistent;
use crate::support::{add, open, repo, run_test_as_child, write};
use crate::torture::contents;

const POINT: &str = "QUARRY_FAILPOINT";
const LIBRARY: &str = "QUARRY_FAILPOINT_LIBRARY";
const FOLDER: &str = "QUARRY_FAILPOINT_FOLDER";

/// The child's side: arm `$QUARRY_FAILPOINT` to kill this process, then
/// open `$QUARRY_FAILPOINT_LIBRARY` and add `$QUARRY_FAILPOINT_FOLDER`.
#[test]
#[ignore = "the child process of the failpoint tests, which run it with its environment"]
fn crash_child() {
    let (Ok(point), Ok(library)) = (std::env::var(POINT), std::env::var(LIBRARY)) else {
        eprintln!("crash_child: run by the failpoint tests only ({POINT} is not set)");
        return;
    };
    fail::cfg_callback(point, || {
        // SAFETY: kill(2) on our own pid; SIGKILL ends the process here,
        // as `kill -9` from outside would.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    })
    .unwrap();
    let library = open(Path::new(&library));
    if let Ok(folder) = std::env::var(FOLDER) {
        add(&library, Path::new(&folder));
    }
}

/// Run [`crash_child`] with `point` armed; it must die of SIGKILL (so the
/// failpoint was reached).
fn crash_at(point: &str, library: &Path, folder: Option<&Path>) {
    let mut env = vec![(POINT, point.as_ref()), (LIBRARY, library.as_os_str())];
    if let Some(folder) = folder {
        env.push((FOLDER, folder.as_os_str()));
    }
    let output = run_test_as_child("failpoints::crash_child", &env);
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGKILL),
        "the child was to die at {point}, but ended {:?}: {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn note(dir: &Path, n: usize, topic: &str) {
    write(
        &dir.join(format!("note{n:02}.txt")),
        &format!(
            "Note {n} about {topic}. The committee discussed the roof repairs of building {n} and \
             budget line 7-{n}, then who keeps the keys to the boiler room.\n\n\
             A second paragraph of note {n}: heating costs, window seals and the {topic} schedule.\n"
        ),
    );
}

/// The dumps of the dense index on disk (`gen-*` folders).
fn dense_dumps(library: &Path) -> usize {
    std::fs::read_dir(library.join("dense"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("gen-"))
        .count()
}

/// A library of 6 notes; then 5 new, 1 changed and 1 deleted while a child
/// adds the folder and dies at `point`; then the library is checked and
/// added to the end, which must equal a clean ingest of the final folder.
fn crash_during_add_at(point: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (lib, folder) = (tmp.path().join("lib"), tmp.path().join("notes"));
    for n in 0..6 {
        note(&folder, n, "heating");
    }
    add(&open(&lib), &folder);
    for n in 6..11 {
        note(&folder, n, "gardening");
    }
    note(&folder, 2, "a changed plan for the boiler");
    std::fs::remove_file(folder.join("note04.txt")).unwrap();

    crash_at(point, &lib, Some(&folder));
    assert_consistent(&lib);
    let report = add(&open(&lib), &folder);
    assert_eq!(report.failed, 0, "{report:?}");
    assert_consistent(&lib);
    assert_eq!(dense_dumps(&lib), 1, "an old dense dump was left behind");

    let clean = tmp.path().join("clean");
    add(&open(&clean), &folder);
    assert_eq!(contents(&lib), contents(&clean), "after a crash at {point}");
}

#[test]
fn crash_after_a_files_catalog_commit() {
    crash_during_add_at("catalog-committed");
}

#[test]
fn crash_inside_the_lexical_indexs_commit() {
    crash_during_add_at("lexical-commit-prepared");
}

#[test]
fn crash_after_the_dense_dump_before_current_json_names_it() {
    crash_during_add_at("dense-dump-written");
}

#[test]
fn crash_after_current_json_names_the_new_dump_before_the_old_is_deleted() {
    crash_during_add_at("dense-manifest-replaced");
}

fn schema_version(library: &Path) -> String {
    let catalog = rusqlite::Connection::open(library.join("catalog.sqlite")).unwrap();
    catalog
        .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| {
            r.get(0)
        })
        .unwrap()
}

#[test]
fn crash_during_a_schema_migration_leaves_the_old_schema_to_migrate_again() {
    let tmp = tempfile::tempdir().unwrap();
    let lib: PathBuf = tmp.path().join("v1");
    copy_dir(&repo().join("tests/data/compat/v1"), &lib);
    crash_at("catalog-migrated", &lib, None);
    assert_eq!(schema_version(&lib), "1", "a half-done migration was committed");

    let library = open(&lib);
    let info = library.info().unwrap();
    assert_eq!((info.documents, info.chunks), (4, 6));
    let hits = library.search("ZX-4417-B", &SearchOptions::default()).unwrap();
    assert!(
        hits[0].passage.path.ends_with("samples/pump-manual.pdf"),
        "{hits:#?}"
    );
    drop(library);
    assert_eq!(schema_version(&lib), quarry_store::SCHEMA_VERSION.to_string());
    assert_consistent(&lib);
}
