//! What `--json` prints: the command line's own output shapes, for scripts.
//! The core's types are free to change; these change only on purpose, by
//! adding fields. Answers are printed as their stored record
//! (`quarry_core::answer::record::AnswerRecord`), the one serialised form of
//! an answer, versioned.

use quarry_core::catalog::{ChunkRecord, ConversationRow, DocStatus, DocumentRow};
use quarry_core::embed::EmbedderIdentity;
use quarry_core::fusion::HitScores;
use quarry_core::generate::GgufFacts;
use quarry_core::inspect::Inspection;
use quarry_core::models::AnswerModel;
use quarry_core::{AddReport, FileReport, LibraryInfo, Outcome, SearchHit};
use serde::Serialize;

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Added => "added",
        Outcome::Updated => "updated",
        Outcome::Unchanged => "unchanged",
        Outcome::Failed => "failed",
        Outcome::Removed => "removed",
    }
}

pub fn status(s: DocStatus) -> &'static str {
    match s {
        DocStatus::Indexed => "indexed",
        DocStatus::Failed => "failed",
    }
}

#[derive(Serialize)]
pub struct FileJson<'a> {
    path: &'a str,
    outcome: &'static str,
    chunks: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

impl<'a> From<&'a FileReport> for FileJson<'a> {
    fn from(f: &'a FileReport) -> Self {
        FileJson {
            path: &f.path,
            outcome: outcome(f.outcome),
            chunks: f.chunks,
            error: f.error.as_deref(),
        }
    }
}

/// `add` and `remove`.
#[derive(Serialize)]
pub struct AddJson<'a> {
    added: usize,
    updated: usize,
    unchanged: usize,
    failed: usize,
    removed: usize,
    chunks_embedded: usize,
    cancelled: bool,
    files: Vec<FileJson<'a>>,
}

impl<'a> From<&'a AddReport> for AddJson<'a> {
    fn from(r: &'a AddReport) -> Self {
        AddJson {
            added: r.added,
            updated: r.updated,
            unchanged: r.unchanged,
            failed: r.failed,
            removed: r.removed,
            chunks_embedded: r.chunks_embedded,
            cancelled: r.cancelled,
            files: r.files.iter().map(FileJson::from).collect(),
        }
    }
}

/// A stored passage with where it is.
#[derive(Serialize)]
pub struct PassageJson<'a> {
    chunk_id: u64,
    document_id: i64,
    path: &'a str,
    title: Option<&'a str>,
    page: Option<u32>,
    /// What `page` counts: "page", "slide", "sheet", "message".
    unit: &'static str,
    /// The text was recognised by OCR from a scan or photo.
    ocr: bool,
    section: Option<&'a str>,
    start: usize,
    end: usize,
    text: &'a str,
}

impl<'a> From<&'a ChunkRecord> for PassageJson<'a> {
    fn from(c: &'a ChunkRecord) -> Self {
        PassageJson {
            chunk_id: c.chunk_id,
            document_id: c.document_id,
            path: &c.path,
            title: c.title.as_deref(),
            page: c.page,
            unit: c.unit,
            ocr: c.ocr,
            section: c.section.as_deref(),
            start: c.start,
            end: c.end,
            text: &c.text,
        }
    }
}

#[derive(Serialize)]
pub struct ScoresJson {
    score: f32,
    dense_rank: Option<usize>,
    dense_score: Option<f32>,
    lexical_rank: Option<usize>,
    lexical_score: Option<f32>,
}

impl From<HitScores> for ScoresJson {
    fn from(s: HitScores) -> Self {
        ScoresJson {
            score: s.score,
            dense_rank: s.dense_rank,
            dense_score: s.dense_score,
            lexical_rank: s.lexical_rank,
            lexical_score: s.lexical_score,
        }
    }
}

/// One `search` result: its rank, the passage and its scores, side by side.
#[derive(Serialize)]
pub struct HitJson<'a> {
    rank: usize,
    #[serde(flatten)]
    passage: PassageJson<'a>,
    #[serde(flatten)]
    scores: ScoresJson,
}

impl<'a> From<&'a SearchHit> for HitJson<'a> {
    fn from(h: &'a SearchHit) -> Self {
        HitJson {
            rank: h.rank,
            passage: (&h.passage).into(),
            scores: h.scores.into(),
        }
    }
}

/// One `docs` row.
#[derive(Serialize)]
pub struct DocumentJson<'a> {
    id: i64,
    path: &'a str,
    format: Option<&'a str>,
    title: Option<&'a str>,
    status: &'static str,
    error: Option<&'a str>,
    size: u64,
    mtime_ns: i64,
    content_sha256: Option<&'a str>,
    chunk_count: u64,
    /// What the format's units are ("page", "slide", "sheet", "message").
    unit: &'static str,
    /// Units indexed (0 for formats without them) and, of those, read by OCR.
    units: u64,
    ocr_units: u64,
}

impl<'a> From<&'a DocumentRow> for DocumentJson<'a> {
    fn from(d: &'a DocumentRow) -> Self {
        DocumentJson {
            id: d.id,
            path: &d.path,
            format: d.format.as_deref(),
            title: d.title.as_deref(),
            status: status(d.status),
            error: d.error.as_deref(),
            size: d.size,
            mtime_ns: d.mtime_ns,
            content_sha256: d.content_sha256.as_deref(),
            chunk_count: d.chunk_count,
            unit: quarry_core::parse::unit_of(d.format.as_deref().unwrap_or("")),
            units: d.units,
            ocr_units: d.ocr_units,
        }
    }
}

#[derive(Serialize)]
pub struct EmbedderJson<'a> {
    name: &'a str,
    dimension: usize,
    weights_sha256: &'a str,
    engine: &'a str,
    precision: &'a str,
}

impl<'a> From<&'a EmbedderIdentity> for EmbedderJson<'a> {
    fn from(e: &'a EmbedderIdentity) -> Self {
        EmbedderJson {
            name: &e.name,
            dimension: e.dimension,
            weights_sha256: &e.weights_sha256,
            engine: &e.engine,
            precision: &e.precision,
        }
    }
}

/// `info`.
#[derive(Serialize)]
pub struct InfoJson<'a> {
    dir: String,
    embedder: EmbedderJson<'a>,
    documents: usize,
    chunks: u64,
    generation: u64,
    lexical_generation: Option<u64>,
    dense_vectors: usize,
    mismatch: Option<EmbedderJson<'a>>,
}

impl<'a> From<&'a LibraryInfo> for InfoJson<'a> {
    fn from(i: &'a LibraryInfo) -> Self {
        InfoJson {
            dir: i.dir.display().to_string(),
            embedder: (&i.embedder).into(),
            documents: i.documents,
            chunks: i.chunks,
            generation: i.generation,
            lexical_generation: i.lexical_generation,
            dense_vectors: i.dense_vectors,
            mismatch: i.mismatch.as_ref().map(EmbedderJson::from),
        }
    }
}

#[derive(Serialize)]
pub struct ConversationJson<'a> {
    id: i64,
    title: &'a str,
    created_at: i64,
    updated_at: i64,
    turns: i64,
}

impl<'a> From<&'a ConversationRow> for ConversationJson<'a> {
    fn from(c: &'a ConversationRow) -> Self {
        ConversationJson {
            id: c.id,
            title: &c.title,
            created_at: c.created_at,
            updated_at: c.updated_at,
            turns: c.turns,
        }
    }
}

#[derive(Serialize)]
pub struct GgufJson<'a> {
    path: String,
    file_size: u64,
    architecture: &'a str,
    name: Option<&'a str>,
    parameters: Option<u64>,
    quantization: &'a str,
    context_length: Option<u32>,
    vocabulary: Option<&'a str>,
    has_chat_template: bool,
}

impl<'a> From<&'a GgufFacts> for GgufJson<'a> {
    fn from(f: &'a GgufFacts) -> Self {
        GgufJson {
            path: f.path.display().to_string(),
            file_size: f.file_size,
            architecture: &f.architecture,
            name: f.name.as_deref(),
            parameters: f.parameters,
            quantization: &f.quantization,
            context_length: f.context_length,
            vocabulary: f.vocabulary.as_deref(),
            has_chat_template: f.has_chat_template,
        }
    }
}

/// One `models` row: the model's header facts, or why it is unusable.
#[derive(Serialize)]
#[serde(untagged)]
pub enum ModelJson<'a> {
    Usable {
        default: bool,
        model: GgufJson<'a>,
    },
    Unusable {
        default: bool,
        path: String,
        error: &'a str,
    },
}

impl<'a> From<&'a AnswerModel> for ModelJson<'a> {
    fn from(m: &'a AnswerModel) -> Self {
        match &m.facts {
            Ok(facts) => ModelJson::Usable {
                default: m.chosen,
                model: facts.into(),
            },
            Err(error) => ModelJson::Unusable {
                default: m.chosen,
                path: m.path.display().to_string(),
                error,
            },
        }
    }
}

#[derive(Serialize)]
pub struct WordPieceJson<'a> {
    piece: &'a str,
    id: u32,
    row: u32,
    start: usize,
    end: usize,
}

#[derive(Serialize)]
pub struct TokenEmbeddingsJson<'a> {
    file: String,
    tensor: &'a str,
    shape: &'a [usize],
    note: &'a str,
}

#[derive(Serialize)]
pub struct ChunkVectorJson<'a> {
    dimension: usize,
    first: &'a [f32],
    norm: f32,
    cosine_with_question: f32,
    stored_in: &'a str,
}

#[derive(Serialize)]
pub struct RanksJson {
    dense_rank: Option<usize>,
    dense_score: Option<f32>,
    lexical_rank: Option<usize>,
    lexical_score: Option<f32>,
    fused_rank: Option<usize>,
    fused_score: Option<f32>,
}

/// `inspect`.
#[derive(Serialize)]
pub struct InspectionJson<'a> {
    question: &'a str,
    chunk_id: u64,
    path: &'a str,
    page: Option<u32>,
    unit: &'static str,
    text: &'a str,
    word_pieces: Vec<WordPieceJson<'a>>,
    word_pieces_truncated: bool,
    token_embeddings: TokenEmbeddingsJson<'a>,
    chunk_vector: ChunkVectorJson<'a>,
    retrieval: RanksJson,
}

impl<'a> From<&'a Inspection> for InspectionJson<'a> {
    fn from(i: &'a Inspection) -> Self {
        let r = &i.retrieval;
        InspectionJson {
            question: &i.question,
            chunk_id: i.chunk_id,
            path: &i.path,
            page: i.page,
            unit: i.unit,
            text: &i.text,
            word_pieces: i
                .word_pieces
                .iter()
                .map(|w| WordPieceJson {
                    piece: &w.piece,
                    id: w.id,
                    row: w.row,
                    start: w.start,
                    end: w.end,
                })
                .collect(),
            word_pieces_truncated: i.word_pieces_truncated,
            token_embeddings: TokenEmbeddingsJson {
                file: i.token_embeddings.table.file.display().to_string(),
                tensor: &i.token_embeddings.table.tensor,
                shape: &i.token_embeddings.table.shape,
                note: &i.token_embeddings.note,
            },
            chunk_vector: ChunkVectorJson {
                dimension: i.chunk_vector.dimension,
                first: &i.chunk_vector.first,
                norm: i.chunk_vector.norm,
                cosine_with_question: i.chunk_vector.cosine_with_question,
                stored_in: &i.chunk_vector.stored_in,
            },
            retrieval: RanksJson {
                dense_rank: r.dense_rank,
                dense_score: r.dense_score,
                lexical_rank: r.lexical_rank,
                lexical_score: r.lexical_score,
                fused_rank: r.fused_rank,
                fused_score: r.fused_score,
            },
        }
    }
}
