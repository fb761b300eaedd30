//! The llama.cpp engine behind [`Generator`].
//!
//! One model and one context (its KV cache) live together. Consecutive
//! prompts usually share a prefix (the fixed instructions, and in a chat the
//! earlier turns), so each call keeps the cached tokens that match the new
//! prompt and evaluates only the rest: the first token comes sooner.
//!
//! With [`LoadOptions::state_file`] the cache also outlives the process:
//! after each answer the context's KV cache and its tokens are written
//! there (llama.cpp's sequence state file), and the next process that loads
//! the same model starts from them, so `quarry ask` run twice pays only
//! for what its prompt does not share with the last one. The tokens stored
//! beside the cache decide what is reused, exactly as within a process, so
//! a changed prompt wording simply shares less.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

use super::stream::TextStream;
use super::{gguf, Decoding, Generation, Generator, GgufFacts, LlmError, LlmResult, Message, StopReason};

/// Prompt tokens evaluated per llama.cpp call by default. Cancellation is
/// checked between calls, so this bounds how long Stop takes during a long
/// prompt (128 tokens ≈ 1.9 s of the default model here). Measured with
/// `benches/peers/llm` against llama.cpp's own build at 512: batches of 64
/// reached only 0.81× its prompt speed on Gemma 3, 128 reached 0.95–1.11×
/// on all three models (BENCHMARKS.md).
pub const DEFAULT_PROMPT_BATCH: usize = 128;

/// The context window Quarry asks for unless told otherwise: room for the
/// passages, a short conversation and the answer. A bigger window costs KV
/// memory and, on CPU, prompt time users feel.
pub const DEFAULT_CONTEXT: u32 = 4096;

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Context window in tokens (capped at what the model was trained for).
    pub context: u32,
    /// Threads for generation; `None` = [`super::free_threads`] at load.
    pub threads: Option<usize>,
    /// Prompt tokens per llama.cpp call (see [`DEFAULT_PROMPT_BATCH`]).
    pub prompt_batch: usize,
    /// Where the KV cache is kept between processes (see the module
    /// header); `None`: only in memory. One file per model: see
    /// [`state_file_name`].
    pub state_file: Option<PathBuf>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            context: DEFAULT_CONTEXT,
            threads: None,
            prompt_batch: DEFAULT_PROMPT_BATCH,
            state_file: None,
        }
    }
}

/// The state file's name for a model file: its name and a digest of what
/// makes a saved cache valid for it (path, size, modification time, the
/// context size); a replaced model gets a new file, never a stale cache.
pub fn state_file_name(model: &Path, context: u32) -> String {
    use std::hash::{Hash, Hasher};
    let meta = std::fs::metadata(model).ok();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    model.hash(&mut hasher);
    meta.as_ref().map(|m| m.len()).hash(&mut hasher);
    meta.and_then(|m| m.modified().ok()).hash(&mut hasher);
    context.hash(&mut hasher);
    let stem = model
        .file_stem()
        .map_or_else(|| "model".into(), |s| s.to_string_lossy());
    format!("{stem}-{:016x}.kv", hasher.finish())
}

/// The context, once the first generation has created it.
type LazyContext<'a> = Option<LlamaContext<'a>>;

self_cell::self_cell!(
    /// A model and the context that borrows it, owned together. The context
    /// is made for the first generation, not at load: its thread count is
    /// chosen from the cores free when a question comes, not while the app
    /// that preloads the model is still starting (the window test's app
    /// chose 1 thread of 2 at load and took 13 s to its first token).
    struct ModelAndContext {
        owner: LlamaModel,
        #[covariant]
        dependent: LazyContext,
    }
);

/// A GGUF's weights in memory, without a context yet (see
/// [`LlamaCppGenerator::read`]).
pub struct ModelWeights {
    facts: GgufFacts,
    model: LlamaModel,
}

pub struct LlamaCppGenerator {
    facts: GgufFacts,
    cell: ModelAndContext,
    template: Option<LlamaChatTemplate>,
    /// Tokens whose keys and values are in the context, in order.
    cached: Vec<LlamaToken>,
    context_size: usize,
    prompt_batch: usize,
    /// `None`: [`super::free_threads`] when the context is made.
    threads: Option<usize>,
    state_file: Option<PathBuf>,
}

/// Remove the state files `current` replaces: those of the same model file
/// name under another digest (the model was replaced, or another toolchain
/// hashed it) and partial writes of processes that died while saving. The
/// cache folder then holds one file per model.
fn prune_stale_states(current: &Path) {
    let (Some(dir), Some(name)) = (current.parent(), current.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    // "<stem>-<16 hex digits>.kv": the stem is what comes before the digest.
    let Some(stem) = name
        .strip_suffix(".kv")
        .and_then(|n| n.rsplit_once('-'))
        .map(|(stem, _)| stem)
    else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let other = entry.file_name();
        let Some(other) = other.to_str() else { continue };
        let same_model = other
            .strip_prefix(stem)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|rest| rest.len() >= 16 && rest[..16].bytes().all(|b| b.is_ascii_hexdigit()));
        if same_model && other != name {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// llama.cpp's backend is process-wide and may be initialised once.
fn backend() -> LlmResult<&'static LlamaBackend> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // The CPU code first (which also sends llama.cpp's logs to
            // tracing): llama.cpp's backend starts with what is loaded.
            crate::cpu::load_cpu_backend().map_err(|e| e.to_string())?;
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| LlmError::Engine(e.clone()))
}

impl LlamaCppGenerator {
    /// What the model is (from its GGUF header).
    pub fn facts(&self) -> &GgufFacts {
        &self.facts
    }

    /// Load a GGUF file ([`LlamaCppGenerator::read`], then
    /// [`LlamaCppGenerator::from_weights`]).
    pub fn load(path: &Path, options: &LoadOptions) -> LlmResult<Self> {
        Ok(Self::from_weights(Self::read(path)?, options))
    }

    /// Read a GGUF file's weights: the slow part of a load, and `Send`, so
    /// it can run on a thread of its own while the thread that will answer
    /// goes on (the generator itself is not `Send`). The header is checked
    /// first, so a wrong, truncated or damaged file is named precisely
    /// instead of as a load failure.
    pub fn read(path: &Path) -> LlmResult<ModelWeights> {
        let facts = gguf::inspect(path)?;
        let backend = backend()?;
        let model =
            LlamaModel::load_from_file(backend, path, &LlamaModelParams::default()).map_err(|_| {
                LlmError::Unsupported {
                    path: path.to_path_buf(),
                    architecture: facts.architecture.clone(),
                }
            })?;
        Ok(ModelWeights { facts, model })
    }

    /// A generator for weights [`LlamaCppGenerator::read`] returned.
    pub fn from_weights(weights: ModelWeights, options: &LoadOptions) -> Self {
        let ModelWeights { facts, model } = weights;
        let context = options.context.min(model.n_ctx_train().max(256)).max(256);
        let cell = ModelAndContext::new(model, |_| None);
        let template = cell.borrow_owner().chat_template(None).ok();
        LlamaCppGenerator {
            facts,
            template,
            cached: Vec::new(),
            context_size: context as usize,
            prompt_batch: options.prompt_batch.max(1),
            threads: options.threads,
            cell,
            state_file: options.state_file.clone(),
        }
    }

    /// Make the context if this is the first generation: with the threads
    /// free now, then starting from the saved KV cache if there is one.
    fn ensure_context(&mut self) -> LlmResult<()> {
        if self.cell.borrow_dependent().is_some() {
            return Ok(());
        }
        let backend = backend()?;
        let threads = self.threads.unwrap_or_else(super::free_threads) as i32;
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(self.context_size as u32))
            .with_n_batch(self.prompt_batch as u32)
            .with_n_ubatch(self.prompt_batch as u32)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        self.cell
            .with_dependent_mut(|model, slot| {
                *slot = Some(model.new_context(backend, params)?);
                Ok(())
            })
            .map_err(|e: llama_cpp_2::LlamaContextLoadError| {
                LlmError::Engine(format!(
                    "cannot create a context for {}: {e}",
                    self.facts.path.display()
                ))
            })?;
        tracing::info!(threads, context = self.context_size, model = %self.facts.path.display(), "answer model ready");
        self.restore_state();
        Ok(())
    }

    /// Start from the KV cache a previous process saved, if there is one
    /// that llama.cpp accepts; a file it refuses (another llama.cpp build,
    /// a damaged file) is removed and the cache starts empty.
    fn restore_state(&mut self) {
        // Once per load, not after every answer: what other digests and
        // dead processes left is stale already.
        if let Some(path) = &self.state_file {
            prune_stale_states(path);
        }
        let Some(path) = self.state_file.clone().filter(|p| p.exists()) else {
            return;
        };
        let limit = self.context_size;
        let restored = self.cell.with_dependent_mut(|_, ctx| {
            ctx.as_mut()
                .expect("made before it is restored")
                .state_seq_load_file(&path, 0, limit)
        });
        match restored {
            Ok((tokens, _)) if !tokens.is_empty() && tokens.len() < limit => {
                tracing::debug!(tokens = tokens.len(), path = %path.display(), "restored the prompt cache");
                self.cached = tokens;
            }
            outcome => {
                tracing::debug!(path = %path.display(), ?outcome, "prompt cache not usable; removed");
                self.cell.with_dependent_mut(|_, ctx| {
                    if let Some(ctx) = ctx {
                        ctx.clear_kv_cache();
                    }
                });
                let _ = std::fs::remove_file(&path);
            }
        }
    }

    /// Write the KV cache and its tokens for the next process (see the
    /// module header): to a temporary file renamed into place, so a reader
    /// or a crash never sees half a file. Failing to save costs only speed.
    fn save_state(&self) {
        let Some(path) = &self.state_file else { return };
        if self.cached.is_empty() {
            return;
        }
        let Some(ctx) = self.cell.borrow_dependent() else {
            return;
        };
        let saved = (|| {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let partial = path.with_extension(format!("partial-{}", std::process::id()));
            ctx.state_seq_save_file(&partial, 0, &self.cached)
                .map_err(std::io::Error::other)?;
            std::fs::rename(&partial, path)
        })();
        if let Err(e) = saved {
            tracing::debug!(path = %path.display(), "cannot save the prompt cache: {e}");
        }
    }

    fn tokens(&self, text: &str, with_bos: bool) -> Vec<LlamaToken> {
        self.cell
            .borrow_owner()
            .vocab()
            .tokenize(text.as_bytes(), with_bos, true)
    }
}

impl Generator for LlamaCppGenerator {
    fn model_name(&self) -> String {
        self.facts.path.file_name().map_or_else(
            || self.facts.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    fn context_size(&self) -> usize {
        self.context_size
    }

    fn tokenize(&self, text: &str) -> Vec<u32> {
        self.tokens(text, false).into_iter().map(|t| t.0 as u32).collect()
    }

    fn detokenize(&self, tokens: &[u32]) -> String {
        let tokens: Vec<LlamaToken> = tokens.iter().map(|&t| LlamaToken(t as i32)).collect();
        let bytes = self.cell.borrow_owner().vocab().detokenize(&tokens, false, false);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn apply_chat_template(&self, messages: &[Message]) -> LlmResult<Option<String>> {
        let Some(template) = &self.template else {
            return Ok(None);
        };
        let chat = messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.as_str().to_string(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| LlmError::Engine(format!("chat message: {e}")))?;
        self.cell
            .borrow_owner()
            .apply_chat_template(template, &chat, true)
            .map(Some)
            .map_err(|e| LlmError::Engine(format!("the model's chat template failed: {e}")))
    }

    fn generate(
        &mut self,
        prompt: &str,
        decoding: &Decoding,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> LlmResult<Generation> {
        let started = Instant::now();
        let tokens = self.tokens(prompt, true);
        if tokens.is_empty() {
            return Err(LlmError::Engine("the prompt is empty".into()));
        }
        if tokens.len() >= self.context_size {
            return Err(LlmError::PromptTooLong {
                needed: tokens.len(),
                limit: self.context_size,
            });
        }
        self.ensure_context()?;
        let cached = &mut self.cached;
        let context_size = self.context_size;
        let prompt_batch = self.prompt_batch;
        let generation = self.cell.with_dependent_mut(|model, ctx| {
            let ctx = ctx.as_mut().expect("made above");
            // Keep the cached prefix the new prompt shares; at least the last
            // prompt token is evaluated again, since its logits are needed.
            let mut reused = cached.iter().zip(&tokens).take_while(|(a, b)| a == b).count();
            reused = reused.min(tokens.len() - 1);
            if reused < cached.len()
                && !ctx
                    .clear_kv_cache_seq(Some(0), Some(reused as u32), None)
                    .unwrap_or(false)
            {
                // Some caches (sliding-window attention) cannot drop a tail.
                ctx.clear_kv_cache();
                reused = 0;
            }
            cached.truncate(reused);

            let mut outcome = Generation {
                text: String::new(),
                stop_reason: StopReason::Cancelled,
                prompt_tokens: tokens.len(),
                reused_prompt_tokens: reused,
                generated_tokens: 0,
                prompt_ms: 0.0,
                time_to_first_token_ms: 0.0,
                decode_ms: 0.0,
            };
            let mut batch = LlamaBatch::new(prompt_batch, 1);
            let engine = |e: llama_cpp_2::DecodeError| LlmError::Engine(format!("decode failed: {e}"));
            let last = tokens.len() - 1;
            for (i, chunk) in tokens[reused..].chunks(prompt_batch).enumerate() {
                if cancel.load(Ordering::Relaxed) {
                    outcome.prompt_ms = ms_since(started);
                    return Ok(outcome);
                }
                batch.clear();
                for (j, &token) in chunk.iter().enumerate() {
                    let pos = reused + i * prompt_batch + j;
                    batch
                        .add(token, pos as i32, &[0], pos == last)
                        .map_err(|e| LlmError::Engine(e.to_string()))?;
                }
                ctx.decode(&mut batch).map_err(engine)?;
                cached.extend_from_slice(chunk);
            }
            outcome.prompt_ms = ms_since(started);

            let mut sampler = sampler(model.n_vocab(), decoding);
            let mut stream = TextStream::new(&decoding.stop);
            let vocab = model.vocab();
            let mut first_token_at = None;
            outcome.stop_reason = StopReason::MaxTokens;
            while outcome.generated_tokens < decoding.max_tokens {
                if cancel.load(Ordering::Relaxed) {
                    outcome.stop_reason = StopReason::Cancelled;
                    break;
                }
                let token = sampler.sample(ctx, batch.n_tokens() - 1);
                outcome.generated_tokens += 1;
                if first_token_at.is_none() {
                    first_token_at = Some(Instant::now());
                    outcome.time_to_first_token_ms = ms_since(started);
                }
                if vocab.is_eog(token) {
                    outcome.stop_reason = StopReason::EndOfTurn;
                    break;
                }
                let (text, stopped) = stream.push(&vocab.token_to_piece(token, false, None));
                if !text.is_empty() {
                    on_text(&text);
                }
                if stopped {
                    outcome.stop_reason = StopReason::StopString;
                    break;
                }
                if cached.len() + 1 >= context_size {
                    outcome.stop_reason = StopReason::ContextFull;
                    break;
                }
                batch.clear();
                batch
                    .add(token, cached.len() as i32, &[0], true)
                    .map_err(|e| LlmError::Engine(e.to_string()))?;
                ctx.decode(&mut batch).map_err(engine)?;
                cached.push(token);
            }
            let rest = stream.finish();
            if !rest.is_empty() {
                on_text(&rest);
            }
            outcome.text = stream.text().to_string();
            outcome.decode_ms = first_token_at.map_or(0.0, ms_since);
            Ok(outcome)
        });
        if generation.is_ok() {
            self.save_state();
        }
        generation
    }
}

fn sampler(n_vocab: i32, decoding: &Decoding) -> LlamaSampler {
    let mut chain = Vec::new();
    if decoding.repeat_penalty != 1.0 && decoding.repeat_window > 0 {
        chain.push(LlamaSampler::penalties(
            n_vocab,
            decoding.repeat_window as i32,
            decoding.repeat_penalty,
            0.0,
            0.0,
        ));
    }
    if decoding.temperature <= 0.0 {
        chain.push(LlamaSampler::greedy());
    } else {
        chain.push(LlamaSampler::temp(decoding.temperature));
        chain.push(LlamaSampler::dist(decoding.seed));
    }
    LlamaSampler::chain(chain, true)
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
