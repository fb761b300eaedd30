//! Shared helpers: the real embedder (loaded once), fixture paths, a small
//! corpus on distinct topics, and library construction.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use quarry_core::models::{ModelSearch, DEFAULT_EMBEDDER};
use quarry_core::{AddReport, Library};
use quarry_embed::bert::Precision;
use quarry_embed::{Embedder, SentenceEncoder};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/data/fixtures").join(name)
}

pub fn model_dir() -> PathBuf {
    ModelSearch::from_env(None)
        .find_embedder(DEFAULT_EMBEDDER)
        .unwrap_or_else(|e| panic!("the tests need the real model: {e}"))
}

/// The default embedder, loaded once per test binary.
pub fn embedder() -> Arc<SentenceEncoder> {
    static EMBEDDER: OnceLock<Arc<SentenceEncoder>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| Arc::new(SentenceEncoder::load(&model_dir()).expect("load MiniLM")))
        .clone()
}

/// A read-only connection to a library's catalog, as another process
/// would hold it while Quarry writes; `None` before there is one.
pub fn read_catalog(library: &Path) -> Option<rusqlite::Connection> {
    let conn = rusqlite::Connection::open_with_flags(
        library.join("catalog.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .ok()?;
    let _ = conn.busy_timeout(std::time::Duration::from_secs(5));
    Some(conn)
}

/// The catalog's generation (bumped by every write the indexes derive
/// from); 0 without a library.
pub fn catalog_generation(library: &Path) -> u64 {
    read_catalog(library)
        .and_then(|catalog| {
            catalog
                .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
                    r.get::<_, String>(0)
                })
                .ok()
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Open the library in `dir` as the front ends do: at the precision its
/// vectors were made at (the CLI makes int8 libraries), f32 for a new one
/// (the in-process tests' own [`embedder`]).
pub fn open(dir: &Path) -> Library {
    let made_at = quarry_core::recorded_embedder(dir)
        .expect("read the library's embedder")
        .map(|identity| identity.precision);
    let embedder: Arc<dyn Embedder> = match made_at.as_deref() {
        Some(quarry_embed::INT8) => int8_embedder(),
        _ => embedder(),
    };
    Library::open(dir, embedder).expect("open library")
}

/// The default embedder at int8 (what the CLI makes new libraries with),
/// loaded once per test binary.
pub fn int8_embedder() -> Arc<SentenceEncoder> {
    static EMBEDDER: OnceLock<Arc<SentenceEncoder>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| {
            Arc::new(SentenceEncoder::load_at(&model_dir(), Precision::Int8).expect("load MiniLM at int8"))
        })
        .clone()
}

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A folder of documents on unrelated topics, one per format, so a query
/// has one right answer. Returns the folder.
pub fn corpus(root: &Path) -> PathBuf {
    let dir = root.join("docs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("manual.pdf"), dir.join("manual.pdf")).unwrap();
    std::fs::copy(fixture("report.docx"), dir.join("report.docx")).unwrap();
    write(
        &dir.join("bread.md"),
        "# Sourdough\n\nFeed the starter with equal weights of flour and water the night before.\n\n\
         ## Baking\n\nBake the loaf in a covered cast-iron pot at 250 degrees for twenty minutes, then uncover it.\n",
    );
    write(
        &dir.join("bicycles.html"),
        "<!doctype html><html><head><title>Bicycle history</title><script>track()</script></head><body>\
         <nav>Home | Shop</nav><main><h1>The safety bicycle</h1><p>The Rover of 1885 introduced the chain-driven \
         rear wheel and equal-sized wheels, replacing the dangerous penny-farthing.</p></main>\
         <footer>Contact us</footer></body></html>",
    );
    write(
        &dir.join("garden.txt"),
        "Tomato seedlings go outside after the last frost, usually in mid May.\n\n\
         Pinch out the side shoots every week and water at the base, never the leaves.\n",
    );
    write(
        &dir.join("parts.txt"),
        "Spare parts catalogue. The drive belt for the conveyor is part ZX-4471-C. \
         The replacement filter cartridge is FC-220.\n",
    );
    write(
        &dir.join("csv.rs"),
        "/// Split one CSV line into fields, honouring double quotes.\n\
         pub fn split_fields(line: &str) -> Vec<String> {\n    line.split(',').map(str::to_string).collect()\n}\n",
    );
    dir
}

/// Whether a question is being answered on the library in `dir` (its
/// `answering.lock` held), seen from outside as an ingest would see it.
pub fn answering_now(dir: &Path) -> bool {
    let Ok(lock) = std::fs::File::open(dir.join("answering.lock")) else {
        return false;
    };
    match lock.try_lock() {
        Ok(()) => false,
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(e) => panic!("{e}"),
    }
}

/// Index `paths` into `library`, with no progress and no cancellation.
pub fn add(library: &Library, path: &Path) -> AddReport {
    library
        .add(&[path.to_path_buf()], &|_| {}, &AtomicBool::new(false))
        .unwrap()
}

/// The corpus, indexed into a fresh library; `tmp` holds both folders.
pub struct IndexedCorpus {
    pub tmp: tempfile::TempDir,
    pub docs: PathBuf,
    pub lib_dir: PathBuf,
    pub library: Library,
    pub report: AddReport,
}

pub fn indexed_corpus() -> IndexedCorpus {
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(tmp.path());
    let lib_dir = tmp.path().join("lib");
    let library = open(&lib_dir);
    let report = add(&library, &docs);
    IndexedCorpus {
        tmp,
        docs,
        lib_dir,
        library,
        report,
    }
}

/// Copy these files of the default model folder into `to`.
pub fn copy_model_files(to: &Path, files: &[&str]) {
    let from = model_dir();
    for f in files {
        let target = to.join(f);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(from.join(f), target).unwrap();
    }
}

/// manual.pdf with one font encoding name changed to one pdf-extract does
/// not know, which makes it panic (same length, so the cross-reference
/// offsets stay valid): a real parser crash on a real file.
pub fn panicking_pdf() -> Vec<u8> {
    let mut pdf = std::fs::read(fixture("manual.pdf")).unwrap();
    let needle = b"/WinAnsiEncoding";
    let at = pdf
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the fixture uses WinAnsiEncoding");
    pdf[at..at + needle.len()].copy_from_slice(b"/ZinAnsiEncoding");
    pdf
}

/// A GGUF answer model under `models/gguf/` (placed by `models/fetch`).
pub fn gguf(file: &str) -> PathBuf {
    let path = repo().join("models/gguf").join(file);
    assert!(
        path.is_file(),
        "the tests need {} (run models/fetch)",
        path.display()
    );
    path
}

pub const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const QWEN: &str = quarry_core::models::DEFAULT_GENERATOR_FILE;
pub const GEMMA3: &str = "gemma-3-270m-q4_k_m.gguf";

/// One llama.cpp model at work at a time: its threads spin while they wait
/// for each other, and two models sharing two cores slow each other many
/// times over.
pub fn llm_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Load an answer model with the default options.
pub fn load_llm(file: &str) -> quarry_generate::LlamaCppGenerator {
    quarry_generate::LlamaCppGenerator::load(&gguf(file), &quarry_generate::LoadOptions::default())
        .unwrap_or_else(|e| panic!("load {file}: {e}"))
}

/// Send SIGINT (what Ctrl-C sends) to a child process.
pub fn interrupt(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// A number from the environment (a knob of a long test), or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

/// Run the ignored test `name` of this test binary in a child process
/// with `env` set: a process of its own, to be killed, or measured alone.
pub fn run_test_as_child(name: &str, env: &[(&str, &std::ffi::OsStr)]) -> std::process::Output {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child.args(["--exact", name, "--ignored", "--nocapture", "--test-threads=1"]);
    for (key, value) in env {
        child.env(key, value);
    }
    child.output().unwrap()
}
