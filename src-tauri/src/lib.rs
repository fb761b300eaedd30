//! Quarry's desktop window: a thin Tauri 2 shell over the `quarry` library.
//!
//! - [`state`] holds what the app runs with (settings, the open library,
//!   the folder watcher) and hands out events through an [`EventSink`];
//! - [`ingest`] and [`answers`] are the two background workers (indexing,
//!   and the answer model, which lives on its own thread);
//! - [`commands`] are what the window calls, one file per feature.
//!
//! Invariant: everything a command does is a call into the `quarry`
//! library; no retrieval, parsing or model logic lives here.

pub mod answers;
pub mod commands;
pub mod error;
pub mod ingest;
pub mod settings;
pub mod state;

use std::sync::Arc;

use tauri::{AppHandle, Emitter, Manager};

pub use state::{AppConfig, AppState, EventSink};

/// Event names the window listens to.
pub const INGEST_EVENT: &str = "ingest:progress";
pub const LIBRARY_CHANGED_EVENT: &str = "library:changed";

/// Sends the app's events to the window.
struct WindowEvents(AppHandle);

impl EventSink for WindowEvents {
    fn ingest(&self, event: &ingest::IngestEvent) {
        if let Err(e) = self.0.emit(INGEST_EVENT, event) {
            tracing::warn!("cannot send progress to the window: {e}");
        }
    }

    fn library_changed(&self) {
        let _ = self.0.emit(LIBRARY_CHANGED_EVENT, ());
    }
}

/// Open the window and run until it closes.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("QUARRY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,quarry=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let events = Arc::new(WindowEvents(app.handle().clone()));
            app.manage(AppState::start(AppConfig::from_env(), events));
            Ok(())
        })
        // Each command also needs its permission: build.rs and
        // capabilities/default.json.
        .invoke_handler(tauri::generate_handler![
            commands::library::library_overview,
            commands::library::add_paths,
            commands::library::reindex,
            commands::library::remove_paths,
            commands::library::cancel_ingest,
            commands::chat::ask,
            commands::chat::stop_answer,
            commands::chat::list_conversations,
            commands::chat::conversation_turns,
            commands::chat::delete_conversation,
            commands::chat::model_status,
            commands::sources::passage_context,
            commands::sources::open_document,
            commands::inspect::inspect_passage,
            commands::settings::get_settings,
            commands::settings::save_settings,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("error while running Quarry's window");
}
