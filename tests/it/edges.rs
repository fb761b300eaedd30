//! Properties: folders as people's disks hold them. A file name that is not
//! valid UTF-8 is reported by name and reason (never indexed under a name
//! that points nowhere, so never flip-flopping between added and removed);
//! symlink loops end the walk, never hang it; a file larger than Quarry
//! reads is refused with both sizes; a file written to while it is read
//! is either read whole or reported as changing, and once it is still the
//! next add indexes exactly what it holds; everything else in the folder
//! is indexed, and adding again changes nothing.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use quarry_core::{AddReport, Outcome, SearchOptions};

use crate::support::{add, open, write};

fn outcome_of<'a>(report: &'a AddReport, name: &str) -> &'a quarry_core::FileReport {
    report
        .files
        .iter()
        .find(|f| {
            Path::new(&f.path)
                .file_name()
                .is_some_and(|n| n.to_string_lossy() == name)
        })
        .unwrap_or_else(|| panic!("{name} is not in the report: {report:#?}"))
}

#[test]
fn odd_names_and_symlink_loops_are_reported_or_skipped_and_the_rest_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("docs");
    write(
        &folder.join("good.txt"),
        "The lighthouse keeper logs the lamp's oil every evening at dusk.\n",
    );
    // Latin-1 "café.txt": the byte 0xE9 alone is not UTF-8.
    let latin1 = folder.join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
    std::fs::write(&latin1, "The harbour master keeps the tide tables.\n").unwrap();
    std::os::unix::fs::symlink(".", folder.join("loop")).unwrap();
    std::os::unix::fs::symlink("itself", folder.join("itself")).unwrap();
    std::fs::create_dir(folder.join("sub")).unwrap();
    std::os::unix::fs::symlink("..", folder.join("sub/up")).unwrap();
    std::os::unix::fs::symlink("good.txt", folder.join("also-good.txt")).unwrap();

    let lib = tmp.path().join("lib");
    let library = open(&lib);
    let first = add(&library, &folder);
    assert_eq!((first.added, first.failed), (2, 1), "{first:#?}");
    assert_eq!(outcome_of(&first, "good.txt").outcome, Outcome::Added);
    assert_eq!(outcome_of(&first, "also-good.txt").outcome, Outcome::Added);
    let odd = outcome_of(&first, "caf\u{FFFD}.txt");
    assert_eq!(odd.outcome, Outcome::Failed);
    assert!(
        odd.error.as_deref().unwrap().contains("not valid UTF-8"),
        "{odd:?}"
    );

    let again = add(&library, &folder);
    assert_eq!(
        (
            again.added,
            again.updated,
            again.removed,
            again.unchanged,
            again.failed
        ),
        (0, 0, 0, 2, 1),
        "{again:#?}"
    );
    let hits = library
        .search("lamp oil at dusk", &SearchOptions::default())
        .unwrap();
    assert!(hits[0].passage.path.ends_with("good.txt"), "{hits:#?}");
    assert_eq!(library.info().unwrap().documents, 2);
}

#[test]
fn a_file_larger_than_quarry_reads_is_refused_with_its_size_and_the_rest_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("docs");
    write(
        &folder.join("small.txt"),
        "The orchard's pear trees are pruned in late winter.\n",
    );
    // 1 GiB of text as the file system reports it (sparse: no disk used).
    let big = std::fs::File::create(folder.join("huge-log.txt")).unwrap();
    big.set_len(1 << 30).unwrap();
    drop(big);

    let library = open(&tmp.path().join("lib"));
    let report = add(&library, &folder);
    assert_eq!((report.added, report.failed), (1, 1), "{report:#?}");
    let huge = outcome_of(&report, "huge-log.txt");
    assert_eq!(
        huge.error.as_deref(),
        Some("too large: 1024 MiB (1073741824 bytes); Quarry reads files of up to 256 MiB")
    );
    assert_eq!(library.info().unwrap().chunks, 1);
}

#[test]
fn a_file_written_while_it_is_read_is_reported_or_read_whole_and_indexed_as_it_ends() {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};

    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("docs");
    write(
        &folder.join("tides.txt"),
        "The harbour master keeps the tide tables for the spring.\n",
    );
    let log_path = folder.join("ship-log.txt");
    write(&log_path, "The ship's log begins at Lisbon.\n");
    let library = open(&tmp.path().join("lib"));

    // A log rewritten without pause, line by line (a save in progress at
    // almost every moment), the whole time two adds run.
    let writing = AtomicBool::new(true);
    let (during, saves) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut saves = 0u64;
            while writing.load(Ordering::Relaxed) {
                let mut log = std::fs::File::create(&log_path).unwrap();
                for entry in 0..20 {
                    writeln!(log, "Entry {entry} of save {saves}: wind north-east, sea calm.").unwrap();
                }
                saves += 1;
            }
            saves
        });
        let during = [add(&library, &folder), add(&library, &folder)];
        writing.store(false, Ordering::Relaxed);
        (during, writer.join().unwrap())
    });
    assert!(saves > 0);
    for report in &during {
        let log = outcome_of(report, "ship-log.txt");
        match log.outcome {
            // Changing during each read (what runs here); or, if the writer
            // was kept off both cores for longer than Quarry's quiet time
            // (100 ms) just after a save truncated the file, empty.
            Outcome::Failed => assert!(
                [
                    "the file changed while it was read, 3 times (is it being written?): it will be read again by the next add",
                    "empty file"
                ]
                .contains(&log.error.as_deref().unwrap()),
                "{log:?}"
            ),
            // Read while the writer was kept off the cores that long.
            Outcome::Added | Outcome::Updated | Outcome::Unchanged => {}
            Outcome::Removed => panic!("{log:?}"),
        }
        eprintln!("while written ({saves} saves): {:?} {:?}", log.outcome, log.error);
        assert_eq!(outcome_of(report, "tides.txt").error, None, "{report:#?}");
    }

    // Still now, with one last entry: indexed exactly as it is on disk.
    let mut log = std::fs::OpenOptions::new().append(true).open(&log_path).unwrap();
    writeln!(log, "Last entry: the anchor was raised at twenty to seven.").unwrap();
    drop(log);
    let after = add(&library, &folder);
    let log = outcome_of(&after, "ship-log.txt");
    assert!(
        matches!(log.outcome, Outcome::Added | Outcome::Updated),
        "{log:?}"
    );
    let on_disk = std::fs::read_to_string(&log_path).unwrap();
    let doc = library
        .read()
        .document(log_path.to_str().unwrap())
        .unwrap()
        .unwrap();
    let meta = std::fs::metadata(&log_path).unwrap();
    assert_eq!(doc.size, meta.len());
    let stored = library.read().document_text(doc.id).unwrap().unwrap().text;
    assert_eq!(stored.trim_end(), on_disk.trim_end());
    let hits = library
        .search("when was the anchor raised", &SearchOptions::default())
        .unwrap();
    assert!(hits[0].passage.path.ends_with("ship-log.txt"), "{hits:#?}");
    let again = add(&library, &folder);
    assert_eq!((again.unchanged, again.failed), (2, 0), "{again:#?}");
}
