//! Finding model files the way users hold them.
//!
//! Order of search (first hit wins): an explicit path, `$QUARRY_MODELS`, the
//! app's own models folder (`$XDG_DATA_HOME/quarry/models`, where the
//! desktop app links the models a person chooses), the repository's
//! `models/` folder (only for a program run from its source tree), then the
//! Hugging Face cache (`$HF_HOME/hub` or `~/.cache/huggingface/hub`, layout
//! `models--ORG--NAME/snapshots/*/`). Nothing here downloads: when no model is
//! found the error lists every place looked at and how to fetch one.
//!
//! It is also the one place front ends get models from: [`ModelSearch::load_embedder`]
//! loads the embedder found, and [`ModelSearch::answer_models`] lists the
//! answer models with what their GGUF headers say (the CLI's `quarry models`
//! and the desktop's settings both show this list).
//!
//! Invariant: nothing here downloads, and no answer model is loaded here
//! (the answering session loads the one it uses); answer models are only
//! inspected by their headers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use quarry_embed::bert::Precision;
use quarry_embed::{EmbedError, Embedder, RemoteEmbedder, RemoteEmbedding, SentenceEncoder};
use quarry_generate::{inspect, GgufFacts};

/// The default embedder, as named on the Hugging Face hub.
pub const DEFAULT_EMBEDDER: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// The default answer model's file (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, as
/// Qwen publishes it).
pub const DEFAULT_GENERATOR_FILE: &str = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";

/// Where a person gets [`DEFAULT_GENERATOR_FILE`] (every message that says
/// so names this one place).
pub const DEFAULT_GENERATOR_SOURCE: &str = "huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF";

/// How deep to look for `.gguf` files under a models folder (the HF cache
/// keeps them at `models--ORG--NAME/snapshots/REV/FILE`).
const GGUF_SEARCH_DEPTH: usize = 5;

/// Files a sentence-transformers BERT folder must contain.
const EMBEDDER_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "embedding model {name} not found; looked in:\n{}\nget it from huggingface.co/{name} (a folder with config.json, tokenizer.json and model.safetensors) into one of those folders, choose it in the desktop app, or pass --embedder PATH; in Quarry's source folder `models/fetch` assembles it offline",
        looked.iter().map(|p| format!("  - {}", p.display())).collect::<Vec<_>>().join("\n")
    )]
    NotFound { name: String, looked: Vec<PathBuf> },
    #[error("{path} is not a usable embedding model folder: missing {missing}")]
    Incomplete { path: PathBuf, missing: String },
    #[error(
        "no answer model found: looked for {DEFAULT_GENERATOR_FILE} (or any .gguf) in:\n{}\nget it from {DEFAULT_GENERATOR_SOURCE} (or use any instruction-tuned .gguf) into one of those folders, choose it in the desktop app, or pass --model PATH.gguf; in Quarry's source folder `models/fetch` assembles it offline",
        looked.iter().map(|p| format!("  - {}", p.display())).collect::<Vec<_>>().join("\n")
    )]
    NoGenerator { looked: Vec<PathBuf> },
    #[error("answer model {path} does not exist")]
    GeneratorMissing { path: PathBuf },
    #[error("cannot place {path} in Quarry's models folder {folder}: {source}")]
    Adopt {
        path: PathBuf,
        folder: PathBuf,
        source: std::io::Error,
    },
}

/// What the header of an answer model file says, or why it is not one
/// Quarry can load (not a GGUF file, truncated, damaged).
pub fn inspect_answer_model(path: &Path) -> Result<GgufFacts, quarry_generate::LlmError> {
    inspect(path)
}

/// Put a model a person chose (a `.gguf` file or an embedder folder) into
/// `folder` (the app's models folder, [`app_models_dir`]) under its own
/// name — for a Hugging Face cache snapshot, its model's name — so every
/// front end finds it: a symbolic link to it (a 1 GB model is not copied),
/// or a copy where links cannot be made. The same model chosen twice is
/// placed once; a link left dangling by a moved model is replaced; another
/// model with the same name gets a numbered name. Returns the path in
/// `folder`.
pub fn adopt(source: &Path, folder: &Path) -> Result<PathBuf, ModelError> {
    let fail = |source_error: std::io::Error| ModelError::Adopt {
        path: source.to_path_buf(),
        folder: folder.to_path_buf(),
        source: source_error,
    };
    let original = std::fs::canonicalize(source).map_err(fail)?;
    if original.starts_with(std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf())) {
        return Ok(source.to_path_buf());
    }
    std::fs::create_dir_all(folder).map_err(fail)?;
    let name = model_name(&original);
    let (stem, extension) = {
        let p = Path::new(&name);
        (
            p.file_stem()
                .map_or_else(|| name.clone(), |s| s.to_string_lossy().into_owned()),
            p.extension().map(|e| format!(".{}", e.to_string_lossy())),
        )
    };
    for n in 1..1000 {
        let file = match n {
            1 => name.clone(),
            n if original.is_dir() => format!("{name} ({n})"),
            n => format!("{stem} ({n}){}", extension.as_deref().unwrap_or("")),
        };
        let target = folder.join(file);
        if let Ok(meta) = target.symlink_metadata() {
            match std::fs::canonicalize(&target) {
                Ok(t) if t == original => return Ok(target),
                // A link whose model is gone: this name is free again.
                Err(_) if meta.file_type().is_symlink() => std::fs::remove_file(&target).map_err(fail)?,
                _ => continue,
            }
        }
        #[cfg(unix)]
        let linked = std::os::unix::fs::symlink(&original, &target);
        #[cfg(not(unix))]
        let linked: std::io::Result<()> = Err(std::io::Error::other("no symbolic links"));
        match linked {
            Ok(()) => return Ok(target),
            // Someone placed this name meanwhile: try the next.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            // A file system without links (FAT, some network shares): a copy,
            // written beside the target and renamed, so a search never finds
            // half a model.
            Err(_) => {
                let partial = folder.join(format!(".{}.partial-{}", file_name(&target), std::process::id()));
                copy_model(&original, &partial)
                    .and_then(|()| std::fs::rename(&partial, &target))
                    .map_err(|e| {
                        let _ = std::fs::remove_dir_all(&partial).or_else(|_| std::fs::remove_file(&partial));
                        fail(e)
                    })?;
                return Ok(target);
            }
        }
    }
    Err(fail(std::io::Error::other("too many models with this name")))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned())
}

/// The name a model goes by: its own, or for a Hugging Face cache snapshot
/// (`models--ORG--NAME/snapshots/<revision>`) the model's NAME.
fn model_name(path: &Path) -> String {
    let snapshot_of = path
        .parent()
        .filter(|p| p.file_name().is_some_and(|n| n == "snapshots"))
        .and_then(Path::parent)
        .and_then(|repo| repo.file_name())
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("models--"))
        .and_then(|n| n.rsplit("--").next().map(str::to_string));
    match snapshot_of {
        Some(name) if path.is_dir() => name,
        _ => file_name(path),
    }
}

/// A file, or a folder's files (an embedder folder is flat).
fn copy_model(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_file() {
        return std::fs::copy(from, to).map(drop);
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// The answer model to use and why it was picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorChoice {
    pub path: PathBuf,
    /// True when this is [`DEFAULT_GENERATOR_FILE`] or the explicit choice.
    pub preferred: bool,
}

/// Where to look for models, captured once from the environment so tests can
/// build their own without touching process-wide variables.
#[derive(Debug, Clone, Default)]
pub struct ModelSearch {
    pub explicit: Option<PathBuf>,
    pub quarry_models: Option<PathBuf>,
    /// The app's models folder ([`app_models_dir`]).
    pub app_models: Option<PathBuf>,
    pub repo_models: Option<PathBuf>,
    pub hf_hub: Option<PathBuf>,
}

/// The app's own models folder: where models a person chooses in the
/// desktop app are linked (or copied), so every front end finds them.
pub fn app_models_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "quarry")
        .map(|d| d.data_dir().join("models"))
        .unwrap_or_else(|| PathBuf::from(".quarry-models"))
}

impl ModelSearch {
    /// The search path of a normal run: `$QUARRY_MODELS`, the app's models
    /// folder, the source tree's `models/` when this program was built there
    /// and runs from there (an installed copy never reads the build
    /// machine's checkout), `models/` in the working directory, the HF cache.
    pub fn from_env(explicit: Option<PathBuf>) -> Self {
        let hf_hub = std::env::var_os("HF_HUB_CACHE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HF_HOME").map(|h| PathBuf::from(h).join("hub")))
            .or_else(|| {
                directories::BaseDirs::new()
                    .map(|b| b.home_dir().join(".cache").join("huggingface").join("hub"))
            });
        // This crate sits at `crates/core` in the source tree.
        let source_tree = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .filter(|root| {
                let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
                std::env::current_exe()
                    .and_then(std::fs::canonicalize)
                    .is_ok_and(|exe| exe.starts_with(root))
            });
        let repo_models = [
            source_tree.map(|root| root.join("models")).unwrap_or_default(),
            PathBuf::from("models"),
        ]
        .into_iter()
        .find(|p| p.is_dir());
        ModelSearch {
            explicit,
            quarry_models: std::env::var_os("QUARRY_MODELS").map(PathBuf::from),
            app_models: Some(app_models_dir()),
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
        for root in [&self.quarry_models, &self.app_models, &self.repo_models]
            .into_iter()
            .flatten()
        {
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

impl ModelSearch {
    /// Folders searched for `.gguf` files, in order.
    pub fn generator_folders(&self) -> Vec<PathBuf> {
        [
            &self.quarry_models,
            &self.app_models,
            &self.repo_models,
            &self.hf_hub,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
    }

    /// Every `.gguf` file in the search path, in search order (the same file
    /// reached twice, e.g. through an HF snapshot symlink, is listed once).
    pub fn find_generators(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for root in self.generator_folders() {
            let mut here: Vec<PathBuf> = walkdir::WalkDir::new(&root)
                .follow_links(true)
                .max_depth(GGUF_SEARCH_DEPTH)
                .into_iter()
                .flatten()
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("gguf")))
                .collect();
            here.sort();
            for path in here {
                let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                if seen.insert(key) {
                    found.push(path);
                }
            }
        }
        found
    }

    /// The answer model: `explicit` when given; otherwise the default model
    /// wherever it is found; otherwise the first `.gguf` found (a user who
    /// keeps one other model should not have to name it every time).
    pub fn choose_generator(&self, explicit: Option<&Path>) -> Result<GeneratorChoice, ModelError> {
        if let Some(path) = explicit {
            if !path.is_file() {
                return Err(ModelError::GeneratorMissing {
                    path: path.to_path_buf(),
                });
            }
            return Ok(GeneratorChoice {
                path: path.to_path_buf(),
                preferred: true,
            });
        }
        let found = self.find_generators();
        let default = found.iter().find(|p| {
            p.file_name()
                .is_some_and(|n| n.eq_ignore_ascii_case(DEFAULT_GENERATOR_FILE))
        });
        match (default, found.first()) {
            (Some(path), _) => Ok(GeneratorChoice {
                path: path.clone(),
                preferred: true,
            }),
            (None, Some(path)) => Ok(GeneratorChoice {
                path: path.clone(),
                preferred: false,
            }),
            (None, None) => Err(ModelError::NoGenerator {
                looked: self.generator_folders(),
            }),
        }
    }
}

/// An answer model found on disk, with what its header says (or why it
/// cannot be used).
#[derive(Debug, Clone)]
pub struct AnswerModel {
    pub path: PathBuf,
    /// The model a question would use.
    pub chosen: bool,
    pub facts: Result<GgufFacts, String>,
}

/// The embedder could not be found or loaded.
#[derive(Debug, thiserror::Error)]
pub enum EmbedderLoadError {
    #[error(transparent)]
    Find(#[from] ModelError),
    #[error(transparent)]
    Load(#[from] EmbedError),
}

impl ModelSearch {
    /// Find the embedder (`name`, or the explicit folder) and load it at
    /// `precision` (`int8`: the linear layers in 8-bit integers, faster,
    /// other vectors — a library made at one precision asks to be
    /// re-embedded at the other; [`crate::embed_precision`] chooses).
    pub fn load_embedder(
        &self,
        name: &str,
        precision: Precision,
    ) -> Result<Arc<dyn Embedder>, EmbedderLoadError> {
        let dir = self.find_embedder(name)?;
        Ok(Arc::new(SentenceEncoder::load_at(&dir, precision)?))
    }

    /// An embedder on an OpenAI-compatible server, its passages sized by
    /// the tokenizer of the local embedder `name` finds (the server's own is
    /// out of reach; a BERT word-piece count is close to any subword
    /// tokenizer's).
    pub fn connect_embedder(
        &self,
        server: &RemoteEmbedding,
        name: &str,
    ) -> Result<Arc<dyn Embedder>, EmbedderLoadError> {
        let dir = self.find_embedder(name)?;
        let (tokenizer, max_tokens) = quarry_embed::bert::tokenizer(&dir)?;
        Ok(Arc::new(RemoteEmbedder::connect(server, tokenizer, max_tokens)?))
    }

    /// Every answer model found (and `explicit`, first, when it is not among
    /// them), which one a question would use, and what each header says.
    pub fn answer_models(&self, explicit: Option<&Path>) -> Vec<AnswerModel> {
        let chosen = self.choose_generator(explicit).ok();
        let mut found = self.find_generators();
        if let Some(path) = explicit {
            if !found.iter().any(|p| p == path) {
                found.insert(0, path.to_path_buf());
            }
        }
        found
            .into_iter()
            .map(|path| AnswerModel {
                chosen: chosen.as_ref().is_some_and(|c| c.path == path),
                facts: inspect(&path).map_err(|e| e.to_string()),
                path,
            })
            .collect()
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
    fn generators_default_first_then_any_and_a_miss_says_how_to_get_one() {
        let tmp = tempfile::tempdir().unwrap();
        let qm = tmp.path().join("qm");
        let hub = tmp.path().join("hub");
        let snap = hub.join("models--Qwen--Qwen2.5-Coder-1.5B-Instruct-GGUF/snapshots/abc");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::create_dir_all(qm.join("gguf")).unwrap();
        let other = qm.join("gguf").join("other.Q4_0.gguf");
        std::fs::write(&other, b"x").unwrap();
        let mut search = ModelSearch {
            quarry_models: Some(qm.clone()),
            hf_hub: Some(hub.clone()),
            ..Default::default()
        };
        let any = search.choose_generator(None).unwrap();
        assert_eq!((any.path.as_path(), any.preferred), (other.as_path(), false));

        let default = snap.join(DEFAULT_GENERATOR_FILE);
        std::fs::write(&default, b"x").unwrap();
        assert_eq!(search.find_generators(), vec![other.clone(), default.clone()]);
        let chosen = search.choose_generator(None).unwrap();
        assert_eq!(
            (chosen.path.as_path(), chosen.preferred),
            (default.as_path(), true)
        );
        assert_eq!(search.choose_generator(Some(&other)).unwrap().path, other);
        let gone = tmp.path().join("gone.gguf");
        assert!(search
            .choose_generator(Some(&gone))
            .unwrap_err()
            .to_string()
            .contains("gone.gguf"));

        search.quarry_models = Some(tmp.path().join("empty"));
        search.hf_hub = None;
        let msg = search.choose_generator(None).unwrap_err().to_string();
        assert!(
            msg.contains(DEFAULT_GENERATOR_FILE) && msg.contains("models/fetch"),
            "{msg}"
        );
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

    #[test]
    fn a_chosen_model_is_linked_into_the_models_folder_once() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = tmp.path().join("app-models");
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        for dir in [&a, &b] {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join("answer.gguf"), dir.display().to_string()).unwrap();
        }
        let first = adopt(&a.join("answer.gguf"), &folder).unwrap();
        assert_eq!(first, folder.join("answer.gguf"));
        assert_eq!(std::fs::read_to_string(&first).unwrap(), a.display().to_string());
        // Chosen again: the same place. Another file of that name: its own.
        assert_eq!(adopt(&a.join("answer.gguf"), &folder).unwrap(), first);
        let second = adopt(&b.join("answer.gguf"), &folder).unwrap();
        assert_eq!(second, folder.join("answer (2).gguf"));
        assert_eq!(std::fs::read_to_string(&second).unwrap(), b.display().to_string());
        // A folder (an embedder), found by the search through the models folder.
        let embedder = tmp.path().join("all-MiniLM-L6-v2");
        fake_model(&embedder);
        let placed = adopt(&embedder, &folder).unwrap();
        let search = ModelSearch {
            app_models: Some(folder.clone()),
            ..Default::default()
        };
        assert_eq!(search.find_embedder(DEFAULT_EMBEDDER).unwrap(), placed);
        // A Hugging Face cache snapshot goes by its model's name.
        let snapshot = tmp
            .path()
            .join("hub/models--BAAI--bge-small-en-v1.5/snapshots/0123abcd");
        fake_model(&snapshot);
        assert_eq!(
            adopt(&snapshot, &folder).unwrap(),
            folder.join("bge-small-en-v1.5")
        );
        // A link whose model moved away is replaced by the next choice.
        std::fs::rename(&b, tmp.path().join("b-moved")).unwrap();
        let again = adopt(&tmp.path().join("b-moved/answer.gguf"), &folder).unwrap();
        assert_eq!(again, folder.join("answer (2).gguf"));
        // Something already in the folder stays where it is.
        assert_eq!(adopt(&first, &folder).unwrap(), first);
        let missing = adopt(&tmp.path().join("nothing.gguf"), &folder)
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nothing.gguf"), "{missing}");
    }
}
