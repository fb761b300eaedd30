//! Conversations and their turns, kept in the catalog beside the documents.
//!
//! A turn stores the question, the answer text and the whole answer record
//! (citations with their passages' text, timings) as JSON written by the
//! answering layer: a citation stays readable after its document changes
//! or leaves the library.

use rusqlite::params;

use crate::{Catalog, CatalogReader, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRow {
    pub id: i64,
    pub title: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub turns: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnRow {
    pub id: i64,
    pub conversation_id: i64,
    pub question: String,
    pub answer: String,
    /// The answer record as the answering layer serialised it.
    pub record: String,
    pub created_at: i64,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl CatalogReader {
    /// Newest first.
    pub fn conversations(&self) -> StoreResult<Vec<ConversationRow>> {
        self.conversation_rows("", [])
    }

    pub fn conversation(&self, id: i64) -> StoreResult<Option<ConversationRow>> {
        Ok(self.conversation_rows("WHERE c.id = ?1", [id])?.pop())
    }

    fn conversation_rows<P: rusqlite::Params>(
        &self,
        filter: &str,
        params: P,
    ) -> StoreResult<Vec<ConversationRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT c.id, c.title, c.created_at, c.updated_at,
                    (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id)
             FROM conversations c {filter} ORDER BY c.updated_at DESC, c.id DESC"
        ))?;
        let rows = stmt.query_map(params, |r| {
            Ok(ConversationRow {
                id: r.get(0)?,
                title: r.get(1)?,
                created_at: r.get(2)?,
                updated_at: r.get(3)?,
                turns: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A conversation's turns, oldest first.
    pub fn turns(&self, conversation_id: i64) -> StoreResult<Vec<TurnRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, conversation_id, question, answer, record, created_at
             FROM turns WHERE conversation_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([conversation_id], |r| {
            Ok(TurnRow {
                id: r.get(0)?,
                conversation_id: r.get(1)?,
                question: r.get(2)?,
                answer: r.get(3)?,
                record: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Catalog {
    pub fn create_conversation(&self, title: &str) -> StoreResult<i64> {
        let now = unix_now();
        self.conn().execute(
            "INSERT INTO conversations(title, created_at, updated_at) VALUES (?1, ?2, ?2)",
            params![title, now],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Append a turn; returns its id.
    pub fn append_turn(
        &self,
        conversation_id: i64,
        question: &str,
        answer: &str,
        record: &str,
    ) -> StoreResult<i64> {
        let now = unix_now();
        self.conn().execute(
            "INSERT INTO turns(conversation_id, question, answer, record, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![conversation_id, question, answer, record, now],
        )?;
        let id = self.conn().last_insert_rowid();
        self.conn().execute(
            "UPDATE conversations SET updated_at = ?2 WHERE id = ?1",
            params![conversation_id, now],
        )?;
        Ok(id)
    }

    /// Delete a conversation and its turns; false when there was none.
    pub fn delete_conversation(&self, id: i64) -> StoreResult<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM conversations WHERE id = ?1", [id])?
            > 0)
    }
}
