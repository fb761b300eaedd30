//! The catalog's tables, and the migrations that bring an older library's
//! catalog up to them.

use rusqlite::{Connection, OptionalExtension};

use crate::{StoreError, StoreResult};

/// Bump with a migration in [`migrate`] when the schema changes.
pub const SCHEMA_VERSION: i64 = 4;

/// The schema version the catalog records; 0 for a new (empty) catalog.
fn schema_version(conn: &Connection) -> StoreResult<i64> {
    let has_meta = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !has_meta {
        return Ok(0);
    }
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

pub(crate) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    // A current catalog is not written at all: opening a library must work
    // where nothing can be written (a full disk, a read-only mount).
    if schema_version(conn)? == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction()?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")?;
    let version = schema_version(&tx)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    if version < 1 {
        tx.execute_batch(
            "CREATE TABLE documents (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                path TEXT NOT NULL UNIQUE,
                format TEXT,
                title TEXT,
                status TEXT NOT NULL,
                error TEXT,
                size INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL,
                content_sha256 TEXT,
                indexed_at INTEGER NOT NULL
            );
            CREATE TABLE document_text (
                document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
                text TEXT NOT NULL,
                pages TEXT NOT NULL,
                sections TEXT NOT NULL
            );
            -- AUTOINCREMENT: chunk ids are never reused, so the derived
            -- indexes can tell a new chunk from a deleted one by id.
            CREATE TABLE chunks (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
                ordinal INTEGER NOT NULL,
                start_byte INTEGER NOT NULL,
                end_byte INTEGER NOT NULL,
                page INTEGER,
                section TEXT,
                token_count INTEGER NOT NULL,
                text TEXT NOT NULL,
                vector BLOB NOT NULL
            );
            CREATE INDEX chunks_by_document ON chunks(document_id);
            CREATE TABLE roots (path TEXT PRIMARY KEY, added_at INTEGER NOT NULL);
            INSERT OR REPLACE INTO meta(key, value) VALUES ('generation', '0');",
        )?;
    }
    if version < 2 {
        // Schema 2: conversations. Their rows never touch the generation
        // counter, which tracks only what the derived indexes derive.
        tx.execute_batch(
            "CREATE TABLE conversations (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                title TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            CREATE TABLE turns (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                question TEXT NOT NULL,
                answer TEXT NOT NULL,
                record TEXT NOT NULL,
                created_at INTEGER NOT NULL
            );
            CREATE INDEX turns_by_conversation ON turns(conversation_id, id);",
        )?;
    }
    if version < 3 {
        // Schema 3: files and folders the user removed from inside an
        // added folder, which rescans and the folder watcher skip.
        tx.execute_batch("CREATE TABLE excluded (path TEXT PRIMARY KEY);")?;
    }
    if version < 4 {
        // Schema 4: whether a chunk's text was recognised by OCR (a scan,
        // a photo), which the front ends mark. Older chunks were never OCR'd.
        tx.execute_batch("ALTER TABLE chunks ADD COLUMN ocr INTEGER NOT NULL DEFAULT 0;")?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?1)",
        [SCHEMA_VERSION.to_string()],
    )?;
    // A crash here: every step of the migration is done, none committed
    // (tests/it/failpoints.rs).
    fail::fail_point!("catalog-migrated");
    tx.commit()?;
    Ok(())
}
