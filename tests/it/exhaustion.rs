//! Properties: a library on a disk that fills up, or on a file system
//! mounted read-only, as the real binary meets them. Each case runs in a
//! mount namespace of its own (`unshare -m`), with the library on a small
//! tmpfs, so no real disk is filled and nothing outside the test is seen.
//!
//! - Disk full during an add: the add fails with one plain sentence that
//!   says the disk is full, and nothing already indexed is lost.
//! - While the disk stays full the library is still read: `search`, `docs`,
//!   `info` succeed; a question, whose conversation cannot be stored, is
//!   refused with the same plain sentence.
//! - Once space is freed, the same add completes and `doctor` finds the
//!   library healthy.
//! - Read-only: searching works; adding says the library cannot be written.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{gguf, llm_lock, model_dir, write, SMOLLM2};

/// Run `script` under `sh` in a new mount namespace; its steps write
/// `NAME.rc`, `NAME.out` and `NAME.err` into `results`.
fn in_mount_namespace(results: &Path, script: &str, args: &[&Path]) {
    let status = Command::new("unshare")
        .arg("--mount")
        .args(["sh", "-c", script, "sh"])
        .args(args)
        .env("QUARRY", env!("CARGO_BIN_EXE_quarry"))
        .env("QUARRY_EMBEDDER", model_dir())
        .env("QUARRY_CACHE_DIR", results.join("cache"))
        .env("R", results)
        .status()
        .expect("run unshare");
    assert!(status.success(), "the namespace's script failed: {status:?}");
}

/// What the step `name` printed and how it ended.
struct Step {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Step {
    fn read(results: &Path, name: &str) -> Step {
        let read = |ext: &str| std::fs::read_to_string(results.join(format!("{name}.{ext}"))).unwrap();
        Step {
            code: read("rc").trim().parse().unwrap(),
            stdout: read("out"),
            stderr: read("err"),
        }
    }

    fn json(&self) -> Value {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        serde_json::from_str(&self.stdout).expect("stdout is JSON")
    }
}

/// `step NAME ARGS...`: run quarry on the library, keep its output.
const STEP: &str = r#"
step() { name=$1; shift; "$QUARRY" --library "$LIB" "$@" >"$R/$name.out" 2>"$R/$name.err"; echo $? >"$R/$name.rc"; }
"#;

fn notes(dir: &Path, topic: &str, count: usize) {
    for n in 0..count {
        let mut text = String::new();
        for p in 0..6 {
            text.push_str(&format!(
                "{topic} note {n}, part {p}: the inspection of pier {n} found rust on bolt row {p}, \
                 and the harbour office ordered a new coat of paint before the winter storms.\n\n"
            ));
        }
        write(&dir.join(format!("{topic}-{n:02}.txt")), &text);
    }
}

#[test]
fn a_full_disk_fails_the_add_plainly_keeps_the_library_readable_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
    notes(&first, "harbour", 4);
    notes(&second, "lighthouse", 40);
    let results = tmp.path().join("results");
    let mount = tmp.path().join("disk");
    std::fs::create_dir_all(&results).unwrap();
    std::fs::create_dir_all(&mount).unwrap();
    let script = format!(
        r#"set -u
mount -t tmpfs -o size=6m tmpfs "$1" || exit 1
LIB="$1/lib"
{STEP}
step add1 add "$2" --json
# Fill the disk: the filler ends when the disk is full.
cat /dev/zero > "$1/filler" 2>/dev/null
step add2 add "$3" --json
step search_full search "rust on bolt row" --json
step docs_full docs --json
step info_full info --json
step ask_full ask "What did the inspection of pier 2 find?" --model "$4"
rm "$1/filler"
step add3 add "$3" --json
step doctor doctor --json
step search_after search "lighthouse note 37" --json
"#
    );
    let model = gguf(SMOLLM2);
    let _lock = llm_lock();
    in_mount_namespace(&results, &script, &[&mount, &first, &second, &model]);

    assert_eq!(Step::read(&results, "add1").json()["added"], 4);
    for refused in ["add2", "ask_full"] {
        let full = Step::read(&results, refused);
        assert_eq!(
            full.code, 1,
            "{refused}: stdout: {} stderr: {}",
            full.stdout, full.stderr
        );
        let message = full.stderr.trim();
        assert_eq!(message.lines().count(), 1, "{refused}: {message}");
        assert!(
            message.contains("is full: free some space and try again"),
            "{refused}: the error does not say the disk is full: {message}"
        );
        assert!(
            message.matches("No space left on device").count() <= 1,
            "{refused}: the system's words are repeated: {message}"
        );
    }

    let hits = Step::read(&results, "search_full").json();
    assert!(
        hits["results"].as_array().is_some_and(|h| !h.is_empty()),
        "no search while the disk is full: {hits}"
    );
    let docs = Step::read(&results, "docs_full").json();
    let harbour = docs["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["path"].as_str().unwrap().contains("harbour-") && d["status"] == "indexed")
        .count();
    assert_eq!(
        harbour, 4,
        "documents indexed before the disk filled were lost: {docs}"
    );
    Step::read(&results, "info_full").json();

    let added = Step::read(&results, "add3").json();
    assert_eq!(added["failed"], 0, "{added}");
    let doctor = Step::read(&results, "doctor").json();
    let parts = doctor["parts"].as_array().unwrap();
    assert!(
        !parts.is_empty() && parts.iter().all(|p| p["health"] == "sound"),
        "{doctor}"
    );
    let hits = Step::read(&results, "search_after").json();
    assert!(
        hits["results"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("lighthouse-37.txt"),
        "{hits}"
    );
}

#[test]
fn a_read_only_library_is_searched_and_refuses_adds_plainly() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
    notes(&first, "harbour", 3);
    notes(&second, "lighthouse", 2);
    let results = tmp.path().join("results");
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&results).unwrap();
    let script = format!(
        r#"set -u
LIB="$1"
{STEP}
step add1 add "$2" --json
mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 1
step search_ro search "rust on bolt row" --json
step add_ro add "$3" --json
"#
    );
    in_mount_namespace(&results, &script, &[&lib, &first, &second]);

    assert_eq!(Step::read(&results, "add1").json()["added"], 3);
    let hits = Step::read(&results, "search_ro").json();
    assert!(
        hits["results"].as_array().is_some_and(|h| !h.is_empty()),
        "{hits}"
    );
    let refused = Step::read(&results, "add_ro");
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    let message = refused.stderr.trim();
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("is on a read-only file system"), "{message}");
}
