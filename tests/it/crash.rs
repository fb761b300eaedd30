//! Properties: `kill -9` of a real `quarry add` at any point leaves a
//! library that opens, searches consistently (every hit is a catalog chunk;
//! the lexical and dense indexes hold exactly the catalog's chunks after
//! open), can be searched while another process ingests, and whose next
//! `add` finishes the work with no duplicates.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quarry_core::chunk::Chunker;
use quarry_core::SearchOptions;
use quarry_embed::Embedder;
use quarry_index::lexical::LexicalIndex;
use quarry_parse::{extract, read_file};

use crate::support::{embedder, interrupt, model_dir, open, read_catalog, write};

const FILES: usize = 60;

pub(crate) fn start_add(library: &Path, docs: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_quarry"))
        .arg("--library")
        .arg(library)
        .arg("add")
        .arg(docs)
        .arg("--json")
        .env("QUARRY_EMBEDDER", model_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn indexed_documents(library: &Path) -> usize {
    let Some(conn) = read_catalog(library) else {
        return 0;
    };
    conn.query_row(
        "SELECT COUNT(*) FROM documents WHERE status = 'indexed'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as usize)
    .unwrap_or(0)
}

/// Wait until the running child has committed at least `n` documents.
fn wait_for_documents(child: &mut Child, library: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while indexed_documents(library) < n {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ingest finished before {n} documents were committed"
        );
        assert!(Instant::now() < deadline, "ingest made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Wait until the child has committed at least `n` documents, then kill -9.
fn kill_after(mut child: Child, library: &Path, n: usize) -> usize {
    wait_for_documents(&mut child, library, n);
    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();
    indexed_documents(library)
}

/// Let the child finish; it must succeed and print its JSON report.
fn finish(child: Child) -> serde_json::Value {
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Every store holds exactly the catalog's chunks (the lexical index the
/// same ids, the dense graph reaches each chunk by its vector), and search
/// only returns them, from indexed documents.
pub(crate) fn assert_consistent(lib_dir: &Path) {
    let library = open(lib_dir);
    let info = library.info().unwrap();
    assert_eq!(
        info.lexical_generation,
        Some(info.generation),
        "lexical index not reconciled on open"
    );
    let catalog = rusqlite::Connection::open(lib_dir.join("catalog.sqlite")).unwrap();
    let mut stmt = catalog.prepare("SELECT id FROM chunks ORDER BY id").unwrap();
    let ids: Vec<u64> = stmt
        .query_map([], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|r| r.unwrap() as u64)
        .collect();
    let lexical = LexicalIndex::open(&lib_dir.join("lexical")).unwrap();
    assert_eq!(
        lexical.chunk_ids().unwrap(),
        ids,
        "lexical index differs from the catalog"
    );
    assert!(info.dense_vectors >= ids.len(), "dense index is missing vectors");
    assert_eq!(
        library.dense_unreachable().unwrap(),
        Vec::<u64>::new(),
        "catalog chunks the dense index cannot reach"
    );
    let mut stmt = catalog
        .prepare("SELECT id FROM documents WHERE status = 'indexed' ORDER BY id")
        .unwrap();
    let indexed: Vec<i64> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for query in ["roof repairs", "budget line 7", "committee"] {
        for hit in library.search(query, &SearchOptions::default()).unwrap() {
            assert!(
                ids.binary_search(&hit.passage.chunk_id).is_ok(),
                "hit {} is not in the catalog",
                hit.passage.chunk_id
            );
            assert!(
                indexed.binary_search(&hit.passage.document_id).is_ok(),
                "hit {} names document {}, which is not indexed",
                hit.passage.chunk_id,
                hit.passage.document_id
            );
        }
    }
    // No document has duplicate chunks: ordinals are exactly 0..n.
    let mut stmt = catalog
        .prepare("SELECT document_id, COUNT(*), COUNT(DISTINCT ordinal), MAX(ordinal) FROM chunks GROUP BY document_id")
        .unwrap();
    for row in stmt
        .query_map([], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
        })
        .unwrap()
    {
        let (count, distinct, max) = row.unwrap();
        assert_eq!(
            (count, distinct),
            (max + 1, max + 1),
            "duplicate chunks in a document"
        );
    }
}

#[test]
fn killed_ingest_leaves_a_consistent_resumable_library() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("notes");
    for i in 0..FILES {
        let mut text = String::new();
        for p in 0..4 {
            text.push_str(&format!(
                "Meeting {i}, item {p}: the committee discussed budget line {i}-{p}, the roof repairs of \
                 building {i}, and who keeps the keys to the boiler room on floor {p}. Minutes were taken \
                 and approved after a long discussion about heating costs and window seals.\n\n"
            ));
        }
        write(&docs.join(format!("meeting{i:03}.txt")), &text);
    }
    let lib = tmp.path().join("lib");

    // Kill points: early, middle, late.
    let mut last = 0;
    for kill_at in [1, FILES / 3, 2 * FILES / 3] {
        let child = start_add(&lib, &docs);
        let committed = kill_after(child, &lib, kill_at.max(last + 1));
        assert!(committed >= last, "documents were lost: {committed} < {last}");
        last = committed;
        assert_consistent(&lib);
    }

    // Search from this process while another process ingests.
    let mut child = start_add(&lib, &docs);
    let library = open(&lib);
    let mut searched = 0;
    while child.try_wait().unwrap().is_none() || searched == 0 {
        let hits = library
            .search("roof repairs of building", &SearchOptions::default())
            .unwrap();
        assert!(!hits.is_empty());
        searched += 1;
    }
    let report = finish(child);
    assert_eq!(report["failed"], 0);
    assert_eq!(
        report["added"].as_u64().unwrap() + report["unchanged"].as_u64().unwrap(),
        FILES as u64
    );
    drop(library);
    assert_consistent(&lib);

    // Exactly the chunks a clean ingest makes: nothing twice, nothing missing.
    let e = embedder();
    let chunker = Chunker::new(e.tokenizer(), e.max_tokens()).unwrap();
    let expected: usize = (0..FILES)
        .map(|i| {
            let path = docs.join(format!("meeting{i:03}.txt"));
            chunker
                .chunk(&extract(&path, &read_file(&path).unwrap()).unwrap())
                .unwrap()
                .len()
        })
        .sum();
    let info = open(&lib).info().unwrap();
    assert_eq!((info.documents, info.chunks as usize), (FILES, expected));
}

#[test]
#[cfg(unix)]
fn ctrl_c_stops_cleanly_and_the_next_add_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("notes");
    for i in 0..30 {
        write(
            &docs.join(format!("memo{i:02}.txt")),
            &format!("Memo {i}: the roof of building {i} leaks near the boiler room; repairs are booked.\n")
                .repeat(12),
        );
    }
    let lib = tmp.path().join("lib");
    let mut child = start_add(&lib, &docs);
    wait_for_documents(&mut child, &lib, 2);
    interrupt(&child);
    // Ctrl-C is a clean stop: success, with a report.
    let report = finish(child);
    let added = report["added"].as_u64().unwrap();
    assert!(report["cancelled"].as_bool().unwrap() || added == 30, "{report}");
    assert_consistent(&lib);

    let report = finish(start_add(&lib, &docs));
    assert_eq!(report["added"].as_u64().unwrap() + added, 30, "{report}");
    assert_eq!(report["unchanged"].as_u64().unwrap(), added);
    assert_eq!(open(&lib).info().unwrap().documents, 30);
}

#[test]
fn a_second_add_while_one_runs_says_the_library_is_busy_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
    for i in 0..300 {
        write(
            &first.join(format!("memo{i:03}.txt")),
            &format!("Memo {i}: the roof of building {i} leaks near the boiler room; repairs are booked.\n")
                .repeat(12),
        );
    }
    write(
        &second.join("other.txt"),
        "The committee approved budget line 7 for the new boiler.\n",
    );
    let lib = tmp.path().join("lib");
    let mut running = start_add(&lib, &first);
    wait_for_documents(&mut running, &lib, 1);

    let busy = start_add(&lib, &second).wait_with_output().unwrap();
    assert_eq!(
        busy.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&busy.stdout)
    );
    let message = String::from_utf8_lossy(&busy.stderr);
    assert_eq!(
        message.trim(),
        "quarry: the library is being written by another Quarry process; try again when it finishes"
    );

    let report = finish(running);
    assert_eq!(
        (report["added"].as_u64(), report["failed"].as_u64()),
        (Some(300), Some(0))
    );
    assert_consistent(&lib);
    let documents = open(&lib).read().documents().unwrap();
    assert!(documents.iter().all(|d| !d.path.ends_with("other.txt")));
    assert_eq!(documents.len(), 300);
}
