//! mistralrs-probe: measure mistral.rs 0.8.1 prompt-processing and decode speed
//! on a local GGUF file, CPU only.
//!
//! Each run sends the same token prompt twice, as raw completion requests
//! (`RequestMessage::CompletionTokens`, no chat template):
//!   1. streaming  -> our own wall-clock numbers (TTFT = time to first chunk,
//!      decode rate = (tokens-1) / (last chunk - first chunk));
//!   2. non-streaming -> mistral.rs's own `Usage` (avg_prompt_tok_per_sec,
//!      avg_compl_tok_per_sec, total_prompt_time_sec) plus wall-clock total.
//! The prefix cache is disabled so every run really re-processes the prompt.

use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use either::Either;
use mistralrs::core::{
    AutoDeviceMapParams, DeviceMapSetting, GGUFLoaderBuilder, GGUFSpecificConfig, MistralRsBuilder,
    RequestMessage, TokenSource,
};
use mistralrs::{
    Constraint, DefaultSchedulerMethod, Device, Model, ModelDType, NormalRequest, Request, Response,
    SamplingParams, SchedulerConfig,
};
use serde_json::json;
use tokio::sync::mpsc::channel;

const PARAGRAPH: &str = "The old lighthouse stood at the edge of the cliff, its white paint \
peeling after decades of salt wind and winter storms. Every evening the keeper climbed the \
narrow spiral staircase, one hundred and twelve steps, to light the lamp that warned passing \
ships away from the rocks below. The village at the foot of the hill depended on the harbour \
for fishing and trade, and the families there told stories about the nights when the light \
had saved entire crews. In spring the meadows above the sea filled with yellow flowers, and \
children ran along the paths while their parents mended nets and painted the small wooden \
boats in bright colours. ";

struct Args {
    model: String,
    prompt_tokens: usize,
    decode_tokens: usize,
    threads: usize,
    runs: usize,
    sample_prompt: String,
    sample_tokens: usize,
    dtype: String,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        model: String::new(),
        prompt_tokens: 500,
        decode_tokens: 64,
        threads: 2,
        runs: 3,
        sample_prompt: "The capital of France is".to_string(),
        sample_tokens: 48,
        dtype: "auto".to_string(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or_else(|| anyhow!("missing value for {k}"));
        match k.as_str() {
            "--model" => a.model = v()?,
            "--prompt-tokens" => a.prompt_tokens = v()?.parse()?,
            "--decode-tokens" => a.decode_tokens = v()?.parse()?,
            "--threads" => a.threads = v()?.parse()?,
            "--runs" => a.runs = v()?.parse()?,
            "--sample-prompt" => a.sample_prompt = v()?,
            "--sample-tokens" => a.sample_tokens = v()?.parse()?,
            "--dtype" => a.dtype = v()?,
            "-h" | "--help" => {
                eprintln!(
                    "usage: mistralrs-probe --model PATH.gguf [--prompt-tokens 500] \
                     [--decode-tokens 64] [--threads 2] [--runs 3] \
                     [--sample-prompt TEXT] [--sample-tokens 48 (0 = skip)] \
                     [--dtype auto|f32|bf16|f16 (auto = BF16 on CPU)]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    if a.model.is_empty() {
        bail!("--model PATH.gguf is required");
    }
    if a.decode_tokens == 0 || a.prompt_tokens == 0 || a.threads == 0 {
        bail!("--prompt-tokens, --decode-tokens and --threads must be > 0");
    }
    Ok(a)
}

fn greedy(max_len: usize) -> SamplingParams {
    let mut p = SamplingParams::deterministic(); // top_k = 1 => argmax
    p.temperature = None; // None (or < 1e-7) => argmax sampling in mistralrs-core
    p.max_len = Some(max_len);
    p
}

fn request(
    msg: RequestMessage,
    max_len: usize,
    streaming: bool,
) -> (Request, tokio::sync::mpsc::Receiver<Response>) {
    let (tx, rx) = channel(64);
    let req = Request::Normal(Box::new(NormalRequest {
        messages: msg,
        sampling_params: greedy(max_len),
        response: tx,
        return_logprobs: false,
        is_streaming: streaming,
        id: 0,
        constraint: Constraint::None,
        suffix: None,
        tools: None,
        tool_choice: None,
        logits_processors: None,
        return_raw_logits: false,
        web_search_options: None,
        model_id: None,
        truncate_sequence: false,
    }));
    (req, rx)
}

struct StreamResult {
    ttft_ms: f64,
    total_ms: f64,
    chunks: usize,
    text: String,
    finish_reason: Option<String>,
}

async fn run_streaming(model: &Model, msg: RequestMessage, max_len: usize) -> Result<StreamResult> {
    let (req, mut rx) = request(msg, max_len, true);
    let sender = model.inner().get_sender(None)?;
    let t0 = Instant::now();
    sender.send(req).await.map_err(|e| anyhow!("send: {e}"))?;
    let mut first: Option<f64> = None;
    let mut chunks = 0usize;
    let mut text = String::new();
    let mut finish_reason = None;
    while let Some(resp) = rx.recv().await {
        match resp {
            Response::CompletionChunk(c) => {
                if first.is_none() {
                    first = Some(t0.elapsed().as_secs_f64() * 1e3);
                }
                chunks += 1;
                for ch in &c.choices {
                    text.push_str(&ch.text);
                    if ch.finish_reason.is_some() {
                        finish_reason = ch.finish_reason.clone();
                    }
                }
                if finish_reason.is_some() {
                    break;
                }
            }
            Response::InternalError(e) | Response::ValidationError(e) => bail!("engine error: {e}"),
            Response::CompletionModelError(e, _) => bail!("model error: {e}"),
            Response::CompletionDone(_) => break,
            _ => bail!("unexpected response type"),
        }
    }
    let total_ms = t0.elapsed().as_secs_f64() * 1e3;
    Ok(StreamResult {
        ttft_ms: first.ok_or_else(|| anyhow!("no chunk received"))?,
        total_ms,
        chunks,
        text,
        finish_reason,
    })
}

async fn run_blocking(
    model: &Model,
    msg: RequestMessage,
    max_len: usize,
) -> Result<(mistralrs::CompletionResponse, f64)> {
    let (req, mut rx) = request(msg, max_len, false);
    let sender = model.inner().get_sender(None)?;
    let t0 = Instant::now();
    sender.send(req).await.map_err(|e| anyhow!("send: {e}"))?;
    let resp = rx.recv().await.ok_or_else(|| anyhow!("channel closed"))?;
    let wall = t0.elapsed().as_secs_f64() * 1e3;
    match resp {
        Response::CompletionDone(r) => Ok((r, wall)),
        Response::InternalError(e) | Response::ValidationError(e) => bail!("engine error: {e}"),
        Response::CompletionModelError(e, _) => bail!("model error: {e}"),
        _ => bail!("unexpected response type"),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// 1-minute load average, to show how much other work shared the CPU during a run.
fn loadavg_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

async fn real_main(a: Args) -> Result<()> {
    let path = Path::new(&a.model)
        .canonicalize()
        .with_context(|| format!("model file {}", a.model))?;
    let dir = path.parent().unwrap().to_string_lossy().to_string();
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let model_name = file.clone();

    let t_load = Instant::now();
    // `GgufModelBuilder::build()` hard-codes `ModelDType::Auto`, which on CPU resolves to BF16
    // (mistralrs-core utils/normal.rs: tries BF16, then F16). To be able to choose the
    // activation dtype we do what `build_gguf_pipeline` does, by hand, with mistralrs-core types.
    let dtype = match a.dtype.as_str() {
        "auto" => ModelDType::Auto,
        "f32" => ModelDType::F32,
        "bf16" => ModelDType::BF16,
        "f16" => ModelDType::F16,
        other => bail!("--dtype must be auto|f32|bf16|f16, got {other}"),
    };
    let loader = GGUFLoaderBuilder::new(
        None, // chat template: from GGUF metadata
        None, // tokenizer model id: none => tokenizer from GGUF metadata
        dir,
        vec![file],
        GGUFSpecificConfig { topology: None },
        false, // no_kv_cache
        None,
    )
    .build();
    let pipeline = loader
        .load_model_from_hf(
            None,
            TokenSource::None,
            &dtype,
            &Device::Cpu,
            true, // silent
            DeviceMapSetting::Auto(AutoDeviceMapParams::default_text()),
            None, // no ISQ
            None, // no paged attention
        )
        .map_err(|e| anyhow!("model load failed: {e:#}"))?;
    let runner = MistralRsBuilder::new(
        pipeline,
        SchedulerConfig::DefaultScheduler {
            method: DefaultSchedulerMethod::Fixed(1.try_into()?),
        },
        false,
        None,
    )
    .with_no_prefix_cache(true) // every run must re-process the prompt
    .with_disable_eos_stop(true) // always decode exactly --decode-tokens tokens
    .build()
    .await;
    let model = Model::new(runner);
    let load_ms = t_load.elapsed().as_secs_f64() * 1e3;
    eprintln!(
        "# loaded {model_name} (dtype {}) in {:.0} ms (rayon threads = {}, RAYON_NUM_THREADS = {:?})",
        a.dtype,
        load_ms,
        rayon::current_num_threads(),
        std::env::var("RAYON_NUM_THREADS").ok(),
    );

    // ---- coherence sample (also acts as warm-up) ----
    if a.sample_tokens > 0 {
        let s = run_streaming(
            &model,
            RequestMessage::Completion {
                text: a.sample_prompt.clone(),
                echo_prompt: false,
                best_of: None,
            },
            a.sample_tokens,
        )
        .await?;
        println!(
            "{}",
            json!({
                "engine": "mistralrs",
                "model": model_name,
                "kind": "sample",
                "prompt": a.sample_prompt,
                "completion": s.text,
                "chunks": s.chunks,
                "finish_reason": s.finish_reason,
                "ttft_ms": r2(s.ttft_ms),
                "total_ms": r2(s.total_ms),
                "load_ms": r2(load_ms),
                "dtype": a.dtype,
            })
        );
    }

    // ---- build a prompt of exactly N tokens ----
    let mut text = String::new();
    let mut toks: Vec<u32>;
    loop {
        text.push_str(PARAGRAPH);
        toks = model
            .tokenize(Either::Right(text.clone()), None, true, false, None)
            .await
            .map_err(|e| anyhow!("tokenize: {e}"))?;
        if toks.len() >= a.prompt_tokens {
            break;
        }
    }
    toks.truncate(a.prompt_tokens);
    let n_prompt = toks.len();

    let mut p_own = vec![];
    let mut d_own = vec![];
    let mut ttfts = vec![];
    let mut p_eng = vec![];
    let mut d_eng = vec![];
    for run in 0..a.runs {
        // (1) streaming: own wall clock
        let s = run_streaming(
            &model,
            RequestMessage::CompletionTokens(toks.clone()),
            a.decode_tokens,
        )
        .await?;
        // (2) non-streaming: mistral.rs's own Usage numbers
        let (r, wall_ms) = run_blocking(
            &model,
            RequestMessage::CompletionTokens(toks.clone()),
            a.decode_tokens,
        )
        .await?;
        let u = &r.usage;
        // If the stream ran to the length limit it produced exactly decode_tokens tokens.
        let n_gen = if s.finish_reason.as_deref() == Some("length") {
            a.decode_tokens
        } else {
            u.completion_tokens
        };
        let prompt_tok_s = n_prompt as f64 / (s.ttft_ms / 1e3);
        let decode_tok_s = if n_gen > 1 {
            (n_gen - 1) as f64 / ((s.total_ms - s.ttft_ms) / 1e3)
        } else {
            f64::NAN
        };
        p_own.push(prompt_tok_s);
        d_own.push(decode_tok_s);
        ttfts.push(s.ttft_ms);
        p_eng.push(u.avg_prompt_tok_per_sec as f64);
        d_eng.push(u.avg_compl_tok_per_sec as f64);
        println!(
            "{}",
            json!({
                "engine": "mistralrs",
                "model": model_name,
                "run": run + 1,
                "prompt_tokens": n_prompt,
                "prompt_tok_s": r2(prompt_tok_s),
                "decode_tokens": n_gen,
                "decode_tok_s": r2(decode_tok_s),
                "ttft_ms": r2(s.ttft_ms),
                "threads": a.threads,
                "dtype": a.dtype,
                "stream_total_ms": r2(s.total_ms),
                "stream_chunks": s.chunks,
                "finish_reason": s.finish_reason,
                "mistralrs_prompt_tokens": u.prompt_tokens,
                "mistralrs_completion_tokens": u.completion_tokens,
                "mistralrs_prompt_tok_s": r2(u.avg_prompt_tok_per_sec as f64),
                "mistralrs_decode_tok_s": r2(u.avg_compl_tok_per_sec as f64),
                "mistralrs_prompt_time_ms": r2(u.total_prompt_time_sec as f64 * 1e3),
                "mistralrs_completion_time_ms": r2(u.total_completion_time_sec as f64 * 1e3),
                "nonstream_wall_ms": r2(wall_ms),
                "loadavg_1m_after": loadavg_1m(),
            })
        );
    }
    println!(
        "{}",
        json!({
            "engine": "mistralrs",
            "model": model_name,
            "kind": "median",
            "runs": a.runs,
            "prompt_tokens": n_prompt,
            "prompt_tok_s": r2(median(p_own)),
            "decode_tokens": a.decode_tokens,
            "decode_tok_s": r2(median(d_own)),
            "ttft_ms": r2(median(ttfts)),
            "threads": a.threads,
                "dtype": a.dtype,
            "mistralrs_prompt_tok_s": r2(median(p_eng)),
            "mistralrs_decode_tok_s": r2(median(d_eng)),
        })
    );
    Ok(())
}

fn main() -> Result<()> {
    let a = parse_args()?;
    // candle (gemm + quantized matmul) and every rayon pool mistral.rs builds read
    // RAYON_NUM_THREADS; set it before anything touches rayon, then fix the global pool.
    std::env::set_var("RAYON_NUM_THREADS", a.threads.to_string());
    rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads)
        .build_global()
        .context("rayon global pool")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(real_main(a))
}
