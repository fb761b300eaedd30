//! `quarry-extract`: parses one file in a process of its own, for the
//! sandbox in `quarry_parse::sandbox`. The file's bytes come on stdin, its
//! name (for detection by extension) as `--name`; the `Reply` goes to
//! stdout as JSON. Before reading a byte the worker caps its own address
//! space (`--memory-bytes`) and CPU time (`--cpu-seconds`): a file that
//! needs more kills this process, never the program that asked.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use quarry_parse::sandbox::{configure_worker, extract_here, Reply, WorkerSettings, MAX_REPLY_BYTES};
use quarry_parse::MAX_FILE_BYTES;

fn main() -> ExitCode {
    let mut name = PathBuf::from("file");
    let (mut memory, mut cpu) = (None, None);
    let mut settings = WorkerSettings {
        report_progress: true,
        ..WorkerSettings::default()
    };
    let mut args = std::env::args_os().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next();
        let number = || {
            value
                .as_ref()
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u64>().ok())
        };
        match flag.to_str() {
            Some("--memory-bytes") => memory = number(),
            Some("--cpu-seconds") => cpu = number(),
            Some("--name") => name = value.map(PathBuf::from).unwrap_or(name),
            Some("--scratch") => settings.scratch = value.map(PathBuf::from),
            Some("--ocr-threads") => settings.ocr_threads = number().map(|n| n as usize),
            _ => {
                eprintln!("usage: quarry-extract [--memory-bytes N] [--cpu-seconds N] [--ocr-threads N] [--scratch DIR] [--name FILE] < FILE");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(bytes) = memory {
        limit(libc::RLIMIT_AS, bytes, bytes);
    }
    if let Some(seconds) = cpu {
        // SIGXCPU at the soft limit; the hard limit, a little later, is
        // the kernel's SIGKILL for a process that ignores it.
        limit(libc::RLIMIT_CPU, seconds, seconds + 5);
    }
    configure_worker(settings);
    // Panics are caught by `extract_as` and become the reply; the default
    // hook would only repeat them on stderr.
    std::panic::set_hook(Box::new(|_| {}));

    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes) {
        eprintln!("cannot read the file from stdin: {e}");
        return ExitCode::FAILURE;
    }
    test_hooks(&name);
    let reply = match extract_here(&name, &bytes) {
        Ok(extracted) => Reply::Extracted(extracted),
        Err(failure) => Reply::Failed {
            format: failure.format,
            reason: failure.error.to_string(),
        },
    };
    let mut json = serde_json::to_vec(&reply).unwrap_or_default();
    if json.len() as u64 > MAX_REPLY_BYTES {
        // Text that escapes to more than the caller reads: too large.
        let too_large = quarry_parse::ExtractError::TooLarge {
            size: json.len() as u64,
            limit: MAX_REPLY_BYTES,
        };
        let format = match &reply {
            Reply::Extracted(e) => Some(e.format),
            Reply::Failed { format, .. } => *format,
        };
        json = serde_json::to_vec(&Reply::Failed {
            format,
            reason: too_large.to_string(),
        })
        .unwrap_or_default();
    }
    let mut out = std::io::stdout().lock();
    if out.write_all(&json).is_err() || out.flush().is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct we pass and changes only this
    // process's limits.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        eprintln!(
            "cannot set resource limit {resource}: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Parsers that misbehave on purpose, for the sandbox's tests: only when
/// `QUARRY_EXTRACT_TEST_HOOKS=1`, for files whose name says so.
fn test_hooks(name: &std::path::Path) {
    if std::env::var_os("QUARRY_EXTRACT_TEST_HOOKS").is_none_or(|v| v != "1") {
        return;
    }
    let name = name.to_string_lossy();
    if name.starts_with("quarry-test-spin") {
        // A parser stuck in a loop: burns CPU until the CPU limit.
        let mut x = 0u64;
        loop {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    } else if name.starts_with("quarry-test-sleep") {
        // A parser stuck waiting: only the wall clock ends it.
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    } else if name.starts_with("quarry-test-allocate") {
        // A parser that allocates without bound.
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![1u8; 64 << 20]);
            std::hint::black_box(&hoard);
        }
    } else if name.starts_with("quarry-test-crash") {
        std::process::abort();
    }
}
