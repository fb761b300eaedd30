//! Properties: `quarry add` killed with SIGKILL at random moments, on a
//! folder that changes between rounds (files appear, grow, are rewritten
//! and vanish; some rounds start from no library at all), leaves after
//! every kill a library that opens and searches, whose catalog, lexical
//! index and dense graph hold the same chunks, and whose hits all name
//! indexed documents ([`assert_consistent`]). After the last kill one
//! uninterrupted `add` gives exactly what a clean ingest of the final
//! folder gives: the same documents, the same chunks (text and order), the
//! same top hit for each file's own code word.
//!
//! Seeded and reproducible: `QUARRY_TORTURE_SEED` (default below) and
//! `QUARRY_TORTURE_KILLS` (default 10, the test suite's short run;
//! `scripts/kill-torture` makes 100 or more).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use quarry_core::SearchOptions;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::crash::{assert_consistent, start_add};
use crate::support::{catalog_generation, env_number, open, write};

const DEFAULT_SEED: u64 = 20_261_207;
const DEFAULT_KILLS: usize = 10;

/// The folder under torture: text files whose every paragraph is unique
/// (file and paragraph numbers, a code word), so no two chunks share a
/// vector and each file can be found by its code.
struct Folder {
    dir: PathBuf,
    /// Paragraph count of each file present, by file number.
    files: BTreeMap<usize, usize>,
    next_file: usize,
}

const TOPICS: [&str; 6] = [
    "the roof repairs of the east wing and the gutters that overflow in spring",
    "the boiler room keys, the heating schedule and the cost of fuel this winter",
    "budget lines for the library, the garden and the new bicycle shelter",
    "the committee's minutes, who took them and when they were approved",
    "window seals, draughts in the stairwell and the quote from the glazier",
    "the pump in the basement that hums but does not turn after a storm",
];

impl Folder {
    fn path(&self, file: usize) -> PathBuf {
        self.dir.join(format!("note-{file:04}.txt"))
    }

    fn code(file: usize) -> String {
        format!("QX{file}ZK")
    }

    fn text(file: usize, paragraphs: usize) -> String {
        (0..paragraphs)
            .map(|p| {
                format!(
                    "Note {file}, part {p}, reference {code}: the meeting discussed {}. Item {file}-{p} was \
                     recorded with its own number so that no two paragraphs read alike, and {} came up \
                     again at the end.\n\n",
                    TOPICS[(file + p) % TOPICS.len()],
                    TOPICS[(file * 7 + p * 3 + 1) % TOPICS.len()],
                    code = Folder::code(file),
                )
            })
            .collect()
    }

    fn write_file(&mut self, file: usize, paragraphs: usize) {
        write(&self.path(file), &Folder::text(file, paragraphs));
        self.files.insert(file, paragraphs);
    }

    /// Change the folder as a person's folder changes between two runs.
    fn change(&mut self, rng: &mut SmallRng) {
        for _ in 0..rng.random_range(1..=4) {
            let file = self.next_file;
            self.next_file += 1;
            self.write_file(file, rng.random_range(2..=8));
        }
        let present: Vec<usize> = self.files.keys().copied().collect();
        for _ in 0..rng.random_range(0..=3) {
            let file = present[rng.random_range(0..present.len())];
            if let Some(&paragraphs) = self.files.get(&file) {
                self.write_file(file, paragraphs + rng.random_range(1..=3)); // grows
            }
        }
        // The folder stays between ~6 and ~40 files, so a run from no
        // library stays seconds long however many rounds there are.
        if self.files.len() > 6 {
            let vanishing = if self.files.len() > 40 { 3..=6 } else { 0..=2 };
            for _ in 0..rng.random_range(vanishing) {
                let file = present[rng.random_range(0..present.len())];
                if self.files.remove(&file).is_some() {
                    std::fs::remove_file(self.path(file)).unwrap(); // vanishes
                }
            }
        }
    }
}

/// Every document's path and status, and its chunks' texts in order.
pub(crate) fn contents(lib: &Path) -> BTreeMap<String, (String, Vec<String>)> {
    let catalog = rusqlite::Connection::open(lib.join("catalog.sqlite")).unwrap();
    let mut documents = BTreeMap::new();
    let mut stmt = catalog.prepare("SELECT id, path, status FROM documents").unwrap();
    let rows: Vec<(i64, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for (id, path, status) in rows {
        let mut chunks = catalog
            .prepare("SELECT text FROM chunks WHERE document_id = ?1 ORDER BY ordinal")
            .unwrap();
        let texts: Vec<String> = chunks
            .query_map([id], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        documents.insert(path, (status, texts));
    }
    documents
}

/// The path and text of the best hit for each file's code word.
fn top_hits(lib: &Path, folder: &Folder) -> Vec<(String, Option<(String, String)>)> {
    let library = open(lib);
    folder
        .files
        .keys()
        .map(|&file| {
            let code = Folder::code(file);
            let top = library
                .search(&code, &SearchOptions::default())
                .unwrap()
                .into_iter()
                .next()
                .map(|hit| (hit.passage.path, hit.passage.text));
            (code, top)
        })
        .collect()
}

#[test]
fn random_kills_of_add_on_a_changing_folder_never_break_the_library() {
    let seed = env_number("QUARRY_TORTURE_SEED", DEFAULT_SEED);
    let wanted = env_number("QUARRY_TORTURE_KILLS", DEFAULT_KILLS as u64) as usize;
    let mut rng = SmallRng::seed_from_u64(seed);
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    let mut folder = Folder {
        dir: tmp.path().join("notes"),
        files: BTreeMap::new(),
        next_file: 0,
    };
    for _ in 0..3 {
        folder.change(&mut rng);
    }

    // Kill moments are drawn between a fifth of and 1.3 times how long the
    // last run of the same kind (into a library, from none) took to finish:
    // from the process's start (its first second loads the embedder) to its
    // last write, and now and then after its end, which keeps the estimate
    // current.
    let mut last_run = [Duration::from_secs(3), Duration::from_secs(10)];
    let (mut kills, mut kills_after_writing, mut finished, mut fresh_starts) = (0, 0, 0, 0);
    let mut round = 0;
    while kills < wanted {
        round += 1;
        assert!(
            round <= 4 * wanted + 10,
            "only {kills} of {round} rounds were killed mid-run"
        );
        folder.change(&mut rng);
        let fresh = rng.random_bool(0.1);
        if fresh {
            let _ = std::fs::remove_dir_all(&lib);
            fresh_starts += 1;
        }
        let before = catalog_generation(&lib);
        let started = Instant::now();
        let mut child = start_add(&lib, &folder.dir);
        let kill_at = last_run[fresh as usize].mul_f64(rng.random_range(0.2..1.3));
        while started.elapsed() < kill_at && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
            if catalog_generation(&lib) > before {
                kills_after_writing += 1;
            }
        } else {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "round {round}: add failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            last_run[fresh as usize] = started.elapsed();
            finished += 1;
        }
        assert_consistent(&lib);
    }

    // One run to the end, then a clean ingest of the same folder.
    let output = start_add(&lib, &folder.dir).wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_consistent(&lib);
    let clean = tmp.path().join("clean");
    let output = start_add(&clean, &folder.dir).wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let (tortured, expected) = (contents(&lib), contents(&clean));
    assert_eq!(
        tortured.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "documents differ from a clean ingest"
    );
    assert_eq!(tortured, expected, "chunks differ from a clean ingest");
    assert_eq!(expected.len(), folder.files.len());
    let hits = top_hits(&lib, &folder);
    assert_eq!(
        hits,
        top_hits(&clean, &folder),
        "top hits differ from a clean ingest"
    );
    for (code, top) in &hits {
        let (_, text) = top.as_ref().unwrap_or_else(|| panic!("nothing found for {code}"));
        assert!(
            text.contains(code.as_str()),
            "{code}'s top hit is another file's: {text}"
        );
    }
    eprintln!(
        "torture: seed {seed}: {kills} kills ({kills_after_writing} after the run had written to the \
         catalog) in {round} rounds ({finished} runs finished before their kill moment, {fresh_starts} \
         from no library); every library consistent after each; the final add equals a clean ingest of \
         {} files",
        folder.files.len()
    );
}
