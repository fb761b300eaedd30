//! The commands the window calls, one file per feature. Each is thin: it
//! turns JSON arguments into a call on the `quarry` library (through the
//! app's state) and the result into a plain DTO or a `CommandError`.
//! All are `async` so Tauri runs them off the window's main thread.

pub mod chat;
pub mod inspect;
pub mod library;
pub mod settings;
pub mod sources;

/// Run blocking library work on Tauri's blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> crate::error::CommandResult<T> + Send + 'static,
) -> crate::error::CommandResult<T> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| crate::error::CommandError::new("library", format!("the task failed: {e}")))?
}
