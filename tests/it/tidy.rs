//! Properties: ARCHITECTURE.md names only paths that exist, and the
//! dependency directions it states hold in the source (checked as absences).

use crate::support::repo;

fn sources(dir: &str) -> Vec<(String, String)> {
    walkdir::WalkDir::new(repo().join(dir))
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| {
            (
                e.path().display().to_string(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn architecture_names_existing_paths() {
    let doc = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let mut checked = 0;
    for (i, part) in doc.split('`').enumerate() {
        // Repository paths only (not library folders such as `dense/`).
        let roots = [
            "src/",
            "tests/",
            "benches/",
            "models/",
            "scripts/",
            "samples/",
            ".ci/",
            "src-tauri/",
            "ui/",
        ];
        let looks_like_path = i % 2 == 1
            && !part.contains(' ')
            && (roots.iter().any(|r| part.starts_with(r)) || (!part.contains('/') && part.ends_with(".md")))
            && (part.ends_with(".rs")
                || part.ends_with(".md")
                || part.ends_with(".ts")
                || part.ends_with(".tsx")
                || part.ends_with(".json")
                || part.ends_with('/'))
            && !part.contains('*')
            && !part.contains('<');
        if looks_like_path {
            assert!(
                repo().join(part).exists(),
                "ARCHITECTURE.md names `{part}`, which does not exist"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 15,
        "only {checked} paths found: did the format change?"
    );
}

#[test]
fn dependencies_point_one_way() {
    let rules: &[(&str, &[&str])] = &[
        (
            "src/ingest",
            &[
                "crate::embed",
                "crate::index",
                "crate::store",
                "crate::chunk",
                "candle",
                "tantivy",
                "rusqlite",
            ],
        ),
        (
            "src/chunk.rs",
            &[
                "crate::embed",
                "crate::index",
                "crate::store",
                "candle",
                "tantivy",
                "rusqlite",
            ],
        ),
        (
            "src/embed",
            &[
                "crate::index",
                "crate::store",
                "crate::ingest",
                "crate::chunk",
                "tantivy",
                "rusqlite",
            ],
        ),
        (
            "src/index",
            &[
                "crate::embed",
                "crate::ingest",
                "crate::store",
                "crate::chunk",
                "candle",
                "tokenizers::",
                "rusqlite",
            ],
        ),
        (
            "src/store",
            &["crate::index", "crate::chunk", "candle", "tantivy", "hnsw_rs"],
        ),
        ("src/models.rs", &["crate::", "candle"]),
        (
            "src/llm",
            &[
                "crate::engine",
                "crate::store",
                "crate::index",
                "crate::ingest",
                "crate::answer",
                "rusqlite",
                "tantivy",
            ],
        ),
        (
            "src/answer",
            &["rusqlite", "llama_cpp", "tantivy::", "hnsw_rs", "candle"],
        ),
        (
            "src/watch.rs",
            &[
                "crate::store",
                "crate::index",
                "crate::answer",
                "rusqlite",
                "tantivy",
            ],
        ),
        (
            "src/inspect.rs",
            &["rusqlite", "tantivy", "hnsw_rs", "crate::store", "crate::index"],
        ),
        (
            "src/context.rs",
            &["rusqlite", "tantivy", "hnsw_rs", "crate::index", "crate::embed"],
        ),
        (
            "src/eval",
            &[
                "rusqlite",
                "tantivy",
                "hnsw_rs",
                "candle",
                "llama_cpp",
                "crate::store",
                "crate::embed",
            ],
        ),
        // The desktop shell is thin: every capability comes through the
        // `quarry` library, never from the crates underneath it.
        (
            "src-tauri/src",
            &[
                "rusqlite",
                "tantivy",
                "hnsw_rs",
                "candle",
                "llama_cpp",
                "tokenizers::",
                "notify::",
                "clap::",
                "anyhow::",
            ],
        ),
    ];
    for (dir, forbidden) in rules {
        for (path, text) in sources(dir) {
            for word in *forbidden {
                assert!(
                    !text.contains(word),
                    "{path} mentions `{word}`, against ARCHITECTURE.md"
                );
            }
        }
    }
    // Only the binary knows the command line.
    for (path, text) in sources("src") {
        if !path.ends_with("main.rs") && !path.contains("/src/cli/") {
            for word in ["clap::", "anyhow::", "indicatif::"] {
                assert!(
                    !text.contains(word),
                    "{path} mentions `{word}`: CLI crates stay in main.rs and src/cli/"
                );
            }
        }
    }
}
