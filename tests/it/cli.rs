//! Properties: the real binary adds, searches, lists and removes with the
//! JSON shapes scripts rely on; errors are one line on stderr and exit 1.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{corpus, model_dir};

fn quarry(library: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quarry"))
        .arg("--library")
        .arg(library)
        .args(args)
        .env("QUARRY_EMBEDDER", model_dir())
        .output()
        .expect("run quarry")
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

#[test]
fn add_search_docs_remove() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(tmp.path());
    std::fs::write(docs.join("broken.pdf"), b"%PDF-1.7 nothing else").unwrap();
    std::fs::write(docs.join("odd-font.pdf"), crate::support::panicking_pdf()).unwrap();
    let lib = tmp.path().join("lib");

    let output = quarry(&lib, &["add", docs.to_str().unwrap(), "--json"]);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        !stderr.contains("panicked"),
        "a caught parser panic must not print: {stderr}"
    );
    let added = json(&output);
    assert_eq!(added["added"], 7);
    assert_eq!(added["failed"], 2);
    let files = added["files"].as_array().unwrap();
    assert_eq!(files.len(), 9);
    let odd = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("odd-font.pdf"))
        .unwrap();
    assert!(odd["error"].as_str().unwrap().contains("parser crashed"), "{odd}");
    let broken = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("broken.pdf"))
        .unwrap();
    assert_eq!(broken["outcome"], "failed");
    assert!(broken["error"].as_str().unwrap().contains("corrupt"));

    let found = json(&quarry(&lib, &["search", "ZX-4417-B", "-k", "3", "--json"]));
    let results = found["results"].as_array().unwrap();
    assert!(!results.is_empty() && results.len() <= 3);
    let top = &results[0];
    assert!(top["path"].as_str().unwrap().ends_with("manual.pdf"));
    assert_eq!(top["page"], 2);
    for key in [
        "text",
        "score",
        "dense_rank",
        "lexical_rank",
        "dense_score",
        "lexical_score",
        "start",
        "end",
    ] {
        assert!(top.get(key).is_some(), "missing {key}");
    }

    let text = quarry(&lib, &["search", "impeller seal"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("manual.pdf p.2"));

    let listed = json(&quarry(&lib, &["docs", "--json"]));
    let documents = listed["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 9);
    assert!(documents
        .iter()
        .any(|d| d["status"] == "failed" && d["error"].as_str().unwrap().contains("corrupt")));

    let manual = docs.join("manual.pdf");
    let removed = json(&quarry(&lib, &["remove", manual.to_str().unwrap(), "--json"]));
    assert_eq!(removed["removed"], 1);
    let found = json(&quarry(&lib, &["search", "ZX-4417-B", "--json"]));
    assert!(found["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| !r["path"].as_str().unwrap().ends_with("manual.pdf")));
}

#[test]
fn errors_are_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["--library", tmp.path().to_str().unwrap(), "--embedder"])
        .arg(tmp.path().join("no-model-here"))
        .args(["search", "anything"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("quarry: embedding model"), "{stderr}");
    assert!(
        stderr.contains("no-model-here") && stderr.contains("models/fetch"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let lib = tmp.path().join("lib");
    let output = quarry(&lib, &["remove", "/not/in/library.txt"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("not in the library"));
}
