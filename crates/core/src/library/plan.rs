//! Walking and planning an add: which files to look at, which catalog
//! paths vanished, and what the walk itself could not read. Files whose
//! size and modification time the catalog already holds, indexed, are
//! settled here without being read.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use quarry_store::{Catalog, DocStatus, DocumentRow, FileFacts};

use super::ingest::{AddOptions, AddReport, FileReport, Outcome};
use super::LibraryResult;

/// A file the pipeline will read, with what the catalog knew of it.
pub(super) struct Planned {
    pub(super) path: PathBuf,
    pub(super) key: String,
    pub(super) facts: FileFacts,
    pub(super) stored: Option<DocumentRow>,
    pub(super) force: bool,
}

/// The catalog key of a path: absolute, `.`/`..` resolved, symlinks kept.
pub(super) fn path_key(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Why a file whose path is not valid UTF-8 is not indexed. The catalog
/// keys documents by their path as text; a lossy key would name no file on
/// disk, so the next add would think the document vanished (and the one
/// after that add it again), and two such names could share one key.
fn not_utf8(path: &Path) -> FileReport {
    FileReport {
        path: path.to_string_lossy().to_string(),
        outcome: Outcome::Failed,
        chunks: 0,
        error: Some(
            "cannot index: the file's path is not valid UTF-8 (rename it, or its folder, to index it)".into(),
        ),
    }
}

fn is_hidden(entry: &walkdir::DirEntry) -> bool {
    entry.depth() > 0 && entry.file_name().as_encoded_bytes().starts_with(b".")
}

pub(super) fn file_facts(meta: &std::fs::Metadata) -> FileFacts {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    FileFacts {
        size: meta.len(),
        mtime_ns,
        content_sha256: None,
    }
}

/// Walk the inputs: files to look at, catalog paths that vanished, and
/// failures of the walk itself (missing inputs, unreadable folders), which
/// go straight into `report`. Folders the user named become roots.
pub(super) fn plan(
    catalog: &Catalog,
    inputs: &[PathBuf],
    options: AddOptions,
    report: &mut AddReport,
) -> LibraryResult<(Vec<Planned>, Vec<String>)> {
    let mut files: Vec<(PathBuf, std::fs::Metadata)> = Vec::new();
    let mut vanished = Vec::new();
    let mut seen = HashSet::new();
    if options.from_user {
        for input in inputs {
            catalog.include(&path_key(input).to_string_lossy())?;
        }
    }
    let excluded: Vec<PathBuf> = catalog.excluded()?.into_iter().map(PathBuf::from).collect();
    let is_excluded = |path: &Path| excluded.iter().any(|x| path.starts_with(x));
    for input in inputs {
        let key = path_key(input);
        let key_str = key.to_string_lossy().to_string();
        if is_excluded(&key) {
            continue;
        }
        if key.to_str().is_none() {
            report.push(not_utf8(&key));
            continue;
        }
        let meta = match std::fs::metadata(&key) {
            Ok(m) => m,
            Err(e) => {
                let known: Vec<String> = catalog
                    .document(&key_str)?
                    .map(|d| d.path)
                    .into_iter()
                    .chain(catalog.paths_under(&key_str)?)
                    .collect();
                if known.is_empty() {
                    report.push(FileReport {
                        path: key_str,
                        outcome: Outcome::Failed,
                        chunks: 0,
                        error: Some(format!("cannot read: {e}")),
                    });
                } else {
                    vanished.extend(known);
                }
                continue;
            }
        };
        if meta.is_file() {
            if seen.insert(key.clone()) {
                files.push((key, meta));
            }
            continue;
        }
        if options.from_user {
            catalog.add_root(&key_str)?;
        }
        let walker = walkdir::WalkDir::new(&key)
            .follow_links(false)
            .sort_by_file_name();
        for entry in walker
            .into_iter()
            .filter_entry(|e| !is_hidden(e) && !is_excluded(e.path()))
        {
            match entry {
                Ok(entry) => {
                    // Follow links to files, never to folders (no cycles).
                    let Ok(meta) = std::fs::metadata(entry.path()) else {
                        continue;
                    };
                    let temporary = entry
                        .file_name()
                        .to_str()
                        .is_some_and(quarry_parse::is_temporary_file);
                    if !meta.is_file() || temporary {
                        continue;
                    }
                    if entry.path().to_str().is_none() {
                        report.push(not_utf8(entry.path()));
                    } else if seen.insert(entry.path().to_path_buf()) {
                        files.push((entry.path().to_path_buf(), meta));
                    }
                }
                Err(e) => {
                    let path = e
                        .path()
                        .map(|p| p.to_string_lossy().to_string())
                        .unwrap_or_else(|| key_str.clone());
                    let reason = e
                        .io_error()
                        .map(|io| io.to_string())
                        .unwrap_or_else(|| e.to_string());
                    report.push(FileReport {
                        path,
                        outcome: Outcome::Failed,
                        chunks: 0,
                        error: Some(format!("cannot read folder: {reason}")),
                    });
                }
            }
        }
        for known in catalog.paths_under(&key_str)? {
            if !seen.contains(Path::new(&known)) && !Path::new(&known).exists() {
                vanished.push(known);
            }
        }
    }
    let mut plan = Vec::with_capacity(files.len());
    for (path, meta) in files {
        let key = path.to_string_lossy().to_string();
        let facts = file_facts(&meta);
        let stored = catalog.document(&key)?;
        if let Some(doc) = &stored {
            let same_stat = doc.size == facts.size && doc.mtime_ns == facts.mtime_ns;
            if same_stat && doc.status == DocStatus::Indexed && !options.force {
                report.push(FileReport {
                    path: key,
                    outcome: Outcome::Unchanged,
                    chunks: doc.chunk_count as usize,
                    error: None,
                });
                continue;
            }
            // A failed file is always tried again: the failure may have
            // been ours (a detection or parser fix in a newer Quarry),
            // and re-checking a bad file costs little.
        }
        plan.push(Planned {
            path,
            key,
            facts,
            stored,
            force: options.force,
        });
    }
    Ok((plan, vanished))
}
