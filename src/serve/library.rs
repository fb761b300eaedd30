//! The library's endpoints: embeddings (OpenAI's shape), search (as
//! `quarry search --json`), documents (as `quarry docs --json`), adding and
//! removing, indexing progress, and the server's own status.
//!
//! Adding runs as a job on one indexing thread, in order (the library has
//! one writer): `POST /v1/documents` answers at once with the job, which
//! `GET /v1/documents/jobs/{id}` follows to its report; `"wait": true`
//! answers with the report instead.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use quarry_core::{Library, Progress, SearchOptions};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::{blocking, ApiError, ApiResult, JsonBody};
use super::Shared;
use crate::json_out::{AddJson, DocumentJson, HitJson};

#[derive(Deserialize)]
pub struct EmbeddingsRequest {
    input: Input,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    encoding_format: Option<String>,
    #[serde(default)]
    dimensions: Option<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<String>),
    /// Token ids: another model's vocabulary, which Quarry cannot read.
    Tokens(serde::de::IgnoredAny),
}

pub async fn embeddings(
    State(server): State<Shared>,
    request: JsonBody<EmbeddingsRequest>,
) -> ApiResult<Json<Value>> {
    let Json(request) = request?;
    let texts = match request.input {
        Input::One(text) => vec![text],
        Input::Many(texts) => texts,
        Input::Tokens(_) => {
            return Err(ApiError::bad_request(
                "`input` must be a string or a list of strings (token ids are not accepted)",
            ))
        }
    };
    if texts.is_empty() || texts.len() > 2048 {
        return Err(ApiError::bad_request("`input` must hold 1 to 2048 texts"));
    }
    let embedder = server.library.embedder().clone();
    let name = embedder.identity().name.clone();
    if let Some(asked) = request.model.as_deref().filter(|m| !m.is_empty()) {
        if asked != name && asked != super::chat::DEFAULT_MODEL_ID {
            return Err(ApiError::not_found(
                "model_not_found",
                format!("this library embeds with `{name}`; ask for that model (or `quarry`), not `{asked}`"),
            ));
        }
    }
    let dimension = embedder.identity().dimension;
    if request.dimensions.is_some_and(|d| d != dimension) {
        return Err(ApiError::bad_request(format!(
            "`{name}` makes {dimension}-dimensional vectors only"
        )));
    }
    let base64 = match request.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "encoding_format `{other}`: use float or base64"
            )))
        }
    };
    let (vectors, tokens) = blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = embedder
            .embed(&refs)
            .map_err(|e| ApiError::server(e.to_string()))?;
        let tokens: usize = texts
            .iter()
            .map(|t| {
                embedder
                    .tokenizer()
                    .encode(t.as_str(), true)
                    .map_or(0, |e| e.len().min(embedder.max_tokens()))
            })
            .sum();
        Ok((vectors, tokens))
    })
    .await?;
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(index, vector)| {
            let embedding = match base64 {
                // Little-endian f32s, as OpenAI sends them.
                true => json!(base64::engine::general_purpose::STANDARD
                    .encode(vector.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())),
                false => json!(vector),
            };
            json!({ "object": "embedding", "index": index, "embedding": embedding })
        })
        .collect();
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "model": name,
        "usage": { "prompt_tokens": tokens, "total_tokens": tokens },
    })))
}

#[derive(Deserialize)]
pub struct SearchRequest {
    query: String,
    #[serde(default)]
    k: Option<usize>,
}

pub async fn search(
    State(server): State<Shared>,
    request: JsonBody<SearchRequest>,
) -> ApiResult<Json<Value>> {
    let Json(request) = request?;
    if request.query.trim().is_empty() {
        return Err(ApiError::bad_request("`query` is empty"));
    }
    let library = server.library.clone();
    blocking(move || {
        let options = SearchOptions {
            k: request.k.unwrap_or(10).clamp(1, 100),
            ..SearchOptions::default()
        };
        let hits = library.search(&request.query, &options)?;
        let results: Vec<HitJson> = hits.iter().map(Into::into).collect();
        Ok(Json(json!({ "query": request.query, "results": results })))
    })
    .await
}

pub async fn documents(State(server): State<Shared>) -> ApiResult<Json<Value>> {
    let library = server.library.clone();
    blocking(move || {
        let docs = library
            .read()
            .documents()
            .map_err(|e| ApiError::server(e.to_string()))?;
        let documents: Vec<DocumentJson> = docs.iter().map(Into::into).collect();
        Ok(Json(json!({ "documents": documents })))
    })
    .await
}

#[derive(Deserialize)]
pub struct PathsRequest {
    #[serde(default)]
    paths: Vec<PathBuf>,
    #[serde(default)]
    path: Option<PathBuf>,
    /// Answer with the report when the job is done, not at once.
    #[serde(default)]
    wait: bool,
}

impl PathsRequest {
    fn paths(self) -> ApiResult<Vec<PathBuf>> {
        let paths: Vec<PathBuf> = self.paths.into_iter().chain(self.path).collect();
        if paths.is_empty() {
            return Err(ApiError::bad_request("give `path` or `paths`"));
        }
        if let Some(relative) = paths.iter().find(|p| p.is_relative()) {
            return Err(ApiError::bad_request(format!(
                "`{}` is relative; give absolute paths (the server's working folder is not the client's)",
                relative.display()
            )));
        }
        Ok(paths)
    }
}

pub async fn add(State(server): State<Shared>, request: JsonBody<PathsRequest>) -> ApiResult<Response> {
    let Json(request) = request?;
    let wait = request.wait;
    let mut job = server.jobs.submit(request.paths()?);
    if !wait {
        return Ok((StatusCode::ACCEPTED, Json(job)).into_response());
    }
    while !job.ended() {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        job = server.jobs.status(job.id).ok_or_else(|| {
            ApiError::server(format!(
                "indexing job {} ended and was forgotten; see GET /v1/documents",
                job.id
            ))
        })?;
    }
    Ok(Json(job).into_response())
}

pub async fn job(State(server): State<Shared>, Path(id): Path<u64>) -> ApiResult<Json<JobState>> {
    server
        .jobs
        .status(id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("job_not_found", format!("no indexing job {id}")))
}

pub async fn jobs(State(server): State<Shared>) -> Json<Value> {
    Json(json!({ "jobs": server.jobs.all() }))
}

async fn remove_paths(server: &Shared, paths: Vec<PathBuf>) -> ApiResult<Json<Value>> {
    let library = server.library.clone();
    blocking(move || {
        let report = library.remove(&paths)?;
        Ok(Json(
            serde_json::to_value(AddJson::from(&report)).map_err(|e| ApiError::server(e.to_string()))?,
        ))
    })
    .await
}

pub async fn remove(State(server): State<Shared>, request: JsonBody<PathsRequest>) -> ApiResult<Json<Value>> {
    let Json(request) = request?;
    remove_paths(&server, request.paths()?).await
}

pub async fn remove_document(State(server): State<Shared>, Path(id): Path<i64>) -> ApiResult<Json<Value>> {
    let library = server.library.clone();
    let path = blocking(move || {
        let document = library
            .read()
            .document_by_id(id)
            .map_err(|e| ApiError::server(e.to_string()))?;
        document.map(|d| PathBuf::from(d.path)).ok_or_else(|| {
            ApiError::not_found("document_not_found", format!("no document {id} in the library"))
        })
    })
    .await?;
    remove_paths(&server, vec![path]).await
}

pub async fn status(State(server): State<Shared>) -> Json<Value> {
    let counts = &server.counts;
    Json(json!({
        "library": server.library.dir().display().to_string(),
        "embedder": server.library.embedder().identity().name,
        "answers": {
            "waiting": counts.waiting.load(Ordering::SeqCst),
            "answered": counts.answered.load(Ordering::SeqCst),
            "stopped": counts.stopped.load(Ordering::SeqCst),
            "failed": counts.failed.load(Ordering::SeqCst),
        },
        "indexing": server.jobs.all().into_iter().filter(|j| !j.ended()).collect::<Vec<_>>(),
    }))
}

/// Jobs kept for `GET /v1/documents/jobs` after they end.
const KEPT_JOBS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    Queued,
    Running,
    Done,
    Failed,
}

/// An indexing job as `GET /v1/documents/jobs/{id}` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobState {
    id: u64,
    paths: Vec<String>,
    state: Phase,
    /// Files found to look at (known once the folders are walked).
    total: Option<usize>,
    done: usize,
    /// The file being embedded.
    current: Option<String>,
    /// Waiting while a question is answered on this library.
    paused: bool,
    /// The add's report, as `quarry add --json` prints it.
    report: Option<Value>,
    error: Option<String>,
}

impl JobState {
    fn ended(&self) -> bool {
        matches!(self.state, Phase::Done | Phase::Failed)
    }
}

type States = Arc<Mutex<BTreeMap<u64, JobState>>>;

/// The indexing jobs: one thread runs them in order and writes their
/// progress here.
pub struct Jobs {
    queue: std::sync::mpsc::Sender<(u64, Vec<PathBuf>)>,
    states: States,
    next: std::sync::atomic::AtomicU64,
    /// Set when the server stops: the running job ends after its files in
    /// flight (committed, so a later add continues from there).
    pub stop: Arc<AtomicBool>,
}

fn lock(states: &States) -> std::sync::MutexGuard<'_, BTreeMap<u64, JobState>> {
    states.lock().unwrap_or_else(|p| p.into_inner())
}

impl Jobs {
    pub fn start(library: Arc<Library>) -> Self {
        let (queue, work) = std::sync::mpsc::channel::<(u64, Vec<PathBuf>)>();
        let states = States::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (written, stopping) = (states.clone(), stop.clone());
        std::thread::Builder::new()
            .name("quarry-serve-index".into())
            .spawn(move || {
                for (id, paths) in work {
                    let update = |f: &dyn Fn(&mut JobState)| {
                        if let Some(state) = lock(&written).get_mut(&id) {
                            f(state)
                        }
                    };
                    update(&|s| s.state = Phase::Running);
                    let observe = |p: Progress| match p {
                        Progress::Planned { total, .. } => update(&|s| s.total = Some(total)),
                        Progress::Started { path } => update(&|s| s.current = Some(path.to_string())),
                        Progress::Paused { answering } => update(&|s| s.paused = answering),
                        Progress::File { done, .. } => update(&|s| s.done = done),
                    };
                    match library.add(&paths, &observe, &stopping) {
                        Ok(report) => {
                            let report = serde_json::to_value(AddJson::from(&report)).ok();
                            update(&|s| {
                                s.state = Phase::Done;
                                s.current = None;
                                s.report = report.clone();
                            })
                        }
                        Err(e) => update(&|s| {
                            s.state = Phase::Failed;
                            s.error = Some(e.to_string());
                        }),
                    }
                }
            })
            .expect("spawn a thread");
        Jobs {
            queue,
            states,
            next: 1.into(),
            stop,
        }
    }

    fn submit(&self, paths: Vec<PathBuf>) -> JobState {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let state = JobState {
            id,
            paths: paths.iter().map(|p| p.display().to_string()).collect(),
            state: Phase::Queued,
            total: None,
            done: 0,
            current: None,
            paused: false,
            report: None,
            error: None,
        };
        {
            let mut states = lock(&self.states);
            states.insert(id, state.clone());
            while states.len() > KEPT_JOBS {
                match states.iter().find(|(_, s)| s.ended()).map(|(id, _)| *id) {
                    Some(oldest) => states.remove(&oldest),
                    None => break,
                };
            }
        }
        // The thread lives as long as `self`.
        let _ = self.queue.send((id, paths));
        state
    }

    fn status(&self, id: u64) -> Option<JobState> {
        lock(&self.states).get(&id).cloned()
    }

    fn all(&self) -> Vec<JobState> {
        lock(&self.states).values().cloned().collect()
    }
}
