//! `GET /v1/models` and `POST /v1/chat/completions`: OpenAI's shapes, with
//! every answer made by the core's answering session (the same turn the
//! CLI and the desktop run) and its checked sources attached.
//!
//! The sources travel three ways, so every kind of client gets them:
//! - `citations`: a list of file URLs (with `#page=N`), one per passage
//!   given to the model, where `[n]` in the text is `citations[n-1]` — the
//!   convention Perplexity's API set for grounded chat completions;
//! - `quarry`: the answer's full record, exactly what `quarry ask --json`
//!   prints (checked citations with number, path, title, page, byte span and
//!   text; the passages retrieved; `not_found`; the citation check; timing);
//! - the message text itself ends with numbered source lines, for clients
//!   that show only the content.
//!
//! A streamed answer sends the model's text as it is written (citation
//! marks not yet checked), then the source lines, then a last chunk with
//! `finish_reason`, `usage`, `citations` and `quarry` (whose `answer` is the
//! text with its marks corrected by the check).
//!
//! The model ids: `quarry` is an answer from the library by the server's
//! model; `quarry/<gguf>` one by that GGUF; a GGUF's own id (`<gguf>`) is
//! the model as it is, without the library — what a local model server
//! offers, and what lets one Quarry be another's remote engine. Both go
//! through the one session, so they share the model and its queue.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use quarry_core::answer::record::AnswerRecord;
use quarry_core::answer::{Answer, AnswerOptions, PastTurn};
use quarry_core::generate::{inspect, Generation, Message as ModelMessage, Role, StopReason};
use quarry_core::parse::place;
use quarry_core::session::{AnswerEngine, AnswerEvent, ChatEvent, ConversationRef, PlainChat, Question};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;

use super::error::{blocking, ApiError, ApiResult, JsonBody};
use super::{unix_now, Counts, Shared};

/// The model id that means "the server's answer model" (what `--model` or
/// `--engine-url` chose, else Quarry's default).
pub const DEFAULT_MODEL_ID: &str = "quarry";

/// Where a streamed or returned answer ends its text with its sources.
const SOURCES_HEADING: &str = "\n\nSources:\n";

/// Most tokens a request may ask the answer to use.
const MAX_ANSWER_TOKENS: usize = 4096;

#[derive(Deserialize)]
pub struct ChatRequest {
    #[serde(default)]
    model: Option<String>,
    messages: Vec<Message>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    max_tokens: Option<usize>,
    #[serde(default)]
    max_completion_tokens: Option<usize>,
    /// Stop strings (plain chats only: an answer has its own).
    #[serde(default)]
    stop: Option<Stop>,
    /// Quarry's extension: passages given to the model (at most).
    #[serde(default)]
    passages: Option<usize>,
}

/// OpenAI's `stop`: one string or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

impl Stop {
    fn into_list(self) -> Vec<String> {
        match self {
            Stop::One(stop) => vec![stop],
            Stop::Many(stops) => stops,
        }
    }
}

#[derive(Deserialize)]
struct Message {
    role: String,
    #[serde(default)]
    content: Option<Content>,
}

/// A message's content: a string, or OpenAI's list of typed parts (only
/// text parts are read).
#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize)]
struct Part {
    #[serde(default)]
    text: Option<String>,
}

impl Message {
    fn text(&self) -> String {
        match &self.content {
            None => String::new(),
            Some(Content::Text(text)) => text.clone(),
            Some(Content::Parts(parts)) => parts
                .iter()
                .filter_map(|p| p.text.as_deref())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// The question (the last message, the user's) and the conversation before
/// it as turns. System and developer messages are not passed on: Quarry's
/// own instructions keep the answer to the documents. An assistant reply's
/// source lines are cut off, so the model sees the answer as it wrote it.
fn question_and_history(messages: &[Message]) -> ApiResult<(String, Vec<PastTurn>)> {
    let Some((last, earlier)) = messages.split_last() else {
        return Err(ApiError::bad_request(
            "`messages` is empty: send the question as a user message",
        ));
    };
    if last.role != "user" {
        return Err(ApiError::bad_request(format!(
            "the last message is the {}'s; Quarry answers the last message, which must be the user's question",
            last.role
        )));
    }
    let mut history = Vec::new();
    let mut question: Option<String> = None;
    for message in earlier {
        match message.role.as_str() {
            "user" => question = Some(message.text()),
            "assistant" => {
                if let Some(question) = question.take() {
                    let text = message.text();
                    let answer = text.split(SOURCES_HEADING).next().unwrap_or_default().to_string();
                    history.push(PastTurn { question, answer });
                }
            }
            _ => {}
        }
    }
    Ok((last.text(), history))
}

/// A GGUF's model id: its file name without `.gguf`.
fn model_id(path: &Path) -> String {
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    file.strip_suffix(".gguf").unwrap_or(&file).to_string()
}

/// The answer models `GET /v1/models` lists: every usable GGUF found (the
/// server's own first), by id. Reads each file's header.
fn models(server: &Shared) -> Vec<(String, PathBuf)> {
    server
        .models
        .answer_models(server.answer_model.file())
        .into_iter()
        .filter(|m| m.facts.is_ok())
        .map(|m| (model_id(&m.path), m.path))
        .collect()
}

/// The usable GGUF a request names by id or file name: only the named
/// file's header is read, not every model's.
fn named_model(server: &Shared, name: &str) -> Option<PathBuf> {
    let mut found = server.models.find_generators();
    found.extend(server.answer_model.file().map(Path::to_path_buf));
    found
        .into_iter()
        .find(|path| model_id(path) == name || path.file_name().is_some_and(|f| f == name))
        .filter(|path| inspect(path).is_ok())
}

/// Where `quarry/<id>` asks for an answer from the library by the model `<id>`.
const GROUNDED_PREFIX: &str = "quarry/";

/// The model a request names: its id as answered, and what it asks for —
/// `quarry` (or none): an answer from the library by the server's model;
/// `quarry/<id>`: an answer from the library by the GGUF `<id>`; `<id>`:
/// the GGUF as it is, like any local model server.
fn resolve(server: &Shared, requested: Option<&str>) -> ApiResult<(String, Target)> {
    let name = match requested.map(str::trim) {
        None | Some("") | Some(DEFAULT_MODEL_ID) => {
            return Ok((
                DEFAULT_MODEL_ID.to_string(),
                Target::Grounded(server.answer_model.clone()),
            ))
        }
        Some(name) => name,
    };
    let (grounded, file_id) = match name.strip_prefix(GROUNDED_PREFIX) {
        Some(id) => (true, id),
        None => (false, name),
    };
    let path = named_model(server, file_id).ok_or_else(|| {
        ApiError::not_found(
            "model_not_found",
            format!("the model `{name}` does not exist here; GET /v1/models lists the models"),
        )
    })?;
    let model = AnswerEngine::File(path);
    Ok((
        name.to_string(),
        if grounded {
            Target::Grounded(model)
        } else {
            Target::Plain(model)
        },
    ))
}

pub async fn list_models(State(server): State<Shared>) -> ApiResult<Json<Value>> {
    // Finding the default and reading the GGUF headers is file I/O.
    let (mut default, found) = blocking({
        let server = server.clone();
        move || {
            let default = match &server.answer_model {
                AnswerEngine::Remote(engine) => json!({ "engine": engine.describe() }),
                AnswerEngine::File(path) => json!({ "path": path.display().to_string() }),
                AnswerEngine::Default => {
                    let chosen = server.models.choose_generator(None).ok();
                    json!({ "path": chosen.map(|c| c.path.display().to_string()) })
                }
            };
            Ok((default, models(&server)))
        }
    })
    .await?;
    default["default"] = json!(true);
    default["grounded"] = json!(true);
    let mut data = vec![json!({
        "id": DEFAULT_MODEL_ID,
        "object": "model",
        "created": server.started,
        "owned_by": "quarry",
        "quarry": default,
    })];
    // The embedder, for clients that embed (and for another Quarry using
    // this one as its embedding server).
    let embedder = server.library.embedder().identity();
    data.push(json!({
        "id": embedder.name,
        "object": "model",
        "created": server.started,
        "owned_by": "quarry",
        "quarry": { "embedding": true, "dimension": embedder.dimension },
    }));
    for (id, path) in found {
        let path = path.display().to_string();
        for (id, grounded) in [(format!("{GROUNDED_PREFIX}{id}"), true), (id, false)] {
            data.push(json!({
                "id": id,
                "object": "model",
                "created": server.started,
                "owned_by": "local",
                "quarry": { "path": path, "default": false, "grounded": grounded },
            }));
        }
    }
    Ok(Json(json!({ "object": "list", "data": data })))
}

/// Stops the question when dropped before its answer is done: a client
/// that disconnects drops its response (stream or future), and with it this.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // After the answer is done the flag is read by nothing.
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Bring a session stream's events into async code (the session's stream
/// blocks, so a thread forwards it), counting the ends `counter` names.
fn forward<E: Send + 'static>(
    server: &Shared,
    events: impl Iterator<Item = E> + Send + 'static,
    counter: for<'a> fn(&'a Counts, &E) -> Option<&'a AtomicUsize>,
) -> UnboundedReceiver<E> {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let counters = server.clone();
    counters.counts.waiting.fetch_add(1, Ordering::SeqCst);
    std::thread::spawn(move || {
        for event in events {
            if let Some(count) = counter(&counters.counts, &event) {
                count.fetch_add(1, Ordering::SeqCst);
            }
            // A client that left only loses the events; its guard has
            // stopped the answer, which ends the stream soon.
            let _ = sender.send(event);
        }
        counters.counts.waiting.fetch_sub(1, Ordering::SeqCst);
    });
    receiver
}

/// Ask the session a question.
fn ask(server: &Shared, question: Question) -> (UnboundedReceiver<AnswerEvent>, StopOnDrop) {
    let asking = server.session.ask(question);
    let guard = StopOnDrop(asking.cancel_flag());
    let events = forward(server, asking, |counts, event| match event {
        AnswerEvent::Done(turn) if turn.answer.stopped => Some(&counts.stopped),
        AnswerEvent::Done(_) => Some(&counts.answered),
        AnswerEvent::Failed(_) => Some(&counts.failed),
        _ => None,
    });
    (events, guard)
}

/// Give the session a plain chat.
fn chat(server: &Shared, chat: PlainChat) -> (UnboundedReceiver<ChatEvent>, StopOnDrop) {
    let chatting = server.session.chat(chat);
    let guard = StopOnDrop(chatting.cancel_flag());
    let events = forward(server, chatting, |counts, event| match event {
        ChatEvent::Done(generation) if generation.stop_reason == StopReason::Cancelled => {
            Some(&counts.stopped)
        }
        ChatEvent::Done(_) => Some(&counts.answered),
        ChatEvent::Failed(_) => Some(&counts.failed),
        _ => None,
    });
    (events, guard)
}

/// Numbered source lines for the answer's cited passages ("" when none).
fn source_lines(answer: &Answer) -> String {
    if answer.citations.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = answer
        .citations
        .iter()
        .map(|c| {
            let page = place(&c.unit, c.page)
                .map(|p| format!(", {p}"))
                .unwrap_or_default();
            format!("[{}] {}{page}", c.number, c.path)
        })
        .collect();
    format!("{SOURCES_HEADING}{}", lines.join("\n"))
}

/// One URL per passage given to the model, in source-number order.
fn citation_urls(answer: &Answer) -> Vec<String> {
    let mut given: Vec<_> = answer.retrieved.iter().filter(|p| p.number > 0).collect();
    given.sort_by_key(|p| p.number);
    given
        .iter()
        .map(|p| {
            let url = url::Url::from_file_path(&p.path)
                .map(|u| u.to_string())
                .unwrap_or_else(|_| p.path.clone());
            match p.page {
                Some(page) => format!("{url}#page={page}"),
                None => url,
            }
        })
        .collect()
}

fn usage(answer: &Answer) -> Value {
    let prompt = answer.timing.prompt_tokens;
    let completion = answer.timing.generated_tokens;
    json!({ "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion })
}

fn finish_reason(answer: &Answer, answer_tokens: usize) -> &'static str {
    match answer.timing.generated_tokens >= answer_tokens && !answer.stopped {
        true => "length",
        false => "stop",
    }
}

/// What a request asked for, fixed before it is answered.
struct Completion {
    id: String,
    created: u64,
    model: String,
    answer_tokens: usize,
}

impl Completion {
    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish, "logprobs": null }],
        })
    }

    /// A whole reply in OpenAI's shape.
    fn reply(&self, content: &str, finish: &str, usage: Value) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": content },
                "finish_reason": finish,
                "logprobs": null,
            }],
            "usage": usage,
        })
    }

    /// An answer: its text with the source lines, and the sources in both
    /// other forms.
    fn whole(&self, answer: &Answer) -> ApiResult<Value> {
        let content = format!("{}{}", answer.answer, source_lines(answer));
        let mut reply = self.reply(&content, finish_reason(answer, self.answer_tokens), usage(answer));
        reply["citations"] = json!(citation_urls(answer));
        reply["quarry"] = record(answer)?;
        Ok(reply)
    }

    /// A plain chat's reply: the model's text, no sources.
    fn whole_plain(&self, generation: &Generation) -> Value {
        self.reply(
            &generation.text,
            plain_finish_reason(generation),
            plain_usage(generation),
        )
    }

    /// The last chunk: why it ended, and the sources in both forms.
    fn last(&self, answer: &Answer) -> ApiResult<Value> {
        let mut chunk = self.chunk(json!({}), Some(finish_reason(answer, self.answer_tokens)));
        chunk["usage"] = usage(answer);
        chunk["citations"] = json!(citation_urls(answer));
        chunk["quarry"] = record(answer)?;
        Ok(chunk)
    }
}

fn record(answer: &Answer) -> ApiResult<Value> {
    serde_json::to_value(AnswerRecord::from(answer)).map_err(|e| ApiError::server(e.to_string()))
}

/// What a request's model names: an answer from the library, or the
/// model as it is (see [`PlainChat`]).
enum Target {
    Grounded(AnswerEngine),
    Plain(AnswerEngine),
}

pub async fn completions(
    State(server): State<Shared>,
    request: JsonBody<ChatRequest>,
) -> ApiResult<Response> {
    let Json(request) = request?;
    // A named model's header is read: file I/O.
    let (model_id, target) = blocking({
        let (server, requested) = (server.clone(), request.model.clone());
        move || resolve(&server, requested.as_deref())
    })
    .await?;
    let answer_tokens = request
        .max_completion_tokens
        .or(request.max_tokens)
        .unwrap_or(AnswerOptions::default().answer_tokens)
        .clamp(1, MAX_ANSWER_TOKENS);
    let completion = Completion {
        id: format!("chatcmpl-{}", server.next_id.fetch_add(1, Ordering::SeqCst)),
        created: unix_now(),
        model: model_id,
        answer_tokens,
    };
    match target {
        Target::Grounded(model) => grounded(server, request, completion, model).await,
        Target::Plain(model) => plain(server, request, completion, model).await,
    }
}

async fn grounded(
    server: Shared,
    request: ChatRequest,
    completion: Completion,
    model: AnswerEngine,
) -> ApiResult<Response> {
    let (text, history) = question_and_history(&request.messages)?;
    let defaults = AnswerOptions::default();
    let options = AnswerOptions {
        passages: request.passages.unwrap_or(defaults.passages).clamp(1, 20),
        answer_tokens: completion.answer_tokens,
        ..defaults
    };
    let question = Question {
        library: server.library.clone(),
        text,
        conversation: ConversationRef::Unstored(history),
        options,
        model,
    };
    let (mut events, guard) = ask(&server, question);
    if !request.stream {
        while let Some(event) = events.recv().await {
            match event {
                AnswerEvent::Done(turn) => return Ok(Json(completion.whole(&turn.answer)?).into_response()),
                AnswerEvent::Failed(error) => return Err(error.into()),
                _ => {}
            }
        }
        return Err(ApiError::server("the answering session stopped"));
    }
    let mut wrote_text = false;
    stream(
        events,
        guard,
        move |event| render_answer(&completion, &mut wrote_text, event),
        |event| match event {
            AnswerEvent::Failed(error) => Err(error.into()),
            other => Ok(other),
        },
    )
    .await
}

/// The chat's messages as the model takes them: every role a chat template
/// knows, the system's included.
fn plain_messages(messages: &[Message]) -> ApiResult<Vec<ModelMessage>> {
    if messages.is_empty() {
        return Err(ApiError::bad_request("`messages` is empty"));
    }
    messages
        .iter()
        .map(|m| {
            let role = match m.role.as_str() {
                "system" | "developer" => Role::System,
                "user" => Role::User,
                "assistant" => Role::Assistant,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "a `{other}` message: this server takes system, user and assistant messages"
                    )))
                }
            };
            Ok(ModelMessage::new(role, m.text()))
        })
        .collect()
}

async fn plain(
    server: Shared,
    request: ChatRequest,
    completion: Completion,
    model: AnswerEngine,
) -> ApiResult<Response> {
    let plain = PlainChat {
        messages: plain_messages(&request.messages)?,
        max_tokens: completion.answer_tokens,
        stop: request.stop.map(Stop::into_list).unwrap_or_default(),
        model,
    };
    let (mut events, guard) = chat(&server, plain);
    if !request.stream {
        while let Some(event) = events.recv().await {
            match event {
                ChatEvent::Done(generation) => {
                    return Ok(Json(completion.whole_plain(&generation)).into_response())
                }
                ChatEvent::Failed(error) => return Err(error.into()),
                _ => {}
            }
        }
        return Err(ApiError::server("the answering session stopped"));
    }
    let role = data(&completion.chunk(json!({ "role": "assistant", "content": "" }), None));
    let mut opening = Some(role);
    stream(
        events,
        guard,
        move |event| {
            let mut out: Vec<Event> = opening.take().into_iter().collect();
            let (more, ended) = render_plain(&completion, event);
            out.extend(more);
            (out, ended)
        },
        |event| match event {
            ChatEvent::Failed(error) => Err(error.into()),
            other => Ok(other),
        },
    )
    .await
}

/// An SSE response from a session's events. The first event decides
/// between a stream and an error status (`first_or_error`): a request that
/// fails before anything is written gets a plain error. `render` turns an
/// event into SSE events and says whether it was the last.
async fn stream<E: Send + 'static>(
    mut events: UnboundedReceiver<E>,
    guard: StopOnDrop,
    render: impl FnMut(E) -> (Vec<Event>, bool) + Send + 'static,
    first_or_error: impl FnOnce(E) -> ApiResult<E>,
) -> ApiResult<Response> {
    let first = events
        .recv()
        .await
        .ok_or_else(|| ApiError::server("the answering session stopped"))?;
    let first = first_or_error(first)?;
    let state = Streaming {
        events,
        first: Some(first),
        ended: false,
        render,
        _guard: guard,
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        if state.ended {
            return None;
        }
        let event = match state.first.take() {
            Some(event) => event,
            None => state.events.recv().await?,
        };
        let (out, ended) = (state.render)(event);
        state.ended = ended;
        Some((out, state))
    })
    .flat_map(|events| futures_util::stream::iter(events.into_iter().map(Ok::<_, Infallible>)));
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

/// A streamed reply in progress; dropping it (the client left) stops the
/// model through its guard.
struct Streaming<E, R> {
    events: UnboundedReceiver<E>,
    first: Option<E>,
    ended: bool,
    render: R,
    _guard: StopOnDrop,
}

/// One SSE event carrying `value` as its data.
fn data(value: &Value) -> Event {
    Event::default().data(value.to_string())
}

/// The stream's end after a failure: the error in OpenAI's shape, then `[DONE]`.
fn failed(error: ApiError) -> Vec<Event> {
    vec![data(&error.body()), Event::default().data("[DONE]")]
}

fn render_answer(c: &Completion, wrote_text: &mut bool, event: AnswerEvent) -> (Vec<Event>, bool) {
    match event {
        AnswerEvent::Retrieved { .. } => (
            vec![data(
                &c.chunk(json!({ "role": "assistant", "content": "" }), None),
            )],
            false,
        ),
        AnswerEvent::LoadingModel { path, .. } => (vec![loading(&path)], false),
        AnswerEvent::Token(text) => {
            *wrote_text = true;
            (vec![data(&c.chunk(json!({ "content": text }), None))], false)
        }
        AnswerEvent::Done(turn) => {
            let answer = &turn.answer;
            let mut out = Vec::new();
            // "Not found" is written by Quarry, not streamed by a model.
            if !*wrote_text && !answer.answer.is_empty() {
                out.push(data(&c.chunk(json!({ "content": answer.answer }), None)));
            }
            let sources = source_lines(answer);
            if !sources.is_empty() {
                out.push(data(&c.chunk(json!({ "content": sources }), None)));
            }
            match c.last(answer) {
                Ok(last) => out.push(data(&last)),
                Err(error) => out.push(data(&error.body())),
            }
            out.push(Event::default().data("[DONE]"));
            (out, true)
        }
        AnswerEvent::Failed(error) => (failed(error.into()), true),
    }
}

fn render_plain(c: &Completion, event: ChatEvent) -> (Vec<Event>, bool) {
    match event {
        ChatEvent::LoadingModel { path, .. } => (vec![loading(&path)], false),
        ChatEvent::Token(text) => (vec![data(&c.chunk(json!({ "content": text }), None))], false),
        ChatEvent::Done(generation) => {
            let mut last = c.chunk(json!({}), Some(plain_finish_reason(&generation)));
            last["usage"] = plain_usage(&generation);
            (vec![data(&last), Event::default().data("[DONE]")], true)
        }
        ChatEvent::Failed(error) => (failed(error.into()), true),
    }
}

/// An SSE comment while the model loads: it keeps the connection open.
fn loading(path: &std::path::Path) -> Event {
    Event::default().comment(format!("loading the answer model {}", path.display()))
}

fn plain_finish_reason(generation: &Generation) -> &'static str {
    match generation.stop_reason {
        StopReason::MaxTokens | StopReason::ContextFull => "length",
        _ => "stop",
    }
}

fn plain_usage(generation: &Generation) -> Value {
    let (prompt, completion) = (generation.prompt_tokens, generation.generated_tokens);
    json!({ "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(role: &str, content: &str) -> Message {
        Message {
            role: role.into(),
            content: Some(Content::Text(content.into())),
        }
    }

    #[test]
    fn the_last_user_message_is_the_question_and_earlier_pairs_are_the_conversation() {
        let messages = vec![
            message("system", "You are a pirate."),
            message("user", "What does the pump need?"),
            message(
                "assistant",
                "A filter [1].\n\nSources:\n[1] /docs/manual.pdf, page 3",
            ),
            message("user", "And how often?"),
        ];
        let (question, history) = question_and_history(&messages).unwrap();
        assert_eq!(question, "And how often?");
        assert_eq!(
            history,
            vec![PastTurn {
                question: "What does the pump need?".into(),
                answer: "A filter [1].".into()
            }]
        );
    }

    #[test]
    fn a_conversation_that_does_not_end_with_a_question_is_refused() {
        let refused =
            question_and_history(&[message("user", "Hi"), message("assistant", "Hello")]).unwrap_err();
        assert_eq!(refused.status, axum::http::StatusCode::BAD_REQUEST);
        assert!(refused.message.contains("assistant"), "{}", refused.message);
        assert!(question_and_history(&[]).is_err());
    }

    #[test]
    fn text_parts_are_read_as_the_message() {
        let parsed: Message =
            serde_json::from_value(json!({"role": "user", "content": [{"type": "text", "text": "Where is"}, {"type": "text", "text": "the filter?"}]}))
                .unwrap();
        assert_eq!(parsed.text(), "Where is\nthe filter?");
    }
}
