//! Repairs what llama-cpp-sys-2's build leaves in the target folder.
//!
//! Built as shared libraries (Quarry loads llama.cpp's CPU variants as
//! modules, src/cpu.rs), llama-cpp-sys-2 hard-links `libllama.so`,
//! `libggml.so` … into `target/<profile>/` and `deps/`. Those are symlinks
//! to `libllama.so.0` …, which it does not link, so they dangle; and its
//! next build in the same target folder — another feature set, as
//! `cargo test -p quarry-generate` resolves — checks `exists()`, which is
//! false for a dangling link, links again and fails with "File exists".
//! This script gives every such link its target (a link to the library
//! cargo built), so the next build finds them present. It runs after each
//! llama-cpp-sys-2 build, being its direct dependent.

//!
//! It also gives this crate's own test binaries the run path the app's
//! binaries have (build-support/llama_rpath.rs).

use std::path::PathBuf;

include!("build-support/llama_rpath.rs");

fn main() {
    link_llama_rpath();
    let Some(built) = llama_lib_dir() else {
        return;
    };
    // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let Some(profile_dir) = out_dir.ancestors().nth(3) else {
        return;
    };
    for dir in [
        profile_dir.to_path_buf(),
        profile_dir.join("deps"),
        profile_dir.join("examples"),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let link = entry.path();
            let Ok(target) = std::fs::read_link(&link) else {
                continue;
            };
            let named = |n: &str| n.starts_with("libllama") || n.starts_with("libggml");
            let is_ours = link.file_name().and_then(|n| n.to_str()).is_some_and(named);
            // Only a relative target beside the link (`libllama.so.0`) that
            // is missing, and that cargo's llama.cpp build has.
            if !is_ours || target.components().count() != 1 || link.exists() {
                continue;
            }
            let missing = dir.join(&target);
            let library = built.join(&target);
            if library.exists() {
                let _ = std::os::unix::fs::symlink(&library, &missing);
            }
        }
    }
}
