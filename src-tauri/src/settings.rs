//! The desktop app's settings: which library, which answer model (or
//! remote engine), how many passages. Stored as JSON in the platform's
//! config folder; environment variables the CLI honours (`QUARRY_LIBRARY`,
//! `QUARRY_MODEL`, `QUARRY_ENGINE_URL`, `QUARRY_ENGINE_MODEL`) give the
//! first-run defaults, so the app and the CLI open the same library. A
//! remote engine's API key is never stored: it is read from
//! `QUARRY_ENGINE_API_KEY` (answers) or `QUARRY_EMBED_API_KEY`
//! (embeddings), as the CLI reads them.
//!
//! The file is a record that must survive upgrades: it carries a `version`,
//! a setting missing from it (written before the setting existed) takes its
//! first-run default, and settings it does not know are ignored.

use std::path::{Path, PathBuf};

use quarry_core::answer::AnswerOptions;
use quarry_core::embed::Precision;
use quarry_core::remote::{self, RemoteEmbedding};
use quarry_core::session::AnswerEngine;
use serde::{Deserialize, Serialize};

use crate::error::{CommandError, CommandResult};

/// Most passages a user may give the model: more than this no longer fits
/// the default model's 4,096-token context with room for an answer.
pub const MAX_PASSAGES: usize = 10;

/// The version written into the settings file. Files written before
/// versions were recorded have the same fields and read as version 1.
pub const SETTINGS_VERSION: u32 = 1;

/// Also what the window sends to `save_settings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub library_dir: PathBuf,
    /// `None`: the default model, wherever it is found.
    pub model_path: Option<PathBuf>,
    /// The embedding model's folder, as chosen in the app (`None`: the
    /// default model, wherever it is found).
    #[serde(default)]
    pub embedder_dir: Option<PathBuf>,
    /// The local encoder's precision (`None`: the one the library was made
    /// at, int8 for a new library).
    #[serde(default)]
    pub embed_precision: Option<Precision>,
    pub passages: usize,
    /// An OpenAI-compatible server that writes the answers instead of a
    /// local model (`None`: answers are made on this machine).
    #[serde(default)]
    pub engine_url: Option<String>,
    /// The model's id on that server.
    #[serde(default)]
    pub engine_model: Option<String>,
    /// Its context window in tokens (`None`: 4096).
    #[serde(default)]
    pub engine_context: Option<usize>,
    /// An OpenAI-compatible server that makes the library's embeddings
    /// (`None`: the local encoder).
    #[serde(default)]
    pub embed_url: Option<String>,
    /// The embedding model's id on that server.
    #[serde(default)]
    pub embed_model: Option<String>,
}

/// The file's form: the settings and the version they were written at.
#[derive(Serialize)]
struct Stored<'a> {
    version: u32,
    #[serde(flatten)]
    settings: &'a Settings,
}

impl Settings {
    /// First-run settings.
    pub fn from_env() -> Self {
        Settings {
            library_dir: std::env::var_os("QUARRY_LIBRARY")
                .map(PathBuf::from)
                .unwrap_or_else(quarry_core::default_library_dir),
            model_path: std::env::var_os("QUARRY_MODEL").map(PathBuf::from),
            embedder_dir: None,
            embed_precision: None,
            passages: AnswerOptions::default().passages,
            // The variables the CLI reads too (`quarry ask --help`).
            engine_url: remote::env_text("QUARRY_ENGINE_URL"),
            engine_model: remote::env_text("QUARRY_ENGINE_MODEL"),
            engine_context: remote::env_text("QUARRY_ENGINE_CONTEXT").and_then(|c| c.trim().parse().ok()),
            embed_url: remote::env_text("QUARRY_EMBED_URL"),
            embed_model: remote::env_text("QUARRY_EMBED_MODEL"),
        }
    }

    /// The stored settings, with `defaults` for any the file lacks; the
    /// defaults alone when there is no file (a damaged file is reported and
    /// replaced on the next save rather than keeping the app from starting).
    pub fn load(file: &Path, defaults: Settings) -> Settings {
        let Ok(bytes) = std::fs::read(file) else {
            return defaults;
        };
        Self::parse(&bytes, &defaults).unwrap_or_else(|e| {
            tracing::warn!("ignoring unreadable settings {}: {e}", file.display());
            defaults
        })
    }

    /// Settings from a file's bytes, each missing one taken from `defaults`.
    fn parse(bytes: &[u8], defaults: &Settings) -> serde_json::Result<Settings> {
        let stored: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes)?;
        let mut merged = match serde_json::to_value(defaults)? {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("settings serialise as an object"),
        };
        for (key, value) in stored {
            if merged.contains_key(&key) {
                merged.insert(key, value);
            }
        }
        serde_json::from_value(serde_json::Value::Object(merged))
    }

    /// Write atomically (temp file + rename): a crash never leaves half a file.
    pub fn save(&self, file: &Path) -> CommandResult<()> {
        let io = |e: std::io::Error| {
            CommandError::new("io", format!("cannot save settings to {}: {e}", file.display()))
        };
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let temp = file.with_extension("json.tmp");
        let stored = Stored {
            version: SETTINGS_VERSION,
            settings: self,
        };
        let json = serde_json::to_vec_pretty(&stored).expect("settings serialise");
        std::fs::write(&temp, json).map_err(io)?;
        std::fs::rename(&temp, file).map_err(io)
    }

    /// Blank text fields as unset (a cleared box in the window).
    pub fn without_blanks(self) -> Settings {
        let set = |text: Option<String>| text.filter(|t| !t.trim().is_empty());
        Settings {
            model_path: self.model_path.filter(|p| !p.as_os_str().is_empty()),
            embedder_dir: self.embedder_dir.filter(|p| !p.as_os_str().is_empty()),
            engine_url: set(self.engine_url),
            engine_model: set(self.engine_model),
            embed_url: set(self.embed_url),
            embed_model: set(self.embed_model),
            ..self
        }
    }

    pub fn validate(&self) -> CommandResult<()> {
        if !(1..=MAX_PASSAGES).contains(&self.passages) {
            return Err(CommandError::invalid(format!(
                "the number of passages must be between 1 and {MAX_PASSAGES}"
            )));
        }
        if self.library_dir.as_os_str().is_empty() {
            return Err(CommandError::invalid("choose a library folder"));
        }
        self.answer_engine()?;
        self.embed_server()?;
        if let Some(model) = self.model_path.as_ref().filter(|_| self.engine_url.is_none()) {
            if !model.is_file() {
                return Err(CommandError::new(
                    "no_model",
                    format!("answer model {} does not exist", model.display()),
                ));
            }
        }
        Ok(())
    }

    /// The engine that writes answers: the remote server when one is set,
    /// else the local model.
    pub fn answer_engine(&self) -> CommandResult<AnswerEngine> {
        let Some(url) = &self.engine_url else {
            return Ok(AnswerEngine::local(self.model_path.clone()));
        };
        let model = self.engine_model.as_deref().unwrap_or_default();
        remote::answer_engine(url, model, self.engine_context)
            .map(AnswerEngine::Remote)
            .map_err(|e| CommandError::invalid(e.to_string()))
    }

    /// The server that makes embeddings (`None`: the local encoder).
    pub fn embed_server(&self) -> CommandResult<Option<RemoteEmbedding>> {
        let Some(url) = &self.embed_url else {
            return Ok(None);
        };
        let model = self.embed_model.as_deref().unwrap_or_default();
        remote::embedding_server(url, model)
            .map(Some)
            .map_err(|e| CommandError::invalid(e.to_string()))
    }

    pub fn answer_options(&self) -> AnswerOptions {
        AnswerOptions {
            passages: self.passages,
            ..AnswerOptions::default()
        }
    }
}

/// Where the app keeps its settings by default.
pub fn default_settings_file() -> PathBuf {
    quarry_core::default_config_dir().join("desktop.json")
}

#[cfg(test)]
mod tests {
    //! Properties: a settings file written before a setting existed reads
    //! with that setting's default; settings this build does not know are
    //! ignored; what is saved reads back the same, with its version.
    use super::*;

    fn defaults() -> Settings {
        Settings {
            library_dir: PathBuf::from("/default/library"),
            model_path: None,
            embedder_dir: None,
            embed_precision: None,
            passages: 4,
            engine_url: None,
            engine_model: None,
            engine_context: None,
            embed_url: None,
            embed_model: None,
        }
    }

    #[test]
    fn missing_settings_take_their_defaults_and_unknown_ones_are_ignored() {
        let old = br#"{"library_dir": "/home/me/library"}"#;
        let read = Settings::parse(old, &defaults()).unwrap();
        assert_eq!(read.library_dir, PathBuf::from("/home/me/library"));
        assert_eq!((read.passages, read.model_path), (4, None));
        assert_eq!(
            read.engine_url, None,
            "a file from before remote engines answers locally"
        );
        let newer = br#"{"version": 7, "library_dir": "/l", "passages": 6, "theme": "dark"}"#;
        assert_eq!(Settings::parse(newer, &defaults()).unwrap().passages, 6);
        assert!(Settings::parse(b"[1, 2]", &defaults()).is_err());
    }

    #[test]
    fn a_remote_engine_is_checked_and_named_where_answers_are_made() {
        let with = |url: &str, model: &str| Settings {
            engine_url: Some(url.into()),
            engine_model: Some(model.into()),
            ..defaults()
        };
        match with("http://gpu-box:8000/v1/", "qwen2.5-7b")
            .answer_engine()
            .unwrap()
        {
            AnswerEngine::Remote(engine) => {
                assert_eq!(engine.describe(), "qwen2.5-7b at http://gpu-box:8000/v1")
            }
            other => panic!("a remote engine, not {other:?}"),
        }
        let refused = with("gpu-box:8000", "qwen2.5-7b").validate().unwrap_err();
        assert!(refused.message.contains("http://"), "{}", refused.message);
        let refused = with("http://gpu-box:8000/v1", "").validate().unwrap_err();
        assert!(refused.message.contains("name the model"), "{}", refused.message);
        assert_eq!(defaults().answer_engine().unwrap(), AnswerEngine::Default);
        let embedding = Settings {
            embed_url: Some("http://gpu-box:8080/v1".into()),
            ..defaults()
        };
        let refused = embedding.validate().unwrap_err();
        assert!(
            refused.message.contains("name the embedding model"),
            "{}",
            refused.message
        );
        assert_eq!(defaults().embed_server().unwrap(), None);
    }

    #[test]
    fn saved_settings_read_back_with_their_version() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("desktop.json");
        let settings = Settings {
            library_dir: PathBuf::from("/somewhere"),
            model_path: Some(PathBuf::from("/models/qwen.gguf")),
            embedder_dir: Some(PathBuf::from("/models/all-MiniLM-L6-v2")),
            embed_precision: Some(Precision::F32),
            passages: 7,
            engine_url: Some("http://gpu-box:8000/v1".into()),
            engine_model: Some("qwen2.5-7b".into()),
            engine_context: Some(8192),
            embed_url: Some("http://gpu-box:8080/v1".into()),
            embed_model: Some("bge-small-en".into()),
        };
        settings.save(&file).unwrap();
        let raw: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(raw["version"], SETTINGS_VERSION);
        assert_eq!(Settings::load(&file, defaults()), settings);
    }
}
