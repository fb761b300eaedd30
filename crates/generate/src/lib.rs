//! Text generation: local GGUF files, or a model on an OpenAI-compatible
//! server.
//!
//! One trait, [`Generator`], stands between answering and any engine. The
//! local engine is llama.cpp (through the `llama-cpp-2` bindings,
//! built from vendored source by cargo): measured on this project's
//! machines it is 2.8× candle's prompt speed and 1.75× its decode speed on
//! the default model (ARCHITECTURE.md has the table and the command). The
//! tokenizer and chat template come from the GGUF's own metadata, so a lone
//! `.gguf` file is a complete model. [`RemoteGenerator`] sends the same chat
//! to a server the user configured (`crates/generate/src/remote.rs`).
//!
//! Invariant: nothing here knows about libraries, passages or citations;
//! it turns a prompt into tokens and tokens into text.

mod cpu;
mod gguf;
mod gguf_layout;
mod llama;
mod remote;
mod stream;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

pub use cpu::{best_cpu_variant, load_cpu_backend, loaded_cpu_backend, CpuBackend, CPU_VARIANTS};
pub use gguf::{inspect, GgufFacts};
pub use llama::{
    state_file_name, LlamaCppGenerator, LoadOptions, ModelWeights, DEFAULT_CONTEXT, DEFAULT_PROMPT_BATCH,
};
pub use remote::{RemoteEngine, RemoteGenerator, DEFAULT_REMOTE_CONTEXT};

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("{path}: cannot read the model file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a GGUF model file (it starts with {found}); Quarry answers with GGUF models")]
    NotGguf { path: PathBuf, found: String },
    #[error(
        "{path} is truncated: its header describes {expected} bytes of weights but the file has {actual}; \
         download or assemble it again (models/fetch)"
    )]
    Truncated {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("{path} is a damaged GGUF file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "{path}: llama.cpp could not load this model (architecture `{architecture}`); the architecture \
         is not supported by this build, or the file is damaged"
    )]
    Unsupported { path: PathBuf, architecture: String },
    #[error("the prompt needs {needed} tokens but the model's context holds {limit}")]
    PromptTooLong { needed: usize, limit: usize },
    #[error("llama.cpp: {0}")]
    Engine(String),
    /// A remote engine's server could not be used. (Not a `#[source]`: the
    /// message already holds the wire error's, and a cause chain would
    /// print it twice.)
    #[error("answer engine: {0}")]
    Remote(quarry_openai::WireError),
}

impl From<quarry_openai::WireError> for LlmError {
    fn from(e: quarry_openai::WireError) -> Self {
        LlmError::Remote(e)
    }
}

pub type LlmResult<T> = Result<T, LlmError>;

/// A turn of a chat, in the roles chat templates know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
        }
    }
}

/// How to decode. Greedy when `temperature` is 0, which is what answers use:
/// small models copy facts from passages well and improvise badly.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoding {
    pub max_tokens: usize,
    pub temperature: f32,
    /// Penalty on tokens among the last `repeat_window` generated ones
    /// (1.0 = none). Applies to generated tokens only, never to the prompt,
    /// so copying a passage's words is not punished.
    pub repeat_penalty: f32,
    pub repeat_window: usize,
    /// Generation stops before any of these strings (they are not emitted).
    pub stop: Vec<String>,
    pub seed: u32,
}

impl Default for Decoding {
    fn default() -> Self {
        Decoding {
            max_tokens: 256,
            temperature: 0.0,
            repeat_penalty: 1.1,
            repeat_window: 64,
            stop: Vec::new(),
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model ended its turn.
    EndOfTurn,
    /// A stop string appeared.
    StopString,
    /// The answer budget ran out.
    MaxTokens,
    /// The context window filled up.
    ContextFull,
    /// The caller cancelled (Ctrl-C, Stop button).
    Cancelled,
}

/// What one generation did and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct Generation {
    pub text: String,
    pub stop_reason: StopReason,
    pub prompt_tokens: usize,
    /// Prompt tokens whose KV cache was reused from the previous call.
    pub reused_prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prompt_ms: f64,
    pub time_to_first_token_ms: f64,
    pub decode_ms: f64,
}

impl Generation {
    /// Decode speed in tokens per second (tokens after the first).
    pub fn decode_tokens_per_second(&self) -> f64 {
        if self.generated_tokens <= 1 || self.decode_ms <= 0.0 {
            return 0.0;
        }
        (self.generated_tokens - 1) as f64 * 1000.0 / self.decode_ms
    }

    /// Prompt speed in tokens per second (over the tokens actually evaluated).
    pub fn prompt_tokens_per_second(&self) -> f64 {
        let evaluated = self.prompt_tokens - self.reused_prompt_tokens;
        if evaluated == 0 || self.prompt_ms <= 0.0 {
            return 0.0;
        }
        evaluated as f64 * 1000.0 / self.prompt_ms
    }
}

/// A loaded language model that generates text.
///
/// Implementations hold a KV cache and are used from one thread at a time
/// (`&mut self`); llama.cpp contexts are not `Send`, so a UI keeps the
/// generator on a worker thread and talks to it over channels.
pub trait Generator {
    /// The model as an answer records it: a GGUF's file name, or a remote
    /// model and where it runs.
    fn model_name(&self) -> String;
    /// The context window in use (tokens), prompt and answer together.
    fn context_size(&self) -> usize;
    /// Token ids of `text` as the model sees it (no BOS added).
    fn tokenize(&self, text: &str) -> Vec<u32>;
    /// Text of token ids (inverse of [`Generator::tokenize`]).
    fn detokenize(&self, tokens: &[u32]) -> String;
    /// Render a conversation with the model's own chat template, ending with
    /// the assistant's turn opened. `None` when the model has no chat
    /// template (a base model), so the caller must prompt completion-style.
    fn apply_chat_template(&self, messages: &[Message]) -> LlmResult<Option<String>>;
    /// Generate a continuation of `prompt` (special tokens in it are parsed),
    /// handing each piece of text to `on_text` as soon as it is complete
    /// UTF-8. Returns promptly after `cancel` becomes true, keeping what was
    /// generated so far.
    fn generate(
        &mut self,
        prompt: &str,
        decoding: &Decoding,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> LlmResult<Generation>;
    /// Generate the assistant's reply to a chat: a local model renders its
    /// chat template and continues it; a remote one sends the messages as
    /// they are, for its server to lay out.
    fn generate_chat(
        &mut self,
        messages: &[Message],
        decoding: &Decoding,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> LlmResult<Generation> {
        let prompt = self.apply_chat_template(messages)?.ok_or_else(|| {
            LlmError::Engine("the model has no chat template; give it a prompt laid out as text".into())
        })?;
        self.generate(&prompt, decoding, cancel, on_text)
    }
}

/// Threads for generation: the cores that are free right now. llama.cpp's
/// workers spin while they wait for each other, so one thread more than
/// there are free cores costs far more than one thread fewer. Measured from
/// `/proc/stat` (the load average lags by a minute and would still count our
/// own indexing) over two windows of 50 ms, keeping the more idle one.
///
/// The desktop app's own web view does not count as load: it draws in
/// bursts, and the biggest comes exactly when an answer starts (the question
/// and the preview appear). Under software rendering that burst took a core
/// for ~1 s, and counted, it cost the whole session a thread: the window
/// test's first token came at 10–12 s on 1 thread, 6.5 s on 2
/// (BENCHMARKS.md). `QUARRY_THREADS` overrides; elsewhere every core is used.
pub fn free_threads() -> usize {
    if let Some(n) = std::env::var("QUARRY_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        return n.max(1);
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    /// Idle and total ticks of all cores, the web view's ticks counted idle.
    fn cpu_times() -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ... Niced work
        // counts as busy: it still takes time slices, and a spinning
        // llama.cpp thread that loses one stalls all the others (measured
        // here: 2 threads beside a niced compile decoded at 0.6 tokens/s,
        // 1 thread at 8).
        let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
        Some((idle + web_view_ticks(), fields.iter().take(8).sum()))
    }
    let Some(mut before) = cpu_times() else {
        return cores;
    };
    let mut idle_share: f64 = 0.0;
    for _ in 0..2 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let Some(now) = cpu_times() else {
            return cores;
        };
        let total = now.1.saturating_sub(before.1).max(1) as f64;
        idle_share = idle_share.max(now.0.saturating_sub(before.0) as f64 / total);
        before = now;
    }
    ((cores as f64 * idle_share).round() as usize).clamp(1, cores)
}

/// CPU ticks used so far by this process's web view: WebKitGTK's helper
/// processes (`WebKitWebProcess`, `WebKitNetworkProcess`, …), which are
/// children of the desktop app. 0 in a process without a window. Reads only
/// this process's children (`/proc/self/task/*/children`), not all of /proc.
fn web_view_ticks() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|children| {
            children
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid … utime stime …": comm may hold spaces
            // and parentheses, so the fields are counted after the last ')'.
            let (head, rest) = stat.rsplit_once(')')?;
            if !head.split_once('(')?.1.starts_with("WebKit") {
                return None;
            }
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user: u64 = fields.get(11)?.parse().ok()?;
            let system: u64 = fields.get(12)?.parse().ok()?;
            Some(user + system)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    /// A busy child of this process run under `name` (the kernel names a
    /// process after its executable file: a link to `yes`).
    fn busy_child(dir: &std::path::Path, name: &str) -> std::process::Child {
        let exe = dir.join(name);
        std::os::unix::fs::symlink("/usr/bin/yes", &exe).unwrap();
        Command::new(&exe).stdout(Stdio::null()).spawn().unwrap()
    }

    #[test]
    fn the_web_views_time_is_counted_and_other_childrens_is_not() {
        let dir = tempfile_dir();
        let mut other = busy_child(&dir, "indexer");
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(
            super::web_view_ticks(),
            0,
            "a child not named WebKit* is not the web view"
        );
        let mut web = busy_child(&dir, "WebKitWebProcess");
        std::thread::sleep(std::time::Duration::from_millis(300));
        let ticks = super::web_view_ticks();
        for child in [&mut other, &mut web] {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(ticks > 0, "the busy WebKitWebProcess child used no CPU ticks");
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("quarry-web-view-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
