//! Everything the window receives: the IPC contract, mirrored field for
//! field in `ui/src/lib/types.ts`. These shapes belong to the desktop app;
//! the core's types are converted here and never sent as they are, so a
//! change in the core changes the window's data only where this file says.
//! All keys are snake_case.

use quarry_core::answer::cite::{CitationReport, CitationStatus, SentenceCitation};
use quarry_core::answer::{Abstention, Answer, Citation, Passage};
use quarry_core::catalog::{ConversationRow, DocStatus, DocumentRow};
use quarry_core::context::PassageContext;
use quarry_core::embed::Precision;
use quarry_core::fusion::HitScores;
use quarry_core::inspect::Inspection;
use quarry_core::session::AnswerEvent as SessionEvent;
use quarry_core::{AddReport, Outcome, Progress};
use serde::Serialize;

use crate::error::CommandError;

// ---- Library ---------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileOutcome {
    Added,
    Updated,
    Unchanged,
    Failed,
    Removed,
}

impl From<Outcome> for FileOutcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Added => FileOutcome::Added,
            Outcome::Updated => FileOutcome::Updated,
            Outcome::Unchanged => FileOutcome::Unchanged,
            Outcome::Failed => FileOutcome::Failed,
            Outcome::Removed => FileOutcome::Removed,
        }
    }
}

/// Progress of the running ingest job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IngestEvent {
    /// `paths` will be (re)indexed; `total` counts every file looked at.
    Queued { total: usize, paths: Vec<String> },
    /// A file's passages are being embedded.
    Started { path: String },
    /// Indexing waits while a question is answered (`paused`), or goes on.
    Paused { paused: bool },
    File {
        done: usize,
        total: usize,
        path: String,
        outcome: FileOutcome,
        chunks: usize,
        error: Option<String>,
    },
    /// The library's passages are being re-embedded (`done` of `total`).
    Reembedding { done: u64, total: u64 },
    Finished {
        added: usize,
        updated: usize,
        unchanged: usize,
        failed: usize,
        removed: usize,
        /// Passages re-embedded (a re-embedding job; 0 for files).
        reembedded: u64,
        cancelled: bool,
    },
    /// The job could not run at all (e.g. the library failed to open).
    Failed { error: CommandError },
}

impl IngestEvent {
    pub fn from_progress(progress: Progress) -> Self {
        match progress {
            Progress::Planned { total, pending } => IngestEvent::Queued {
                total,
                paths: pending.to_vec(),
            },
            Progress::Started { path } => IngestEvent::Started {
                path: path.to_string(),
            },
            Progress::Paused { answering } => IngestEvent::Paused { paused: answering },
            Progress::File { done, total, report } => IngestEvent::File {
                done,
                total,
                path: report.path.clone(),
                outcome: report.outcome.into(),
                chunks: report.chunks,
                error: report.error.clone(),
            },
        }
    }

    pub fn finished(report: &AddReport) -> Self {
        Self::finished_after_reembedding(0, report)
    }

    /// The end of a run that re-embedded `passages`, then did `report`.
    pub fn finished_after_reembedding(passages: u64, report: &AddReport) -> Self {
        IngestEvent::Finished {
            added: report.added,
            updated: report.updated,
            unchanged: report.unchanged,
            failed: report.failed,
            removed: report.removed,
            reembedded: passages,
            cancelled: report.cancelled,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentDto {
    pub id: i64,
    pub path: String,
    pub title: Option<String>,
    pub format: Option<String>,
    /// `indexed` or `failed`.
    pub status: &'static str,
    pub error: Option<String>,
    pub chunks: u64,
    pub size: u64,
    /// What the format's units are ("page", "slide", "sheet", "message"),
    /// how many were indexed (0 for formats without them), and how many of
    /// those were read by OCR.
    pub unit: &'static str,
    pub units: u64,
    pub ocr_units: u64,
}

impl From<DocumentRow> for DocumentDto {
    fn from(d: DocumentRow) -> Self {
        let unit = quarry_core::parse::unit_of(d.format.as_deref().unwrap_or(""));
        DocumentDto {
            unit,
            id: d.id,
            path: d.path,
            title: d.title,
            format: d.format,
            status: match d.status {
                DocStatus::Indexed => "indexed",
                DocStatus::Failed => "failed",
            },
            error: d.error,
            chunks: d.chunk_count,
            size: d.size,
            units: d.units,
            ocr_units: d.ocr_units,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LibraryOverview {
    pub dir: String,
    pub roots: Vec<String>,
    pub documents: Vec<DocumentDto>,
    pub ingest_running: bool,
    /// Set when the library's passages were embedded by another embedder
    /// than the one now chosen: nothing is searched or added until they are
    /// re-embedded (`reembed_library`).
    pub mismatch: Option<EmbedderMismatch>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmbedderMismatch {
    /// The embedder the passages were made with, and the one now chosen,
    /// as a person reads them ("all-MiniLM-L6-v2 at f32").
    pub library: String,
    pub current: String,
    /// Passages to re-embed.
    pub passages: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RemoveReply {
    pub removed: usize,
}

// ---- Answers ---------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoresDto {
    pub score: f32,
    pub dense_rank: Option<usize>,
    pub dense_score: Option<f32>,
    pub lexical_rank: Option<usize>,
    pub lexical_score: Option<f32>,
}

impl From<HitScores> for ScoresDto {
    fn from(s: HitScores) -> Self {
        ScoresDto {
            score: s.score,
            dense_rank: s.dense_rank,
            dense_score: s.dense_score,
            lexical_rank: s.lexical_rank,
            lexical_score: s.lexical_score,
        }
    }
}

/// Byte offsets into the document's extracted text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SpanDto {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassageDto {
    pub number: usize,
    pub chunk_id: u64,
    pub document_id: i64,
    pub path: String,
    pub title: Option<String>,
    pub page: Option<u32>,
    pub unit: String,
    pub ocr: bool,
    pub section: Option<String>,
    pub span: SpanDto,
    pub text: String,
    pub rank: usize,
    pub scores: ScoresDto,
}

impl From<&Passage> for PassageDto {
    fn from(p: &Passage) -> Self {
        PassageDto {
            number: p.number,
            chunk_id: p.chunk_id,
            document_id: p.document_id,
            path: p.path.clone(),
            title: p.title.clone(),
            page: p.page,
            unit: p.unit.clone(),
            ocr: p.ocr,
            section: p.section.clone(),
            span: SpanDto {
                start: p.span.start,
                end: p.span.end,
            },
            text: p.text.clone(),
            rank: p.rank,
            scores: p.scores.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CitationDto {
    pub number: usize,
    pub path: String,
    pub title: Option<String>,
    pub page: Option<u32>,
    pub unit: String,
    pub ocr: bool,
    pub span: SpanDto,
    pub text: String,
    pub sentences: Vec<usize>,
    pub inferred: bool,
    pub support: f32,
}

impl From<&Citation> for CitationDto {
    fn from(c: &Citation) -> Self {
        CitationDto {
            number: c.number,
            path: c.path.clone(),
            title: c.title.clone(),
            page: c.page,
            unit: c.unit.clone(),
            ocr: c.ocr,
            span: SpanDto {
                start: c.span.start,
                end: c.span.end,
            },
            text: c.text.clone(),
            sentences: c.sentences.clone(),
            inferred: c.inferred,
            support: c.support,
        }
    }
}

/// How one sentence uses one passage, as the citation check decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentenceCitationDto {
    pub sentence: usize,
    pub source: usize,
    pub support: f32,
    /// `kept`, `moved`, `inferred` or `unchecked`.
    pub status: &'static str,
    /// For `moved`: the source the model had written.
    pub moved_from: Option<usize>,
}

impl From<&SentenceCitation> for SentenceCitationDto {
    fn from(c: &SentenceCitation) -> Self {
        let (status, moved_from) = match c.status {
            CitationStatus::Kept => ("kept", None),
            CitationStatus::Moved { from } => ("moved", Some(from)),
            CitationStatus::Inferred => ("inferred", None),
            CitationStatus::Unchecked => ("unchecked", None),
        };
        SentenceCitationDto {
            sentence: c.sentence,
            source: c.source,
            support: c.support,
            status,
            moved_from,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CitationCheckDto {
    pub written: usize,
    pub kept: usize,
    pub moved: usize,
    pub dropped_unsupported: usize,
    pub dropped_invalid: usize,
    pub inferred: bool,
    /// The sentences no passage given supports, as the answer has them (the
    /// window marks them in the text).
    pub unsupported_sentences: Vec<String>,
}

impl CitationCheckDto {
    fn new(r: &CitationReport, sentences: &[String]) -> Self {
        CitationCheckDto {
            written: r.written,
            kept: r.kept,
            moved: r.moved,
            dropped_unsupported: r.dropped_unsupported,
            dropped_invalid: r.dropped_invalid,
            inferred: r.inferred,
            unsupported_sentences: r
                .unsupported_sentences
                .iter()
                .filter_map(|&i| sentences.get(i).cloned())
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingDto {
    pub retrieval_ms: f64,
    pub prompt_tokens: usize,
    pub reused_prompt_tokens: usize,
    pub prompt_tokens_per_second: f64,
    pub time_to_first_token_ms: f64,
    pub generated_tokens: usize,
    pub tokens_per_second: f64,
    pub total_ms: f64,
}

/// A checked answer as the window shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerDto {
    pub question: String,
    /// What retrieval searched: the question, with the previous one for a
    /// follow-up.
    pub search_query: String,
    /// The text with corrected `[n]` marks.
    pub answer: String,
    pub raw_answer: String,
    pub citations: Vec<CitationDto>,
    /// The passages given to the model, numbered as in the prompt.
    pub retrieved: Vec<PassageDto>,
    pub also_retrieved: Vec<PassageDto>,
    pub not_found: bool,
    /// `retrieval` or `model`, when the documents do not answer.
    pub abstention: Option<&'static str>,
    pub stopped: bool,
    pub sentences: Vec<String>,
    pub sentence_citations: Vec<SentenceCitationDto>,
    pub citation_check: CitationCheckDto,
    pub timing: TimingDto,
    pub model: Option<String>,
}

fn passages(passages: &[Passage]) -> Vec<PassageDto> {
    passages.iter().map(PassageDto::from).collect()
}

impl From<&Answer> for AnswerDto {
    fn from(a: &Answer) -> Self {
        let t = &a.timing;
        AnswerDto {
            question: a.question.clone(),
            search_query: a.search_query.clone(),
            answer: a.answer.clone(),
            raw_answer: a.raw_answer.clone(),
            citations: a.citations.iter().map(CitationDto::from).collect(),
            retrieved: passages(&a.retrieved),
            also_retrieved: passages(&a.also_retrieved),
            not_found: a.not_found,
            abstention: a.abstention.map(|x| match x {
                Abstention::Retrieval => "retrieval",
                Abstention::Model => "model",
                Abstention::Unsupported => "unsupported",
            }),
            stopped: a.stopped,
            sentences: a.sentences.clone(),
            sentence_citations: a
                .sentence_citations
                .iter()
                .map(SentenceCitationDto::from)
                .collect(),
            citation_check: CitationCheckDto::new(&a.citation_check, &a.sentences),
            timing: TimingDto {
                retrieval_ms: t.retrieval_ms,
                prompt_tokens: t.prompt_tokens,
                reused_prompt_tokens: t.reused_prompt_tokens,
                prompt_tokens_per_second: t.prompt_tokens_per_second,
                time_to_first_token_ms: t.time_to_first_token_ms,
                generated_tokens: t.generated_tokens,
                tokens_per_second: t.tokens_per_second,
                total_ms: t.total_ms,
            },
            model: a.model.clone(),
        }
    }
}

/// The best-matching sentence of a retrieved passage (see
/// `quarry_core::answer::Preview`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewDto {
    pub number: usize,
    pub sentence: String,
}

/// What the window sees of an answer while it is made.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnswerEvent {
    /// Retrieval is done; `not_found` means no model will be asked.
    Retrieved {
        conversation_id: i64,
        passages: Vec<PassageDto>,
        not_found: bool,
        /// The sentence shown at once while the model reads.
        preview: Option<PreviewDto>,
    },
    /// The model is being loaded (the first question of a session).
    LoadingModel { path: String },
    /// Text as the model writes it (citation marks not yet checked).
    Token { text: String },
    /// The checked answer, as stored.
    Done { turn_id: i64, answer: Box<AnswerDto> },
}

impl AnswerEvent {
    /// The window's form of a session event; `None` for the end of a turn
    /// that failed (the command's error says why).
    pub fn from_session(event: &SessionEvent) -> Option<Self> {
        Some(match event {
            SessionEvent::Retrieved {
                conversation_id,
                passages: given,
                not_found,
                preview,
            } => AnswerEvent::Retrieved {
                // The window's questions always go to a stored conversation.
                conversation_id: conversation_id.unwrap_or_default(),
                passages: passages(given),
                not_found: *not_found,
                preview: preview.as_ref().map(|p| PreviewDto {
                    number: p.number,
                    sentence: p.sentence.clone(),
                }),
            },
            SessionEvent::LoadingModel { path, .. } => AnswerEvent::LoadingModel {
                path: path.display().to_string(),
            },
            SessionEvent::Token(text) => AnswerEvent::Token { text: text.clone() },
            SessionEvent::Done(turn) => AnswerEvent::Done {
                turn_id: turn.turn_id.unwrap_or_default(),
                answer: Box::new((&turn.answer).into()),
            },
            SessionEvent::Failed(_) => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AskReply {
    pub conversation_id: i64,
    pub turn_id: i64,
    pub answer: AnswerDto,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationDto {
    pub id: i64,
    pub title: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub turns: i64,
}

impl From<ConversationRow> for ConversationDto {
    fn from(c: ConversationRow) -> Self {
        ConversationDto {
            id: c.id,
            title: c.title,
            created_at: c.created_at,
            updated_at: c.updated_at,
            turns: c.turns,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TurnDto {
    pub id: i64,
    pub question: String,
    pub answer: AnswerDto,
}

// ---- Models, sources, inspection, settings ---------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct ModelStatus {
    pub ready: bool,
    pub path: Option<String>,
    pub name: Option<String>,
    pub default_file: String,
    pub looked_in: Vec<String>,
    pub how_to_get: String,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassageContextDto {
    pub document_id: i64,
    pub path: String,
    pub title: Option<String>,
    pub page: Option<u32>,
    pub unit: &'static str,
    pub ocr: bool,
    pub before: String,
    pub passage: String,
    pub after: String,
    pub truncated_before: bool,
    pub truncated_after: bool,
}

impl From<PassageContext> for PassageContextDto {
    fn from(c: PassageContext) -> Self {
        PassageContextDto {
            document_id: c.document_id,
            path: c.path,
            title: c.title,
            page: c.page,
            unit: c.unit,
            ocr: c.ocr,
            before: c.before,
            passage: c.passage,
            after: c.after,
            truncated_before: c.truncated_before,
            truncated_after: c.truncated_after,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordPieceDto {
    pub piece: String,
    pub id: u32,
    pub row: u32,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenEmbeddingsDto {
    pub file: String,
    /// e.g. `embeddings.word_embeddings.weight`
    pub tensor: String,
    pub shape: Vec<usize>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkVectorDto {
    pub dimension: usize,
    pub first: Vec<f32>,
    pub norm: f32,
    pub cosine_with_question: f32,
    pub stored_in: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RetrievalDto {
    pub dense_rank: Option<usize>,
    pub dense_score: Option<f32>,
    pub lexical_rank: Option<usize>,
    pub lexical_score: Option<f32>,
    pub fused_rank: Option<usize>,
    pub fused_score: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectionDto {
    pub question: String,
    pub chunk_id: u64,
    pub path: String,
    pub page: Option<u32>,
    pub unit: &'static str,
    pub text: String,
    pub word_pieces: Vec<WordPieceDto>,
    pub word_pieces_truncated: bool,
    pub token_embeddings: TokenEmbeddingsDto,
    pub chunk_vector: ChunkVectorDto,
    pub retrieval: RetrievalDto,
}

impl From<Inspection> for InspectionDto {
    fn from(i: Inspection) -> Self {
        let r = i.retrieval;
        InspectionDto {
            question: i.question,
            chunk_id: i.chunk_id,
            path: i.path,
            page: i.page,
            unit: i.unit,
            text: i.text,
            word_pieces: i
                .word_pieces
                .into_iter()
                .map(|w| WordPieceDto {
                    piece: w.piece,
                    id: w.id,
                    row: w.row,
                    start: w.start,
                    end: w.end,
                })
                .collect(),
            word_pieces_truncated: i.word_pieces_truncated,
            token_embeddings: TokenEmbeddingsDto {
                file: i.token_embeddings.table.file.display().to_string(),
                tensor: i.token_embeddings.table.tensor,
                shape: i.token_embeddings.table.shape,
                note: i.token_embeddings.note,
            },
            chunk_vector: ChunkVectorDto {
                dimension: i.chunk_vector.dimension,
                first: i.chunk_vector.first,
                norm: i.chunk_vector.norm,
                cosine_with_question: i.chunk_vector.cosine_with_question,
                stored_in: i.chunk_vector.stored_in,
            },
            retrieval: RetrievalDto {
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

#[derive(Debug, Clone, Serialize)]
pub struct EmbedderInfo {
    pub name: String,
    pub path: String,
    pub dimension: usize,
    pub weights_sha256: String,
    /// The engine and precision its vectors are computed with.
    pub engine: String,
    pub precision: String,
    pub max_tokens: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub path: String,
    pub file_name: String,
    pub architecture: Option<String>,
    pub parameters: Option<String>,
    pub quantization: Option<String>,
    pub is_default: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SettingsView {
    pub library_dir: String,
    pub model_path: Option<String>,
    /// The embedding model's folder chosen in the app (`None`: the default
    /// one, wherever it is found).
    pub embedder_dir: Option<String>,
    /// The local encoder's precision as set (`None`: the library's own,
    /// int8 for a new library); the one running is `embedder.precision`.
    pub embed_precision: Option<Precision>,
    /// The app's models folder, where chosen models are linked.
    pub models_dir: String,
    pub passages: usize,
    pub engine_url: Option<String>,
    pub engine_model: Option<String>,
    pub engine_context: Option<usize>,
    /// Whether `QUARRY_ENGINE_API_KEY` holds a key for the remote engine.
    pub engine_key_set: bool,
    /// Where answers are made, as a person reads it ("qwen2.5-7b at
    /// http://gpu-box:8000/v1", "this computer").
    pub answers_by: String,
    /// An OpenAI-compatible server that makes the embeddings (`None`: the
    /// local encoder), and the model there.
    pub embed_url: Option<String>,
    pub embed_model: Option<String>,
    /// Where embeddings are made (the embedder's engine).
    pub embeddings_by: String,
    /// `None` when the embedder cannot be loaded or reached; then why.
    pub embedder: Option<EmbedderInfo>,
    pub embedder_error: Option<String>,
    pub models: Vec<ModelInfo>,
}
