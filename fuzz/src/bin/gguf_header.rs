//! A GGUF file's header as Quarry reads it before llama.cpp sees the file
//! (crates/generate/src/gguf.rs): Quarry's check of the sizes it states,
//! candle's reader of the metadata and the tensor table, Quarry's
//! arithmetic on the tensor sizes (the very source
//! file quarry-generate compiles, included so that llama.cpp is not built
//! here), and the metadata values as Quarry reads them.

use std::io::Cursor;

use candle_core::quantized::gguf_file::Content;

#[path = "../../../crates/generate/src/gguf_layout.rs"]
mod gguf_layout;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        // As gguf.rs reads a file: the header's sizes checked, then candle.
        if gguf_layout::header_fits(&mut Cursor::new(data), data.len() as u64).is_err() {
            return;
        }
        if let Ok(content) = Content::read(&mut Cursor::new(data)) {
            let _ = gguf_layout::tensor_layout(&content);
            for value in content.metadata.values() {
                let _ = value.to_u32();
                let _ = value.to_u64();
                let _ = value.to_i32();
                let _ = value.to_string();
            }
        }
    });
}
