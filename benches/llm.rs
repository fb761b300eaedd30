//! Generation speed: prompt tokens/s, decode tokens/s and time to first
//! token, per model and per engine, in one run on one machine.
//!
//! Engines: llama.cpp through Quarry's own [`Generator`] (what `quarry ask`
//! uses; prompt batches of 128, the default, and others), and candle 0.10.2's
//! quantized models (`quantized_llama`, `quantized_qwen2`,
//! `quantized_gemma3`) on the same GGUF and the same token ids. mistral.rs
//! and llama.cpp's own Python build are peers run by `benches/peers/llm`,
//! which calls this bench in the same run and prints ratios.
//!
//! `cargo bench --bench llm` measures (500-token prompt, 64 greedy tokens,
//! 2 threads, median of 3; `QUARRY_BENCH_MODELS=smollm2,qwen,gemma3` picks
//! models, `QUARRY_BENCH_BATCHES=128,512` the extra prompt batch sizes). Under `cargo test` it runs once on a tiny prompt to prove the
//! harness works. Prints one JSON line per measurement.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use quarry_generate::{Decoding, Generator, LlamaCppGenerator, LoadOptions};

const PARAGRAPH: &str = "The maintenance crew inspected pump station seven after the spring floods and found the \
    impeller seal worn, the bearings dry and the start capacitor discoloured. They replaced the seal, greased \
    the bearings and logged a follow-up visit for the capacitor. Water pressure on the suction side was below \
    what the manual asks for, which explains the cavitation noise reported by the night shift. ";

struct Setup {
    prompt_tokens: usize,
    decode_tokens: usize,
    runs: usize,
    threads: usize,
}

fn model_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models/gguf")
        .join(file)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A prompt of exactly `n` tokens for this model, as text and ids.
fn prompt_of(generator: &LlamaCppGenerator, n: usize) -> (String, Vec<u32>) {
    let text = PARAGRAPH.repeat(n / 40 + 2);
    let ids: Vec<u32> = generator.tokenize(&text).into_iter().take(n).collect();
    (generator.detokenize(&ids), ids)
}

fn report(engine: &str, model: &str, setup: &Setup, prompt: Vec<f64>, decode: Vec<f64>, ttft: Vec<f64>) {
    println!(
        "{}",
        serde_json::json!({
            "engine": engine, "model": model, "threads": setup.threads,
            "prompt_tokens": setup.prompt_tokens, "decode_tokens": setup.decode_tokens,
            "prompt_tok_s": median(prompt), "decode_tok_s": median(decode), "ttft_ms": median(ttft),
        })
    );
}

fn llama_cpp(file: &str, setup: &Setup, prompt_batch: usize) {
    let options = LoadOptions {
        threads: Some(setup.threads),
        prompt_batch,
        ..LoadOptions::default()
    };
    let mut generator = LlamaCppGenerator::load(&model_path(file), &options).expect("load");
    let (text, _) = prompt_of(&generator, setup.prompt_tokens);
    let decoding = Decoding {
        max_tokens: setup.decode_tokens,
        repeat_penalty: 1.0,
        ..Decoding::default()
    };
    let (mut prompt, mut decode, mut ttft) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..setup.runs {
        // A different first token each run, so no KV prefix is reused.
        let text = format!("{run} {text}");
        let g = generator
            .generate(&text, &decoding, &AtomicBool::new(false), &mut |_| {})
            .expect("generate");
        prompt.push(g.prompt_tokens_per_second());
        decode.push(g.decode_tokens_per_second());
        ttft.push(g.time_to_first_token_ms);
    }
    report(
        &format!("llama.cpp (quarry, batch {prompt_batch})"),
        file,
        setup,
        prompt,
        decode,
        ttft,
    );
}

enum CandleModel {
    Llama(candle_transformers::models::quantized_llama::ModelWeights),
    Qwen2(candle_transformers::models::quantized_qwen2::ModelWeights),
    Gemma3(candle_transformers::models::quantized_gemma3::ModelWeights),
}

impl CandleModel {
    fn load(file: &str) -> Self {
        let path = model_path(file);
        let mut reader = std::fs::File::open(&path).expect("open");
        let content = gguf_file::Content::read(&mut reader).expect("gguf");
        let arch = content.metadata["general.architecture"]
            .to_string()
            .expect("arch")
            .clone();
        let device = Device::Cpu;
        use candle_transformers::models::{quantized_gemma3, quantized_llama, quantized_qwen2};
        match arch.as_str() {
            "llama" => {
                Self::Llama(quantized_llama::ModelWeights::from_gguf(content, &mut reader, &device).unwrap())
            }
            "qwen2" => {
                Self::Qwen2(quantized_qwen2::ModelWeights::from_gguf(content, &mut reader, &device).unwrap())
            }
            "gemma3" => Self::Gemma3(
                quantized_gemma3::ModelWeights::from_gguf(content, &mut reader, &device).unwrap(),
            ),
            other => panic!("no candle model for {other}"),
        }
    }

    fn forward(&mut self, ids: &[u32], position: usize) -> u32 {
        let input = Tensor::new(ids, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
        let logits = match self {
            Self::Llama(m) => m.forward(&input, position),
            Self::Qwen2(m) => m.forward(&input, position),
            Self::Gemma3(m) => m.forward(&input, position),
        }
        .unwrap();
        let logits = logits.squeeze(0).unwrap();
        let logits = if logits.rank() == 2 {
            logits.get(logits.dim(0).unwrap() - 1).unwrap()
        } else {
            logits
        };
        logits.argmax(0).unwrap().to_scalar::<u32>().unwrap()
    }
}

fn candle(file: &str, setup: &Setup) {
    // candle's CPU kernels use rayon; give them the same thread count.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(setup.threads)
        .build_global();
    let tokenizer = LlamaCppGenerator::load(&model_path(file), &LoadOptions::default()).expect("load");
    let (_, ids) = prompt_of(&tokenizer, setup.prompt_tokens);
    drop(tokenizer);
    let (mut prompt, mut decode, mut ttft) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..setup.runs {
        let mut model = CandleModel::load(file);
        let started = Instant::now();
        let mut next = model.forward(&ids, 0);
        let prompt_s = started.elapsed().as_secs_f64();
        let decode_started = Instant::now();
        for i in 1..setup.decode_tokens {
            next = model.forward(&[next], ids.len() + i - 1);
        }
        let decode_s = decode_started.elapsed().as_secs_f64();
        prompt.push(ids.len() as f64 / prompt_s);
        decode.push((setup.decode_tokens - 1) as f64 / decode_s);
        ttft.push(prompt_s * 1000.0);
    }
    report("candle 0.10.2", file, setup, prompt, decode, ttft);
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let setup = if measuring {
        Setup {
            prompt_tokens: 500,
            decode_tokens: 64,
            runs: 3,
            threads: std::env::var("QUARRY_BENCH_THREADS")
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(2),
        }
    } else {
        Setup {
            prompt_tokens: 16,
            decode_tokens: 4,
            runs: 1,
            threads: 1,
        }
    };
    let wanted = std::env::var("QUARRY_BENCH_MODELS").unwrap_or_else(|_| {
        if measuring {
            "smollm2,qwen,gemma3"
        } else {
            "smollm2"
        }
        .to_string()
    });
    for name in wanted.split(',') {
        let file = match name.trim() {
            "smollm2" => "SmolLM2-135M-Instruct.Q4_1.gguf",
            "qwen" => quarry_core::models::DEFAULT_GENERATOR_FILE,
            "gemma3" => "gemma-3-270m-q4_k_m.gguf",
            other => panic!("unknown model {other}: use smollm2, qwen, gemma3"),
        };
        llama_cpp(file, &setup, quarry_generate::DEFAULT_PROMPT_BATCH);
        if measuring {
            // Larger prompt batches, to price the default's shorter Stop latency.
            let batches = std::env::var("QUARRY_BENCH_BATCHES").unwrap_or_else(|_| "64,512".into());
            for batch in batches.split(',').filter_map(|b| b.trim().parse().ok()) {
                llama_cpp(file, &setup, batch);
            }
        }
        candle(file, &setup);
    }
}
