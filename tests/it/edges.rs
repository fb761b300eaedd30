//! Properties: folders as people's disks hold them. A file name that is not
//! valid UTF-8 is reported by name and reason (never indexed under a name
//! that points nowhere, so never flip-flopping between added and removed);
//! symlink loops end the walk, never hang it; a file larger than Quarry
//! reads is refused with both sizes; everything else in the folder is
//! indexed, and adding again changes nothing.

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
