//! Properties of the sandbox's worker process, `quarry-extract`, driven as
//! the sandbox drives it: a file's bytes on stdin, a JSON reply on stdout,
//! and limits it sets on itself. (This test is also what makes `cargo test`
//! build the worker beside the other binaries, where the CLI and the app
//! look for it.)

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};

use quarry_parse::sandbox::{Limits, Reply, Sandbox};

fn worker(name: &str, bytes: &[u8], extra: &[&str], hooks: bool) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quarry-extract"));
    command
        .args(["--name", name])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if hooks {
        command.env("QUARRY_EXTRACT_TEST_HOOKS", "1");
    }
    let mut child = command.spawn().expect("the worker runs");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_file_in_gives_its_text_out() {
    let out = worker("notes.md", b"# Pumps\n\nCheck the seal monthly.\n", &[], false);
    assert!(out.status.success());
    match serde_json::from_slice::<Reply>(&out.stdout).unwrap() {
        Reply::Extracted(e) => {
            assert_eq!(e.text, "# Pumps\n\nCheck the seal monthly.\n");
            assert_eq!(e.sections[0].title, "Pumps");
        }
        other => panic!("{other:?}"),
    }
    // A file the parsers refuse is a reply too, with the format and reason.
    let out = worker("a.pdf", b"not a pdf at all", &[], false);
    match serde_json::from_slice::<Reply>(&out.stdout).unwrap() {
        Reply::Failed { reason, .. } => assert!(reason.contains("not a PDF"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_worker_caps_its_own_memory_and_cpu() {
    let out = worker(
        "quarry-test-allocate.txt",
        b"x",
        &["--memory-bytes", &(256u64 << 20).to_string()],
        true,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("memory allocation of"));
    let out = worker("quarry-test-spin.txt", b"x", &["--cpu-seconds", "1"], true);
    assert_eq!(out.status.signal(), Some(24), "SIGXCPU at the CPU limit");
}

#[test]
fn the_sandbox_runs_files_in_the_worker_and_reads_its_replies() {
    let sandbox = Sandbox::new(
        Some(env!("CARGO_BIN_EXE_quarry-extract").into()),
        Limits::default(),
        2,
    );
    assert!(sandbox.isolated());
    assert_eq!(sandbox.parallel(), 2);
    let text = sandbox
        .extract(
            std::path::Path::new("/somewhere/notes.txt"),
            b"The seal kit fits the X200.",
        )
        .unwrap();
    assert_eq!(text.text, "The seal kit fits the X200.");
    let failure = sandbox
        .extract(std::path::Path::new("empty.pdf"), b"%PDF-")
        .unwrap_err();
    assert!(failure.error.to_string().contains("PDF"), "{}", failure.error);
}
