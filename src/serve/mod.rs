//! `quarry serve`: the library and its answers over HTTP, in OpenAI's API
//! (axum on tokio), for the editors, notebooks, scripts and chat front ends
//! that already speak it.
//!
//! A front end like the CLI and the desktop: it opens one library, starts
//! the core's one answering [`Session`] (the model is loaded as the server
//! starts, so no request pays for it; a request that comes during the load
//! waits for it), and maps HTTP to it. Questions from all clients go to the
//! session's one queue and are answered in the order they came (the model
//! answers one at a time; on two cores two at once would each take twice
//! as long). Every route needs the bearer token ([`auth`]). The server
//! binds to loopback unless told otherwise with `--allow-remote`.
//!
//! Routes (the shapes are documented in `docs/serve.md`):
//! `GET /v1/models`, `POST /v1/chat/completions`, `POST /v1/embeddings`,
//! `POST /v1/search`, `GET|POST /v1/documents`, `POST /v1/documents/remove`,
//! `DELETE /v1/documents/{id}`, `GET /v1/documents/jobs[/{id}]`,
//! `GET /v1/status`.

mod auth;
mod chat;
mod error;
mod library;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Context;
use axum::routing::{delete, get, post};
use axum::Router;
use quarry_core::models::ModelSearch;
use quarry_core::session::{AnswerEngine, Session};
use quarry_core::Library;

/// The port `quarry serve` listens on unless told another (0: any free one).
pub const DEFAULT_PORT: u16 = 8765;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback needs --allow-remote.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0: any free port; the address is printed).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Listen on a non-loopback address: other machines can then reach the
    /// library (still only with the token).
    #[arg(long)]
    allow_remote: bool,
    /// Print the bearer token (creating it on first use) and exit.
    #[arg(long)]
    show_token: bool,
    /// Folder of the token file (default: Quarry's config folder).
    #[arg(long, env = "QUARRY_CONFIG")]
    config: Option<PathBuf>,
    /// Answer model: a .gguf file (default: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, found via
    /// QUARRY_MODELS, the repository's models/ or the Hugging Face cache).
    #[arg(long, env = "QUARRY_MODEL")]
    model: Option<PathBuf>,
    #[command(flatten)]
    engine: crate::answer_cli::EngineArgs,
}

/// What every request shares.
struct Server {
    library: Arc<Library>,
    session: Session,
    models: ModelSearch,
    /// The answer model `--model` or `--engine-url` chose.
    answer_model: AnswerEngine,
    jobs: library::Jobs,
    counts: Counts,
    next_id: AtomicU64,
    /// When the server started (seconds since 1970), OpenAI's `created`.
    started: u64,
}

type Shared = Arc<Server>;

/// What the answering has done, for `GET /v1/status`.
#[derive(Default)]
struct Counts {
    /// Questions asked and not yet answered (being answered or queued).
    waiting: AtomicUsize,
    answered: AtomicUsize,
    /// Answers stopped before their end (their client disconnected).
    stopped: AtomicUsize,
    failed: AtomicUsize,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn config_dir(args: &ServeArgs) -> PathBuf {
    args.config
        .clone()
        .unwrap_or_else(quarry_core::default_config_dir)
}

/// `quarry serve --show-token`: the token, for a client's settings.
pub fn show_token(args: &ServeArgs) -> anyhow::Result<Option<String>> {
    match args.show_token {
        true => auth::load_or_create(&config_dir(args)).map(Some),
        false => Ok(None),
    }
}

/// Serve `library` until Ctrl-C (or SIGTERM). Prints the address it
/// listens on as its first line of output, once it accepts requests.
pub fn run(library: Library, args: &ServeArgs) -> anyhow::Result<()> {
    if !args.host.is_loopback() && !args.allow_remote {
        anyhow::bail!(
            "{} is reachable from other machines; pass --allow-remote to serve the library there (the token is still required)",
            args.host
        );
    }
    let mut answer_model = args.engine.answer_engine(args.model.clone())?;
    let token = Arc::new(auth::load_or_create(&config_dir(args))?);
    let library = Arc::new(library);
    let models = ModelSearch::from_env(None);
    let session = Session::start(models.clone());
    crate::answer_cli::say_where_answers_are_made(&answer_model);
    match session.prepare(&answer_model) {
        Ok(Some(choice)) => {
            if !choice.preferred {
                eprintln!(
                    "quarry serve: the default answer model was not found; answering with {}",
                    choice.path.display()
                );
            }
            // Found once: a question does not walk the model folders again.
            answer_model = AnswerEngine::File(choice.path);
        }
        Ok(None) => {}
        // Search, documents and embeddings still work; questions say why not.
        Err(e) => eprintln!("quarry serve: no answer model: {e}"),
    }
    let server = Arc::new(Server {
        jobs: library::Jobs::start(library.clone()),
        library,
        session,
        models,
        answer_model,
        counts: Counts::default(),
        next_id: AtomicU64::new(1),
        started: unix_now(),
    });
    let app = Router::new()
        .route("/v1/models", get(chat::list_models))
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/embeddings", post(library::embeddings))
        .route("/v1/search", post(library::search))
        .route("/v1/documents", get(library::documents).post(library::add))
        .route("/v1/documents/remove", post(library::remove))
        .route("/v1/documents/{id}", delete(library::remove_document))
        .route("/v1/documents/jobs", get(library::jobs))
        .route("/v1/documents/jobs/{id}", get(library::job))
        .route("/v1/status", get(library::status))
        .layer(axum::middleware::from_fn_with_state(token, auth::require_token))
        .with_state(server.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the server's runtime")?;
    let address = SocketAddr::new(args.host, args.port);
    let listener = std::net::TcpListener::bind(address).with_context(|| format!("listening on {address}"))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let stopping = server.clone();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        println!("quarry serve: listening on http://{bound}/v1");
        eprintln!(
            "quarry serve: library {}; send `Authorization: Bearer <token>` (`quarry serve --show-token` prints it)",
            server.library.dir().display()
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                stopped().await;
                // Streams end with what they have, so their connections
                // close; the indexing job commits its files in flight.
                stopping.session.stop();
                stopping.jobs.stop.store(true, Ordering::SeqCst);
            })
            .await
            .context("serving")
    })
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stopped() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}
