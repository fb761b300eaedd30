//! Properties: the real binary adds, searches, lists and removes with the
//! JSON shapes scripts rely on; errors are one line on stderr and exit 1.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{corpus, model_dir};

pub fn quarry(library: &Path, args: &[&str]) -> Output {
    quarry_command(library, args).output().expect("run quarry")
}

/// The command [`quarry`] runs, for a test to add to.
pub fn quarry_command(library: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quarry"));
    quarry_on(&mut command, library, args);
    command
}

/// Give `command` (quarry itself, or a wrapper that runs it last) the
/// library, the arguments and the test environment.
pub fn quarry_on(command: &mut Command, library: &Path, args: &[&str]) {
    command
        .arg("--library")
        .arg(library)
        .args(args)
        .env("QUARRY_EMBEDDER", model_dir())
        // Each library its own prompt cache: tests never share a KV cache.
        .env("QUARRY_CACHE_DIR", library.with_extension("cache"));
}

/// The stdout of a successful run, as JSON (also used by `eval.rs`).
pub fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

#[test]
fn a_new_library_is_int8_an_existing_one_keeps_its_precision_and_a_switch_is_a_reembed() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(tmp.path());
    let lib = tmp.path().join("lib");
    let added = json(&quarry(&lib, &["add", docs.to_str().unwrap(), "--json"]));
    assert!(added["added"].as_u64().unwrap() > 0, "{added}");
    let info = json(&quarry(&lib, &["info", "--json"]));
    assert_eq!(info["embedder"]["precision"], "int8", "{info}");
    let chunks = info["chunks"].as_u64().unwrap();

    // f32 asked for on an int8 library: refused, saying both ways out.
    let refused = quarry(&lib, &["--precision", "f32", "search", "impeller seal"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("quarry reembed") && stderr.contains("--precision int8"),
        "{stderr}"
    );
    let reembedded = json(&quarry(&lib, &["reembed", "--precision", "f32", "--json"]));
    assert_eq!(reembedded["reembedded"].as_u64(), Some(chunks), "{reembedded}");
    assert_eq!(reembedded["embedder"]["precision"], "f32");

    // Without a flag the library opens at the precision it was made at now.
    let info = json(&quarry(&lib, &["info", "--json"]));
    assert_eq!(info["embedder"]["precision"], "f32", "{info}");
    assert_eq!(info["mismatch"], Value::Null, "{info}");
    let found = json(&quarry(&lib, &["search", "ZX-4417-B", "-k", "1", "--json"]));
    assert!(found["results"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("manual.pdf"));
    // The environment variable is the flag's other spelling.
    let by_env = quarry_command(&lib, &["info", "--json"])
        .env("QUARRY_EMBED_PRECISION", "int8")
        .output()
        .unwrap();
    assert_eq!(json(&by_env)["mismatch"]["precision"], "f32");
    let unknown = quarry(&lib, &["--precision", "int4", "info"]);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        !unknown.status.success() && stderr.contains("f32 or int8"),
        "{stderr}"
    );
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
    assert!(String::from_utf8_lossy(&text.stdout).contains("manual.pdf, page 2"));

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
fn inspect_shows_the_token_table_the_stored_vector_and_the_ranks() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(tmp.path());
    let lib = tmp.path().join("lib");
    json(&quarry(&lib, &["add", docs.to_str().unwrap(), "--json"]));
    let question = "when do tomato seedlings go outside";
    let top = json(&quarry(&lib, &["search", question, "-k", "1", "--json"]))["results"][0].clone();
    let seen = json(&quarry(&lib, &["inspect", question, "--json"]));
    assert_eq!(seen["chunk_id"], top["chunk_id"]);
    assert!(seen["path"].as_str().unwrap().ends_with("garden.txt"));
    let table = &seen["token_embeddings"];
    assert_eq!(table["tensor"], "embeddings.word_embeddings.weight");
    assert_eq!(table["shape"], serde_json::json!([30522, 384]));
    let pieces = seen["word_pieces"].as_array().unwrap();
    let tomato = pieces.iter().find(|p| p["piece"] == "tomato").unwrap();
    assert_eq!(tomato["row"], tomato["id"]);
    let vector = &seen["chunk_vector"];
    assert_eq!(vector["dimension"], 384);
    assert_eq!(vector["first"].as_array().unwrap().len(), 8);
    let cosine = vector["cosine_with_question"].as_f64().unwrap();
    assert!((cosine - top["dense_score"].as_f64().unwrap()).abs() < 1e-3);
    assert_eq!(seen["retrieval"]["fused_rank"], 1);
    assert_eq!(seen["retrieval"]["dense_rank"], top["dense_rank"]);
    assert_eq!(seen["retrieval"]["lexical_score"], top["lexical_score"]);

    // By id, as text: the parts a person reads.
    let id = top["chunk_id"].to_string();
    let text = quarry(&lib, &["inspect", question, "--chunk", &id]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("part of the model, not the library"), "{text}");
    assert!(text.contains("one pooled chunk vector: 384 dimensions"), "{text}");
    assert!(text.contains("tomato→"), "{text}");
    let missing = quarry(&lib, &["inspect", question, "--chunk", "999999"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not in the library"));
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

mod answering {
    //! Properties: `quarry ask --json` prints one object with the answer,
    //! checked citations, the passages given, `not_found` and timings; a
    //! question the library cannot answer is refused without loading a
    //! model; conversations are listed and deleted; `quarry models` lists
    //! what it finds; Ctrl-C stops an answer and keeps what came so far.

    use std::io::Read;
    use std::process::{Command, Stdio};

    use super::{json, quarry};
    use crate::support::{corpus, gguf, interrupt, llm_lock, model_dir, SMOLLM2};

    /// The corpus indexed by the real binary into `<tmp>/lib`.
    fn indexed_library() -> (tempfile::TempDir, std::path::PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let lib = tmp.path().join("lib");
        json(&quarry(
            &lib,
            &["add", corpus(tmp.path()).to_str().unwrap(), "--json"],
        ));
        (tmp, lib)
    }

    #[test]
    fn a_second_ask_process_reuses_the_prompt_cache_the_first_saved() {
        let (_tmp, lib) = indexed_library();
        let model = gguf(SMOLLM2);
        let _lock = llm_lock();
        let ask = |question: &str| {
            json(&quarry(
                &lib,
                &["ask", question, "--json", "--model", model.to_str().unwrap()],
            ))
        };
        let question = "When do tomato seedlings go outside?";
        let first = ask(question);
        assert_eq!(first["timing"]["reused_prompt_tokens"], 0, "{first:#}");
        let cache = lib.with_extension("cache").join("prompt-cache");
        let files: Vec<_> = std::fs::read_dir(&cache)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(files.len(), 1, "one state file per model: {files:?}");
        assert!(files[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("SmolLM2"));

        // The same question in a new process: all but the last prompt token
        // come from the saved cache. (Not necessarily word for word the same
        // answer: logits computed over a restored cache differ in the last
        // bits from a fresh pass, and greedy decoding may then part ways.)
        let second = ask(question);
        let prompt = second["timing"]["prompt_tokens"].as_u64().unwrap();
        assert_eq!(
            second["timing"]["reused_prompt_tokens"].as_u64().unwrap(),
            prompt - 1
        );
        assert_eq!(second["not_found"], false, "{second:#}");
        assert!(!second["answer"].as_str().unwrap().trim().is_empty());
        assert_eq!(
            second["timing"]["prompt_tokens"],
            first["timing"]["prompt_tokens"]
        );

        // Another question shares the instructions' prefix only.
        let other = ask("What is the drive belt part number?");
        let reused = other["timing"]["reused_prompt_tokens"].as_u64().unwrap();
        assert!(
            reused > 5 && reused < other["timing"]["prompt_tokens"].as_u64().unwrap() - 1,
            "{other:#}"
        );

        // A damaged cache file costs only the reuse: it is replaced.
        std::fs::write(&files[0], b"not a llama.cpp state file").unwrap();
        let after_damage = ask(question);
        assert_eq!(
            after_damage["timing"]["reused_prompt_tokens"], 0,
            "{after_damage:#}"
        );
        assert_eq!(after_damage["not_found"], false, "{after_damage:#}");
        assert!(std::fs::metadata(&files[0]).unwrap().len() > 1000);
    }

    #[test]
    fn ask_prints_one_checked_answer_object_and_keeps_the_conversation() {
        let (_tmp, lib) = indexed_library();
        let model = gguf(SMOLLM2);
        let _lock = llm_lock();
        let answer = json(&quarry(
            &lib,
            &[
                "ask",
                "When do tomato seedlings go outside?",
                "--json",
                "--model",
                model.to_str().unwrap(),
            ],
        ));
        assert_eq!(answer["not_found"], false, "{answer:#}");
        assert!(!answer["answer"].as_str().unwrap().is_empty());
        let retrieved = answer["retrieved"].as_array().unwrap();
        assert!(!retrieved.is_empty());
        for c in answer["citations"].as_array().unwrap() {
            for field in ["number", "path", "page", "span", "text"] {
                assert!(c.get(field).is_some(), "citation lacks {field}: {c:#}");
            }
            assert!(retrieved
                .iter()
                .any(|p| p["number"] == c["number"] && p["path"] == c["path"]));
        }
        for field in [
            "retrieval_ms",
            "prompt_tokens",
            "time_to_first_token_ms",
            "tokens_per_second",
        ] {
            assert!(
                answer["timing"][field].as_f64().unwrap() > 0.0,
                "timing.{field}: {answer:#}"
            );
        }
        let id = answer["conversation"].as_i64().unwrap();

        // A follow-up in the same conversation, then the list and a delete.
        let follow = json(&quarry(
            &lib,
            &[
                "ask",
                "What is the capital of Australia?",
                "--json",
                "--conversation",
                &id.to_string(),
                "--model",
                "/nonexistent/model.gguf",
            ],
        ));
        assert_eq!(
            follow["not_found"], true,
            "refused without loading the (missing) model: {follow:#}"
        );
        assert_eq!(follow["abstention"], "retrieval");
        let listed = json(&quarry(&lib, &["conversations", "--json"]));
        assert_eq!(listed["conversations"][0]["turns"], 2, "{listed:#}");
        let shown = json(&quarry(
            &lib,
            &["conversations", "show", &id.to_string(), "--json"],
        ));
        assert_eq!(
            shown["turns"][0]["question"],
            "When do tomato seedlings go outside?"
        );
        json(&quarry(
            &lib,
            &["conversations", "delete", &id.to_string(), "--json"],
        ));
        let listed = json(&quarry(&lib, &["conversations", "--json"]));
        assert!(listed["conversations"].as_array().unwrap().is_empty());
        let again = quarry(&lib, &["conversations", "delete", &id.to_string()]);
        assert!(!again.status.success(), "deleting nothing exits 1");
    }

    #[test]
    fn chat_answers_each_line_and_keeps_one_conversation() {
        let (_tmp, lib) = indexed_library();
        let model = gguf(SMOLLM2);
        let _lock = llm_lock();
        let mut child = Command::new(env!("CARGO_BIN_EXE_quarry"))
            .args(["--library", lib.to_str().unwrap(), "chat", "--model"])
            .arg(&model)
            .env("QUARRY_EMBEDDER", model_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"When do tomato seedlings go outside?\n\nWhat is the capital of Australia?\n/quit\n")
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("garden.txt"),
            "the first answer lists its source: {stdout}"
        );
        assert!(stdout.contains("Not found in your documents"), "{stdout}");
        let listed = json(&quarry(&lib, &["conversations", "--json"]));
        let conversations = listed["conversations"].as_array().unwrap();
        assert_eq!(conversations.len(), 1, "{listed:#}");
        assert_eq!(conversations[0]["turns"], 2);
    }

    #[test]
    fn a_missing_model_file_is_named() {
        let (_tmp, lib) = indexed_library();
        let missing = quarry(
            &lib,
            &[
                "ask",
                "When do tomato seedlings go outside?",
                "--model",
                "/nope/x.gguf",
            ],
        );
        let missing_err = String::from_utf8_lossy(&missing.stderr);
        assert!(!missing.status.success());
        assert!(
            missing_err.contains("/nope/x.gguf") && missing_err.contains("does not exist"),
            "{missing_err}"
        );
    }

    #[test]
    fn models_lists_architecture_size_and_default() {
        let listed = json(&quarry(
            std::path::Path::new("/tmp/unused"),
            &["models", "--json"],
        ));
        let models = listed["models"].as_array().unwrap();
        let smol = models
            .iter()
            .find(|m| m["model"]["path"].as_str().is_some_and(|p| p.ends_with(SMOLLM2)))
            .unwrap_or_else(|| panic!("{listed:#}"));
        assert_eq!(smol["model"]["architecture"], "llama");
        assert_eq!(smol["model"]["quantization"], "Q4_1");
        assert_eq!(smol["model"]["context_length"], 8192);
        assert_eq!(smol["model"]["has_chat_template"], true);
        assert_eq!(models.iter().filter(|m| m["default"] == true).count(), 1);
    }

    #[test]
    fn ctrl_c_stops_the_answer_and_keeps_the_partial_text() {
        let (_tmp, lib) = indexed_library();
        let model = gguf(SMOLLM2);
        let _lock = llm_lock();
        let mut child = Command::new(env!("CARGO_BIN_EXE_quarry"))
            .args([
                "--library",
                lib.to_str().unwrap(),
                "ask",
                "--max-tokens",
                "2000",
                "--model",
            ])
            .arg(&model)
            .arg("Write a long, detailed guide to growing tomato seedlings, step by step.")
            .env("QUARRY_EMBEDDER", model_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 1];
        stdout
            .read_exact(&mut first)
            .expect("the answer starts streaming");
        interrupt(&child);
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let exit = child.wait().unwrap();
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert!(
            exit.success(),
            "a stopped answer is not an error: {exit:?} {}{rest} {stderr}",
            first[0] as char
        );
        assert!(rest.contains("[stopped]"), "{rest}");
        let listed = json(&quarry(&lib, &["conversations", "--json"]));
        assert_eq!(
            listed["conversations"][0]["turns"], 1,
            "the partial answer is kept: {listed:#}"
        );
    }
}
