//! Properties of generation with real GGUF files: a lone `.gguf` is a
//! complete model (tokenizer and chat template from its metadata) for the
//! llama (SmolLM2), qwen2 (Qwen2.5-Coder) and gemma3 (SentencePiece, base)
//! architectures; greedy decoding is deterministic; cancellation stops
//! promptly and keeps the text so far; a reused KV prefix changes nothing
//! but speed; wrong files get errors that say what is wrong.

use std::sync::atomic::{AtomicBool, Ordering};

use quarry_generate::{
    inspect, Decoding, Generator, LlamaCppGenerator, LlmError, LoadOptions, Message, Role, StopReason,
};

use crate::support::{fixture, gguf, llm_lock, load_llm, GEMMA3, QWEN, SMOLLM2};

const TEXT: &str = "Quarry indexes PDFs: naïve café, 42 ZX-4417-B — «done»!";

fn greedy(max_tokens: usize) -> Decoding {
    Decoding {
        max_tokens,
        ..Decoding::default()
    }
}

fn run(generator: &mut LlamaCppGenerator, prompt: &str, decoding: &Decoding) -> quarry_generate::Generation {
    let mut streamed = String::new();
    let generation = generator
        .generate(prompt, decoding, &AtomicBool::new(false), &mut |t| {
            streamed.push_str(t)
        })
        .unwrap();
    assert_eq!(streamed, generation.text, "the stream is the text");
    generation
}

fn chat_prompt(generator: &LlamaCppGenerator, question: &str) -> String {
    generator
        .apply_chat_template(&[
            Message::new(Role::System, "You are a helpful assistant."),
            Message::new(Role::User, question),
        ])
        .unwrap()
        .expect("a chat model has a template")
}

#[test]
fn a_bare_gguf_is_a_whole_model_for_three_architectures() {
    let _lock = llm_lock();
    let tmp = tempfile::tempdir().unwrap();
    for (file, architecture, vocabulary, chat) in [
        (SMOLLM2, "llama", "gpt2", true),
        (QWEN, "qwen2", "gpt2", true),
        (GEMMA3, "gemma3", "llama", false),
    ] {
        // Alone in an empty folder: no tokenizer.json, no config.
        let lone = tmp.path().join(file);
        std::fs::hard_link(gguf(file), &lone)
            .or_else(|_| std::fs::copy(gguf(file), &lone).map(|_| ()))
            .unwrap();
        let mut generator = LlamaCppGenerator::load(&lone, &LoadOptions::default()).unwrap();
        let facts = generator.facts().clone();
        assert_eq!(facts.architecture, architecture, "{file}");
        assert_eq!(facts.vocabulary.as_deref(), Some(vocabulary), "{file}");
        assert_eq!(facts.has_chat_template, chat, "{file}");
        assert!(facts.parameters.unwrap() > 100_000_000, "{file}: {facts:?}");

        let tokens = generator.tokenize(TEXT);
        assert!(tokens.len() > 10, "{file}: {tokens:?}");
        assert_eq!(generator.detokenize(&tokens), TEXT, "{file} round trip");

        let template = generator
            .apply_chat_template(&[Message::new(Role::User, "Hi")])
            .unwrap();
        assert_eq!(template.is_some(), chat, "{file}");
        let prompt = match template {
            Some(_) => chat_prompt(&generator, "What is the capital of France? Answer in one word."),
            None => "The capital of France is the city of".to_string(),
        };
        let generation = run(&mut generator, &prompt, &greedy(12));
        assert!(generation.generated_tokens > 0, "{file}");
        assert!(
            generation.text.contains("Paris"),
            "{file} should know Paris: {:?}",
            generation.text
        );
    }
}

#[test]
fn greedy_decoding_is_deterministic_and_reuses_the_shared_prefix() {
    let _lock = llm_lock();
    let mut warm = load_llm(SMOLLM2);
    let first = chat_prompt(&warm, "Name three colours of the rainbow.");
    let a = run(&mut warm, &first, &greedy(24));
    assert_eq!(a.reused_prompt_tokens, 0);
    let b = run(&mut warm, &first, &greedy(24));
    assert_eq!(a.text, b.text, "same prompt, same greedy answer");
    // The whole prompt is cached; all but its last token are reused.
    assert_eq!(b.reused_prompt_tokens, b.prompt_tokens - 1);

    let second = chat_prompt(&warm, "Name three kinds of tree.");
    let warm_answer = run(&mut warm, &second, &greedy(24));
    assert!(warm_answer.reused_prompt_tokens > 5, "{warm_answer:?}");
    let mut cold = load_llm(SMOLLM2);
    let cold_answer = run(&mut cold, &second, &greedy(24));
    assert_eq!(cold_answer.reused_prompt_tokens, 0);
    assert_eq!(
        warm_answer.text, cold_answer.text,
        "reuse must not change the answer"
    );
}

#[test]
fn cancellation_stops_promptly_and_keeps_the_partial_text() {
    let _lock = llm_lock();
    let mut generator = load_llm(SMOLLM2);
    let prompt = chat_prompt(&generator, "Write a long story about a lighthouse keeper.");
    let cancel = AtomicBool::new(false);
    let mut pieces = 0;
    let generation = generator
        .generate(&prompt, &greedy(400), &cancel, &mut |_| {
            pieces += 1;
            if pieces == 3 {
                cancel.store(true, Ordering::SeqCst);
            }
        })
        .unwrap();
    assert_eq!(generation.stop_reason, StopReason::Cancelled);
    assert!(generation.generated_tokens <= 4, "{generation:?}");
    assert!(!generation.text.is_empty());

    // Cancelled before it starts: nothing generated, no error.
    let generation = generator
        .generate(&prompt, &greedy(400), &AtomicBool::new(true), &mut |_| {})
        .unwrap();
    assert_eq!(
        (generation.stop_reason, generation.generated_tokens),
        (StopReason::Cancelled, 0)
    );
    // And the generator still works afterwards.
    assert!(run(&mut generator, &prompt, &greedy(8)).generated_tokens > 0);
}

#[test]
fn wrong_files_get_errors_that_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let load = |path: &std::path::Path| {
        LlamaCppGenerator::load(path, &LoadOptions::default())
            .err()
            .unwrap()
    };

    let truncated = tmp.path().join("truncated.gguf");
    let bytes = std::fs::read(gguf(SMOLLM2)).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = load(&truncated);
    assert!(matches!(err, LlmError::Truncated { .. }), "{err}");
    assert!(
        err.to_string().contains("truncated.gguf") && err.to_string().contains("truncated"),
        "{err}"
    );

    let header_only = tmp.path().join("header-only.gguf");
    std::fs::write(&header_only, &bytes[..4096]).unwrap();
    let err = load(&header_only);
    assert!(
        matches!(err, LlmError::Corrupt { .. } | LlmError::Truncated { .. }),
        "{err}"
    );

    let pdf = tmp.path().join("manual.gguf");
    std::fs::copy(fixture("manual.pdf"), &pdf).unwrap();
    let err = load(&pdf);
    assert!(
        err.to_string().contains("not a GGUF model file") && err.to_string().contains("%PDF"),
        "{err}"
    );

    let empty = tmp.path().join("empty.gguf");
    std::fs::write(&empty, b"").unwrap();
    assert!(load(&empty).to_string().contains("empty"));

    // A well-formed GGUF of an architecture llama.cpp does not know.
    let alien = tmp.path().join("alien.gguf");
    write_alien_gguf(&alien);
    assert_eq!(inspect(&alien).unwrap().architecture, "quarrynet");
    let err = load(&alien);
    assert!(matches!(err, LlmError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("`quarrynet`"), "{err}");
}

/// A valid GGUF file (candle's writer) naming an unknown architecture.
fn write_alien_gguf(path: &std::path::Path) {
    use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
    let tensor = QTensor::quantize(
        &candle_core::Tensor::zeros((4, 32), candle_core::DType::F32, &candle_core::Device::Cpu).unwrap(),
        GgmlDType::F32,
    )
    .unwrap();
    let arch = gguf_file::Value::String("quarrynet".into());
    let mut file = std::fs::File::create(path).unwrap();
    gguf_file::write(
        &mut file,
        &[("general.architecture", &arch)],
        &[("weight", &tensor)],
    )
    .unwrap();
}

#[test]
fn gguf_headers_the_fuzzer_found_crashing_the_reader_are_refused_with_a_reason() {
    // tests/data/fuzz/README.md: headers stating strings, arrays or
    // dimensions larger than the file, which made candle's reader allocate
    // hundreds of GB (an abort) or overflow a capacity (a panic).
    let dir = crate::support::repo().join("tests/data/fuzz/gguf");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        match inspect(&path) {
            Err(LlmError::Corrupt { reason, .. }) => assert!(!reason.is_empty()),
            Err(LlmError::Truncated { .. } | LlmError::NotGguf { .. }) => {}
            other => panic!("{}: expected a refusal, got {other:?}", path.display()),
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} headers in {}", dir.display());
}
