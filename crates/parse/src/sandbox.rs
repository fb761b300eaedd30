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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

    /// Extract `bytes`, read from `path`, in a worker within the limits.
    pub fn extract(&self, path: &Path, bytes: &[u8]) -> Result<Extracted, Failure> {
        let Some(worker) = &self.worker else {
            return extract_here(path, bytes);
        };
        let _slot = Slot::take(&self.slots);
        let failure = |error| Err(Failure { format: None, error });
        // OCR inside the worker runs one page per core this file may use:
        // all of them when it is the only file in flight.
        let in_flight = self.parallel().saturating_sub(self.slots.1.len()).max(1);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let ocr_threads = (cores / in_flight).max(1);
        // The worker's scratch files (a PDF's rendered pages) live in a
        // folder removed here, whatever becomes of the worker.
        let scratch = match tempfile::Builder::new().prefix("quarry-extract-").tempdir() {
            Ok(dir) => dir,
            Err(e) => return failure(ExtractError::WorkerFailed(format!("no scratch folder: {e}"))),
        };
        // The worker sees only the file's name (detection uses its
        // extension) and its bytes, never the path.
        let name = path
            .file_name()
            .map_or_else(|| "file".into(), |n| n.to_os_string());
        let mut command = Command::new(worker);
        command
            .arg("--memory-bytes")
            .arg(self.limits.memory_bytes.to_string())
            .arg("--cpu-seconds")
            .arg(self.limits.cpu_seconds.to_string())
            .arg("--ocr-threads")
            .arg(ocr_threads.to_string())
            .arg("--scratch")
            .arg(scratch.path())
            .arg("--name")
            .arg(&name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group: a kill reaches the OCR tools it runs too.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                return failure(ExtractError::WorkerFailed(format!(
                    "cannot start {}: {e}",
                    worker.display()
                )))
            }
        };
        let (mut stdin, stdout, stderr) = (
            child.stdin.take().expect("piped"),
            child.stdout.take().expect("piped"),
            child.stderr.take().expect("piped"),
        );
        let started = Instant::now();
        let last_sign_of_life = AtomicU64::new(0);
        let (status, output, messages) = std::thread::scope(|scope| {
            // A worker that dies early closes its stdin: the write fails,
            // and the exit status says why.
            scope.spawn(move || {
                let _ = stdin.write_all(bytes);
            });
            let output = scope.spawn(move || read_bounded(stdout, MAX_REPLY_BYTES + 1));
            let life = &last_sign_of_life;
            let messages = scope.spawn(move || read_messages(stderr, started, life));
            let status = self.wait(&mut child, started, life);
            (
                status,
                output.join().unwrap_or_default(),
                messages.join().unwrap_or_default(),
            )
        });
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
        failure(classify_death(
            status,
            &String::from_utf8_lossy(&messages),
            self.limits,
        ))
    }

    /// Wait for the worker; kill it (and its process group) when it has
    /// shown no sign of life for the wall-clock limit — each OCR'd page is
    /// one, so a long scan is not cut off for being long — or has run for
    /// [`MAX_FILE_TIME`] in all. `None` when it was killed.
    fn wait(
        &self,
        child: &mut std::process::Child,
        started: Instant,
        life: &AtomicU64,
    ) -> Option<std::process::ExitStatus> {
        loop {
            match child.wait_timeout(Duration::from_millis(250)) {
                Ok(Some(status)) => return Some(status),
                Ok(None) => {
                    let alive_at = Duration::from_millis(life.load(Ordering::Relaxed));
                    let idle = started.elapsed().saturating_sub(alive_at);
                    if idle < self.limits.wall_clock && started.elapsed() < MAX_FILE_TIME {
                        continue;
                    }
                }
                Err(_) => {}
            }
            // SAFETY: kill(2) with the negated id signals the process group
            // the worker leads (set at spawn); it touches no memory.
            unsafe {
                libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
    }
}

/// The longest one file may take in all, however steadily it progresses.
const MAX_FILE_TIME: Duration = Duration::from_secs(2 * 60 * 60);
/// The largest reply read from a worker: the text limit, escaped, plus its
/// positions. The worker refuses to write more (it says the text is too
/// large instead).
pub const MAX_REPLY_BYTES: u64 = 3 * MAX_TEXT_BYTES as u64;
/// The line a worker writes on stderr when it makes progress (a page read
/// by OCR), which resets its wall-clock deadline.
pub const PROGRESS_LINE: &str = "quarry-extract: progress";

/// The worker's stderr: progress lines mark it alive; the rest (at most
/// 64 KiB) is kept to explain a crash.
fn read_messages(stderr: impl Read, started: Instant, life: &AtomicU64) -> Vec<u8> {
    use std::io::BufRead;
    let mut kept = Vec::new();
    for line in std::io::BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
        if line == PROGRESS_LINE.as_bytes() {
            life.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        } else if kept.len() < 64 * 1024 {
            kept.extend_from_slice(&line);
            kept.push(b'\n');
        }
    }
    kept
}

/// What a worker does with its scratch folder and the cores it may use for
/// OCR, set by `quarry-extract` from its arguments before it parses.
#[derive(Debug, Clone, Default)]
pub struct WorkerSettings {
    pub scratch: Option<std::path::PathBuf>,
    pub ocr_threads: Option<usize>,
    /// Say on stderr when a page has been read (see [`PROGRESS_LINE`]).
    pub report_progress: bool,
}

static WORKER_SETTINGS: std::sync::OnceLock<WorkerSettings> = std::sync::OnceLock::new();

/// Set once, by the worker, before it parses.
pub fn configure_worker(settings: WorkerSettings) {
    let _ = WORKER_SETTINGS.set(settings);
}

pub(crate) fn worker_settings() -> WorkerSettings {
    WORKER_SETTINGS.get().cloned().unwrap_or_default()
}

/// `work` applied to each of `items` on a thread of its own, all at once,
/// results in the items' order: for batches of files (or pages) whose work
/// is mostly waiting on a worker process. A panic in `work` is resumed
/// here.
pub fn side_by_side<T: Send, R: Send>(items: Vec<T>, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    let work = &work;
    std::thread::scope(|scope| {
        let running: Vec<_> = items
            .into_iter()
            .map(|item| scope.spawn(move || work(item)))
            .collect();
        running
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
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
