//! Properties: a long-lived library (the desktop app keeps one open for
//! days) holds its memory flat under a bounded loop of mixed work. Each
//! cycle changes a few files of a folder that stays between 8 and 24 files,
//! adds the folder, removes one file by name now and then, and searches.
//! The loop runs alone in a child process, so its resident memory is its
//! own: measured after a warm-up (half the run, at least 10 cycles) and at
//! the end, it must not grow by more than a quarter plus 16 MiB. (With a
//! warm-up of a fifth, 30-second runs grew 9–34% between the two, before
//! and after the encoder changed, and one CI run failed: the allocator's
//! arenas and tantivy's segments are still settling six seconds in. The
//! 30-minute run, `scripts/soak 30`, is the evidence of a plateau.)
//! `QUARRY_SOAK_SECONDS` sets the length (30 s in the suite;
//! `scripts/soak` runs 30 minutes).

use std::path::Path;
use std::time::{Duration, Instant};

use quarry_core::SearchOptions;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::support::{add, env_number, open, run_test_as_child, write};

const SECONDS: &str = "QUARRY_SOAK_SECONDS";
const CHILD_DIR: &str = "QUARRY_SOAK_DIR";

/// This process's resident memory, KiB (`VmRSS`).
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

fn note(folder: &Path, file: usize, version: usize) {
    write(
        &folder.join(format!("log{file:02}.txt")),
        &format!(
            "Log {file}, revision {version}: the ferry to island {file} left at {version} past seven; \
             the crew checked the life jackets and the radio.\n\n\
             Cargo of log {file}: crates of apples, a tractor part and {version} sacks of flour.\n"
        ),
    );
}

#[test]
#[ignore = "the child process of the soak test, which runs it with its environment"]
fn soak_child() {
    let (Ok(dir), Ok(seconds)) = (std::env::var(CHILD_DIR), std::env::var(SECONDS)) else {
        eprintln!("soak_child: run by the soak test only ({CHILD_DIR} is not set)");
        return;
    };
    let run = Duration::from_secs(seconds.parse().unwrap());
    let dir = Path::new(&dir);
    let (folder, lib) = (dir.join("logs"), dir.join("lib"));
    let mut rng = SmallRng::seed_from_u64(20_261_207);
    let mut present: Vec<usize> = (0..12).collect();
    for &f in &present {
        note(&folder, f, 0);
    }
    let library = open(&lib);
    let start_kib = resident_kib();
    let started = Instant::now();
    let (mut cycles, mut adds, mut removes, mut searches) = (0u64, 0u64, 0u64, 0u64);
    let mut warm_kib = None;
    while started.elapsed() < run || warm_kib.is_none() {
        cycles += 1;
        for _ in 0..rng.random_range(1..=3) {
            let file = rng.random_range(0..24);
            if !present.contains(&file) {
                present.push(file);
            }
            note(&folder, file, cycles as usize);
        }
        if present.len() > 8 && rng.random_bool(0.3) {
            let file = present.swap_remove(rng.random_range(0..present.len()));
            let path = folder.join(format!("log{file:02}.txt"));
            std::fs::remove_file(&path).unwrap();
            library.remove(&[path]).unwrap();
            removes += 1;
        }
        let report = add(&library, &folder);
        assert_eq!(report.failed, 0, "{report:?}");
        adds += 1;
        for query in ["ferry to the island", "sacks of flour", "life jackets radio"] {
            assert!(!library
                .search(query, &SearchOptions::default())
                .unwrap()
                .is_empty());
            searches += 1;
        }
        if warm_kib.is_none() && cycles >= 10 && started.elapsed() >= run / 2 {
            warm_kib = Some(resident_kib());
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "seconds": started.elapsed().as_secs(),
            "cycles": cycles,
            "adds": adds,
            "removes": removes,
            "searches": searches,
            "documents": library.info().unwrap().documents,
            "rss_start_kib": start_kib,
            "rss_warm_kib": warm_kib,
            "rss_end_kib": resident_kib(),
        })
    );
}

#[test]
fn a_long_mix_of_adds_removes_and_searches_keeps_memory_flat() {
    let seconds = env_number(SECONDS, 30);
    let tmp = tempfile::tempdir().unwrap();
    let output = run_test_as_child(
        "soak::soak_child",
        &[
            (CHILD_DIR, tmp.path().as_os_str()),
            (SECONDS, seconds.to_string().as_ref()),
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let figures: serde_json::Value = stdout
        .lines()
        .find_map(|l| l.find('{').and_then(|at| serde_json::from_str(&l[at..]).ok()))
        .unwrap_or_else(|| panic!("no figures from the soak: {stdout}"));
    eprintln!("soak: {figures}");
    let warm = figures["rss_warm_kib"].as_u64().unwrap();
    let end = figures["rss_end_kib"].as_u64().unwrap();
    assert!(figures["cycles"].as_u64().unwrap() >= 5, "{figures}");
    assert!(
        end <= warm + warm / 4 + 16 * 1024,
        "resident memory grew from {warm} KiB to {end} KiB: {figures}"
    );
}
