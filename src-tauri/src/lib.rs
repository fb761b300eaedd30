//! Quarry's desktop window: a thin Tauri 2 shell over `quarry-core`.
//!
//! - [`state`] is what the app runs with: [`AppState`], whose methods are
//!   all a command calls — the settings, the library (opened in the
//!   background into a [`library_slot::LibrarySlot`]), the ingest queue,
//!   the core's answering session and the folder watches;
//! - [`ingest`] is the indexing worker, started with the slot, the watches
//!   and the event sink it needs (it holds nothing of the app's state);
//! - [`commands`] are what the window calls, one file per feature, listed
//!   once in `src/command_list.rs`; [`dto`] is everything they send the
//!   window (mirrored in `ui/src/lib/types.ts`), [`error`] the one error shape.
//!
//! Invariant: everything a command does is a call into `quarry-core`; no
//! retrieval, parsing, model or answering logic lives here.

pub mod commands;
pub mod dto;
pub mod error;
pub mod ingest;
pub mod library_slot;
pub mod settings;
pub mod state;
pub mod watches;

use std::sync::Arc;

use tauri::{AppHandle, Emitter, Manager};

pub use state::{AppConfig, AppState, EventSink};

/// Event names the window listens to.
pub const INGEST_EVENT: &str = "ingest:progress";
pub const LIBRARY_CHANGED_EVENT: &str = "library:changed";

macro_rules! quarry_commands {
    ($($module:ident :: $name:ident),* $(,)?) => {
        /// Every command the window may call, by name.
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// Register every command with `builder`.
        fn with_commands<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
            builder.invoke_handler(tauri::generate_handler![$(commands::$module::$name),*])
        }
    };
}
include!("command_list.rs");

/// Sends the app's events to the window.
struct WindowEvents(AppHandle);

impl EventSink for WindowEvents {
    fn ingest(&self, event: &dto::IngestEvent) {
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
    // Each command also needs its permission: build.rs declares one per
    // command, capabilities/default.json grants them.
    with_commands(tauri::Builder::default())
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let events = Arc::new(WindowEvents(app.handle().clone()));
            app.manage(AppState::start(AppConfig::from_env(), events));
            Ok(())
        })
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("error while running Quarry's window");
}
