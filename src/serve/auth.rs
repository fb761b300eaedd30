//! The server's bearer token: generated from the OS's random source on the
//! first start, kept in the config folder readable by its owner alone, and
//! required on every request (also on loopback: any local program or web
//! page could otherwise read the library through the port).

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The token file's name in the config folder.
const TOKEN_FILE: &str = "serve-token";
/// Prefix of a Quarry token, so a person can tell it from other keys.
const TOKEN_PREFIX: &str = "qry-";

pub fn token_path(config_dir: &Path) -> PathBuf {
    config_dir.join(TOKEN_FILE)
}

/// The token in `config_dir`, created (mode 0600) when there is none.
pub fn load_or_create(config_dir: &Path) -> anyhow::Result<String> {
    use anyhow::Context;
    let path = token_path(config_dir);
    match std::fs::read_to_string(&path) {
        Ok(token) if !token.trim().is_empty() => return Ok(token.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading the server token {}", path.display())),
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| anyhow::anyhow!("the OS gave no random bytes for a token: {e}"))?;
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
    std::fs::create_dir_all(config_dir).with_context(|| format!("creating {}", config_dir.display()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("writing the server token {}", path.display()))?;
    writeln!(file, "{token}")?;
    Ok(token)
}

/// Equal without an early exit, so the time a comparison takes does not
/// tell how much of a guess was right. (Written here: eight lines, and no
/// crate in the tree offers it.)
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// Middleware: a request without `Authorization: Bearer <the token>` is a 401.
pub async fn require_token(
    State(token): State<std::sync::Arc<String>>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    match given {
        Some(given) if same(given.trim().as_bytes(), token.as_bytes()) => next.run(request).await,
        Some(_) => ApiError::unauthorized(
            "the bearer token is not this server's; `quarry serve --show-token` prints it",
        )
        .into_response(),
        None => ApiError::unauthorized(
            "send `Authorization: Bearer <token>`; `quarry serve --show-token` prints the token",
        )
        .into_response(),
    }
}
