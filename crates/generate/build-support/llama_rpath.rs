// Shared by the build scripts of Quarry's binaries (`build.rs`,
// `src-tauri/build.rs`) and of this crate (`crates/generate/build.rs`),
// which `include!` it; those packages depend on llama-cpp-sys-2 directly,
// the binaries' only to be told, through its `links = "llama"` metadata,
// where cargo built llama.cpp.

/// The folder holding the llama.cpp shared libraries cargo built (`lib`,
/// or `lib64` where cmake installs there), beside the CPU variants' folder
/// llama-cpp-sys-2 announces.
fn llama_lib_dir() -> Option<std::path::PathBuf> {
    let backends = std::env::var("DEP_LLAMA_BACKENDS_DIR").ok()?;
    let out = std::path::Path::new(&backends).parent()?;
    ["lib64", "lib"].iter().map(|dir| out.join(dir)).find(|dir| dir.is_dir())
}

/// llama.cpp is a set of shared libraries (its CPU variants are loadable
/// modules, crates/generate/src/cpu.rs), so each binary carries a run path
/// to them: beside an installed Quarry first (`<prefix>/lib/quarry`, the
/// .deb's layout), then where cargo built them, for binaries run from
/// `target/`. Test binaries run by cargo find them without it.
fn link_llama_rpath() {
    let built = llama_lib_dir()
        .expect("llama-cpp-sys-2 tells its dependents where it built llama.cpp (DEP_LLAMA_BACKENDS_DIR)");
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN/../lib/quarry:{}", built.display());
}
