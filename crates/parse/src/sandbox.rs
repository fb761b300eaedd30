//! Extraction in a worker process, so that nothing a file does can stop
//! the batch, the app or the CLI.
//!
//! A parser runs in-process behind `catch_unwind`, which cannot catch what
//! hostile files really do: an allocation that fails aborts the process, a
//! parser that loops never returns. So each file is parsed by a fresh
//! `quarry-extract` process (built from this crate alone) under a memory
//! cap and a CPU-time limit (`setrlimit`, set by the worker on itself
//! before it reads a byte) and a wall-clock deadline (the worker is
//! killed past it). At most as many workers run at once as there are
//! cores. A worker that dies, exceeds its memory or hangs costs that file,
//! with a specific reason; the next file gets a new worker.
//!
//! One process per file, not a long-lived pool: each file gets its own
//! limits (RLIMIT_CPU counts a process's whole life), no state survives a
//! hostile file, and the cost — one spawn, ~1–3 ms — is small beside
//! parsing and embedding a document.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wait_timeout::ChildExt;

use super::{ExtractError, Extracted, Format, MAX_TEXT_BYTES};

/// The worker's file name, next to the executable that uses it.
pub const WORKER_NAME: &str = "quarry-extract";

/// What one file's parse may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Address space of the worker (and the OCR tools it runs).
    pub memory_bytes: u64,
    pub cpu_seconds: u64,
    pub wall_clock: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 1 << 30,
            cpu_seconds: 120,
            wall_clock: Duration::from_secs(120),
        }
    }
}

impl Limits {
    /// The defaults, overridden by `QUARRY_EXTRACT_MEMORY_MIB`,
    /// `QUARRY_EXTRACT_CPU_SECS` and `QUARRY_EXTRACT_TIMEOUT_SECS`.
    pub fn from_env() -> Limits {
        let number = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let default = Limits::default();
        Limits {
            memory_bytes: number("QUARRY_EXTRACT_MEMORY_MIB").map_or(default.memory_bytes, |m| m << 20),
            cpu_seconds: number("QUARRY_EXTRACT_CPU_SECS").unwrap_or(default.cpu_seconds),
            wall_clock: number("QUARRY_EXTRACT_TIMEOUT_SECS").map_or(default.wall_clock, Duration::from_secs),
        }
    }
}

/// A file that could not be extracted: its format, if detection got that
/// far, and why.
#[derive(Debug)]
pub struct Failure {
    pub format: Option<Format>,
    pub error: ExtractError,
}

/// What a worker writes on stdout: one JSON value.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    Extracted(Extracted),
    Failed { format: Option<Format>, reason: String },
}

/// Detect and extract `bytes` named `name`, in this process: what the
/// worker runs, and the fallback when there is no worker.
pub fn extract_here(name: &Path, bytes: &[u8]) -> Result<Extracted, Failure> {
    let format = super::detect(name, bytes).map_err(|error| Failure { format: None, error })?;
    super::extract_as(format, bytes).map_err(|error| Failure {
        format: Some(format),
        error,
    })
}

pub struct Sandbox {
    worker: Option<PathBuf>,
    limits: Limits,
    /// One token per worker allowed to run at once.
    slots: (crossbeam_channel::Sender<()>, crossbeam_channel::Receiver<()>),
}

impl Sandbox {
    /// Workers at `worker` (`None`: parse in this process), at most
    /// `parallel` at once.
    pub fn new(worker: Option<PathBuf>, limits: Limits, parallel: usize) -> Sandbox {
        let parallel = parallel.max(1);
        let slots = crossbeam_channel::bounded(parallel);
        for _ in 0..parallel {
            slots.0.send(()).expect("the channel has room for every slot");
        }
        Sandbox {
            worker,
            limits,
            slots,
        }
    }

    /// The worker named by `QUARRY_EXTRACT_WORKER`, else `quarry-extract`
    /// beside this executable; limits from the environment; one worker per
    /// core. Without a worker, files are parsed in this process (and a
    /// warning says the sandbox is off).
    pub fn discover() -> Sandbox {
        let named = std::env::var_os("QUARRY_EXTRACT_WORKER").map(PathBuf::from);
        let beside = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(WORKER_NAME)));
        let worker = named.or(beside).filter(|path| path.is_file());
        if worker.is_none() {
            tracing::warn!("{WORKER_NAME} not found beside this program: files are parsed in this process, without the sandbox's limits");
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Sandbox::new(worker, Limits::from_env(), cores)
    }

    /// How many files may be parsed at once.
    pub fn parallel(&self) -> usize {
        self.slots.0.capacity().unwrap_or(1)
    }

    /// Whether files are parsed in worker processes.
    pub fn isolated(&self) -> bool {
        self.worker.is_some()
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Extract `bytes`, read from `path`, in a worker within the limits.
    pub fn extract(&self, path: &Path, bytes: &[u8]) -> Result<Extracted, Failure> {
        let Some(worker) = &self.worker else {
            return extract_here(path, bytes);
        };
        let _slot = Slot::take(&self.slots);
        // The worker sees only the file's name (detection uses its
        // extension) and its bytes, never the path.
        let name = path
            .file_name()
            .map_or_else(|| "file".into(), |n| n.to_os_string());
        let mut child = Command::new(worker)
            .arg("--memory-bytes")
            .arg(self.limits.memory_bytes.to_string())
            .arg("--cpu-seconds")
            .arg(self.limits.cpu_seconds.to_string())
            .arg("--name")
            .arg(&name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Failure {
                format: None,
                error: ExtractError::WorkerFailed(format!("cannot start {}: {e}", worker.display())),
            })?;
        let (mut stdin, stdout, stderr) = (
            child.stdin.take().expect("piped"),
            child.stdout.take().expect("piped"),
            child.stderr.take().expect("piped"),
        );
        let (status, output, messages) = std::thread::scope(|scope| {
            // A worker that dies early closes its stdin: the write fails,
            // and the exit status says why.
            scope.spawn(move || {
                let _ = stdin.write_all(bytes);
            });
            let output = scope.spawn(move || read_bounded(stdout, 2 * MAX_TEXT_BYTES as u64 + 4096));
            let messages = scope.spawn(move || read_bounded(stderr, 64 * 1024));
            let status = match child.wait_timeout(self.limits.wall_clock) {
                Ok(Some(status)) => Some(status),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    None
                }
            };
            (
                status,
                output.join().unwrap_or_default(),
                messages.join().unwrap_or_default(),
            )
        });
        let failure = |error| Err(Failure { format: None, error });
        let Some(status) = status else {
            return failure(ExtractError::TimedOut {
                doing: "parsing",
                seconds: self.limits.wall_clock.as_secs(),
            });
        };
        if status.success() {
            return match serde_json::from_slice::<Reply>(&output) {
                Ok(Reply::Extracted(extracted)) => Ok(extracted),
                Ok(Reply::Failed { format, reason }) => Err(Failure {
                    format,
                    error: ExtractError::Reported(reason),
                }),
                Err(e) => failure(ExtractError::WorkerFailed(format!("unreadable reply: {e}"))),
            };
        }
        let messages = String::from_utf8_lossy(&messages);
        failure(classify_death(status, &messages, self.limits))
    }
}

/// Why a worker that did not exit cleanly died.
fn classify_death(status: std::process::ExitStatus, messages: &str, limits: Limits) -> ExtractError {
    use std::os::unix::process::ExitStatusExt;
    const SIGABRT: i32 = 6;
    const SIGKILL: i32 = 9;
    const SIGXCPU: i32 = 24;
    // Rust's allocation-failure message, before it aborts.
    let out_of_memory = messages.contains("memory allocation of");
    match status.signal() {
        _ if out_of_memory => ExtractError::MemoryLimit {
            mebibytes: limits.memory_bytes >> 20,
        },
        Some(SIGXCPU) => ExtractError::CpuLimit {
            seconds: limits.cpu_seconds,
        },
        Some(SIGKILL) => ExtractError::WorkerFailed(
            "the system killed the parser (SIGKILL), most likely for the memory it took".into(),
        ),
        Some(SIGABRT) | Some(_) => ExtractError::WorkerFailed(format!(
            "the parser crashed ({status}){}",
            last_line(messages).map(|l| format!(": {l}")).unwrap_or_default()
        )),
        None => ExtractError::WorkerFailed(format!(
            "the parser stopped ({status}){}",
            last_line(messages).map(|l| format!(": {l}")).unwrap_or_default()
        )),
    }
}

fn last_line(messages: &str) -> Option<&str> {
    messages.lines().rev().map(str::trim).find(|l| !l.is_empty())
}

fn read_bounded(from: impl Read, limit: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = from.take(limit).read_to_end(&mut out);
    out
}

/// A running worker's token, given back when it ends.
struct Slot<'a>(&'a crossbeam_channel::Sender<()>);

impl<'a> Slot<'a> {
    fn take(slots: &'a (crossbeam_channel::Sender<()>, crossbeam_channel::Receiver<()>)) -> Slot<'a> {
        // The sandbox holds a sender, so the channel never disconnects.
        let _ = slots.1.recv();
        Slot(&slots.0)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}
