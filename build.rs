//! The `quarry` binaries' build step: their run path to llama.cpp's shared
//! libraries (crates/generate/build-support/llama_rpath.rs says why).

include!("crates/generate/build-support/llama_rpath.rs");

fn main() {
    link_llama_rpath();
}
