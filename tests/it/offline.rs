//! Properties: Quarry's promise that nothing leaves the machine, checked on
//! the real binary. `quarry add` (every format, OCR included, through the
//! sandboxed extraction worker), `search` and `ask` (a real GGUF) run in a
//! network namespace with no interface but a down loopback (`unshare -n`),
//! under `strace -f`, and not one of their processes or threads opens an
//! internet socket (`AF_INET`/`AF_INET6`) — not even one that could not
//! have reached anything. The same check run on `curl` proves it sees such
//! a socket when there is one.

use std::path::Path;
use std::process::Command;

use crate::cli::{json, quarry_on};
use crate::support::{corpus, fixture, gguf, SMOLLM2};

/// Run `quarry --library LIBRARY ARGS` with no network, traced; its output
/// and the system calls that made sockets or connected them, one line each.
fn offline_quarry(library: &Path, trace: &Path, args: &[&str]) -> (std::process::Output, Vec<String>) {
    let mut command = offline(trace, env!("CARGO_BIN_EXE_quarry"));
    quarry_on(&mut command, library, args);
    let output = command.output().expect("run unshare");
    (output, internet_sockets(trace))
}

/// `program` inside a new network namespace, every process and thread
/// traced for the calls that make or use a socket.
fn offline(trace: &Path, program: &str) -> Command {
    let mut command = Command::new("unshare");
    command
        .arg("--net")
        .arg("strace")
        .args(["-f", "-qq", "-e", "trace=socket,connect,sendto,sendmsg,bind"])
        .arg("-o")
        .arg(trace)
        .arg("--")
        .arg(program);
    command
}

/// The traced calls that touched an internet address family.
fn internet_sockets(trace: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(trace).expect("strace wrote its trace");
    text.lines()
        .filter(|line| line.contains("AF_INET") || line.contains("PF_INET"))
        .map(str::to_string)
        .collect()
}

#[test]
fn add_search_and_ask_open_no_internet_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(tmp.path());
    // A scan, so OCR's programs (pdftoppm, tesseract) run under the trace too.
    std::fs::copy(fixture("scanned.pdf"), docs.join("scanned.pdf")).unwrap();
    let lib = tmp.path().join("lib");
    let trace = tmp.path().join("trace");

    // The check sees an internet socket when a program opens one: curl,
    // which can reach nothing in the namespace, still makes its socket.
    let curl = offline(&trace, "curl")
        .args(["-s", "--max-time", "5", "http://127.0.0.1:9/"])
        .output()
        .expect("run unshare and strace (Debian's util-linux and strace)");
    assert!(!curl.status.success(), "curl reached something with no network");
    assert!(
        internet_sockets(&trace)
            .iter()
            .any(|l| l.contains("socket(AF_INET")),
        "the trace shows no socket for curl: {}",
        std::fs::read_to_string(&trace).unwrap()
    );

    let (output, sockets) = offline_quarry(&lib, &trace, &["add", docs.to_str().unwrap(), "--json"]);
    let added = json(&output);
    assert_eq!(added["failed"], 0, "{added}");
    assert_eq!(added["added"], 8, "{added}");
    let scanned = added["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("scanned.pdf"))
        .unwrap()
        .clone();
    assert_eq!(scanned["outcome"], "added", "{scanned}");
    assert!(
        sockets.is_empty(),
        "quarry add opened internet sockets: {sockets:#?}"
    );

    let (output, sockets) = offline_quarry(&lib, &trace, &["search", "ZX-4471-C", "--json"]);
    let found = json(&output);
    assert!(
        found["results"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("parts.txt"),
        "{found}"
    );
    assert!(
        sockets.is_empty(),
        "quarry search opened internet sockets: {sockets:#?}"
    );

    let model = gguf(SMOLLM2);
    let (output, sockets) = offline_quarry(
        &lib,
        &trace,
        &[
            "ask",
            "When do tomato seedlings go outside?",
            "--model",
            model.to_str().unwrap(),
            "--max-tokens",
            "40",
            "--json",
        ],
    );
    let answer = json(&output);
    assert_eq!(answer["not_found"], false, "{answer}");
    assert!(
        !answer["raw_answer"].as_str().unwrap().trim().is_empty(),
        "{answer}"
    );
    assert!(
        answer["retrieved"].as_array().is_some_and(|passages| passages
            .iter()
            .any(|p| p["path"].as_str().unwrap().ends_with("garden.txt"))),
        "{answer}"
    );
    assert!(
        sockets.is_empty(),
        "quarry ask opened internet sockets: {sockets:#?}"
    );
}
