//! The OpenAI-compatible wire, as Quarry's remote engines speak it: one
//! client for a server the user configured (llama.cpp's `llama-server`,
//! vLLM, Ollama, LM Studio, Hugging Face TEI, Infinity, another `quarry
//! serve`): the models it serves, embeddings, and chat completions streamed
//! over SSE. Blocking on purpose: its callers (the answering session's
//! thread, the ingest pipeline's embed thread) are threads of their own.
//!
//! Invariant: it knows nothing of models, prompts or libraries; JSON in,
//! JSON out, and every failure names the server and what it said.

use std::io::{BufRead, BufReader, Lines};
use std::time::Duration;

use serde_json::{json, Value};

/// How long to wait for a server to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The configuration cannot name a server.
    #[error("{0}")]
    Config(String),
    #[error("the server at {url}: cannot reach it: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the server at {url} answered {status}{hint}: {message}")]
    Refused {
        url: String,
        status: u16,
        hint: &'static str,
        message: String,
    },
    /// The server answered, but not in the protocol's shape.
    #[error("the server at {url}: {reason}")]
    Protocol { url: String, reason: String },
}

pub type WireResult<T> = Result<T, WireError>;

/// A server: its API's base URL and the key it wants.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The API's base, ending before `/models`, e.g. `http://gpu-box:8000/v1`.
    pub url: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
}

/// Never prints the key: endpoints end up in logs and error reports.
impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "(set)"))
            .finish()
    }
}

impl Endpoint {
    /// `url` checked and normalised (no trailing slash): `http://` or
    /// `https://` with a host. A blank key is no key.
    pub fn new(url: &str, api_key: Option<String>) -> WireResult<Self> {
        let trimmed = url.trim().trim_end_matches('/');
        let bad = |reason: &str| WireError::Config(format!("the server URL `{url}` {reason}"));
        let rest = trimmed
            .strip_prefix("http://")
            .or_else(|| trimmed.strip_prefix("https://"))
            .ok_or_else(|| bad("must start with http:// or https://"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(bad("names no host"));
        }
        Ok(Endpoint {
            url: trimmed.to_string(),
            api_key: api_key.filter(|k| !k.trim().is_empty()),
        })
    }

    /// A model here, as a person reads it: "qwen2.5-7b at http://gpu-box:8000/v1".
    pub fn serving(&self, model: &str) -> String {
        format!("{model} at {}", self.url)
    }

    /// `model` as named for this server, or why it cannot be (`what`: which
    /// model, for the message).
    pub fn model_name(&self, model: &str, what: &str) -> WireResult<String> {
        match model.trim() {
            "" => Err(WireError::Config(format!(
                "name the {what} to use at {} (its id in GET {}/models)",
                self.url, self.url
            ))),
            named => Ok(named.to_string()),
        }
    }
}

/// A connection-ready client for one endpoint.
pub struct Client {
    endpoint: Endpoint,
    http: reqwest::blocking::Client,
}

impl Client {
    pub fn new(endpoint: &Endpoint) -> WireResult<Self> {
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            // An answer streams for as long as the model writes.
            .timeout(None::<Duration>)
            .build()
            .map_err(|e| WireError::Config(format!("cannot make an HTTP client: {e}")))?;
        Ok(Client {
            endpoint: endpoint.clone(),
            http,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The model ids `GET /models` lists; `None` when the server does not
    /// implement the route (some embedding servers do not).
    pub fn models(&self) -> WireResult<Option<Vec<String>>> {
        let response = self.send(self.request(reqwest::Method::GET, "models"))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = self.success(response)?;
        let ids = body
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| self.protocol("GET /models sent no `data` list"))?
            .iter()
            .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_string))
            .collect();
        Ok(Some(ids))
    }

    /// Check that the server answers and, when it lists its models, that
    /// `model` is among them: a wrong URL, key or name is reported before
    /// any work waits on it.
    pub fn check_model(&self, model: &str) -> WireResult<()> {
        match self.models()? {
            Some(ids) if !ids.is_empty() && !ids.iter().any(|id| id == model) => {
                Err(self.protocol(format!("it has no model `{model}`; it serves {}", ids.join(", "))))
            }
            _ => Ok(()),
        }
    }

    /// `POST /embeddings`: one vector per text, in input order (floats, as
    /// every compatible server sends them).
    pub fn embeddings(&self, model: &str, texts: &[&str]) -> WireResult<Vec<Vec<f32>>> {
        let body = json!({ "model": model, "input": texts, "encoding_format": "float" });
        let response = self.send(self.request(reqwest::Method::POST, "embeddings").json(&body))?;
        let body = self.success(response)?;
        let data = body
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| self.protocol("POST /embeddings sent no `data` list"))?;
        let mut vectors: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for (position, item) in data.iter().enumerate() {
            let index = item
                .get("index")
                .and_then(Value::as_u64)
                .map_or(position, |i| i as usize);
            let vector: Vec<f32> = item
                .get("embedding")
                .and_then(Value::as_array)
                .ok_or_else(|| self.protocol("an embedding is not a list of numbers"))?
                .iter()
                .map(|x| x.as_f64().map(|x| x as f32))
                .collect::<Option<_>>()
                .ok_or_else(|| self.protocol("an embedding holds something other than numbers"))?;
            match vectors.get_mut(index) {
                Some(slot) => *slot = Some(vector),
                None => {
                    return Err(self.protocol(format!("an embedding for input {index} of {}", texts.len())))
                }
            }
        }
        vectors.into_iter().collect::<Option<Vec<_>>>().ok_or_else(|| {
            self.protocol(format!(
                "{} texts sent, {} embeddings back",
                texts.len(),
                data.len()
            ))
        })
    }

    /// `POST /chat/completions` with `body` (its `stream` set here): the
    /// server's chunks as they come. Dropping the stream closes the
    /// connection, which compatible servers take as the end of the request.
    pub fn chat_stream(&self, mut body: Value) -> WireResult<ChatStream> {
        body["stream"] = json!(true);
        let response = self.send(
            self.request(reqwest::Method::POST, "chat/completions")
                .json(&body),
        )?;
        if !response.status().is_success() {
            return Err(self.refused(response));
        }
        Ok(ChatStream {
            url: self.endpoint.url.clone(),
            lines: BufReader::new(response).lines(),
        })
    }

    fn request(&self, method: reqwest::Method, route: &str) -> reqwest::blocking::RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}/{route}", self.endpoint.url));
        match &self.endpoint.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> WireResult<reqwest::blocking::Response> {
        request.send().map_err(|error| {
            // reqwest's own message is "error sending request"; the causes say why.
            let mut reason = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                reason = format!("{reason}: {cause}");
                source = cause.source();
            }
            WireError::Unreachable {
                url: self.endpoint.url.clone(),
                reason,
            }
        })
    }

    /// The JSON body of a success, or the server's reason for refusing.
    fn success(&self, response: reqwest::blocking::Response) -> WireResult<Value> {
        if !response.status().is_success() {
            return Err(self.refused(response));
        }
        response
            .json()
            .map_err(|e| self.protocol(format!("the answer is not the JSON asked for ({e})")))
    }

    /// A non-success status, with the server's own message when it sent one
    /// in OpenAI's error shape (or FastAPI's `detail`, or plain text).
    fn refused(&self, response: reqwest::blocking::Response) -> WireError {
        let status = response.status().as_u16();
        let body = response.text().unwrap_or_default();
        let message = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| {
                v.pointer("/error/message")
                    .or_else(|| v.get("error"))
                    .or_else(|| v.get("detail"))
                    .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_string))
            })
            .unwrap_or_else(|| body.chars().take(300).collect());
        WireError::Refused {
            url: self.endpoint.url.clone(),
            status,
            hint: match status {
                401 | 403 => " (check the API key)",
                _ => "",
            },
            message,
        }
    }

    fn protocol(&self, reason: impl Into<String>) -> WireError {
        WireError::Protocol {
            url: self.endpoint.url.clone(),
            reason: reason.into(),
        }
    }
}

/// A streamed chat completion: each `data:` line's JSON, until `[DONE]`.
pub struct ChatStream {
    url: String,
    lines: Lines<BufReader<reqwest::blocking::Response>>,
}

impl Iterator for ChatStream {
    type Item = WireResult<Value>;

    fn next(&mut self) -> Option<Self::Item> {
        let protocol = |reason: String| WireError::Protocol {
            url: self.url.clone(),
            reason,
        };
        loop {
            let line = match self.lines.next()? {
                Ok(line) => line,
                Err(e) => return Some(Err(protocol(format!("the answer stream broke off: {e}")))),
            };
            // Comments (`: …`), event names and blank lines carry no data.
            let Some(data) = line.strip_prefix("data:").map(str::trim) else {
                continue;
            };
            if data == "[DONE]" {
                return None;
            }
            let chunk: Value = match serde_json::from_str(data) {
                Ok(chunk) => chunk,
                Err(e) => return Some(Err(protocol(format!("a chunk that is not JSON ({e}): {data}")))),
            };
            if let Some(error) = chunk.get("error") {
                let message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)");
                return Some(Err(protocol(format!("it stopped the answer: {message}"))));
            }
            return Some(Ok(chunk));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_is_checked_and_normalised() {
        let endpoint = Endpoint::new(" http://gpu-box:8000/v1/ ", Some(" ".into())).unwrap();
        assert_eq!(endpoint.url, "http://gpu-box:8000/v1");
        assert_eq!(endpoint.api_key, None, "a blank key is no key");
        for (url, reason) in [
            ("gpu-box:8000", "must start with http"),
            ("ftp://gpu-box", "must start with http"),
            ("http:///v1", "names no host"),
        ] {
            let error = Endpoint::new(url, None).unwrap_err().to_string();
            assert!(error.contains(reason), "{url}: {error}");
        }
    }

    #[test]
    fn an_unreachable_server_is_named_with_its_reason() {
        // Port 9 (discard) on loopback: nothing listens there in a test.
        let client = Client::new(&Endpoint::new("http://127.0.0.1:9/v1", None).unwrap()).unwrap();
        let error = client.models().unwrap_err().to_string();
        assert!(
            error.contains("the server at http://127.0.0.1:9/v1: cannot reach it"),
            "{error}"
        );
    }
}
