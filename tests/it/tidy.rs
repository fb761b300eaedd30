//! Properties: ARCHITECTURE.md names only paths that exist, and the
//! dependency graph it draws is the one Cargo builds — which of Quarry's
//! crates may depend on which, and which heavy or edge-only crates stay out
//! of which trees — read from `cargo metadata`, not from the source text.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::repo;

#[test]
fn architecture_names_existing_paths() {
    let doc = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let mut checked = 0;
    for (i, part) in doc.split('`').enumerate() {
        // Repository paths only (not library folders such as `dense/`).
        let roots = [
            "src/",
            "crates/",
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
                || part.ends_with(".toml")
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
        checked >= 30,
        "only {checked} paths found: did the format change?"
    );
}

/// The workspace as Cargo resolves it: each package's direct normal
/// dependencies, and every package's normal dependencies by id.
struct Graph {
    /// Workspace package name → names of its direct normal dependencies.
    direct: BTreeMap<String, BTreeSet<String>>,
    /// Workspace package name → every package in its normal dependency tree.
    tree: BTreeMap<String, BTreeSet<String>>,
}

fn graph() -> Graph {
    // The graph for this machine's platform (the others' packages need not
    // be downloaded).
    let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    let host = String::from_utf8(rustc.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc names its host");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(repo())
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let name_of: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let normal_deps: BTreeMap<&str, Vec<&str>> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| d["pkg"].as_str().unwrap())
                .collect();
            (node["id"].as_str().unwrap(), deps)
        })
        .collect();
    let mut direct = BTreeMap::new();
    let mut tree = BTreeMap::new();
    for member in metadata["workspace_members"].as_array().unwrap() {
        let id = member.as_str().unwrap();
        let name = name_of[id].to_string();
        direct.insert(
            name.clone(),
            normal_deps[id].iter().map(|d| name_of[d].to_string()).collect(),
        );
        let mut seen = BTreeSet::new();
        let mut stack = normal_deps[id].clone();
        while let Some(dep) = stack.pop() {
            if seen.insert(name_of[dep].to_string()) {
                stack.extend(normal_deps[dep].iter().copied());
            }
        }
        tree.insert(name, seen);
    }
    Graph { direct, tree }
}

const CRATES: [&str; 9] = [
    "quarry-parse",
    "quarry-openai",
    "quarry-embed",
    "quarry-index",
    "quarry-generate",
    "quarry-store",
    "quarry-core",
    "quarry",
    "quarry-desktop",
];

#[test]
fn crates_depend_on_each_other_only_downwards() {
    let graph = graph();
    assert_eq!(
        graph.direct.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        CRATES.into_iter().collect(),
        "the workspace's members are the crates ARCHITECTURE.md maps"
    );
    // Which of Quarry's crates each may use: the parts know none of each
    // other (but the store keeps parse's position types, and the remote
    // embedder and generator share the OpenAI wire), the core wires them,
    // and a front end sees the core alone.
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("quarry-parse", &[][..]),
        ("quarry-openai", &[]),
        ("quarry-embed", &["quarry-openai"]),
        ("quarry-index", &[]),
        ("quarry-generate", &["quarry-openai"]),
        ("quarry-store", &["quarry-parse"]),
        (
            "quarry-core",
            &[
                "quarry-parse",
                "quarry-embed",
                "quarry-index",
                "quarry-generate",
                "quarry-store",
                "quarry-openai",
            ],
        ),
        ("quarry", &["quarry-core"]),
        ("quarry-desktop", &["quarry-core"]),
    ]);
    for (crate_name, deps) in &graph.direct {
        let ours: BTreeSet<&str> = deps
            .iter()
            .map(String::as_str)
            .filter(|d| CRATES.contains(d))
            .collect();
        let expected: BTreeSet<&str> = allowed[crate_name.as_str()].iter().copied().collect();
        assert_eq!(ours, expected, "{crate_name} depends on these of Quarry's crates");
    }
}

#[test]
fn heavy_and_edge_crates_stay_out_of_the_trees_that_must_not_have_them() {
    let graph = graph();
    // Never anywhere in the crate's dependency tree.
    let never: &[(&str, &[&str])] = &[
        // The parsers build in a minute for an extraction worker and fuzzing.
        (
            "quarry-parse",
            &[
                "candle-core",
                "tokenizers",
                "tantivy",
                "hnsw_rs",
                "llama-cpp-2",
                "rusqlite",
                "tauri",
            ],
        ),
        (
            "quarry-embed",
            &["tantivy", "hnsw_rs", "llama-cpp-2", "rusqlite", "tauri"],
        ),
        (
            "quarry-index",
            &["candle-core", "tokenizers", "llama-cpp-2", "rusqlite", "tauri"],
        ),
        ("quarry-generate", &["tantivy", "hnsw_rs", "rusqlite", "tauri"]),
        // The wire alone: no engine, no store, no window.
        (
            "quarry-openai",
            &[
                "candle-core",
                "tokenizers",
                "tantivy",
                "hnsw_rs",
                "llama-cpp-2",
                "rusqlite",
                "tauri",
            ],
        ),
        (
            "quarry-store",
            &[
                "candle-core",
                "tokenizers",
                "tantivy",
                "hnsw_rs",
                "llama-cpp-2",
                "tauri",
            ],
        ),
        ("quarry-core", &["tauri", "clap", "indicatif"]),
        ("quarry", &["tauri"]),
    ];
    for (crate_name, forbidden) in never {
        for dep in *forbidden {
            assert!(
                !graph.tree[*crate_name].contains(*dep),
                "{crate_name} has {dep} in its dependency tree, against ARCHITECTURE.md"
            );
        }
    }
    // Direct dependencies only one package may have: the command line's
    // crates belong to the CLI, the window's to the desktop app (hnsw_rs
    // itself uses anyhow, so anyhow is checked as a direct dependency).
    let only: &[(&str, &str)] = &[
        ("clap", "quarry"),
        ("anyhow", "quarry"),
        ("indicatif", "quarry"),
        ("ctrlc", "quarry"),
        ("axum", "quarry"),
        ("tokio", "quarry"),
        ("tauri", "quarry-desktop"),
    ];
    for (dep, owner) in only {
        for (crate_name, deps) in &graph.direct {
            if deps.contains(*dep) {
                assert_eq!(
                    crate_name, owner,
                    "{crate_name} depends on {dep}, which only {owner} may"
                );
            }
        }
    }
}
