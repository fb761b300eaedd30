//! A sentence-transformers BERT-family encoder on candle.
//!
//! Loads `config.json` (BERT), `tokenizer.json`, `model.safetensors` and the
//! pooling module's `config.json` (found through `modules.json`, usually
//! `1_Pooling/`), so MiniLM, bge-small and e5-small folders all work.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use rayon::prelude::*;

use crate::{EmbedError, Embedder, EmbedderIdentity, TokenEmbeddingTable, CANDLE_ENGINE, F32};

/// Texts per forward pass (inputs are sorted by length first, so a batch pads
/// to a similar length). Measured here on candle's CPU backend, 323 SciFact
/// chunks sorted by length (`examples`-style probe, 2 cores): batch 1 12.6
/// chunks/s, 4: 11.4, 8: 10.9, 16: 10.6, 32: 9.9. candle parallelises the
/// matmuls within one sequence already, while its softmax/GELU/layer-norm run
/// on one thread over `[batch, heads, len, len]` tensors that outgrow the
/// caches; padding only adds to that. So on the CPU one text per pass is
/// fastest; the batching stays for backends where it pays.
const BATCH_SIZE: usize = 1;

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

pub struct SentenceEncoder {
    model: BertModel,
    tokenizer: Tokenizer,
    pooling: Pooling,
    max_tokens: usize,
    identity: EmbedderIdentity,
    token_table: TokenEmbeddingTable,
    device: Device,
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
    let pad_id = tokenizer.token_to_id("[PAD]").unwrap_or(0);
    let pad_token = tokenizer.id_to_token(pad_id).unwrap_or_else(|| "[PAD]".into());
    tokenizer.with_padding(Some(PaddingParams {
        strategy: PaddingStrategy::BatchLongest,
        pad_id,
        pad_token,
        ..Default::default()
    }));
    Ok((tokenizer, max_tokens))
}

impl SentenceEncoder {
    /// Load a sentence-transformers folder on the CPU.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let _span = tracing::info_span!("load_embedder", dir = %dir.display()).entered();
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
        let device = Device::Cpu;
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
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device).map_err(corrupt)?;
        let model = BertModel::load(vb, &config).map_err(corrupt)?;
        let dimension = raw_config
            .get("hidden_size")
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as usize;
        Ok(SentenceEncoder {
            model,
            tokenizer,
            pooling: read_pooling(dir)?,
            max_tokens,
            identity: EmbedderIdentity {
                name: model_name(dir),
                dimension,
                weights_sha256,
                engine: CANDLE_ENGINE.to_string(),
                precision: F32.to_string(),
            },
            token_table,
            device,
        })
    }

    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let rows = encodings.len();
        let len = encodings[0].get_ids().len();
        let flat = |f: fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings.iter().flat_map(|e| f(e).iter().copied()).collect()
        };
        let ids = Tensor::from_vec(flat(|e| e.get_ids()), (rows, len), &self.device)?;
        let mask = Tensor::from_vec(flat(|e| e.get_attention_mask()), (rows, len), &self.device)?;
        let type_ids = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &type_ids, Some(&mask))?; // [rows, len, dim]
        let mask_f = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // [rows, len, 1]
        let pooled = match self.pooling {
            Pooling::Mean | Pooling::MeanSqrtLen => {
                let summed = hidden.broadcast_mul(&mask_f)?.sum(1)?;
                let counts = mask_f.sum(1)?.clamp(1e-9, f64::MAX)?;
                let divisor = if self.pooling == Pooling::Mean {
                    counts
                } else {
                    counts.sqrt()?
                };
                summed.broadcast_div(&divisor)?
            }
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Max => {
                // Padding must never win the max: push it far below any value.
                let penalty = ((mask_f.ones_like()? - &mask_f)? * 1e9)?;
                hidden.broadcast_sub(&penalty)?.max(1)?
            }
            Pooling::LastToken => {
                let rows_out: Vec<Tensor> = encodings
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        let last = e.get_attention_mask().iter().filter(|&&m| m == 1).count().max(1) - 1;
                        hidden.get(i)?.get(last)
                    })
                    .collect::<Result<_, _>>()?;
                Tensor::stack(&rows_out, 0)?
            }
        };
        let norms = pooled.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        Ok(pooled.broadcast_div(&norms)?.to_vec2::<f32>()?)
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
        // Batch by length: sort, embed in slices, restore input order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        // Forward passes run side by side on rayon's pool (candle's matmuls
        // share it): the softmax, GELU and layer norms of one pass run on one
        // thread, so a second pass fills the other cores meanwhile.
        let batches: Vec<&[usize]> = order.chunks(BATCH_SIZE).collect();
        let embedded: Vec<Vec<Vec<f32>>> = batches
            .par_iter()
            .map(|batch| {
                let batch_texts: Vec<&str> = batch.iter().map(|&i| texts[i]).collect();
                self.embed_batch(&batch_texts)
            })
            .collect::<Result<_, _>>()?;
        let mut out = vec![Vec::new(); texts.len()];
        for (batch, vectors) in batches.iter().zip(embedded) {
            for (&i, v) in batch.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
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
