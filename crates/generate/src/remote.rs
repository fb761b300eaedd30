//! Answers from an OpenAI-compatible server: llama.cpp's `llama-server`,
//! vLLM, Ollama, LM Studio, another `quarry serve`… — for a person whose
//! laptop is too slow for the model they want, or whose team already runs
//! one on a GPU box.
//!
//! The caller lays out the same messages it would render with a local
//! model's chat template; they are sent as they are (the server applies its
//! model's template) to `POST {url}/chat/completions`, streamed back over
//! SSE, and handed on as they arrive. Decoding is greedy, as locally.
//! Stopping closes the connection, which these servers take as the end of
//! the request.
//!
//! The server's tokenizer is out of reach (no OpenAI route exposes one), so
//! token counts for fitting the prompt are estimated at one token per three
//! bytes — English BPE averages nearer four, so the estimate errs towards
//! fewer passages, never towards a prompt the server refuses. The context
//! size is the caller's to state ([`RemoteEngine::context`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use quarry_openai::{Client, Endpoint};
use serde_json::{json, Value};

use crate::stream::TextStream;
use crate::{Decoding, Generation, Generator, LlmResult, Message, Role, StopReason};

/// Bytes per token when estimating counts for a model whose tokenizer is
/// on another machine.
const BYTES_PER_TOKEN: usize = 3;

/// An OpenAI-compatible server and the model to ask there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEngine {
    pub endpoint: Endpoint,
    /// The model's id on that server.
    pub model: String,
    /// The context window (tokens) the server gives the model.
    pub context: usize,
}

/// The context assumed when none is given: what llama.cpp's server and
/// Ollama give a model unless told otherwise is smaller (2048–4096) on
/// older versions, larger on newer; 4096 fits the answer prompt (the
/// default 4 passages of ≤200 word pieces, the question, the answer) with
/// room.
pub const DEFAULT_REMOTE_CONTEXT: usize = 4096;

impl RemoteEngine {
    /// `url` checked and normalised (see [`Endpoint::new`]); `model` named.
    pub fn new(url: &str, model: &str, api_key: Option<String>, context: Option<usize>) -> LlmResult<Self> {
        let endpoint = Endpoint::new(url, api_key)?;
        Ok(RemoteEngine {
            model: endpoint.model_name(model, "model")?,
            endpoint,
            context: context.unwrap_or(DEFAULT_REMOTE_CONTEXT),
        })
    }

    /// Where answers are made, as a person reads it: "qwen2.5-7b at http://gpu-box:8000/v1".
    pub fn describe(&self) -> String {
        self.endpoint.serving(&self.model)
    }
}

/// A model on an OpenAI-compatible server, asked over HTTP.
pub struct RemoteGenerator {
    engine: RemoteEngine,
    client: Client,
}

impl RemoteGenerator {
    /// Check that the server answers and serves the model, so a wrong URL,
    /// key or model name is reported before a question waits on it.
    pub fn connect(engine: &RemoteEngine) -> LlmResult<Self> {
        let client = Client::new(&engine.endpoint)?;
        client.check_model(&engine.model)?;
        Ok(RemoteGenerator {
            engine: engine.clone(),
            client,
        })
    }
}

fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(BYTES_PER_TOKEN)
}

impl Generator for RemoteGenerator {
    fn model_name(&self) -> String {
        self.engine.describe()
    }

    fn context_size(&self) -> usize {
        self.engine.context
    }

    /// Estimated: as many (meaningless) ids as the text is expected to
    /// take tokens on the server; only their count is used.
    fn tokenize(&self, text: &str) -> Vec<u32> {
        vec![0; estimate_tokens(text)]
    }

    fn detokenize(&self, _tokens: &[u32]) -> String {
        String::new()
    }

    /// The messages one after another, for counting: the server applies its
    /// own template.
    fn apply_chat_template(&self, messages: &[Message]) -> LlmResult<Option<String>> {
        let text: Vec<String> = messages
            .iter()
            .map(|m| format!("<|{}|>\n{}\n", m.role.as_str(), m.content))
            .collect();
        Ok(Some(text.concat()))
    }

    /// Text laid out by the caller goes as one user message.
    fn generate(
        &mut self,
        prompt: &str,
        decoding: &Decoding,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> LlmResult<Generation> {
        self.generate_chat(&[Message::new(Role::User, prompt)], decoding, cancel, on_text)
    }

    fn generate_chat(
        &mut self,
        messages: &[Message],
        decoding: &Decoding,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> LlmResult<Generation> {
        let started = Instant::now();
        let body = json!({
            "model": self.engine.model,
            "messages": messages.iter().map(|m| json!({ "role": m.role.as_str(), "content": m.content })).collect::<Vec<_>>(),
            "stream_options": { "include_usage": true },
            "max_tokens": decoding.max_tokens,
            "temperature": decoding.temperature,
            "seed": decoding.seed,
            // OpenAI takes at most four.
            "stop": decoding.stop.iter().take(4).collect::<Vec<_>>(),
        });
        let mut chunks = self.client.chat_stream(body)?;
        let prompt_estimate: usize = messages.iter().map(|m| estimate_tokens(&m.content)).sum();
        let mut outcome = Generation {
            text: String::new(),
            stop_reason: StopReason::EndOfTurn,
            prompt_tokens: prompt_estimate,
            reused_prompt_tokens: 0,
            generated_tokens: 0,
            prompt_ms: 0.0,
            time_to_first_token_ms: 0.0,
            decode_ms: 0.0,
        };
        let mut stream = TextStream::new(&decoding.stop);
        let mut first_text_at: Option<Instant> = None;
        let mut reported_tokens = None;
        // Dropping `chunks` closes the connection: that is how a stop
        // reaches the server.
        loop {
            if cancel.load(Ordering::Relaxed) {
                outcome.stop_reason = StopReason::Cancelled;
                break;
            }
            let Some(chunk) = chunks.next() else { break };
            let chunk = chunk?;
            if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
                if let Some(prompt) = usage.get("prompt_tokens").and_then(Value::as_u64) {
                    outcome.prompt_tokens = prompt as usize;
                }
                reported_tokens = usage.get("completion_tokens").and_then(Value::as_u64);
            }
            let Some(choice) = chunk.pointer("/choices/0") else {
                continue;
            };
            if let Some(text) = choice.pointer("/delta/content").and_then(Value::as_str) {
                if !text.is_empty() {
                    if first_text_at.is_none() {
                        first_text_at = Some(Instant::now());
                        outcome.time_to_first_token_ms = ms_since(started);
                        outcome.prompt_ms = outcome.time_to_first_token_ms;
                    }
                    outcome.generated_tokens += 1;
                    let (released, stopped) = stream.push(text.as_bytes());
                    if !released.is_empty() {
                        on_text(&released);
                    }
                    if stopped {
                        outcome.stop_reason = StopReason::StopString;
                        break;
                    }
                }
            }
            match choice.get("finish_reason").and_then(Value::as_str) {
                Some("length") => outcome.stop_reason = StopReason::MaxTokens,
                Some(_) => outcome.stop_reason = StopReason::EndOfTurn,
                None => {}
            }
        }
        let rest = stream.finish();
        if !rest.is_empty() {
            on_text(&rest);
        }
        outcome.text = stream.text().to_string();
        // Servers send one content chunk per token as a rule; their own
        // count wins when they give it.
        if let Some(tokens) = reported_tokens {
            outcome.generated_tokens = tokens as usize;
        }
        outcome.decode_ms = first_text_at.map_or(0.0, ms_since);
        Ok(outcome)
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_names_its_model_and_where_it_runs() {
        let engine = RemoteEngine::new("http://gpu-box:8000/v1/", "qwen2.5-7b", None, None).unwrap();
        assert_eq!(engine.context, DEFAULT_REMOTE_CONTEXT);
        assert_eq!(engine.describe(), "qwen2.5-7b at http://gpu-box:8000/v1");
        let error = RemoteEngine::new("http://gpu-box", " ", None, None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("name the model"), "{error}");
        assert!(RemoteEngine::new("gpu-box", "m", None, None).is_err());
    }
}
