//! Properties: `quarry serve` speaks OpenAI's API to real clients — the
//! official `openai` Python package and curl — over a real socket, with the
//! real embedder and answer model: answers carry their checked sources,
//! embeddings equal the CLI's, search equals `quarry search --json`, every
//! request needs the token, documents are added and removed through it,
//! and an abandoned stream stops its answer (`tests/serve/openai_client.py`);
//! and one Quarry answers through another as its remote engine.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::cli::json;
use crate::support::{corpus, gguf, llm_lock, model_dir, repo, QWEN};

fn quarry(library: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quarry"));
    command
        .arg("--library")
        .arg(library)
        .env("QUARRY_EMBEDDER", model_dir());
    command
}

/// A running `quarry serve`, stopped with SIGTERM when dropped.
struct Served {
    child: Child,
    base: String,
    token: String,
}

impl Served {
    fn start(library: &Path, config: &Path) -> Self {
        let mut child = quarry(library)
            .args(["serve", "--port", "0", "--config"])
            .arg(config)
            .arg("--model")
            .arg(gguf(QWEN))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start quarry serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("quarry serve: listening on ")
            .unwrap_or_else(|| panic!("the first line says where it listens: {line:?}"))
            .to_string();
        let output = quarry(library)
            .args(["serve", "--show-token", "--config"])
            .arg(config)
            .output()
            .unwrap();
        assert!(output.status.success());
        let token = String::from_utf8(output.stdout).unwrap().trim().to_string();
        Served { child, base, token }
    }

    /// curl with the token (or `token`), returning the status and body.
    fn curl(&self, token: Option<&str>, method: &str, route: &str, body: Option<&str>) -> (u16, Value) {
        let mut command = Command::new("curl");
        command
            .args(["-sS", "-X", method, "-w", "\n%{http_code}"])
            .arg("-H")
            .arg(format!("Authorization: Bearer {}", token.unwrap_or(&self.token)))
            .arg(format!("{}{route}", self.base));
        if let Some(body) = body {
            command.args(["-H", "Content-Type: application/json", "--data", body]);
        }
        let output = command.output().expect("run curl");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        let (body, status) = text.rsplit_once('\n').unwrap();
        (
            status.parse().unwrap(),
            serde_json::from_str(body).unwrap_or(Value::Null),
        )
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

fn body(value: Value) -> String {
    value.to_string()
}

#[test]
fn openai_clients_get_grounded_answers_embeddings_and_the_library() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(tmp.path());
    let library = tmp.path().join("lib");
    let config = tmp.path().join("config");
    let _lock = llm_lock();
    let served = Served::start(&library, &config);

    // The token: generated on the first start, owner-only, required.
    let token_file = config.join("serve-token");
    assert!(served.token.starts_with("qry-") && served.token.len() > 60);
    assert_eq!(std::fs::read_to_string(&token_file).unwrap().trim(), served.token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token file is the owner's alone");
    }
    for token in ["qry-not-the-token", ""] {
        let (status, refused) = served.curl(Some(token), "GET", "/documents", None);
        assert_eq!(status, 401, "{refused}");
        assert_eq!(refused["error"]["type"], "authentication_error");
    }

    // Documents in through the API, as `quarry add --json` reports them.
    let (status, job) = served.curl(
        None,
        "POST",
        "/documents",
        Some(&body(serde_json::json!({ "path": docs, "wait": true }))),
    );
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["report"]["added"], 7, "{job}");
    let (_, listed) = served.curl(None, "GET", "/documents", None);
    assert_eq!(listed["documents"].as_array().unwrap().len(), 7, "{listed}");
    let (status, relative) = served.curl(None, "POST", "/documents", Some(r#"{"path": "docs"}"#));
    assert_eq!(status, 400, "{relative}");

    // Search is `quarry search --json`, passage for passage.
    let (status, searched) = served.curl(
        None,
        "POST",
        "/search",
        Some(r#"{"query": "drive belt part", "k": 5}"#),
    );
    assert_eq!(status, 200, "{searched}");
    // The CLI opens the library beside the server (read-only use).
    let cli = json(
        &quarry(&library)
            .args(["search", "drive belt part", "-k", "5", "--json"])
            .output()
            .unwrap(),
    );
    let ids = |v: &Value| -> Vec<u64> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["chunk_id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(ids(&searched), ids(&cli));
    assert!(searched["results"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("parts.txt"));

    // The OpenAI client's own checks; then its embeddings against the CLI's.
    let output = Command::new("python3")
        .arg(repo().join("tests/serve/openai_client.py"))
        .arg(&served.base)
        .arg(&served.token)
        .stderr(Stdio::inherit())
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "the OpenAI client's checks failed (its traceback is above)"
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("the client's report");
    let texts: Vec<&str> = report["embedding_texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let embedded = json(
        &quarry(&library)
            .arg("embed")
            .args(&texts)
            .arg("--json")
            .output()
            .unwrap(),
    );
    for (served_vector, cli_vector) in report["embeddings"]
        .as_array()
        .unwrap()
        .iter()
        .zip(embedded["embeddings"].as_array().unwrap())
    {
        let (a, b) = (served_vector.as_array().unwrap(), cli_vector.as_array().unwrap());
        assert_eq!(a.len(), 384);
        let largest = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x.as_f64().unwrap() - y.as_f64().unwrap()).abs())
            .fold(0.0, f64::max);
        assert!(
            largest < 1e-6,
            "the server's vector is the CLI's (largest difference {largest})"
        );
    }
    assert!(report["stopped"]["stopped"].as_u64().unwrap() >= 1);

    // Removing through the API, by id and by path.
    let id = listed["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"].as_str().unwrap().ends_with("garden.txt"))
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, removed) = served.curl(None, "DELETE", &format!("/documents/{id}"), None);
    assert_eq!((status, removed["removed"].as_u64()), (200, Some(1)), "{removed}");
    let bread: PathBuf = docs.join("bread.md");
    let (_, removed) = served.curl(
        None,
        "POST",
        "/documents/remove",
        Some(&body(serde_json::json!({ "paths": [bread] }))),
    );
    assert_eq!(removed["removed"], 1, "{removed}");
    let (_, listed) = served.curl(None, "GET", "/documents", None);
    assert_eq!(listed["documents"].as_array().unwrap().len(), 5, "{listed}");
    let (status, missing) = served.curl(None, "DELETE", &format!("/documents/{id}"), None);
    assert_eq!(status, 404, "{missing}");
}

#[test]
fn the_server_listens_beyond_loopback_only_when_told() {
    let tmp = tempfile::tempdir().unwrap();
    let output = quarry(&tmp.path().join("lib"))
        .args(["serve", "--host", "0.0.0.0", "--port", "0", "--config"])
        .arg(tmp.path().join("config"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--allow-remote"), "{stderr}");
    assert!(
        !tmp.path().join("config/serve-token").exists(),
        "refused before anything is made"
    );
}

/// A remote engine: a second `quarry serve` offers the answer model as it
/// is (its GGUF's own id), and `quarry ask --engine-url` answers from its
/// own library with it — the grounded prompt sent as messages, the reply
/// streamed back over HTTP, its citations checked here.
#[test]
fn a_remote_engine_writes_the_answer_and_quarry_checks_its_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(tmp.path());
    let library = tmp.path().join("lib");
    let added = quarry(&library).arg("add").arg(&docs).output().unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let _lock = llm_lock();
    let engine = Served::start(&tmp.path().join("engine-lib"), &tmp.path().join("engine-config"));
    let model_id = QWEN.strip_suffix(".gguf").unwrap();
    let ask = |key: &str, url: &str, model: &str| {
        quarry(&library)
            .args([
                "ask",
                "What is the part number of the conveyor drive belt?",
                "--json",
            ])
            .args(["--engine-url", url, "--engine-model", model])
            .env("QUARRY_ENGINE_API_KEY", key)
            .output()
            .unwrap()
    };

    let output = ask(&engine.token, &engine.base, model_id);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("answers by {model_id} at {}", engine.base)),
        "{stderr}"
    );
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        answer["answer"].as_str().unwrap().contains("ZX-4471-C"),
        "{answer}"
    );
    let cited = answer["citations"].as_array().unwrap();
    assert!(
        cited
            .iter()
            .any(|c| c["path"].as_str().unwrap().ends_with("parts.txt")
                && c["text"].as_str().unwrap().contains("ZX-4471-C")),
        "the engine's citation of parts.txt survives Quarry's check: {answer}"
    );
    assert_eq!(
        answer["model"],
        format!("{model_id} at {}", engine.base),
        "the answer records where it was made"
    );
    assert!(
        answer["timing"]["generated_tokens"].as_u64().unwrap() > 0,
        "{answer}"
    );
    let (_, status) = engine.curl(None, "GET", "/status", None);
    assert_eq!(status["answers"]["answered"], 1, "the engine wrote it: {status}");

    // What goes wrong is named: a wrong key, a model the engine lacks, no server.
    let refused = ask("qry-wrong", &engine.base, model_id);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("401") && stderr.contains("check the API key"),
        "{stderr}"
    );
    let unknown = ask(&engine.token, &engine.base, "llama-70b");
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        !unknown.status.success() && stderr.contains("no model `llama-70b`") && stderr.contains(model_id),
        "{stderr}"
    );
    drop(engine);
    let gone = ask("", "http://127.0.0.1:9/v1", model_id);
    let stderr = String::from_utf8_lossy(&gone.stderr);
    assert!(
        !gone.status.success() && stderr.contains("cannot reach it"),
        "{stderr}"
    );
}

/// A remote embedder: a library indexed through another Quarry's
/// `/v1/embeddings` finds what a local one finds (the same model serves
/// both), records the server as its embedder, and is refused by the local
/// encoder until re-embedded: local and remote vectors never mix.
#[test]
fn a_library_embedded_by_a_server_records_it_and_never_mixes_vectors() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(tmp.path());
    let _lock = llm_lock();
    let engine = Served::start(&tmp.path().join("engine-lib"), &tmp.path().join("engine-config"));
    // The embedder as the engine lists it among its models.
    let (_, models) = engine.curl(None, "GET", "/models", None);
    let model = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["quarry"]["embedding"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let model = model.as_str();
    assert_eq!(model, "all-MiniLM-L6-v2");
    let (remote_lib, local_lib) = (tmp.path().join("remote-lib"), tmp.path().join("local-lib"));
    let remote = |args: &[&str]| {
        quarry(&remote_lib)
            .args(["--embed-url", &engine.base, "--embed-model", model])
            .env("QUARRY_EMBED_API_KEY", &engine.token)
            .args(args)
            .output()
            .unwrap()
    };
    let added = remote(&["add", docs.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&added.stderr);
    assert!(added.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("embeddings by {model} at {}", engine.base)),
        "{stderr}"
    );
    let added = quarry(&local_lib).arg("add").arg(&docs).output().unwrap();
    assert!(added.status.success());

    let passages = |v: &Value| -> Vec<(String, String)> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["path"].as_str().unwrap().to_string(),
                    h["text"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    for query in [
        "drive belt part",
        "when do seedlings go outside",
        "safety bicycle",
    ] {
        let through_server = json(&remote(&["search", query, "-k", "5", "--json"]));
        let local = json(
            &quarry(&local_lib)
                .args(["search", query, "-k", "5", "--json"])
                .output()
                .unwrap(),
        );
        assert_eq!(passages(&through_server), passages(&local), "{query}");
    }
    let info = json(&remote(&["info", "--json"]));
    assert_eq!(
        info["embedder"]["engine"],
        format!("openai-compatible {}", engine.base),
        "{info}"
    );

    // The local encoder makes other vectors as far as the library knows.
    let refused = quarry(&remote_lib)
        .args(["search", "drive belt part"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("reembed"),
        "{stderr}"
    );
}
