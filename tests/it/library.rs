//! Properties: a paraphrase finds its document through the dense retriever
//! and a part number through the lexical one; re-adding unchanged files
//! embeds nothing; modified and deleted files are reflected in every store;
//! BM25 scores each chunk with its neighbours, the chunk holding the words
//! first; bad files fail with reasons while the rest index; a reopened library gives
//! the same results; a library of another embedder opens, says so, and is
//! re-embedded on request, and so does one whose vectors were made at
//! another precision; searches run while another thread ingests.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use quarry_core::{Library, LibraryError, Outcome, SearchHit, SearchOptions, TextDocument};
use quarry_embed::{Embedder, SentenceEncoder};

use crate::support::{
    add, copy_model_files, embedder, fixture, indexed_corpus, int8_embedder, model_dir, open, write,
};

fn search(library: &Library, query: &str) -> Vec<SearchHit> {
    library
        .search(
            query,
            &SearchOptions {
                k: 5,
                ..Default::default()
            },
        )
        .unwrap()
}

/// (chunk id, fused score) of the top hits: what "the same results" means.
fn ranking(library: &Library, query: &str) -> Vec<(u64, f32)> {
    search(library, query)
        .iter()
        .map(|h| (h.passage.chunk_id, h.scores.score))
        .collect()
}

fn file_name(hit: &SearchHit) -> &str {
    Path::new(&hit.passage.path)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
}

#[test]
fn paraphrase_wins_by_dense_and_part_number_by_lexical() {
    let corpus = indexed_corpus();
    let (library, report) = (&corpus.library, &corpus.report);
    assert_eq!((report.added, report.failed), (7, 0), "{:#?}", report.files);

    // No word shared with "A worn seal causes a slow drip beneath the pump
    // housing" (nor with any other passage): only meaning connects them.
    let hits = search(library, "Why is liquid leaking underneath the unit?");
    let top = &hits[0];
    assert_eq!(
        (file_name(top), top.passage.page),
        ("manual.pdf", Some(2)),
        "{hits:#?}"
    );
    assert_eq!(top.scores.dense_rank, Some(1), "the dense retriever found it");
    assert_eq!(top.scores.lexical_rank, None, "and not the lexical one");

    // A bare part number: the lexical retriever finds it, and the similar
    // ZX-4471-C in the parts list does not outrank it.
    let hits = search(library, "ZX-4417-B");
    let top = &hits[0];
    assert_eq!(
        (file_name(top), top.passage.page),
        ("manual.pdf", Some(2)),
        "{hits:#?}"
    );
    assert_eq!(top.scores.lexical_rank, Some(1), "{hits:#?}");
    assert!(top.passage.text.contains("ZX-4417-B"));

    // Each format is searchable and cites its position.
    for (query, file) in [
        (
            "which bicycle introduced the chain-driven rear wheel",
            "bicycles.html",
        ),
        ("when do tomato seedlings go outside", "garden.txt"),
        ("how long is the sourdough loaf baked covered", "bread.md"),
        ("how much did the Lisbon office cut its emissions", "report.docx"),
        ("split a CSV line into fields", "csv.rs"),
    ] {
        let hits = search(library, query);
        assert_eq!(file_name(&hits[0]), file, "{query}: {hits:#?}");
    }
    let bread = &search(library, "oven temperature for the loaf")[0];
    // The short recipe is one chunk; a chunk's section is the one it starts in.
    assert_eq!(bread.passage.section.as_deref(), Some("Sourdough"));
    // The span points into the stored document text.
    let doc = library
        .read()
        .documents()
        .unwrap()
        .into_iter()
        .find(|d| d.path == bread.passage.path)
        .unwrap();
    let text = library.read().document_text(doc.id).unwrap().unwrap().text;
    assert_eq!(&text[bread.passage.start..bread.passage.end], bread.passage.text);
}

#[test]
fn lexical_scores_each_chunk_with_its_neighbours() {
    // Six paragraphs of ~160 word pieces: each is a chunk of its own, and
    // the sentence that matters opens it, out of reach of the next chunk's
    // overlap. Each chunk's context is three chunks wide, shifted inwards at
    // the ends: chunks 0 and 1 see 0-2, chunk 2 sees 1-3, chunk 3 sees 2-4,
    // chunks 4 and 5 see 3-5.
    let paragraph = |opening: &str, topic: &str| {
        let mut sentences = vec![opening.to_string()];
        sentences.extend((1..=9).map(|i| {
            format!(
                "Note {i} on the {topic} keeps this paragraph long enough to stand as a chunk of its own."
            )
        }));
        sentences.join(" ")
    };
    let openings = [
        "The logger housing is painted grey.",
        "Solar panels face south.",
        "The mast is guyed at three points.",
        "Each thermocouple is mounted on the north mast.",
        "Batteries are swapped every spring.",
        "The gate code changes yearly.",
    ];
    let station = openings
        .iter()
        .enumerate()
        .map(|(i, opening)| paragraph(opening, &format!("part {i}")))
        .collect::<Vec<_>>()
        .join("\n\n");
    let documents = vec![
        TextDocument {
            key: "station".into(),
            title: None,
            text: station,
        },
        TextDocument {
            key: "garden".into(),
            title: None,
            text: paragraph("Tomatoes go outside after the last frost.", "garden"),
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let library = open(dir.path());
    let report = library
        .add_texts(documents, &|_| {}, &AtomicBool::new(false))
        .unwrap();
    assert_eq!((report.added, report.failed), (2, 0), "{:#?}", report.files);

    // Which paragraphs the lexical hits are, by the opening each holds.
    let lexical = |library: &Library, query: &str| library.candidates(query, 10).unwrap().lexical;
    let paragraphs = |library: &Library, hits: &[(u64, f32)]| -> Vec<usize> {
        hits.iter()
            .map(|(id, _)| {
                let passage = library.read().chunks(&[*id]).unwrap().pop().unwrap();
                assert_eq!(passage.path, "station", "nothing from the garden");
                let found: Vec<usize> = (0..openings.len())
                    .filter(|&i| passage.text.contains(openings[i]))
                    .collect();
                assert_eq!(found.len(), 1, "one paragraph per chunk: {}", passage.text);
                found[0]
            })
            .collect()
    };
    // A word only chunk 3 holds: chunk 3 first, then exactly the chunks whose
    // windows reach it (2, 4, 5), none of which holds the word itself.
    let hits = lexical(&library, "thermocouple");
    let found = paragraphs(&library, &hits);
    assert_eq!(found[0], 3, "{found:?}");
    let mut neighbours = found[1..].to_vec();
    neighbours.sort();
    assert_eq!(neighbours, [2, 4, 5]);
    assert!(hits[0].1 > hits[1].1, "{hits:?}");
    // A word only the first chunk holds: chunks 0 and 1, nothing beyond.
    assert_eq!(paragraphs(&library, &lexical(&library, "logger")), [0, 1]);

    // A question of stop words and query syntax only matches nothing, and is
    // no error.
    assert!(lexical(&library, "the -: ( \" AND").is_empty());

    // Deleting the index makes the library rebuild it from the catalog alone
    // (what every library does on the first open after a lexical schema
    // change); it finds the same.
    drop(library);
    std::fs::remove_dir_all(dir.path().join("lexical")).unwrap();
    assert_eq!(lexical(&open(dir.path()), "thermocouple"), hits);
}

#[test]
fn incremental_updates_and_removals_reach_every_store() {
    let corpus = indexed_corpus();
    let (docs, lib_dir, library) = (&corpus.docs, &corpus.lib_dir, corpus.library);

    let again = add(&library, docs);
    assert_eq!(
        (again.unchanged, again.chunks_embedded),
        (7, 0),
        "{:#?}",
        again.files
    );

    // Touch without changing content: still unchanged (hash check), nothing embedded.
    let garden = docs.join("garden.txt");
    let content = std::fs::read_to_string(&garden).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&garden, &content).unwrap();
    let touched = add(&library, docs);
    assert_eq!((touched.unchanged, touched.chunks_embedded), (7, 0));

    // Modify: the old text is gone from both retrievers, the new one found.
    write(
        &garden,
        "Garlic cloves are planted in October, pointed end up, ten centimetres apart.\n",
    );
    let modified = add(&library, docs);
    assert_eq!(modified.updated, 1);
    assert_eq!(modified.chunks_embedded, 1);
    let hits = search(&library, "tomato seedlings frost");
    assert!(
        hits.iter().all(|h| !h.passage.text.contains("Tomato")),
        "stale text still found: {hits:#?}"
    );
    assert_eq!(
        file_name(&search(&library, "when is garlic planted")[0]),
        "garden.txt"
    );

    // Delete: gone from the catalog and from search results.
    std::fs::remove_file(docs.join("bicycles.html")).unwrap();
    let after_delete = add(&library, docs);
    assert_eq!(after_delete.removed, 1);
    let hits = search(&library, "penny-farthing safety bicycle Rover");
    assert!(hits.iter().all(|h| file_name(h) != "bicycles.html"));
    assert!(library
        .read()
        .documents()
        .unwrap()
        .iter()
        .all(|d| !d.path.ends_with("bicycles.html")));

    // Explicit removal of a folder's file.
    let removed = library.remove(&[docs.join("bread.md")]).unwrap();
    assert_eq!(removed.removed, 1);
    assert!(search(&library, "sourdough starter")
        .iter()
        .all(|h| file_name(h) != "bread.md"));

    // Reopen from disk: same results, same documents.
    let before = ranking(&library, "impeller seal");
    let info = library.info().unwrap();
    drop(library);
    let reopened = open(lib_dir);
    let after = ranking(&reopened, "impeller seal");
    assert_eq!(before, after);
    let info2 = reopened.info().unwrap();
    assert_eq!((info.documents, info.chunks), (info2.documents, info2.chunks));
    assert_eq!(info2.lexical_generation, Some(info2.generation));

    // Derived indexes deleted from disk are rebuilt from the catalog.
    drop(reopened);
    std::fs::remove_dir_all(lib_dir.join("lexical")).unwrap();
    std::fs::remove_dir_all(lib_dir.join("dense")).unwrap();
    let rebuilt = open(lib_dir);
    let again = ranking(&rebuilt, "impeller seal");
    assert_eq!(before, again);
}

#[test]
fn bad_files_fail_with_reasons_while_the_rest_index() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mixed");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["manual.pdf", "encrypted.pdf", "scanned.pdf", "bomb.docx"] {
        std::fs::copy(fixture(f), dir.join(f)).unwrap();
    }
    let manual = std::fs::read(fixture("manual.pdf")).unwrap();
    std::fs::write(dir.join("corrupt.pdf"), &manual[..manual.len() / 2]).unwrap();
    std::fs::write(dir.join("empty.txt"), b"").unwrap();
    std::fs::write(dir.join("photo.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01").unwrap();
    std::fs::write(dir.join("data.bin"), [0u8, 159, 146, 150, 0, 1, 2, 3]).unwrap();
    write(
        &dir.join("ok.txt"),
        "The boiler pressure should read between one and two bar.",
    );
    write(&dir.join(".hidden/secret.txt"), "hidden folders are skipped");

    let library = open(&tmp.path().join("lib"));
    let report = add(&library, &dir);
    let reason = |name: &str| -> String {
        let f = report
            .files
            .iter()
            .find(|f| f.path.ends_with(name))
            .unwrap_or_else(|| panic!("{name} has no outcome"));
        assert_eq!(f.outcome, Outcome::Failed, "{name}");
        f.error.clone().unwrap()
    };
    assert!(reason("encrypted.pdf").contains("encrypted"));
    assert!(reason("bomb.docx").contains("zip bomb"));
    assert!(reason("corrupt.pdf").contains("corrupt"));
    assert!(reason("empty.txt").contains("empty"));
    // A picture is read by OCR; this one is cut short, and tesseract says so.
    assert!(
        reason("photo.png").contains("OCR failed"),
        "{}",
        reason("photo.png")
    );
    assert!(reason("data.bin").contains("not a document"));
    // The scan is read by OCR.
    assert_eq!((report.added, report.failed), (3, 6), "{:#?}", report.files);
    assert!(report.files.iter().all(|f| !f.path.contains(".hidden")));

    // Failures are remembered with their reasons, and the good files search.
    let docs = library.read().documents().unwrap();
    let encrypted = docs.iter().find(|d| d.path.ends_with("encrypted.pdf")).unwrap();
    assert!(encrypted.error.as_deref().unwrap().contains("encrypted"));
    assert_eq!(file_name(&search(&library, "boiler pressure")[0]), "ok.txt");

    // A missing input is reported, not fatal.
    let missing = library
        .add(
            &[tmp.path().join("nope"), dir.join("ok.txt")],
            &|_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!((missing.failed, missing.unchanged), (1, 1));
}

#[test]
#[cfg(unix)]
fn unreadable_folder_is_reported_and_the_rest_indexes() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tree");
    write(
        &dir.join("readable/a.txt"),
        "Readable notes about lighthouse keepers.",
    );
    write(&dir.join("locked/b.txt"), "You cannot read me.");
    let locked = dir.join("locked");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read_dir(&locked).is_err() {
        let library = open(&tmp.path().join("lib"));
        let report = add(&library, &dir);
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(report.added, 1);
        let failed = report
            .files
            .iter()
            .find(|f| f.outcome == Outcome::Failed)
            .unwrap();
        assert!(
            failed.error.as_deref().unwrap().contains("cannot read folder"),
            "{failed:?}"
        );
        return;
    }
    // Root reads everything (CI runs as root): run the real CLI as an
    // unprivileged user, for whom the folder really is unreadable.
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    mode(tmp.path(), 0o755);
    mode(&dir, 0o755);
    let lib = tmp.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    mode(&lib, 0o777);
    // The binary and model are copied here, so `nobody` can reach them
    // wherever the repository lives.
    let binary = tmp.path().join("quarry");
    std::fs::copy(env!("CARGO_BIN_EXE_quarry"), &binary).unwrap();
    let model = tmp.path().join("model");
    copy_model_files(
        &model,
        &[
            "config.json",
            "tokenizer.json",
            "model.safetensors",
            "sentence_bert_config.json",
            "modules.json",
            "1_Pooling/config.json",
        ],
    );
    mode(&model, 0o755);
    mode(&model.join("1_Pooling"), 0o755);
    let output = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(&binary)
        .args(["--json", "--library"])
        .arg(&lib)
        .arg("--embedder")
        .arg(&model)
        .arg("add")
        .arg(&dir)
        .env("HOME", tmp.path())
        .output()
        .expect("runuser (util-linux) runs the CLI as nobody");
    mode(&locked, 0o755);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["added"], 1, "{report}");
    let failed = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["outcome"] == "failed")
        .unwrap();
    assert!(
        failed["error"].as_str().unwrap().contains("cannot read folder"),
        "{failed}"
    );
}

/// A genuinely different BERT: MiniLM cut to its first three layers.
fn three_layer_model(dir: &Path) {
    let src = model_dir();
    copy_model_files(
        dir,
        &[
            "tokenizer.json",
            "sentence_bert_config.json",
            "modules.json",
            "1_Pooling/config.json",
        ],
    );
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(src.join("config.json")).unwrap()).unwrap();
    config["num_hidden_layers"] = 3.into();
    std::fs::write(dir.join("config.json"), serde_json::to_vec(&config).unwrap()).unwrap();
    let tensors =
        candle_core::safetensors::load(src.join("model.safetensors"), &candle_core::Device::Cpu).unwrap();
    let kept: std::collections::HashMap<String, candle_core::Tensor> = tensors
        .into_iter()
        .filter(|(name, _)| {
            !["layer.3.", "layer.4.", "layer.5."]
                .iter()
                .any(|l| name.contains(l))
        })
        .collect();
    candle_core::safetensors::save(&kept, dir.join("model.safetensors")).unwrap();
}

#[test]
fn another_embedder_is_detected_and_reembedding_fixes_it() {
    let corpus = indexed_corpus();
    let lib_dir = &corpus.lib_dir;
    drop(corpus.library);
    let small_dir = corpus.tmp.path().join("minilm-3-layers");
    three_layer_model(&small_dir);
    let small = Arc::new(SentenceEncoder::load(&small_dir).unwrap());
    assert_ne!(
        small.identity().weights_sha256,
        embedder().identity().weights_sha256
    );

    let library = Library::open(lib_dir, small.clone()).expect("a library of another embedder still opens");
    let err = library
        .search("impeller seal", &SearchOptions::default())
        .unwrap_err();
    assert!(matches!(err, LibraryError::EmbedderMismatch { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("all-MiniLM-L6-v2") && msg.contains("quarry reembed"),
        "{msg}"
    );
    // Listing documents still works.
    assert_eq!(library.read().documents().unwrap().len(), 7);

    let count = library.reembed(&|_, _| {}).unwrap();
    assert_eq!(count, library.info().unwrap().chunks);
    let hits = library
        .search("impeller seal replacement part", &SearchOptions::default())
        .unwrap();
    assert_eq!(file_name(&hits[0]), "manual.pdf");
    drop(library);
    // And the original embedder now sees the mismatch the other way round.
    assert!(open(lib_dir).info().unwrap().mismatch.is_some());
}

#[test]
fn a_library_of_another_precision_is_another_embedders_and_is_reembedded() {
    let corpus = indexed_corpus();
    let lib_dir = corpus.lib_dir.clone();
    drop(corpus.library);
    // The same weights at int8 (what QUARRY_EMBED_PRECISION=int8 loads) on
    // the f32 library.
    let int8 = int8_embedder();
    let library = Library::open(&lib_dir, int8.clone()).unwrap();
    let f32_identity = embedder().identity().clone();
    assert_eq!(library.info().unwrap().mismatch, Some(f32_identity.clone()));
    let err = library
        .search("impeller seal", &SearchOptions::default())
        .unwrap_err();
    assert!(matches!(err, LibraryError::EmbedderMismatch { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("int8") && msg.contains("f32") && msg.contains("quarry reembed"),
        "{msg}"
    );
    // Adding would mix int8 vectors into an f32 library: refused too.
    let more = corpus.tmp.path().join("more.txt");
    write(
        &more,
        "A note about the impeller seal and its replacement schedule.",
    );
    let refused = library
        .add(std::slice::from_ref(&more), &|_| {}, &AtomicBool::new(false))
        .unwrap_err();
    assert!(matches!(refused, LibraryError::EmbedderMismatch { .. }));

    library.reembed(&|_, _| {}).unwrap();
    assert_eq!(library.info().unwrap().mismatch, None);
    let hits = library
        .search("impeller seal replacement part", &SearchOptions::default())
        .unwrap();
    assert_eq!(file_name(&hits[0]), "manual.pdf");
    // The dense dump now names the int8 vectors it holds.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lib_dir.join("dense/CURRENT.json")).unwrap()).unwrap();
    assert_eq!(manifest["embedder"], int8.identity().fingerprint());
    drop(library);
    // And back at f32, the library asks for re-embedding the other way.
    assert_eq!(
        Library::open(&lib_dir, embedder())
            .unwrap()
            .info()
            .unwrap()
            .mismatch,
        Some(int8.identity().clone())
    );
}

#[test]
fn search_runs_while_another_thread_ingests() {
    let corpus = indexed_corpus();
    let library = Arc::new(corpus.library);
    let more = corpus.tmp.path().join("more");
    for i in 0..40 {
        write(
            &more.join(format!("note{i:02}.txt")),
            &format!("Meeting note {i}: the committee discussed budget line {i} and the roof repairs of building {i}."),
        );
    }
    let ingesting = {
        let library = library.clone();
        std::thread::spawn(move || library.add(&[more], &|_| {}, &AtomicBool::new(false)).unwrap())
    };
    let mut searches = 0;
    while !ingesting.is_finished() || searches == 0 {
        let hits = search(&library, "impeller seal");
        assert_eq!(file_name(&hits[0]), "manual.pdf");
        searches += 1;
    }
    let report = ingesting.join().unwrap();
    assert_eq!(report.added, 40);
    assert!(search(&library, "roof repairs of building 17")
        .iter()
        .any(|h| h.passage.text.contains("building 17")));
}

#[test]
fn an_ingest_gives_way_while_a_question_is_answered_here_or_in_another_process() {
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;
    use std::time::Duration;

    let tmp = tempfile::tempdir().unwrap();
    let library = Arc::new(open(&tmp.path().join("lib")));
    let notes = |folder: &str, n: usize| {
        let dir = tmp.path().join(folder);
        for i in 0..n {
            write(
                &dir.join(format!("note{i:02}.txt")),
                &format!(
                    "Meeting note {i} of {folder}: the committee discussed the roof repairs of building {i}."
                ),
            );
        }
        dir
    };

    // In this process (the desktop app's case): a question is being
    // answered when the add begins, so the add plans, pauses, and nothing
    // is read, embedded or written until the answer is done.
    let first = notes("first", 12);
    let answering = library.answering().expect("the lock is taken");
    let second_question = library
        .answering()
        .expect("two questions may be answered at once");
    let (events_tx, events) = mpsc::channel::<&'static str>();
    let ingesting = {
        let library = library.clone();
        std::thread::spawn(move || {
            let observe = |p: quarry_core::Progress| {
                let _ = events_tx.send(match p {
                    quarry_core::Progress::Planned { .. } => "planned",
                    quarry_core::Progress::Paused { answering: true } => "paused",
                    quarry_core::Progress::Paused { answering: false } => "resumed",
                    quarry_core::Progress::Started { .. } => "started",
                    quarry_core::Progress::File { .. } => "file",
                });
            };
            library.add(&[first], &observe, &AtomicBool::new(false)).unwrap()
        })
    };
    let wait = Duration::from_secs(120);
    assert_eq!(events.recv_timeout(wait), Ok("planned"));
    assert_eq!(events.recv_timeout(wait), Ok("paused"));
    // Still held: nothing moves (a while is all a test can watch).
    assert_eq!(
        events.recv_timeout(Duration::from_millis(500)),
        Err(mpsc::RecvTimeoutError::Timeout)
    );
    drop(answering);
    assert_eq!(
        events.recv_timeout(Duration::from_millis(300)),
        Err(mpsc::RecvTimeoutError::Timeout),
        "one answer is still going on"
    );
    drop(second_question);
    assert_eq!(events.recv_timeout(wait), Ok("resumed"));
    let report = ingesting.join().unwrap();
    assert_eq!(report.added, 12);
    let rest: Vec<&str> = events.try_iter().collect();
    assert_eq!(rest.iter().filter(|&&e| e == "file").count(), 12, "{rest:?}");

    // Another process (`quarry add` beside `quarry ask`): the lock is the
    // same file, so the command line's add pauses too, and says so.
    let second = notes("second", 3);
    let answering = library.answering().unwrap();
    let mut child = crate::cli::quarry_command(library.dir(), &["add", second.to_str().unwrap(), "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map(Result::unwrap);
    let paused = stderr
        .by_ref()
        .find(|l| l.contains("paused while a question is answered"));
    assert!(paused.is_some(), "the add says it waits");
    let listed = |library: &Library| library.read().documents().unwrap().len();
    assert_eq!(
        listed(&library),
        12,
        "nothing of the second folder is indexed while the answer goes on"
    );
    drop(answering);
    let rest: Vec<String> = stderr.collect();
    assert!(child.wait().unwrap().success(), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("indexing goes on")), "{rest:?}");
    assert_eq!(listed(&library), 15);
}
