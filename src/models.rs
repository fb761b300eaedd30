//! Finding model files the way users hold them.
//!
//! Order of search (first hit wins): an explicit path, `$QUARRY_MODELS`, the
//! repository's `models/` folder, then the Hugging Face cache
//! (`$HF_HOME/hub` or `~/.cache/huggingface/hub`, layout
//! `models--ORG--NAME/snapshots/*/`). Nothing here downloads: when no model is
//! found the error lists every place looked at and how to fetch one.
//!
//! Invariant: this module only resolves paths and validates that the expected
//! files exist; loading weights belongs to `embed`.

use std::path::{Path, PathBuf};

/// The default embedder, as named on the Hugging Face hub.
pub const DEFAULT_EMBEDDER: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// Files a sentence-transformers BERT folder must contain.
const EMBEDDER_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "embedding model {name} not found; looked in:\n{}\nget it with `models/fetch` (or pass --embedder PATH to a sentence-transformers folder)",
        looked.iter().map(|p| format!("  - {}", p.display())).collect::<Vec<_>>().join("\n")
    )]
    NotFound { name: String, looked: Vec<PathBuf> },
    #[error("{path} is not a usable embedding model folder: missing {missing}")]
    Incomplete { path: PathBuf, missing: String },
}

/// Where to look for models, captured once from the environment so tests can
/// build their own without touching process-wide variables.
#[derive(Debug, Clone, Default)]
pub struct ModelSearch {
    pub explicit: Option<PathBuf>,
    pub quarry_models: Option<PathBuf>,
    pub repo_models: Option<PathBuf>,
    pub hf_hub: Option<PathBuf>,
}

impl ModelSearch {
    /// The search path of a normal run: `$QUARRY_MODELS`, the source tree's
    /// `models/` (and `models/` in the working directory), the HF cache.
    pub fn from_env(explicit: Option<PathBuf>) -> Self {
        let hf_hub = std::env::var_os("HF_HUB_CACHE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HF_HOME").map(|h| PathBuf::from(h).join("hub")))
            .or_else(|| {
                directories::BaseDirs::new()
                    .map(|b| b.home_dir().join(".cache").join("huggingface").join("hub"))
            });
        let repo_models = [
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models"),
            PathBuf::from("models"),
        ]
        .into_iter()
        .find(|p| p.is_dir());
        ModelSearch {
            explicit,
            quarry_models: std::env::var_os("QUARRY_MODELS").map(PathBuf::from),
            repo_models,
            hf_hub,
        }
    }

    /// Candidate folders for a model named `org/name`, in search order.
    fn candidates(&self, name: &str) -> Vec<PathBuf> {
        let short = name.rsplit('/').next().unwrap_or(name);
        let mut out = Vec::new();
        if let Some(p) = &self.explicit {
            out.push(p.clone());
            return out;
        }
        for root in [&self.quarry_models, &self.repo_models].into_iter().flatten() {
            out.push(root.join(short));
            out.push(root.join(name));
        }
        if let Some(hub) = &self.hf_hub {
            let repo_dir = hub.join(format!("models--{}", name.replace('/', "--")));
            let snapshots = repo_dir.join("snapshots");
            // Prefer the snapshot that refs/main points at, then any other.
            if let Ok(main) = std::fs::read_to_string(repo_dir.join("refs").join("main")) {
                out.push(snapshots.join(main.trim()));
            }
            match std::fs::read_dir(&snapshots) {
                Ok(entries) => {
                    let mut snaps: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                    snaps.sort();
                    out.extend(snaps);
                }
                Err(_) => out.push(snapshots.join("*")),
            }
        }
        out.dedup();
        out
    }

    /// Resolve the folder of a sentence-transformers embedder.
    pub fn find_embedder(&self, name: &str) -> Result<PathBuf, ModelError> {
        let candidates = self.candidates(name);
        for dir in &candidates {
            if dir.is_dir() && EMBEDDER_FILES.iter().all(|f| dir.join(f).is_file()) {
                return Ok(dir.clone());
            }
        }
        // An explicit path that exists but is incomplete deserves its own message.
        if let Some(p) = &self.explicit {
            if p.is_dir() {
                return Err(incomplete(p));
            }
        }
        Err(ModelError::NotFound {
            name: name.to_string(),
            looked: candidates,
        })
    }
}

fn incomplete(path: &Path) -> ModelError {
    let missing: Vec<&str> = EMBEDDER_FILES
        .iter()
        .copied()
        .filter(|f| !path.join(f).is_file())
        .collect();
    ModelError::Incomplete {
        path: path.to_path_buf(),
        missing: missing.join(", "),
    }
}

#[cfg(test)]
mod tests {
    //! Properties: search order is explicit > QUARRY_MODELS > models/ > HF
    //! cache; the HF snapshot layout is understood; a miss names every place.
    use super::*;

    fn fake_model(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for f in EMBEDDER_FILES {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
    }

    #[test]
    fn order_and_hf_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let hub = tmp.path().join("hub");
        let snap = hub.join("models--sentence-transformers--all-MiniLM-L6-v2/snapshots/abc123");
        fake_model(&snap);
        let mut search = ModelSearch {
            hf_hub: Some(hub.clone()),
            ..Default::default()
        };
        assert_eq!(search.find_embedder(DEFAULT_EMBEDDER).unwrap(), snap);

        let repo = tmp.path().join("repo_models");
        fake_model(&repo.join("all-MiniLM-L6-v2"));
        search.repo_models = Some(repo.clone());
        assert_eq!(
            search.find_embedder(DEFAULT_EMBEDDER).unwrap(),
            repo.join("all-MiniLM-L6-v2")
        );

        let qm = tmp.path().join("qm");
        fake_model(&qm.join("all-MiniLM-L6-v2"));
        search.quarry_models = Some(qm.clone());
        assert_eq!(
            search.find_embedder(DEFAULT_EMBEDDER).unwrap(),
            qm.join("all-MiniLM-L6-v2")
        );
    }

    #[test]
    fn miss_names_every_place_and_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let search = ModelSearch {
            quarry_models: Some(tmp.path().join("nowhere")),
            hf_hub: Some(tmp.path().join("hub")),
            ..Default::default()
        };
        let msg = search.find_embedder(DEFAULT_EMBEDDER).unwrap_err().to_string();
        assert!(msg.contains("nowhere"), "{msg}");
        assert!(
            msg.contains("models--sentence-transformers--all-MiniLM-L6-v2"),
            "{msg}"
        );
        assert!(msg.contains("models/fetch"), "{msg}");
    }

    #[test]
    fn explicit_incomplete_folder_says_what_is_missing() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("config.json"), b"{}").unwrap();
        let search = ModelSearch {
            explicit: Some(tmp.path().to_path_buf()),
            ..Default::default()
        };
        let msg = search.find_embedder("x/y").unwrap_err().to_string();
        assert!(
            msg.contains("tokenizer.json") && msg.contains("model.safetensors"),
            "{msg}"
        );
    }
}
