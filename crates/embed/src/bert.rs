//! A sentence-transformers BERT-family encoder: Quarry's own forward pass
//! ([`crate::forward`]) on the folder's weights, read with candle.
//!
//! Loads `config.json` (BERT), `tokenizer.json`, `model.safetensors` and the
//! pooling module's `config.json` (found through `modules.json`, usually
//! `1_Pooling/`), so MiniLM, bge-small and e5-small folders all work.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

use crate::forward::{Arithmetic, BertForward};
use crate::int8::Kernel;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use crate::{
    EmbedError, Embedder, EmbedderIdentity, TokenEmbeddingTable, CANDLE_ENGINE, F32, INT8, QUARRY_ENGINE,
};

/// Word pieces per forward pass: the texts of one `embed` call are packed
/// into passes of about this many (a text is never split). Large enough
/// that the matrix products run at full speed, small enough that a pass's
/// activations (`tokens × intermediate` floats, 6 MiB for MiniLM) stay
/// in the caches' reach.
const TOKENS_PER_PASS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    Mean,
    Cls,
    Max,
    MeanSqrtLen,
    LastToken,
}

/// sentence-transformers' `Pooling` module configuration.
#[derive(Debug, Default, Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

#[derive(Debug, Deserialize)]
struct ModuleEntry {
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

/// The arithmetic of [`SentenceEncoder`]'s linear layers (written `f32`
/// and `int8`, as identities record it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    /// 8-bit integer products ([`crate::int8`]): faster, vectors a little
    /// further from sentence-transformers'; another embedder's vectors.
    Int8,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => F32,
            Precision::Int8 => INT8,
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" => Ok(Precision::F32),
            "int8" => Ok(Precision::Int8),
            other => Err(format!("unknown precision {other:?}: f32 or int8")),
        }
    }
}

pub struct SentenceEncoder {
    forward: BertForward,
    /// The int8 kernel in use (`None` at f32).
    kernel: Option<Kernel>,
    tokenizer: Tokenizer,
    pooling: Pooling,
    max_tokens: usize,
    identity: EmbedderIdentity,
    token_table: TokenEmbeddingTable,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, EmbedError> {
    let bytes = std::fs::read(path).map_err(|source| EmbedError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| EmbedError::Corrupt {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// The model's name: `ORG/NAME` inside a Hugging Face cache, else the folder.
fn model_name(dir: &Path) -> String {
    for ancestor in dir.ancestors() {
        let name = ancestor.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(repo) = name.strip_prefix("models--") {
            return repo.replacen("--", "/", 1);
        }
    }
    dir.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("embedder")
        .to_string()
}

fn read_pooling(dir: &Path) -> Result<Pooling, EmbedError> {
    let modules = dir.join("modules.json");
    let pooling_dir = if modules.is_file() {
        let entries: Vec<ModuleEntry> = read_json(&modules)?;
        entries
            .into_iter()
            .find(|m| m.kind.ends_with("Pooling"))
            .map(|m| dir.join(m.path))
            .unwrap_or_else(|| dir.join("1_Pooling"))
    } else {
        dir.join("1_Pooling")
    };
    let path = pooling_dir.join("config.json");
    if !path.is_file() {
        // sentence-transformers wraps a plain transformer with mean pooling.
        return Ok(Pooling::Mean);
    }
    let c: PoolingConfig = read_json(&path)?;
    let modes = [
        (c.pooling_mode_mean_tokens, Pooling::Mean),
        (c.pooling_mode_cls_token, Pooling::Cls),
        (c.pooling_mode_max_tokens, Pooling::Max),
        (c.pooling_mode_mean_sqrt_len_tokens, Pooling::MeanSqrtLen),
        (c.pooling_mode_lasttoken, Pooling::LastToken),
    ];
    let chosen: Vec<Pooling> = modes.iter().filter(|(on, _)| *on).map(|(_, p)| *p).collect();
    match chosen.as_slice() {
        [one] => Ok(*one),
        [] => Err(EmbedError::Unsupported {
            path,
            detail: "no pooling mode is enabled".into(),
        }),
        many => Err(EmbedError::Unsupported {
            path,
            detail: format!("concatenated pooling modes {many:?} are not supported"),
        }),
    }
}

/// The tokenizer of a sentence-transformers folder, truncating at the
/// model's window, and that window in word pieces.
pub fn tokenizer(dir: &Path) -> Result<(Tokenizer, usize), EmbedError> {
    let raw_config: serde_json::Value = read_json(&dir.join("config.json"))?;
    folder_tokenizer(dir, &raw_config)
}

fn folder_tokenizer(dir: &Path, raw_config: &serde_json::Value) -> Result<(Tokenizer, usize), EmbedError> {
    let max_positions = raw_config
        .get("max_position_embeddings")
        .and_then(|v| v.as_u64())
        .unwrap_or(512) as usize;
    let st_config = dir.join("sentence_bert_config.json");
    let max_tokens = if st_config.is_file() {
        read_json::<SentenceBertConfig>(&st_config)?.max_seq_length
    } else {
        None
    }
    .unwrap_or(max_positions)
    .min(max_positions);

    let tokenizer_path = dir.join("tokenizer.json");
    let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| EmbedError::Corrupt {
        path: tokenizer_path.clone(),
        detail: e.to_string(),
    })?;
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: max_tokens,
            ..Default::default()
        }))
        .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
    // Never padded (a tokenizer.json may ask for it): the encoder packs
    // texts without padding, and the chunker counts real pieces.
    tokenizer.with_padding(None);
    Ok((tokenizer, max_tokens))
}

/// What a sentence-transformers folder holds, read and checked: the
/// encoder's configuration, its weights, tokenizer and pooling.
struct Folder {
    config: Config,
    tokenizer: Tokenizer,
    max_tokens: usize,
    pooling: Pooling,
    weights: candle_nn::VarBuilder<'static>,
    identity: EmbedderIdentity,
    token_table: TokenEmbeddingTable,
}

impl Folder {
    fn read(dir: &Path, engine: &str, precision: Precision) -> Result<Self, EmbedError> {
        let config_path = dir.join("config.json");
        let raw_config: serde_json::Value = read_json(&config_path)?;
        let config: Config = serde_json::from_value(raw_config.clone()).map_err(|e| EmbedError::Corrupt {
            path: config_path.clone(),
            detail: e.to_string(),
        })?;
        if let Some(kind) = raw_config.get("model_type").and_then(|v| v.as_str()) {
            if !matches!(kind, "bert" | "roberta" | "xlm-roberta" | "camembert") {
                return Err(EmbedError::Unsupported {
                    path: config_path,
                    detail: format!("model_type {kind:?} is not BERT-family"),
                });
            }
        }
        let (tokenizer, max_tokens) = folder_tokenizer(dir, &raw_config)?;

        let weights_path = dir.join("model.safetensors");
        let weights = std::fs::read(&weights_path).map_err(|source| EmbedError::Io {
            path: weights_path.clone(),
            source,
        })?;
        let weights_sha256 = hex::encode(Sha256::digest(&weights));
        let corrupt = |e: candle_core::Error| EmbedError::Corrupt {
            path: weights_path.clone(),
            detail: e.to_string(),
        };
        let token_table = candle_core::safetensors::SliceSafetensors::new(&weights)
            .map_err(corrupt)?
            .tensors()
            .into_iter()
            .find(|(name, _)| name.ends_with("embeddings.word_embeddings.weight"))
            .map(|(name, view)| TokenEmbeddingTable {
                file: weights_path.clone(),
                tensor: name,
                shape: view.shape().to_vec(),
            })
            .ok_or_else(|| EmbedError::Corrupt {
                path: weights_path.clone(),
                detail: "it has no `embeddings.word_embeddings.weight` tensor".into(),
            })?;
        let weights =
            VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu).map_err(corrupt)?;
        Ok(Folder {
            identity: EmbedderIdentity {
                name: model_name(dir),
                dimension: config.hidden_size,
                weights_sha256,
                engine: engine.to_string(),
                precision: precision.as_str().to_string(),
            },
            config,
            tokenizer,
            max_tokens,
            pooling: read_pooling(dir)?,
            weights,
            token_table,
        })
    }

    fn corrupt(&self, e: candle_core::Error) -> EmbedError {
        EmbedError::Corrupt {
            path: self.token_table.file.clone(),
            detail: e.to_string(),
        }
    }
}

/// Each text's word pieces, as the model reads them (truncated at its
/// window, special tokens included; the folder's tokenizer never pads).
fn word_pieces(tokenizer: &Tokenizer, texts: &[&str]) -> Result<Vec<Vec<u32>>, EmbedError> {
    let encodings = tokenizer
        .encode_batch(texts.to_vec(), true)
        .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
    Ok(encodings.into_iter().map(|e| e.get_ids().to_vec()).collect())
}

/// One text's vector from its tokens' last hidden states (`rows`, `[len,
/// hidden]`), pooled as the folder says, then scaled to unit length as
/// `normalize_embeddings=True` does.
fn pool(rows: &[f32], hidden: usize, pooling: Pooling) -> Vec<f32> {
    let len = rows.len() / hidden;
    let mut pooled = vec![0f32; hidden];
    match pooling {
        Pooling::Mean | Pooling::MeanSqrtLen => {
            for row in rows.chunks_exact(hidden) {
                pooled.iter_mut().zip(row).for_each(|(p, v)| *p += v);
            }
            let divisor = if pooling == Pooling::Mean {
                (len as f32).max(1e-9)
            } else {
                (len as f32).max(1e-9).sqrt()
            };
            pooled.iter_mut().for_each(|p| *p /= divisor);
        }
        Pooling::Cls => pooled.copy_from_slice(&rows[..hidden]),
        Pooling::Max => {
            pooled.fill(f32::NEG_INFINITY);
            for row in rows.chunks_exact(hidden) {
                pooled.iter_mut().zip(row).for_each(|(p, v)| *p = p.max(*v));
            }
        }
        Pooling::LastToken => pooled.copy_from_slice(&rows[(len - 1) * hidden..]),
    }
    let norm = crate::norm(&pooled).max(1e-12);
    pooled.iter_mut().for_each(|p| *p /= norm);
    pooled
}

impl SentenceEncoder {
    /// Load a sentence-transformers folder on the CPU, in f32.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        Self::load_at(dir, Precision::F32)
    }

    /// Load a sentence-transformers folder on the CPU at `precision` (at
    /// int8, with the fastest kernel the CPU runs: [`Kernel::detect`]).
    pub fn load_at(dir: &Path, precision: Precision) -> Result<Self, EmbedError> {
        let kernel = (precision == Precision::Int8).then(Kernel::detect);
        Self::load_on(dir, precision, kernel)
    }

    /// Load at int8 with the given kernel, whatever the CPU would choose
    /// (for comparing kernels; the CPU must have the kernel's instructions).
    pub fn load_int8_with(dir: &Path, kernel: Kernel) -> Result<Self, EmbedError> {
        Self::load_on(dir, Precision::Int8, Some(kernel))
    }

    fn load_on(dir: &Path, precision: Precision, kernel: Option<Kernel>) -> Result<Self, EmbedError> {
        let _span =
            tracing::info_span!("load_embedder", dir = %dir.display(), precision = precision.as_str())
                .entered();
        let folder = Folder::read(dir, QUARRY_ENGINE, precision)?;
        let arithmetic = kernel.map_or(Arithmetic::F32, Arithmetic::Int8);
        let forward =
            BertForward::load(&folder.weights, &folder.config, arithmetic).map_err(|e| folder.corrupt(e))?;
        Ok(SentenceEncoder {
            forward,
            kernel,
            tokenizer: folder.tokenizer,
            pooling: folder.pooling,
            max_tokens: folder.max_tokens,
            identity: folder.identity,
            token_table: folder.token_table,
        })
    }

    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// The int8 kernel this encoder runs (`None` at f32).
    pub fn kernel(&self) -> Option<Kernel> {
        self.kernel
    }

    /// Each text's last hidden states, `[len, hidden]` row-major: what
    /// pooling reads (for comparing engines layer output by layer output).
    pub fn hidden_states(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.each_text(texts, <[f32]>::to_vec)
    }

    /// `read` of each text's last hidden states (`[len, hidden]`), in
    /// input order: consecutive texts packed into passes of about
    /// [`TOKENS_PER_PASS`] pieces, each pass threaded inside (see
    /// [`crate::forward`]).
    fn each_text<T>(&self, texts: &[&str], read: impl Fn(&[f32]) -> T) -> Result<Vec<T>, EmbedError> {
        let hidden = self.identity.dimension;
        let pieces = word_pieces(&self.tokenizer, texts)?;
        let mut out = Vec::with_capacity(texts.len());
        let mut first = 0;
        while first < pieces.len() {
            let mut end = first + 1;
            let mut tokens = pieces[first].len();
            while end < pieces.len() && tokens + pieces[end].len() <= TOKENS_PER_PASS {
                tokens += pieces[end].len();
                end += 1;
            }
            let sequences: Vec<&[u32]> = pieces[first..end].iter().map(Vec::as_slice).collect();
            self.forward.forward(&sequences, |mut rows| {
                for sequence in &sequences {
                    let (text, rest) = rows.split_at(sequence.len() * hidden);
                    out.push(read(text));
                    rows = rest;
                }
            });
            first = end;
        }
        Ok(out)
    }
}

impl Embedder for SentenceEncoder {
    fn identity(&self) -> &EmbedderIdentity {
        &self.identity
    }

    fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    fn token_embeddings(&self) -> Option<&TokenEmbeddingTable> {
        Some(&self.token_table)
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let _span = tracing::debug_span!("embed", n = texts.len()).entered();
        let hidden = self.identity.dimension;
        self.each_text(texts, |rows| pool(rows, hidden, self.pooling))
    }
}

/// candle-transformers' `BertModel` on the same folder: the engine Quarry
/// ran before its own forward pass, kept as the reference the differential
/// test (`tests/it/embed.rs`) and the benchmark (`benches/embed.rs`) compare
/// against.
pub struct CandleReference {
    model: BertModel,
    tokenizer: Tokenizer,
    pooling: Pooling,
    hidden: usize,
}

impl CandleReference {
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let folder = Folder::read(dir, CANDLE_ENGINE, Precision::F32)?;
        let model = BertModel::load(folder.weights.clone(), &folder.config).map_err(|e| folder.corrupt(e))?;
        Ok(CandleReference {
            model,
            tokenizer: folder.tokenizer,
            pooling: folder.pooling,
            hidden: folder.config.hidden_size,
        })
    }

    /// Each text's last hidden states, `[len, hidden]` row-major. Texts
    /// run side by side on rayon's pool, one per pass, as Quarry ran them
    /// (candle's softmax, GELU and layer norms run on one thread).
    pub fn hidden_states(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        use rayon::prelude::*;
        word_pieces(&self.tokenizer, texts)?
            .par_iter()
            .map(|ids| {
                let ids = Tensor::new(ids.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
                let types = ids.zeros_like()?;
                let hidden = self.model.forward(&ids, &types, None)?;
                Ok(hidden.squeeze(0)?.flatten_all()?.to_vec1::<f32>()?)
            })
            .collect()
    }

    /// Each text's unit vector, pooled as the folder says.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(self
            .hidden_states(texts)?
            .iter()
            .map(|rows| pool(rows, self.hidden, self.pooling))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    //! Properties: the pooling module is found through modules.json and its
    //! config decides the pooling (bge-style CLS, MiniLM/e5-style mean);
    //! concatenated modes are refused; HF cache folders name the model.
    use super::*;

    fn folder(modules: Option<&str>, pooling_dir: &str, pooling: Option<&str>) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        if let Some(m) = modules {
            std::fs::write(tmp.path().join("modules.json"), m).unwrap();
        }
        if let Some(p) = pooling {
            std::fs::create_dir_all(tmp.path().join(pooling_dir)).unwrap();
            std::fs::write(tmp.path().join(pooling_dir).join("config.json"), p).unwrap();
        }
        tmp
    }

    #[test]
    fn pooling_from_folder() {
        let bge = folder(
            Some(
                r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                     {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
                     {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#,
            ),
            "1_Pooling",
            Some(
                r#"{"word_embedding_dimension":384,"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":false}"#,
            ),
        );
        assert_eq!(read_pooling(bge.path()).unwrap(), Pooling::Cls);

        let custom_path = folder(
            Some(r#"[{"path":"pool","type":"sentence_transformers.models.Pooling"}]"#),
            "pool",
            Some(r#"{"pooling_mode_mean_tokens":true}"#),
        );
        assert_eq!(read_pooling(custom_path.path()).unwrap(), Pooling::Mean);

        let bare = folder(None, "1_Pooling", None);
        assert_eq!(read_pooling(bare.path()).unwrap(), Pooling::Mean);

        let both = folder(
            None,
            "1_Pooling",
            Some(r#"{"pooling_mode_mean_tokens":true,"pooling_mode_max_tokens":true}"#),
        );
        assert!(read_pooling(both.path())
            .unwrap_err()
            .to_string()
            .contains("concatenated"));
    }

    #[test]
    fn names() {
        let hf = Path::new("/h/hub/models--BAAI--bge-small-en-v1.5/snapshots/abc");
        assert_eq!(model_name(hf), "BAAI/bge-small-en-v1.5");
        assert_eq!(model_name(Path::new("/m/all-MiniLM-L6-v2")), "all-MiniLM-L6-v2");
    }
}
