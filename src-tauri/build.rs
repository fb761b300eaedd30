//! Tauri's build step, pointed at the top-level `tauri.conf.json` (the
//! design card keeps it beside the workspace's Cargo.toml).
//!
//! Quarry's own commands are declared here so that each one needs a
//! permission (`allow-<command>`): the window's capability grants exactly
//! the commands the UI calls, and nothing is callable by default.

const COMMANDS: &[&str] = &[
    "library_overview",
    "add_paths",
    "reindex",
    "remove_paths",
    "cancel_ingest",
    "ask",
    "stop_answer",
    "list_conversations",
    "conversation_turns",
    "delete_conversation",
    "model_status",
    "passage_context",
    "open_document",
    "inspect_passage",
    "get_settings",
    "save_settings",
];

fn main() {
    println!("cargo:rerun-if-changed=../ui/dist");
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("tauri build step failed");
}
