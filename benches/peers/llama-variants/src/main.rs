//! Prompt speed of llama.cpp's CPU variants on this machine (see `run`): load the CPU
//! backend from the directory given (holding one variant, or several for
//! ggml to choose), evaluate a prompt of N tokens in batches of 128, three
//! times, and print tokens/s.
use std::num::NonZeroU32;
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, model_path, n) = (&args[1], &args[2], args[3].parse::<usize>().unwrap());
    llama_cpp_2::llama_backend::load_backends_from_path(std::path::Path::new(dir));
    let backend = LlamaBackend::init().unwrap();
    llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
    let model = LlamaModel::load_from_file(&backend, model_path, &LlamaModelParams::default()).unwrap();
    let text = "The pump must be mounted on a level concrete base. ".repeat(n);
    let mut tokens = model.vocab().tokenize(text.as_bytes(), true, true);
    tokens.truncate(n);
    for run in 0..3 {
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(4096))
            .with_n_batch(128)
            .with_n_ubatch(128)
            .with_n_threads(2)
            .with_n_threads_batch(2);
        let mut ctx = model.new_context(&backend, params).unwrap();
        let started = Instant::now();
        let mut batch = LlamaBatch::new(128, 1);
        for (i, chunk) in tokens.chunks(128).enumerate() {
            batch.clear();
            for (j, &t) in chunk.iter().enumerate() {
                let pos = i * 128 + j;
                batch.add(t, pos as i32, &[0], pos == tokens.len() - 1).unwrap();
            }
            ctx.decode(&mut batch).unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        println!("run {run}: {} tokens in {:.2} s = {:.1} tok/s", tokens.len(), secs, tokens.len() as f64 / secs);
    }
}
