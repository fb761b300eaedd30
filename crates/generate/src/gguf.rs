//! What a GGUF file holds, read from its header without loading weights.
//!
//! candle's GGUF reader gives the metadata and every tensor's type, shape
//! and offset with precise errors, so a wrong or damaged file is named
//! before llama.cpp (whose loader only logs why it failed) sees it. For a
//! tensor type candle does not know (the IQ and MXFP4 families), the header
//! is read again through llama.cpp's own GGUF parser, which only gives the
//! key/value metadata.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};

use super::gguf_layout::{header_fits, tensor_layout};
use super::{LlmError, LlmResult};

/// The facts `quarry models` lists and the answerer needs.
#[derive(Debug, Clone)]
pub struct GgufFacts {
    pub path: PathBuf,
    pub file_size: u64,
    /// `general.architecture`, e.g. `qwen2`, `llama`, `gemma3`.
    pub architecture: String,
    /// `general.name`, when the file has one.
    pub name: Option<String>,
    /// Total weights, counted from the tensor shapes (None when unknown).
    pub parameters: Option<u64>,
    /// The quantization named by `general.file_type`, e.g. `Q4_K_M`.
    pub quantization: String,
    /// The context length the model was trained for.
    pub context_length: Option<u32>,
    /// `tokenizer.ggml.model`: `gpt2` (byte-level BPE), `llama` (SentencePiece) …
    pub vocabulary: Option<String>,
    pub has_chat_template: bool,
}

const MAGIC: &[u8; 4] = b"GGUF";

/// Read a GGUF header and check that the file holds all the weights it
/// describes.
pub fn inspect(path: &Path) -> LlmResult<GgufFacts> {
    let io_error = |source| LlmError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let file_size = file.metadata().map_err(io_error)?.len();
    let mut magic = [0u8; 4];
    let read = read_up_to(&mut file, &mut magic).map_err(io_error)?;
    if &magic[..read] != MAGIC {
        return Err(LlmError::NotGguf {
            path: path.to_path_buf(),
            found: describe_bytes(&magic[..read]),
        });
    }
    let mut reader = std::io::BufReader::new(std::fs::File::open(path).map_err(io_error)?);
    header_fits(&mut reader, file_size).map_err(|reason| LlmError::Corrupt {
        path: path.to_path_buf(),
        reason,
    })?;
    reader.rewind().map_err(io_error)?;
    let content = match Content::read(&mut reader) {
        Ok(content) => content,
        Err(e) if e.to_string().contains("unknown dtype") => return inspect_with_llama_cpp(path, file_size),
        Err(e) => {
            return Err(LlmError::Corrupt {
                path: path.to_path_buf(),
                reason: header_error(&e),
            })
        }
    };
    let Some((parameters, expected_end)) = tensor_layout(&content) else {
        return Err(LlmError::Corrupt {
            path: path.to_path_buf(),
            reason: "its tensor table names sizes larger than any file".into(),
        });
    };
    if file_size < expected_end {
        return Err(LlmError::Truncated {
            path: path.to_path_buf(),
            expected: expected_end,
            actual: file_size,
        });
    }
    let metadata = &content.metadata;
    let string = |key: &str| metadata.get(key).and_then(|v| v.to_string().ok()).cloned();
    let architecture = string("general.architecture").ok_or_else(|| LlmError::Corrupt {
        path: path.to_path_buf(),
        reason: "it names no general.architecture".into(),
    })?;
    let context_length = metadata
        .get(&format!("{architecture}.context_length"))
        .and_then(value_u32);
    Ok(GgufFacts {
        path: path.to_path_buf(),
        file_size,
        name: string("general.name"),
        parameters: Some(parameters),
        quantization: metadata
            .get("general.file_type")
            .and_then(value_u32)
            .map_or_else(|| "unknown".to_string(), file_type_name),
        context_length,
        vocabulary: string("tokenizer.ggml.model"),
        has_chat_template: metadata.contains_key("tokenizer.chat_template"),
        architecture,
    })
}

/// Metadata-only fallback through llama.cpp's GGUF parser.
fn inspect_with_llama_cpp(path: &Path, file_size: u64) -> LlmResult<GgufFacts> {
    let ctx = llama_cpp_2::gguf::GgufContext::from_file(path).ok_or_else(|| LlmError::Corrupt {
        path: path.to_path_buf(),
        reason: "llama.cpp cannot parse its header".into(),
    })?;
    let string = |key: &str| {
        let idx = ctx.find_key(key);
        (idx >= 0).then(|| ctx.val_str(idx).map(str::to_string)).flatten()
    };
    let u32_value = |key: &str| {
        let idx = ctx.find_key(key);
        (idx >= 0).then(|| ctx.val_u32(idx))
    };
    let architecture = string("general.architecture").unwrap_or_else(|| "unknown".into());
    Ok(GgufFacts {
        path: path.to_path_buf(),
        file_size,
        name: string("general.name"),
        parameters: None,
        quantization: u32_value("general.file_type").map_or_else(|| "unknown".into(), file_type_name),
        context_length: u32_value(&format!("{architecture}.context_length")),
        vocabulary: string("tokenizer.ggml.model"),
        has_chat_template: ctx.find_key("tokenizer.chat_template") >= 0,
        architecture,
    })
}

fn value_u32(value: &Value) -> Option<u32> {
    value
        .to_u32()
        .ok()
        .or_else(|| value.to_u64().ok().and_then(|v| u32::try_from(v).ok()))
        .or_else(|| value.to_i32().ok().and_then(|v| u32::try_from(v).ok()))
}

fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn describe_bytes(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing: it is empty".into();
    }
    if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("\"{}\"", String::from_utf8_lossy(bytes))
    } else {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn header_error(e: &candle_core::Error) -> String {
    let text = e.to_string();
    if text.contains("failed to fill whole buffer") || text.contains("UnexpectedEof") {
        "its header ends early (the file is truncated)".into()
    } else {
        format!("its header cannot be read ({text})")
    }
}

/// llama.cpp's `llama_ftype` names (`general.file_type`).
fn file_type_name(file_type: u32) -> String {
    let name = match file_type {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4",
        other => return format!("file type {other}"),
    };
    name.to_string()
}
