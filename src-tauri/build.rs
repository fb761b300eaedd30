//! Tauri's build step, pointed at the top-level `tauri.conf.json` (the
//! design card keeps it beside the workspace's Cargo.toml).
//!
//! Quarry's own commands are declared here so that each one needs a
//! permission (`allow-<command>`): the window's capability grants exactly
//! the commands the UI calls, and nothing is callable by default. Their
//! names come from `src/command_list.rs`, the list `src/lib.rs` registers.

macro_rules! quarry_commands {
    ($($module:ident :: $name:ident),* $(,)?) => {
        const COMMANDS: &[&str] = &[$(stringify!($name)),*];
    };
}
include!("src/command_list.rs");
include!("../crates/generate/build-support/llama_rpath.rs");

fn main() {
    println!("cargo:rerun-if-changed=../ui/dist");
    println!("cargo:rerun-if-changed=src/command_list.rs");
    link_llama_rpath();
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("tauri build step failed");
}
