// Shared by the build scripts of Quarry's binaries (`build.rs`,
// `src-tauri/build.rs`), which `include!` it; their packages depend on
// llama-cpp-sys-2 directly only to be told, through its `links = "llama"`
// metadata, where cargo built llama.cpp.
//
// llama.cpp is a set of shared libraries (its CPU variants are loadable
// modules, crates/generate/src/cpu.rs), so each binary carries a run path
// to them: beside an installed Quarry first (`<prefix>/lib/quarry`, the
// .deb's layout), then where cargo built them, for binaries run from
// `target/`. Test binaries run by cargo find them without it.
fn link_llama_rpath() {
    let built = std::env::var("DEP_LLAMA_BACKENDS_DIR")
        .ok()
        .and_then(|dir| Some(std::path::Path::new(&dir).parent()?.join("lib")))
        .expect("llama-cpp-sys-2 tells its dependents where it built llama.cpp (DEP_LLAMA_BACKENDS_DIR)");
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN/../lib/quarry:{}", built.display());
}
