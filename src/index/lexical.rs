//! BM25 over chunk text with tantivy.
//!
//! One tantivy document per chunk: `chunk_id` (the catalog id), `title` (the
//! document's title and file name) and `text`, both English-stemmed. Each
//! commit carries the catalog generation as its payload.

use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::directory::error::LockError;
use tantivy::query::QueryParser;
use tantivy::schema::{Field, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value, STORED};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::IndexError;

/// The analyzer for titles and text: tantivy's `en_stem` plus English stop
/// words. Without stop-word removal a question's "how", "must", "the" match
/// nearly every passage, and fusion then gives that noise a full rank's
/// weight (seen here: a stop-word-only BM25 hit outranked the right dense
/// hit). Lucene/Pyserini's BM25 baselines remove stop words too.
const ANALYZER: &str = "en_stem_stop";

fn analyzer() -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser);
    match StopWordFilter::new(Language::English) {
        Some(stop) => builder
            .filter(stop)
            .filter(Stemmer::new(Language::English))
            .build(),
        None => builder.filter(Stemmer::new(Language::English)).build(),
    }
}

/// The terms BM25 sees in `text`: lowercased, stop words removed, stemmed.
/// Citation checking and the relevance test use the same analysis, so
/// "supported by a passage" means what "matched by search" means.
pub fn analyze(text: &str) -> Vec<String> {
    use tantivy::tokenizer::TokenStream;
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut terms = Vec::new();
    while stream.advance() {
        terms.push(stream.token().text.clone());
    }
    terms
}

/// Heap for the single writer: enough to batch a few thousand chunks.
const WRITER_HEAP: usize = 64 * 1024 * 1024;
/// Title matches count for less than body matches: the title repeats on
/// every chunk of a document and would otherwise drown the passage text.
const TITLE_BOOST: f32 = 0.5;

pub struct LexicalIndex {
    index: Index,
    reader: IndexReader,
    chunk_id: Field,
    title: Field,
    text: Field,
}

fn schema() -> (Schema, Field, Field, Field) {
    let mut b = Schema::builder();
    let chunk_id = b.add_u64_field(
        "chunk_id",
        NumericOptions::default().set_indexed().set_fast().set_stored(),
    );
    let stemmed = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(tantivy::schema::IndexRecordOption::WithFreqsAndPositions),
    );
    let title = b.add_text_field("title", stemmed.clone());
    let text = b.add_text_field("text", stemmed | STORED);
    (b.build(), chunk_id, title, text)
}

impl LexicalIndex {
    /// Open the index in `dir`, creating it (empty) when missing or when it
    /// was written with another schema: it is derived data.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        let (schema, chunk_id, title, text) = schema();
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let index = match Index::open_in_dir(dir) {
            Ok(index) if index.schema() == schema => index,
            Ok(_) | Err(_) if !dir.join("meta.json").exists() => Index::create_in_dir(dir, schema.clone())?,
            _ => {
                tracing::warn!(dir = %dir.display(), "lexical index unreadable or of another schema; recreating");
                let _ = std::fs::remove_dir_all(dir);
                std::fs::create_dir_all(dir).map_err(|source| IndexError::Io {
                    path: dir.to_path_buf(),
                    source,
                })?;
                Index::create_in_dir(dir, schema.clone())?
            }
        };
        // Analyzers are not persisted with the index: register on every open.
        index.tokenizers().register(ANALYZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(LexicalIndex {
            index,
            reader,
            chunk_id,
            title,
            text,
        })
    }

    /// The catalog generation of the last commit, if any.
    pub fn generation(&self) -> Result<Option<u64>, IndexError> {
        Ok(self.index.load_metas()?.payload.and_then(|p| p.parse().ok()))
    }

    /// Take the single writer lock; fails fast if another process holds it.
    pub fn writer(&self) -> Result<LexicalWriter, IndexError> {
        match self.index.writer_with_num_threads(1, WRITER_HEAP) {
            Ok(writer) => Ok(LexicalWriter {
                writer,
                chunk_id: self.chunk_id,
                title: self.title,
                text: self.text,
            }),
            Err(tantivy::TantivyError::LockFailure(LockError::LockBusy, _)) => Err(IndexError::WriterBusy),
            Err(e) => Err(e.into()),
        }
    }

    /// Every chunk id the index holds (alive documents only).
    pub fn chunk_ids(&self) -> Result<Vec<u64>, IndexError> {
        self.reader.reload()?;
        let searcher = self.reader.searcher();
        let mut ids = Vec::new();
        for segment in searcher.segment_readers() {
            let column = segment.fast_fields().u64("chunk_id")?;
            let alive = segment.alive_bitset();
            for doc in 0..segment.max_doc() {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    ids.extend(column.first(doc));
                }
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    /// BM25 top-`k`: (chunk id, score), best first.
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<(u64, f32)>, IndexError> {
        self.reader.reload()?;
        let searcher = self.reader.searcher();
        let mut parser = QueryParser::for_index(&self.index, vec![self.text, self.title]);
        parser.set_field_boost(self.title, TITLE_BOOST);
        // Lenient: user text such as `ZX-4417-B` or unbalanced quotes must
        // search, not fail to parse.
        let (query, _errors) = parser.parse_query_lenient(query);
        let top = searcher.search(&query, &TopDocs::with_limit(k.max(1)).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (score, address) in top {
            let stored: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = stored.get_first(self.chunk_id).and_then(|v| v.as_u64()) {
                out.push((id, score));
            }
        }
        Ok(out)
    }
}

pub struct LexicalWriter {
    writer: IndexWriter,
    chunk_id: Field,
    title: Field,
    text: Field,
}

impl LexicalWriter {
    pub fn add(&mut self, chunk_id: u64, title: &str, text: &str) -> Result<(), IndexError> {
        self.writer.add_document(doc!(
            self.chunk_id => chunk_id,
            self.title => title,
            self.text => text,
        ))?;
        Ok(())
    }

    pub fn delete(&mut self, chunk_id: u64) {
        self.writer
            .delete_term(Term::from_field_u64(self.chunk_id, chunk_id));
    }

    /// Make everything added so far durable, stamped with `generation`.
    pub fn commit(&mut self, generation: u64) -> Result<(), IndexError> {
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&generation.to_string());
        prepared.commit()?;
        Ok(())
    }

    pub fn clear(&mut self) -> Result<(), IndexError> {
        self.writer.delete_all_documents()?;
        Ok(())
    }
}
