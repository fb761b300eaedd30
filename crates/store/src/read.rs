//! What the catalog answers: every query, on either handle.

use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;

use crate::{
    blob_to_vector, folder_prefix, CatalogReader, ChunkRecord, DocStatus, DocumentRow, StoreError,
    StoreResult, StoredText,
};

impl CatalogReader {
    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// The write generation: bumped by every change to documents or chunks.
    pub fn generation(&self) -> StoreResult<u64> {
        Ok(self.meta("generation")?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// The embedder identity the library's vectors were made with, as the
    /// caller's type wrote it ([`Catalog::set_embedder`]).
    pub fn embedder<T: DeserializeOwned>(&self) -> StoreResult<Option<T>> {
        match self.meta("embedder")? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| StoreError::Malformed(format!("embedder identity: {e}"))),
        }
    }

    pub fn document(&self, path: &str) -> StoreResult<Option<DocumentRow>> {
        let mut rows = self.documents_where("d.path = ?1", params![path])?;
        Ok(rows.pop())
    }

    pub fn document_by_id(&self, id: i64) -> StoreResult<Option<DocumentRow>> {
        let mut rows = self.documents_where("d.id = ?1", params![id])?;
        Ok(rows.pop())
    }

    /// All documents, by path.
    pub fn documents(&self) -> StoreResult<Vec<DocumentRow>> {
        self.documents_where("1", params![])
    }

    fn documents_where(&self, condition: &str, args: impl rusqlite::Params) -> StoreResult<Vec<DocumentRow>> {
        let sql = format!(
            "SELECT d.id, d.path, d.format, d.title, d.status, d.error, d.size, d.mtime_ns,
                    d.content_sha256, (SELECT COUNT(*) FROM chunks c WHERE c.document_id = d.id),
                    (SELECT json_array_length(t.pages) FROM document_text t WHERE t.document_id = d.id),
                    (SELECT COUNT(*) FROM document_text t, json_each(t.pages) p
                      WHERE t.document_id = d.id AND json_extract(p.value, '$.ocr'))
             FROM documents d WHERE {condition} ORDER BY d.path"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(args, |r| {
                Ok(DocumentRow {
                    id: r.get(0)?,
                    path: r.get(1)?,
                    format: r.get(2)?,
                    title: r.get(3)?,
                    status: DocStatus::parse(&r.get::<_, String>(4)?),
                    error: r.get(5)?,
                    size: r.get::<_, i64>(6)? as u64,
                    mtime_ns: r.get(7)?,
                    content_sha256: r.get(8)?,
                    chunk_count: r.get::<_, i64>(9)? as u64,
                    units: r.get::<_, Option<i64>>(10)?.unwrap_or(0) as u64,
                    ocr_units: r.get::<_, i64>(11)? as u64,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Paths of documents at or below `dir`.
    pub fn paths_under(&self, dir: &str) -> StoreResult<Vec<String>> {
        let prefix = folder_prefix(dir);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path FROM documents WHERE substr(path, 1, length(?1)) = ?1")?;
        let paths = stmt
            .query_map([prefix], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(paths)
    }

    /// Folders the user added, in the order they were added.
    pub fn roots(&self) -> StoreResult<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path FROM roots ORDER BY added_at, path")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn excluded(&self) -> StoreResult<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT path FROM excluded ORDER BY path")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The stored vector of one chunk.
    pub fn chunk_vector(&self, chunk_id: u64) -> StoreResult<Option<Vec<f32>>> {
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT vector FROM chunks WHERE id = ?1",
                [chunk_id as i64],
                |r| r.get(0),
            )
            .optional()?;
        blob.map(|b| blob_to_vector(&b)).transpose()
    }

    /// What SQLite's full integrity check finds wrong (empty: nothing). It
    /// reads every page: a question for a doctor, not for every open.
    pub fn integrity_problems(&self) -> StoreResult<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows.into_iter().filter(|row| row != "ok").collect())
    }

    /// Ids of every live chunk, ascending.
    pub fn chunk_ids(&self) -> StoreResult<Vec<u64>> {
        let mut stmt = self.conn.prepare_cached("SELECT id FROM chunks ORDER BY id")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids.into_iter().map(|i| i as u64).collect())
    }

    /// (chunk id, document path) of every live chunk, ascending by id.
    pub fn chunk_documents(&self) -> StoreResult<Vec<(u64, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, d.path FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Vectors of chunks with id > `after`, ascending by id.
    pub fn vectors_after(&self, after: u64) -> StoreResult<Vec<(u64, Vec<f32>)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, vector FROM chunks WHERE id > ?1 ORDER BY id")?;
        let rows = stmt
            .query_map([after as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, blob)| Ok((id, blob_to_vector(&blob)?)))
            .collect()
    }

    /// The chunks of a document in reading order: (chunk id, start, end)
    /// byte spans in its stored text.
    pub fn chunk_spans(&self, document_id: i64) -> StoreResult<Vec<(u64, usize, usize)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, start_byte, end_byte FROM chunks WHERE document_id = ?1 ORDER BY ordinal",
        )?;
        let spans = stmt
            .query_map([document_id], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, i64>(1)? as usize,
                    r.get::<_, i64>(2)? as usize,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(spans)
    }

    /// Chunks by id with their document's facts; missing ids are skipped.
    pub fn chunks(&self, ids: &[u64]) -> StoreResult<Vec<ChunkRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.document_id, d.path, d.title, c.page, c.section, c.start_byte, c.end_byte, c.text,
                    d.format, c.ocr
             FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?1",
        )?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let row = stmt
                .query_row([id as i64], |r| {
                    Ok(ChunkRecord {
                        chunk_id: r.get::<_, i64>(0)? as u64,
                        document_id: r.get(1)?,
                        path: r.get(2)?,
                        title: r.get(3)?,
                        page: r.get(4)?,
                        section: r.get(5)?,
                        start: r.get::<_, i64>(6)? as usize,
                        end: r.get::<_, i64>(7)? as usize,
                        text: r.get(8)?,
                        unit: quarry_parse::unit_of(r.get::<_, Option<String>>(9)?.as_deref().unwrap_or("")),
                        ocr: r.get(10)?,
                    })
                })
                .optional()?;
            out.extend(row);
        }
        Ok(out)
    }

    /// A document's extracted text and positions.
    pub fn document_text(&self, document_id: i64) -> StoreResult<Option<StoredText>> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT text, pages, sections FROM document_text WHERE document_id = ?1",
                [document_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(text, pages, sections)| {
            let pages = serde_json::from_str(&pages).map_err(|e| StoreError::Malformed(e.to_string()))?;
            let sections =
                serde_json::from_str(&sections).map_err(|e| StoreError::Malformed(e.to_string()))?;
            Ok(StoredText {
                text,
                pages,
                sections,
            })
        })
        .transpose()
    }

    pub fn chunk_count(&self) -> StoreResult<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM chunks", [], |r| r.get::<_, i64>(0))? as u64)
    }
}
