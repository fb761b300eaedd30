//! [`Library::doctor`]: each part of a library checked against the
//! catalog, and what is derived from it repaired. The catalog is the source
//! of truth: if SQLite finds it damaged, that is reported and nothing is
//! rebuilt from it. The lexical index and the dense graph are compared with
//! it chunk by chunk (the graph by searching for every chunk's own vector)
//! and rebuilt from it when they differ, or when they were found damaged as
//! the library opened.

use serde::Serialize;

use super::{lexical, lock, Library, LibraryResult};

/// How a part of the library was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Sound,
    /// It was not sound and is now: rebuilt from the catalog.
    Repaired,
    /// It is not sound and cannot be repaired here.
    Damaged,
}

/// One part of the library and how it was found, in words.
#[derive(Debug, Clone, Serialize)]
pub struct PartHealth {
    pub part: &'static str,
    pub health: Health,
    pub detail: String,
}

impl Library {
    /// Check the catalog (SQLite's full integrity check), then the lexical
    /// index and the dense graph against it, repairing those two from the
    /// catalog where needed; the catalog is never written. A lexical index
    /// another process is writing is reported as busy (an error), not
    /// touched.
    pub fn doctor(&self) -> LibraryResult<Vec<PartHealth>> {
        super::explain_storage(&self.dir, self.doctor_here())
    }

    fn doctor_here(&self) -> LibraryResult<Vec<PartHealth>> {
        let (problems, documents, chunk_ids) = {
            let reader = lock(&self.reader);
            (
                reader.integrity_problems()?,
                reader.documents()?.len(),
                reader.chunk_ids()?,
            )
        };
        if !problems.is_empty() {
            let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
            return Ok(vec![PartHealth {
                part: "catalog",
                health: Health::Damaged,
                detail: format!(
                    "SQLite's integrity check found {} problem(s): {}. Nothing was rebuilt from it; restore \
                     catalog.sqlite from a backup, or move the library folder aside and add your documents again",
                    problems.len(),
                    shown.join("; ")
                ),
            }]);
        }
        let mut parts = vec![PartHealth {
            part: "catalog",
            health: Health::Sound,
            detail: format!(
                "{documents} documents, {} chunks; SQLite's integrity check passed",
                chunk_ids.len()
            ),
        }];

        let lexical_ids = self.lexical.chunk_ids()?;
        parts.push(
            if lexical_ids == chunk_ids && self.lexical.recreated().is_none() {
                PartHealth {
                    part: "lexical index",
                    health: Health::Sound,
                    detail: format!("holds the catalog's {} chunks", chunk_ids.len()),
                }
            } else {
                let mut writer = self.lexical.writer()?;
                let (added, removed) = lexical::make_equal(&self.lexical, &lock(&self.writer), &mut writer)?;
                let why = match self.lexical.recreated() {
                    Some(why) => format!("recreated when the library opened because {why}; "),
                    None => String::new(),
                };
                PartHealth {
                    part: "lexical index",
                    health: Health::Repaired,
                    detail: format!("{why}{added} chunks added from the catalog, {removed} removed"),
                }
            },
        );

        let unreachable = self.dense.unreachable(&lock(&self.reader))?;
        parts.push(match (&self.dense_rebuilt_at_open, unreachable.len()) {
            (None, 0) => PartHealth {
                part: "dense index",
                health: Health::Sound,
                detail: format!(
                    "finds each of the catalog's {} chunks by its vector",
                    chunk_ids.len()
                ),
            },
            (damaged, missing) => {
                self.dense
                    .compact_and_save(self.embedder.identity(), &lock(&self.reader), true)?;
                let still = self.dense.unreachable(&lock(&self.reader))?;
                let why = match damaged {
                    Some(why) => format!("its dump was damaged ({why})"),
                    None => format!("{missing} chunks could not be found by their vectors"),
                };
                PartHealth {
                    part: "dense index",
                    health: if still.is_empty() {
                        Health::Repaired
                    } else {
                        Health::Damaged
                    },
                    detail: match still.len() {
                        0 => format!("{why}; rebuilt from the catalog and saved"),
                        n => format!("{why}; rebuilt from the catalog, {n} chunks are still not found"),
                    },
                }
            }
        });
        Ok(parts)
    }
}
