//! The answer as it is stored: the record kept with each conversation turn
//! (`turns.record` in the catalog), which is also what `quarry ask --json`
//! prints — the one serialised form of an answer outside a process.
//!
//! Why a type of its own: [`Answer`] is free to change with the code, and a
//! stored record must stay readable for as long as the conversation is kept.
//! So every field here has a default (a record written before a field
//! existed reads with that field empty), unknown fields are ignored (a
//! record written by a newer Quarry still reads), and each record carries
//! its `version`. `tests/it/compat.rs` opens conversations written before
//! this type existed; the tests below hold the two rules for every field.
//!
//! Change it by adding fields with defaults. A change that old records
//! cannot meet that way (a field's meaning changes) bumps
//! [`RECORD_VERSION`], and [`AnswerRecord::into_answer`] converts by version.

use serde::{Deserialize, Serialize};

use super::cite::{CitationReport, CitationStatus, SentenceCitation};
use super::relevance::Relevance;
use super::{Abstention, Answer, Citation, Passage, Span, Timing};
use crate::fusion::HitScores;

/// The version written into new records. Records written before versions
/// were recorded have the same shape and read as version 1.
pub const RECORD_VERSION: u32 = 1;

fn first_version() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnswerRecord {
    #[serde(default = "first_version")]
    pub version: u32,
    pub question: String,
    pub search_query: String,
    pub answer: String,
    pub raw_answer: String,
    pub citations: Vec<CitationRecord>,
    pub retrieved: Vec<PassageRecord>,
    pub also_retrieved: Vec<PassageRecord>,
    pub not_found: bool,
    pub abstention: Option<AbstentionRecord>,
    pub stopped: bool,
    pub sentences: Vec<String>,
    pub sentence_citations: Vec<SentenceCitationRecord>,
    pub citation_check: CitationCheckRecord,
    pub relevance: RelevanceRecord,
    pub timing: TimingRecord,
    pub model: Option<String>,
    pub prompt_version: String,
}

impl Default for AnswerRecord {
    fn default() -> Self {
        AnswerRecord {
            version: first_version(),
            question: String::new(),
            search_query: String::new(),
            answer: String::new(),
            raw_answer: String::new(),
            citations: Vec::new(),
            retrieved: Vec::new(),
            also_retrieved: Vec::new(),
            not_found: false,
            abstention: None,
            stopped: false,
            sentences: Vec::new(),
            sentence_citations: Vec::new(),
            citation_check: CitationCheckRecord::default(),
            relevance: RelevanceRecord::default(),
            timing: TimingRecord::default(),
            model: None,
            prompt_version: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpanRecord {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScoresRecord {
    pub score: f32,
    pub dense_rank: Option<usize>,
    pub dense_score: Option<f32>,
    pub lexical_rank: Option<usize>,
    pub lexical_score: Option<f32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PassageRecord {
    pub number: usize,
    pub chunk_id: u64,
    pub document_id: i64,
    pub path: String,
    pub title: Option<String>,
    pub page: Option<u32>,
    /// What `page` counts ("slide", "sheet"…); empty in records written
    /// before Quarry read slides and sheets, whose units are all pages.
    pub unit: String,
    pub ocr: bool,
    pub section: Option<String>,
    pub span: SpanRecord,
    pub text: String,
    pub rank: usize,
    pub scores: ScoresRecord,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CitationRecord {
    pub number: usize,
    pub path: String,
    pub title: Option<String>,
    pub page: Option<u32>,
    /// What `page` counts ("slide", "sheet"…); empty in records written
    /// before Quarry read slides and sheets, whose units are all pages.
    pub unit: String,
    pub ocr: bool,
    pub span: SpanRecord,
    pub text: String,
    pub sentences: Vec<usize>,
    pub inferred: bool,
    pub support: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbstentionRecord {
    Retrieval,
    Model,
    Unsupported,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CitationStatusRecord {
    Kept,
    Moved {
        from: usize,
    },
    Inferred,
    #[default]
    Unchecked,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SentenceCitationRecord {
    pub sentence: usize,
    pub source: usize,
    pub support: f32,
    pub status: CitationStatusRecord,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CitationCheckRecord {
    pub written: usize,
    pub kept: usize,
    pub moved: usize,
    pub dropped_unsupported: usize,
    pub dropped_invalid: usize,
    pub inferred: bool,
    pub unsupported_sentences: Vec<usize>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RelevanceRecord {
    pub dense_best: f32,
    pub lexical_coverage: f32,
    pub relevant: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimingRecord {
    pub retrieval_ms: f64,
    pub prompt_tokens: usize,
    pub reused_prompt_tokens: usize,
    pub prompt_tokens_per_second: f64,
    pub time_to_first_token_ms: f64,
    pub generated_tokens: usize,
    pub tokens_per_second: f64,
    pub total_ms: f64,
}

impl From<Span> for SpanRecord {
    fn from(s: Span) -> Self {
        SpanRecord {
            start: s.start,
            end: s.end,
        }
    }
}

impl From<SpanRecord> for Span {
    fn from(s: SpanRecord) -> Self {
        Span {
            start: s.start,
            end: s.end,
        }
    }
}

impl From<HitScores> for ScoresRecord {
    fn from(s: HitScores) -> Self {
        ScoresRecord {
            score: s.score,
            dense_rank: s.dense_rank,
            dense_score: s.dense_score,
            lexical_rank: s.lexical_rank,
            lexical_score: s.lexical_score,
        }
    }
}

impl From<ScoresRecord> for HitScores {
    fn from(s: ScoresRecord) -> Self {
        HitScores {
            score: s.score,
            dense_rank: s.dense_rank,
            dense_score: s.dense_score,
            lexical_rank: s.lexical_rank,
            lexical_score: s.lexical_score,
        }
    }
}

/// A record's unit as the answer types hold it: records written before
/// units existed counted pages.
fn unit_or_page(unit: String) -> String {
    if unit.is_empty() {
        "page".into()
    } else {
        unit
    }
}

impl From<&Passage> for PassageRecord {
    fn from(p: &Passage) -> Self {
        PassageRecord {
            number: p.number,
            chunk_id: p.chunk_id,
            document_id: p.document_id,
            path: p.path.clone(),
            title: p.title.clone(),
            page: p.page,
            unit: p.unit.clone(),
            ocr: p.ocr,
            section: p.section.clone(),
            span: p.span.into(),
            text: p.text.clone(),
            rank: p.rank,
            scores: p.scores.into(),
        }
    }
}

impl From<PassageRecord> for Passage {
    fn from(p: PassageRecord) -> Self {
        Passage {
            number: p.number,
            chunk_id: p.chunk_id,
            document_id: p.document_id,
            path: p.path,
            title: p.title,
            page: p.page,
            unit: unit_or_page(p.unit),
            ocr: p.ocr,
            section: p.section,
            span: p.span.into(),
            text: p.text,
            rank: p.rank,
            scores: p.scores.into(),
        }
    }
}

impl From<&Citation> for CitationRecord {
    fn from(c: &Citation) -> Self {
        CitationRecord {
            number: c.number,
            path: c.path.clone(),
            title: c.title.clone(),
            page: c.page,
            unit: c.unit.clone(),
            ocr: c.ocr,
            span: c.span.into(),
            text: c.text.clone(),
            sentences: c.sentences.clone(),
            inferred: c.inferred,
            support: c.support,
        }
    }
}

impl From<CitationRecord> for Citation {
    fn from(c: CitationRecord) -> Self {
        Citation {
            number: c.number,
            path: c.path,
            title: c.title,
            page: c.page,
            unit: unit_or_page(c.unit),
            ocr: c.ocr,
            span: c.span.into(),
            text: c.text,
            sentences: c.sentences,
            inferred: c.inferred,
            support: c.support,
        }
    }
}

impl From<CitationStatus> for CitationStatusRecord {
    fn from(s: CitationStatus) -> Self {
        match s {
            CitationStatus::Kept => CitationStatusRecord::Kept,
            CitationStatus::Moved { from } => CitationStatusRecord::Moved { from },
            CitationStatus::Inferred => CitationStatusRecord::Inferred,
            CitationStatus::Unchecked => CitationStatusRecord::Unchecked,
        }
    }
}

impl From<CitationStatusRecord> for CitationStatus {
    fn from(s: CitationStatusRecord) -> Self {
        match s {
            CitationStatusRecord::Kept => CitationStatus::Kept,
            CitationStatusRecord::Moved { from } => CitationStatus::Moved { from },
            CitationStatusRecord::Inferred => CitationStatus::Inferred,
            CitationStatusRecord::Unchecked => CitationStatus::Unchecked,
        }
    }
}

impl From<&SentenceCitation> for SentenceCitationRecord {
    fn from(c: &SentenceCitation) -> Self {
        SentenceCitationRecord {
            sentence: c.sentence,
            source: c.source,
            support: c.support,
            status: c.status.into(),
        }
    }
}

impl From<SentenceCitationRecord> for SentenceCitation {
    fn from(c: SentenceCitationRecord) -> Self {
        SentenceCitation {
            sentence: c.sentence,
            source: c.source,
            support: c.support,
            status: c.status.into(),
        }
    }
}

impl From<&CitationReport> for CitationCheckRecord {
    fn from(r: &CitationReport) -> Self {
        CitationCheckRecord {
            written: r.written,
            kept: r.kept,
            moved: r.moved,
            dropped_unsupported: r.dropped_unsupported,
            dropped_invalid: r.dropped_invalid,
            inferred: r.inferred,
            unsupported_sentences: r.unsupported_sentences.clone(),
        }
    }
}

impl From<CitationCheckRecord> for CitationReport {
    fn from(r: CitationCheckRecord) -> Self {
        CitationReport {
            written: r.written,
            kept: r.kept,
            moved: r.moved,
            dropped_unsupported: r.dropped_unsupported,
            dropped_invalid: r.dropped_invalid,
            inferred: r.inferred,
            unsupported_sentences: r.unsupported_sentences,
        }
    }
}

impl From<Relevance> for RelevanceRecord {
    fn from(r: Relevance) -> Self {
        RelevanceRecord {
            dense_best: r.dense_best,
            lexical_coverage: r.lexical_coverage,
            relevant: r.relevant,
        }
    }
}

impl From<RelevanceRecord> for Relevance {
    fn from(r: RelevanceRecord) -> Self {
        Relevance {
            dense_best: r.dense_best,
            lexical_coverage: r.lexical_coverage,
            relevant: r.relevant,
        }
    }
}

impl From<&Timing> for TimingRecord {
    fn from(t: &Timing) -> Self {
        TimingRecord {
            retrieval_ms: t.retrieval_ms,
            prompt_tokens: t.prompt_tokens,
            reused_prompt_tokens: t.reused_prompt_tokens,
            prompt_tokens_per_second: t.prompt_tokens_per_second,
            time_to_first_token_ms: t.time_to_first_token_ms,
            generated_tokens: t.generated_tokens,
            tokens_per_second: t.tokens_per_second,
            total_ms: t.total_ms,
        }
    }
}

impl From<TimingRecord> for Timing {
    fn from(t: TimingRecord) -> Self {
        Timing {
            retrieval_ms: t.retrieval_ms,
            prompt_tokens: t.prompt_tokens,
            reused_prompt_tokens: t.reused_prompt_tokens,
            prompt_tokens_per_second: t.prompt_tokens_per_second,
            time_to_first_token_ms: t.time_to_first_token_ms,
            generated_tokens: t.generated_tokens,
            tokens_per_second: t.tokens_per_second,
            total_ms: t.total_ms,
        }
    }
}

fn records<'a, T: 'a, R: From<&'a T>>(items: &'a [T]) -> Vec<R> {
    items.iter().map(R::from).collect()
}

fn from_records<R, T: From<R>>(items: Vec<R>) -> Vec<T> {
    items.into_iter().map(T::from).collect()
}

impl From<&Answer> for AnswerRecord {
    fn from(a: &Answer) -> Self {
        AnswerRecord {
            version: RECORD_VERSION,
            question: a.question.clone(),
            search_query: a.search_query.clone(),
            answer: a.answer.clone(),
            raw_answer: a.raw_answer.clone(),
            citations: records(&a.citations),
            retrieved: records(&a.retrieved),
            also_retrieved: records(&a.also_retrieved),
            not_found: a.not_found,
            abstention: a.abstention.map(|x| match x {
                Abstention::Retrieval => AbstentionRecord::Retrieval,
                Abstention::Model => AbstentionRecord::Model,
                Abstention::Unsupported => AbstentionRecord::Unsupported,
            }),
            stopped: a.stopped,
            sentences: a.sentences.clone(),
            sentence_citations: records(&a.sentence_citations),
            citation_check: (&a.citation_check).into(),
            relevance: a.relevance.into(),
            timing: (&a.timing).into(),
            model: a.model.clone(),
            prompt_version: a.prompt_version.clone(),
        }
    }
}

impl AnswerRecord {
    /// The answer this record stands for. Every version so far has one
    /// shape; a later version that changes a field's meaning converts here.
    pub fn into_answer(self) -> Answer {
        Answer {
            question: self.question,
            search_query: self.search_query,
            answer: self.answer,
            raw_answer: self.raw_answer,
            citations: from_records(self.citations),
            retrieved: from_records(self.retrieved),
            also_retrieved: from_records(self.also_retrieved),
            not_found: self.not_found,
            abstention: self.abstention.map(|x| match x {
                AbstentionRecord::Retrieval => Abstention::Retrieval,
                AbstentionRecord::Model => Abstention::Model,
                AbstentionRecord::Unsupported => Abstention::Unsupported,
            }),
            stopped: self.stopped,
            sentences: self.sentences,
            sentence_citations: from_records(self.sentence_citations),
            citation_check: self.citation_check.into(),
            relevance: self.relevance.into(),
            timing: self.timing.into(),
            model: self.model,
            prompt_version: self.prompt_version,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Properties: every field of a record has a default (a record that
    //! lacks any of them, down to `{}`, reads), fields a record does not know
    //! are ignored (one written by a newer Quarry reads), and a record is
    //! what it was written from.
    use super::*;

    #[test]
    fn a_record_missing_every_field_reads_with_defaults() {
        let empty: AnswerRecord = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, AnswerRecord::default());
        assert_eq!(empty.version, 1, "records before versions are version 1");
        // Nested records too: a citation, a passage and a sentence citation
        // written before any of their fields existed.
        let nested: AnswerRecord = serde_json::from_str(
            r#"{"citations": [{}], "retrieved": [{"scores": {}}], "sentence_citations": [{}],
                "citation_check": {}, "relevance": {}, "timing": {}}"#,
        )
        .unwrap();
        assert_eq!(nested.citations, [CitationRecord::default()]);
        assert_eq!(nested.retrieved, [PassageRecord::default()]);
        assert_eq!(nested.sentence_citations, [SentenceCitationRecord::default()]);
    }

    /// What a later Quarry adds to a record (the test stands for "a field was
    /// added"): this build must read its records, and it must read ours.
    #[derive(Debug, Serialize, Deserialize)]
    struct NewerRecord {
        #[serde(flatten)]
        record: AnswerRecord,
        #[serde(default)]
        reading_time_ms: Option<f64>,
    }

    #[test]
    fn fields_added_later_are_ignored_and_old_records_read_in_newer_code() {
        let newer = serde_json::json!({
            "version": 1, "question": "q", "answer": "a [1]", "reading_time_ms": 12.5,
            "citations": [{"number": 1, "path": "/d.pdf", "colour": "red"}],
            "timing": {"total_ms": 3.0, "gpu_ms": 1.0}
        });
        let read: AnswerRecord = serde_json::from_value(newer).unwrap();
        assert_eq!(read.question, "q");
        assert_eq!(read.citations[0].path, "/d.pdf");
        assert_eq!(read.timing.total_ms, 3.0);
        let ours = serde_json::to_value(&read).unwrap();
        let in_newer_code: NewerRecord = serde_json::from_value(ours).unwrap();
        assert_eq!(in_newer_code.record, read);
        assert_eq!(in_newer_code.reading_time_ms, None);
    }
}
