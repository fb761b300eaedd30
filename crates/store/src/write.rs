//! How the catalog changes: documents, roots and exclusions, vectors.
//! Only [`Catalog`], the one writer, has these.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::{
    folder_prefix, vector_to_blob, Catalog, DocStatus, FileFacts, NewChunk, NewDocument, StoreError,
    StoreResult, WriteEffect,
};

impl Catalog {
    /// Record the identity of the embedder the library's vectors are made
    /// with (any serialisable type; read back with [`CatalogReader::embedder`]).
    pub fn set_embedder<T: Serialize>(&self, identity: &T) -> StoreResult<()> {
        let json = serde_json::to_string(identity).expect("identity serialises");
        self.conn().execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('embedder', ?1)",
            [json],
        )?;
        Ok(())
    }

    fn bump_generation(tx: &rusqlite::Transaction) -> StoreResult<u64> {
        tx.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'",
            [],
        )?;
        let g: String = tx.query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
            r.get(0)
        })?;
        g.parse().map_err(|_| StoreError::Malformed("generation".into()))
    }

    fn chunk_ids_of(tx: &rusqlite::Transaction, document_id: i64) -> StoreResult<Vec<u64>> {
        let mut stmt = tx.prepare_cached("SELECT id FROM chunks WHERE document_id = ?1")?;
        let ids = stmt
            .query_map([document_id], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids.into_iter().map(|i| i as u64).collect())
    }

    /// Atomically replace `doc`'s chunks (if any) with `chunks`.
    pub fn replace_document(&mut self, doc: &NewDocument, chunks: &[NewChunk]) -> StoreResult<WriteEffect> {
        let tx = self.conn_mut().transaction()?;
        let document_id = Self::upsert_document(
            &tx,
            doc.path,
            doc.facts,
            Some(doc.format),
            doc.title,
            DocStatus::Indexed,
            None,
        )?;
        let removed_chunks = Self::chunk_ids_of(&tx, document_id)?;
        tx.execute("DELETE FROM chunks WHERE document_id = ?1", [document_id])?;
        tx.execute(
            "INSERT OR REPLACE INTO document_text(document_id, text, pages, sections) VALUES (?1, ?2, ?3, ?4)",
            params![
                document_id,
                doc.text,
                serde_json::to_string(doc.pages).expect("pages serialise"),
                serde_json::to_string(doc.sections).expect("sections serialise"),
            ],
        )?;
        let mut added_chunks = Vec::with_capacity(chunks.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO chunks(document_id, ordinal, start_byte, end_byte, page, section, token_count, text, vector, ocr)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for c in chunks {
                insert.execute(params![
                    document_id,
                    c.ordinal as i64,
                    c.start as i64,
                    c.end as i64,
                    c.page,
                    c.section,
                    c.token_count as i64,
                    c.text,
                    vector_to_blob(c.vector),
                    c.ocr,
                ])?;
                added_chunks.push(tx.last_insert_rowid() as u64);
            }
        }
        let generation = Self::bump_generation(&tx)?;
        tx.commit()?;
        Ok(WriteEffect {
            document_id,
            removed_chunks,
            added_chunks,
            generation,
        })
    }

    /// Record that `path` failed; any stale chunks of an earlier version go.
    pub fn record_failure(
        &mut self,
        path: &str,
        facts: &FileFacts,
        format: Option<&str>,
        error: &str,
    ) -> StoreResult<WriteEffect> {
        let tx = self.conn_mut().transaction()?;
        let document_id =
            Self::upsert_document(&tx, path, facts, format, None, DocStatus::Failed, Some(error))?;
        let removed_chunks = Self::chunk_ids_of(&tx, document_id)?;
        tx.execute("DELETE FROM chunks WHERE document_id = ?1", [document_id])?;
        tx.execute("DELETE FROM document_text WHERE document_id = ?1", [document_id])?;
        let generation = Self::bump_generation(&tx)?;
        tx.commit()?;
        Ok(WriteEffect {
            document_id,
            removed_chunks,
            added_chunks: Vec::new(),
            generation,
        })
    }

    /// The content is unchanged but the file was touched: remember the new
    /// mtime so the next scan can skip it without hashing.
    pub fn touch(&self, path: &str, facts: &FileFacts) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE documents SET size = ?2, mtime_ns = ?3 WHERE path = ?1",
            params![path, facts.size as i64, facts.mtime_ns],
        )?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn upsert_document(
        tx: &rusqlite::Transaction,
        path: &str,
        facts: &FileFacts,
        format: Option<&str>,
        title: Option<&str>,
        status: DocStatus,
        error: Option<&str>,
    ) -> StoreResult<i64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        tx.execute(
            "INSERT INTO documents(path, format, title, status, error, size, mtime_ns, content_sha256, indexed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(path) DO UPDATE SET format = excluded.format, title = excluded.title,
                status = excluded.status, error = excluded.error, size = excluded.size,
                mtime_ns = excluded.mtime_ns, content_sha256 = excluded.content_sha256,
                indexed_at = excluded.indexed_at",
            params![
                path,
                format,
                title,
                status.as_str(),
                error,
                facts.size as i64,
                facts.mtime_ns,
                facts.content_sha256,
                now
            ],
        )?;
        Ok(tx.query_row("SELECT id FROM documents WHERE path = ?1", [path], |r| r.get(0))?)
    }

    /// Remove a document and its chunks; `None` if it was not in the library.
    pub fn remove_document(&mut self, path: &str) -> StoreResult<Option<WriteEffect>> {
        let tx = self.conn_mut().transaction()?;
        let Some(document_id) = tx
            .query_row("SELECT id FROM documents WHERE path = ?1", [path], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
        else {
            return Ok(None);
        };
        let removed_chunks = Self::chunk_ids_of(&tx, document_id)?;
        tx.execute("DELETE FROM documents WHERE id = ?1", [document_id])?;
        let generation = Self::bump_generation(&tx)?;
        tx.commit()?;
        Ok(Some(WriteEffect {
            document_id,
            removed_chunks,
            added_chunks: Vec::new(),
            generation,
        }))
    }

    /// Remember a folder the user added (the desktop app watches these and
    /// rescans them at start).
    pub fn add_root(&self, dir: &str) -> StoreResult<()> {
        self.conn().execute(
            "INSERT OR IGNORE INTO roots(path, added_at) VALUES (?1, strftime('%s','now'))",
            [dir],
        )?;
        Ok(())
    }

    /// Forget a folder (and any folder inside it): it is no longer watched.
    pub fn remove_root(&self, dir: &str) -> StoreResult<usize> {
        Ok(self.conn().execute(
            "DELETE FROM roots WHERE path = ?1 OR substr(path, 1, length(?2)) = ?2",
            params![dir, folder_prefix(dir)],
        )?)
    }

    /// Skip `path` (a file or folder inside a root) in later walks.
    pub fn exclude(&self, path: &str) -> StoreResult<()> {
        self.conn()
            .execute("INSERT OR IGNORE INTO excluded(path) VALUES (?1)", [path])?;
        Ok(())
    }

    /// Forget exclusions of `path` and of anything under it (the user added
    /// it again).
    pub fn include(&self, path: &str) -> StoreResult<()> {
        self.conn().execute(
            "DELETE FROM excluded WHERE path = ?1 OR substr(path, 1, length(?2)) = ?2",
            params![path, folder_prefix(path)],
        )?;
        Ok(())
    }

    /// Replace every chunk vector in one transaction (re-embedding with a
    /// new model) and record the new embedder; readers see old or new.
    pub fn replace_all_vectors(
        &mut self,
        identity: &impl Serialize,
        mut embed: impl FnMut(&[(u64, String)]) -> Result<Vec<Vec<f32>>, String>,
        batch: usize,
    ) -> StoreResult<u64> {
        let tx = self.conn_mut().transaction()?;
        let rows: Vec<(u64, String)> = {
            let mut stmt = tx.prepare("SELECT id, text FROM chunks ORDER BY id")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            rows
        };
        {
            let mut update = tx.prepare("UPDATE chunks SET vector = ?2 WHERE id = ?1")?;
            for part in rows.chunks(batch.max(1)) {
                let vectors = embed(part).map_err(StoreError::Reembed)?;
                for ((id, _), v) in part.iter().zip(vectors) {
                    update.execute(params![*id as i64, vector_to_blob(&v)])?;
                }
            }
        }
        let json = serde_json::to_string(identity).expect("identity serialises");
        tx.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('embedder', ?1)",
            [json],
        )?;
        Self::bump_generation(&tx)?;
        tx.commit()?;
        Ok(rows.len() as u64)
    }
}
