//! BM25 over chunks with tantivy, each chunk scored in its neighbourhood.
//!
//! One tantivy document per chunk: `chunk_id` (the catalog id), `title` (the
//! document's title and file name), `text` (the chunk) and `context` (the
//! span of the document covering the chunk and its neighbours, three chunks
//! wide), all English-stemmed. Each commit carries the catalog generation as
//! its payload.
//!
//! Why `context`: a chunk is a slice of a document, and the words that make
//! a passage relevant are often spread over its neighbours (the claim in one
//! paragraph, the method in the next). Scored alone, chunks lost to whole
//! documents: on SciFact, BM25 over Quarry's chunks gave nDCG@10 0.641 where
//! the same analysis over whole abstracts gave 0.686 (bm25s) and Lucene
//! 0.665–0.679. Scoring the neighbourhood closes that gap while still
//! returning one chunk; a small weight on the chunk's own text makes the
//! chunk that holds the words outrank its neighbours, which share most of
//! their context. Numbers and the weights' choice: BENCHMARKS.md.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::directory::error::LockError;
use tantivy::directory::{Directory, RamDirectory};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, Term};

use crate::IndexError;

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
/// Citation checking and the relevance test use the same analysis, so a
/// word counts as the same term there as in search. (They weigh a passage's
/// own text; search also scores its neighbours, see the module header.)
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

/// The positions (in reading order) of the chunks whose span is the context
/// of the chunk at `position`, in a document of `count` chunks: three wide,
/// centred on the chunk, shifted inwards at the document's first and last
/// chunk. Equal widths keep BM25's length normalisation from favouring a
/// document's edges (the part-number test in `tests/it/library.rs` failed
/// with edge windows two chunks wide).
pub fn context_window(position: usize, count: usize) -> RangeInclusive<usize> {
    let last = count.saturating_sub(1);
    let first = position.saturating_sub(1).min(last.saturating_sub(2));
    first..=(position + 1).max(2).min(last)
}

/// Every chunk's `context` field for one document: `spans` are its chunks'
/// byte spans in `text`, in reading order; each context is the slice of
/// `text` from its window's first chunk to its last ([`context_window`]),
/// or `None` when the spans do not fit the text.
pub fn contexts<'t>(text: &'t str, spans: &[(usize, usize)]) -> Vec<Option<&'t str>> {
    (0..spans.len())
        .map(|position| {
            let window = context_window(position, spans.len());
            text.get(spans[*window.start()].0..spans[*window.end()].1)
        })
        .collect()
}

const CHUNK_ID: &str = "chunk_id";

/// Heap for the single writer: enough to batch a few thousand chunks.
const WRITER_HEAP: usize = 64 * 1024 * 1024;
/// How much a match in each field counts. The neighbourhood carries the
/// score. The chunk's own text decides between neighbours, whose windows
/// hold nearly the same words (tests/it/library.rs: the part number's own
/// chunk ranks first); SciFact's nDCG@10 moves by at most 0.005 between 0.1
/// and 0.5, and 0.25 leaves margin where windows differ in length. Title
/// matches count for less because the title repeats on every chunk of a
/// document and would otherwise drown the passage text (0.25 scored above
/// 0.5 and 0 there).
const CONTEXT_WEIGHT: f32 = 1.0;
const TEXT_WEIGHT: f32 = 0.25;
const TITLE_WEIGHT: f32 = 0.25;

#[derive(Clone, Copy)]
struct Fields {
    chunk_id: Field,
    title: Field,
    text: Field,
    context: Field,
}

impl Fields {
    fn weighted(&self) -> [(Field, f32); 3] {
        [
            (self.context, CONTEXT_WEIGHT),
            (self.text, TEXT_WEIGHT),
            (self.title, TITLE_WEIGHT),
        ]
    }
}

pub struct LexicalIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Why the index on disk was replaced by an empty one when opened, if
    /// it was (unreadable, another schema, damaged files).
    recreated: Option<String>,
    /// Read from a copy in memory: the folder cannot be written.
    read_only: bool,
}

/// Whether tantivy failed to take a lock file because the file system is
/// read-only (or the folder not ours to write).
fn cannot_write_lock(e: &IndexError) -> bool {
    match e {
        IndexError::Lexical(tantivy::TantivyError::LockFailure(LockError::IoError(io), _)) => matches!(
            io.kind(),
            std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
        ),
        _ => false,
    }
}

/// A copy in memory of the committed index in `dir`, for a library on a
/// file system that cannot be written: tantivy's reader takes a lock file
/// beside the index, which fails there. Searched as it is, never written;
/// it costs the index's size in memory.
fn in_memory_copy(dir: &Path) -> Result<Index, IndexError> {
    let io = |source| IndexError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let ram = RamDirectory::create();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let is_lock = name.to_string_lossy().ends_with(".lock");
        if is_lock || !entry.file_type().map_err(io)?.is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path()).map_err(io)?;
        ram.atomic_write(Path::new(&name), &bytes).map_err(io)?;
    }
    Ok(Index::open(ram)?)
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // Indexed for deletes, a fast field for reading hits back.
    let chunk_id = b.add_u64_field(CHUNK_ID, NumericOptions::default().set_indexed().set_fast());
    // Frequencies without positions: queries are bags of terms (see
    // `search`), so positions would only take space.
    let stemmed = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let title = b.add_text_field("title", stemmed.clone());
    let text = b.add_text_field("text", stemmed.clone());
    let context = b.add_text_field("context", stemmed);
    (
        b.build(),
        Fields {
            chunk_id,
            title,
            text,
            context,
        },
    )
}

/// Why an index on disk cannot be used as it is.
enum Unsound {
    /// Its files are damaged: recreate it.
    Damaged(String),
    /// Anything else (a file another process just replaced, no permission):
    /// reported, nothing deleted.
    Error(IndexError),
}

impl Unsound {
    /// For an index just made: no second chance, whatever is wrong.
    fn into_error(self) -> IndexError {
        match self {
            Unsound::Damaged(why) => IndexError::Lexical(tantivy::TantivyError::SystemError(why)),
            Unsound::Error(e) => e,
        }
    }
}

/// Whether tantivy's error says the index's files are damaged (rather than
/// unreachable: no permission, a full disk).
fn is_damage(e: &tantivy::TantivyError) -> bool {
    match e {
        tantivy::TantivyError::DataCorruption(_) => true,
        tantivy::TantivyError::OpenReadError(tantivy::directory::error::OpenReadError::IoError {
            io_error,
            ..
        }) => io_error.kind() == std::io::ErrorKind::InvalidData,
        _ => false,
    }
}

/// A reader of `index` once every file of its committed segments matches
/// the checksum tantivy wrote in its footer (a CRC-32 of the whole file, so
/// each open reads the index once more; not yet timed on a large library).
fn reader_if_sound(index: &Index) -> Result<IndexReader, Unsound> {
    let classify = |e: tantivy::TantivyError| match is_damage(&e) {
        true => Unsound::Damaged(e.to_string()),
        false => Unsound::Error(e.into()),
    };
    let bad = index.validate_checksum().map_err(classify)?;
    if !bad.is_empty() {
        let names: Vec<String> = bad.iter().map(|p| p.display().to_string()).collect();
        return Err(Unsound::Damaged(format!(
            "checksum mismatch in {}",
            names.join(", ")
        )));
    }
    open_reader(index).map_err(classify)
}

/// A reader of `index`, reloaded by hand (`ReloadPolicy::Manual`).
fn open_reader(index: &Index) -> tantivy::Result<IndexReader> {
    // Analyzers are not persisted with the index: register on every open.
    index.tokenizers().register(ANALYZER, analyzer());
    index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
}

/// Replace the index in `dir` by an empty one of `schema`, saying `why`:
/// derived data, which the engine refills from the catalog.
fn recreate(dir: &Path, schema: &Schema, why: &str) -> Result<Index, IndexError> {
    tracing::warn!(dir = %dir.display(), "lexical index damaged or unusable ({why}); recreating");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|source| IndexError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(Index::create_in_dir(dir, schema.clone())?)
}

impl LexicalIndex {
    /// Open the index in `dir`, creating it (empty) when missing or when it
    /// was written with another schema: it is derived data.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        let (schema, fields) = schema();
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut recreated = None;
        let index = match Index::open_in_dir(dir) {
            Ok(index) if index.schema() == schema => index,
            Ok(_) | Err(_) if !dir.join("meta.json").exists() => Index::create_in_dir(dir, schema.clone())?,
            // An error reading a sound index (no permission, a full or
            // read-only disk) deletes nothing: it is reported.
            Err(e) if !is_damage(&e) => return Err(e.into()),
            _ => {
                let why = "it was unreadable or of another schema".to_string();
                let index = recreate(dir, &schema, &why)?;
                recreated = Some(why);
                index
            }
        };
        let (index, reader, read_only) = match reader_if_sound(&index) {
            Ok(reader) => (index, reader, false),
            Err(Unsound::Damaged(why)) => {
                drop(index);
                let why = format!("it was damaged ({why})");
                let index = recreate(dir, &schema, &why)?;
                recreated = Some(why);
                let reader = reader_if_sound(&index).map_err(Unsound::into_error)?;
                (index, reader, false)
            }
            // The checksums passed (taking the lock comes after them): the
            // copy is of files just checked.
            Err(Unsound::Error(e)) if cannot_write_lock(&e) => {
                tracing::info!(dir = %dir.display(), "lexical index folder is read-only; searching a copy in memory");
                let index = in_memory_copy(dir)?;
                let reader = open_reader(&index)?;
                (index, reader, true)
            }
            Err(Unsound::Error(e)) => return Err(e),
        };
        Ok(LexicalIndex {
            index,
            reader,
            fields,
            recreated,
            read_only,
        })
    }

    /// Why the index found on disk was replaced by an empty one at open (for
    /// its caller to refill from the source), if it was.
    pub fn recreated(&self) -> Option<&str> {
        self.recreated.as_deref()
    }

    /// The catalog generation of the last commit, if any.
    pub fn generation(&self) -> Result<Option<u64>, IndexError> {
        Ok(self.index.load_metas()?.payload.and_then(|p| p.parse().ok()))
    }

    /// Take the single writer lock; fails fast if another process holds it.
    pub fn writer(&self) -> Result<LexicalWriter, IndexError> {
        if self.read_only {
            return Err(IndexError::ReadOnly);
        }
        match self.index.writer_with_num_threads(1, WRITER_HEAP) {
            Ok(writer) => Ok(LexicalWriter {
                writer,
                fields: self.fields,
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
            let column = segment.fast_fields().u64(CHUNK_ID)?;
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
    ///
    /// The query is a bag of its analysed terms, each counted as often as it
    /// occurs, as in the Lucene BM25 baselines, rather than tantivy's query
    /// language: there `ZX-4417-B` or `IL-6` would become a phrase that must
    /// match word for word, and `-` or `:` in a question would be syntax.
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<(u64, f32)>, IndexError> {
        let mut term_counts: BTreeMap<String, usize> = BTreeMap::new();
        for term in analyze(query) {
            *term_counts.entry(term).or_default() += 1;
        }
        if term_counts.is_empty() {
            return Ok(Vec::new());
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = term_counts
            .iter()
            .flat_map(|(term, &count)| {
                self.fields.weighted().map(|(field, weight)| {
                    let term =
                        TermQuery::new(Term::from_field_text(field, term), IndexRecordOption::WithFreqs);
                    let boosted: Box<dyn Query> =
                        Box::new(BoostQuery::new(Box::new(term), weight * count as f32));
                    (Occur::Should, boosted)
                })
            })
            .collect();
        self.reader.reload()?;
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(k.max(1)).order_by_score(),
        )?;
        // Chunk ids come from the fast-field column, not the document store,
        // which would decompress a block per hit.
        let columns = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.fast_fields().u64(CHUNK_ID))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(top
            .into_iter()
            .filter_map(|(score, address)| {
                let id = columns[address.segment_ord as usize].first(address.doc_id)?;
                Some((id, score))
            })
            .collect())
    }
}

pub struct LexicalWriter {
    writer: IndexWriter,
    fields: Fields,
}

impl LexicalWriter {
    /// Index one chunk: its document's `title`, its own `text`, and its
    /// `context` (the chunk with its neighbours, three chunks wide).
    pub fn add(&mut self, chunk_id: u64, title: &str, text: &str, context: &str) -> Result<(), IndexError> {
        let f = self.fields;
        self.writer.add_document(doc!(
            f.chunk_id => chunk_id,
            f.title => title,
            f.text => text,
            f.context => context,
        ))?;
        Ok(())
    }

    pub fn delete(&mut self, chunk_id: u64) {
        self.writer
            .delete_term(Term::from_field_u64(self.fields.chunk_id, chunk_id));
    }

    /// Make everything added so far durable, stamped with `generation`.
    pub fn commit(&mut self, generation: u64) -> Result<(), IndexError> {
        let mut prepared = self.writer.prepare_commit()?;
        // A crash here: the new segments are on disk, meta.json does not
        // name them yet (tests/it/failpoints.rs).
        fail::fail_point!("lexical-commit-prepared");
        prepared.set_payload(&generation.to_string());
        prepared.commit()?;
        Ok(())
    }

    pub fn clear(&mut self) -> Result<(), IndexError> {
        self.writer.delete_all_documents()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{context_window, contexts};

    #[test]
    fn context_windows_are_three_wide_and_shift_inwards_at_the_ends() {
        let windows = |count: usize| -> Vec<(usize, usize)> {
            (0..count)
                .map(|o| {
                    let w = context_window(o, count);
                    (*w.start(), *w.end())
                })
                .collect()
        };
        assert_eq!(windows(1), [(0, 0)]);
        assert_eq!(windows(2), [(0, 1), (0, 1)]);
        assert_eq!(windows(3), [(0, 2), (0, 2), (0, 2)]);
        assert_eq!(windows(6), [(0, 2), (0, 2), (1, 3), (2, 4), (3, 5), (3, 5)]);
    }

    #[test]
    fn contexts_are_slices_of_the_text_and_none_when_spans_do_not_fit() {
        let text = "aa bb cc dd";
        let spans = [(0, 2), (3, 5), (6, 8), (9, 11)];
        assert_eq!(
            contexts(text, &spans),
            [
                Some("aa bb cc"),
                Some("aa bb cc"),
                Some("bb cc dd"),
                Some("bb cc dd")
            ]
        );
        assert_eq!(contexts("short", &[(0, 2), (3, 40)]), [None, None]);
    }
}
