//! The desktop app's settings: which library, which answer model, how many
//! passages. Stored as JSON in the platform's config folder; environment
//! variables the CLI honours (`QUARRY_LIBRARY`, `QUARRY_MODEL`) give the
//! first-run defaults, so the app and the CLI open the same library.

use std::path::{Path, PathBuf};

use quarry::answer::AnswerOptions;
use serde::{Deserialize, Serialize};

use crate::error::{CommandError, CommandResult};

/// Most passages a user may give the model: more than this no longer fits
/// the default model's 4,096-token context with room for an answer.
pub const MAX_PASSAGES: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub library_dir: PathBuf,
    /// `None`: the default model, wherever it is found.
    pub model_path: Option<PathBuf>,
    pub passages: usize,
}

impl Settings {
    /// First-run settings.
    pub fn from_env() -> Self {
        Settings {
            library_dir: std::env::var_os("QUARRY_LIBRARY")
                .map(PathBuf::from)
                .unwrap_or_else(quarry::engine::default_library_dir),
            model_path: std::env::var_os("QUARRY_MODEL").map(PathBuf::from),
            passages: AnswerOptions::default().passages,
        }
    }

    /// The stored settings, else `defaults` (a damaged file is reported and
    /// replaced on the next save rather than keeping the app from starting).
    pub fn load(file: &Path, defaults: Settings) -> Settings {
        match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("ignoring unreadable settings {}: {e}", file.display());
                defaults
            }),
            Err(_) => defaults,
        }
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
        let json = serde_json::to_vec_pretty(self).expect("settings serialise");
        std::fs::write(&temp, json).map_err(io)?;
        std::fs::rename(&temp, file).map_err(io)
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
        if let Some(model) = &self.model_path {
            if !model.is_file() {
                return Err(CommandError::new(
                    "no_model",
                    format!("answer model {} does not exist", model.display()),
                ));
            }
        }
        Ok(())
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
    directories::ProjectDirs::from("", "", "quarry")
        .map(|d| d.config_dir().join("desktop.json"))
        .unwrap_or_else(|| PathBuf::from(".quarry-desktop.json"))
}
