//! Answer evaluation on a question set in SQuAD 2.0's JSON layout: index
//! every paragraph as its own document, ask every question through the
//! answering session (as a front end would, with no conversation), and
//! score what a reader of the answer cares about: was the gold passage
//! cited, does the answer contain a gold answer, did Quarry abstain where
//! the library cannot answer, did it cite passages it was not given, and
//! how long it took.
//!
//! Three kinds of question: *answerable* (SQuAD's answers, `is_impossible`
//! false), *unanswerable* (`is_impossible` true: the paragraph is on topic
//! but does not answer), and *off-library* (a paragraph with an empty
//! context: nothing in the library is about it). The empty-context
//! convention keeps the file readable by any SQuAD tool.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{EvalError, Percentiles};
use crate::answer::AnswerOptions;
use crate::session::{AnswerEngine, AnswerEvent, ConversationRef, Question, Session};
use crate::{Library, Progress, TextDocument};

#[derive(Deserialize)]
struct SquadFile {
    data: Vec<SquadArticle>,
}

#[derive(Deserialize)]
struct SquadArticle {
    #[serde(default)]
    title: String,
    paragraphs: Vec<SquadParagraph>,
}

#[derive(Deserialize)]
struct SquadParagraph {
    #[serde(default)]
    context: String,
    qas: Vec<SquadQuestion>,
}

#[derive(Deserialize)]
struct SquadQuestion {
    id: String,
    question: String,
    #[serde(default)]
    answers: Vec<SquadAnswer>,
    #[serde(default)]
    is_impossible: bool,
}

#[derive(Deserialize)]
struct SquadAnswer {
    text: String,
}

/// What a question tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QaKind {
    Answerable,
    Unanswerable,
    OffLibrary,
}

#[derive(Debug, Clone)]
pub struct QaQuestion {
    pub id: String,
    pub text: String,
    pub kind: QaKind,
    /// The key of its paragraph's document (`None` for off-library).
    pub gold: Option<String>,
    pub answers: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct QaDataset {
    pub path: PathBuf,
    /// Every non-empty paragraph, keyed `title#n`.
    pub documents: Vec<TextDocument>,
    pub questions: Vec<QaQuestion>,
}

impl QaDataset {
    pub fn load(path: &Path) -> Result<Self, EvalError> {
        let bytes = std::fs::read(path).map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: SquadFile = serde_json::from_slice(&bytes).map_err(|e| EvalError::Dataset {
            path: path.to_path_buf(),
            detail: format!("not a SQuAD 2.0 file: {e}"),
        })?;
        let mut documents = Vec::new();
        let mut questions = Vec::new();
        let mut keys = std::collections::HashSet::new();
        for (a, article) in file.data.into_iter().enumerate() {
            let title = match article.title.trim() {
                "" => format!("article {}", a + 1),
                t => t.replace('_', " "),
            };
            for (p, paragraph) in article.paragraphs.into_iter().enumerate() {
                let gold = (!paragraph.context.trim().is_empty()).then(|| {
                    // A key is a document: two articles with one title stay two.
                    let mut key = format!("{title}#{}", p + 1);
                    while !keys.insert(key.clone()) {
                        key.push('\'');
                    }
                    documents.push(TextDocument {
                        key: key.clone(),
                        title: Some(title.clone()),
                        text: paragraph.context.clone(),
                    });
                    key
                });
                for q in paragraph.qas {
                    let kind = match (&gold, q.is_impossible) {
                        (None, _) => QaKind::OffLibrary,
                        (Some(_), true) => QaKind::Unanswerable,
                        (Some(_), false) => QaKind::Answerable,
                    };
                    questions.push(QaQuestion {
                        id: q.id,
                        text: q.question,
                        kind,
                        gold: gold.clone().filter(|_| kind == QaKind::Answerable),
                        answers: q.answers.into_iter().map(|a| a.text).collect(),
                    });
                }
            }
        }
        if questions.is_empty() {
            return Err(EvalError::Dataset {
                path: path.to_path_buf(),
                detail: "it holds no questions".into(),
            });
        }
        Ok(QaDataset {
            path: path.to_path_buf(),
            documents,
            questions,
        })
    }
}

/// One question's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct QaOutcome {
    pub id: String,
    pub question: String,
    pub kind: QaKind,
    pub answer: String,
    /// Quarry said the documents do not answer: retrieval found nothing
    /// relevant, the model said so, or no passage supports what it wrote
    /// (then `contains_answer` is false even if its text held the answer:
    /// the reader was told not to take it from the documents).
    pub abstained: bool,
    /// The gold paragraph was among the passages given to the model.
    pub gold_given: bool,
    /// The gold paragraph is among the answer's citations.
    pub gold_cited: bool,
    /// The answer contains a gold answer (SQuAD's normalisation).
    pub contains_answer: bool,
    /// Citation marks naming no passage that was given (e.g. `[7]` of 4).
    pub invalid_citations: usize,
    pub sentences: usize,
    pub unsupported_sentences: usize,
    /// 0 when the model was not asked.
    pub prompt_tokens: usize,
    pub retrieval_ms: f64,
    /// From the question's sending to the first token of the answer, as a
    /// person waits for it (retrieval, prompt and prefill included); `None`
    /// when the model was not asked.
    pub first_token_ms: Option<f64>,
    pub total_ms: f64,
}

/// A share with what it is a share of.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Rate {
    pub count: usize,
    pub of: usize,
}

impl Rate {
    fn of<T>(items: &[&T], test: impl Fn(&T) -> bool) -> Rate {
        Rate {
            count: items.iter().filter(|i| test(i)).count(),
            of: items.len(),
        }
    }

    pub fn percent(&self) -> f64 {
        match self.of {
            0 => 0.0,
            n => 100.0 * self.count as f64 / n as f64,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct QaReport {
    pub dataset: String,
    pub model: Option<String>,
    pub passages: usize,
    pub passage_sentences: usize,
    pub documents: usize,
    pub answerable: usize,
    pub unanswerable: usize,
    pub off_library: usize,
    /// Answerable questions whose gold paragraph was given to the model.
    pub gold_given: Rate,
    /// Answerable questions whose gold paragraph was cited.
    pub gold_cited: Rate,
    /// Answerable questions with gold answers whose answer contains one.
    pub contains_answer: Rate,
    /// Answerable questions Quarry refused.
    pub false_abstention: Rate,
    pub unanswerable_abstention: Rate,
    pub off_library_abstention: Rate,
    pub invalid_citations: usize,
    pub unsupported_sentences: Rate,
    /// Over the questions the model was asked.
    pub prompt_tokens: Percentiles,
    /// Over the questions the model was asked.
    pub first_token_ms: Percentiles,
    /// Over every question.
    pub retrieval_ms: Percentiles,
    /// Over every question (an abstention by retrieval takes milliseconds).
    pub total_ms: Percentiles,
    pub questions: Vec<QaOutcome>,
}

/// SQuAD's answer normalisation: lower case, no punctuation, no articles,
/// single spaces.
pub fn normalize_answer(text: &str) -> String {
    let lower: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect();
    lower
        .split_whitespace()
        .filter(|w| !matches!(*w, "a" | "an" | "the"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Does `answer` contain one of `gold`, word for word after normalisation?
pub fn contains_gold(answer: &str, gold: &[String]) -> bool {
    let answer = format!(" {} ", normalize_answer(answer));
    gold.iter()
        .map(|g| normalize_answer(g))
        .filter(|g| !g.is_empty())
        .any(|g| answer.contains(&format!(" {g} ")))
}

/// How the questions are asked.
#[derive(Debug, Clone, Default)]
pub struct QaRun {
    pub engine: AnswerEngine,
    pub options: AnswerOptions,
    /// Ask only the first this many questions.
    pub limit: Option<usize>,
}

/// Index the dataset's paragraphs into `library` (unchanged ones are
/// skipped, so a kept library is reused), then ask the questions through
/// `session` as `run` says, calling `on_question` after each.
pub fn evaluate_qa(
    library: Arc<Library>,
    session: &Session,
    dataset: &QaDataset,
    run: &QaRun,
    observe: &(dyn Fn(Progress) + Sync),
    on_question: &mut dyn FnMut(&QaOutcome),
) -> Result<QaReport, EvalError> {
    let (engine, options, limit) = (&run.engine, &run.options, run.limit);
    let never = std::sync::atomic::AtomicBool::new(false);
    library.add_texts(dataset.documents.clone(), observe, &never)?;
    // A model the caller prepared may still be loading: no question waits for it.
    session.wait_until_idle();
    let mut outcomes = Vec::new();
    let mut model = None;
    for q in dataset.questions.iter().take(limit.unwrap_or(usize::MAX)) {
        let sent = Instant::now();
        let mut first_token_ms = None;
        let turn = session
            .ask(Question {
                library: library.clone(),
                text: q.text.clone(),
                conversation: ConversationRef::Unstored(Vec::new()),
                options: options.clone(),
                model: engine.clone(),
            })
            .finish(|event| {
                if matches!(event, AnswerEvent::Token(_)) && first_token_ms.is_none() {
                    first_token_ms = Some(sent.elapsed().as_secs_f64() * 1000.0);
                }
            })?;
        let a = &turn.answer;
        model = model.or_else(|| a.model.clone());
        let is_gold = |path: &str| q.gold.as_deref() == Some(path);
        let outcome = QaOutcome {
            id: q.id.clone(),
            question: q.text.clone(),
            kind: q.kind,
            answer: a.answer.clone(),
            abstained: a.not_found,
            gold_given: a.retrieved.iter().any(|p| is_gold(&p.path)),
            gold_cited: !a.not_found && a.citations.iter().any(|c| is_gold(&c.path)),
            contains_answer: !a.not_found && contains_gold(&a.answer, &q.answers),
            invalid_citations: a.citation_check.dropped_invalid,
            sentences: a.sentences.len(),
            unsupported_sentences: a.citation_check.unsupported_sentences.len(),
            prompt_tokens: a.timing.prompt_tokens,
            retrieval_ms: a.timing.retrieval_ms,
            first_token_ms,
            total_ms: sent.elapsed().as_secs_f64() * 1000.0,
        };
        on_question(&outcome);
        outcomes.push(outcome);
    }
    Ok(report(dataset, model, options, outcomes))
}

fn report(
    dataset: &QaDataset,
    model: Option<String>,
    options: &AnswerOptions,
    outcomes: Vec<QaOutcome>,
) -> QaReport {
    let kind = |k: QaKind| outcomes.iter().filter(|o| o.kind == k).collect::<Vec<_>>();
    let (answerable, unanswerable, off_library) = (
        kind(QaKind::Answerable),
        kind(QaKind::Unanswerable),
        kind(QaKind::OffLibrary),
    );
    let has_gold_answers: std::collections::HashSet<&str> = dataset
        .questions
        .iter()
        .filter(|q| !q.answers.is_empty())
        .map(|q| q.id.as_str())
        .collect();
    let with_gold_answers: Vec<&QaOutcome> = answerable
        .iter()
        .copied()
        .filter(|o| has_gold_answers.contains(o.id.as_str()))
        .collect();
    let all: Vec<&QaOutcome> = outcomes.iter().collect();
    let asked: Vec<&QaOutcome> = outcomes.iter().filter(|o| o.first_token_ms.is_some()).collect();
    let percentiles = |over: &[&QaOutcome], f: fn(&QaOutcome) -> f64| {
        Percentiles::of(&over.iter().map(|o| f(o)).collect::<Vec<_>>())
    };
    QaReport {
        dataset: dataset.path.display().to_string(),
        model,
        passages: options.passages,
        passage_sentences: options.passage_sentences,
        documents: dataset.documents.len(),
        answerable: answerable.len(),
        unanswerable: unanswerable.len(),
        off_library: off_library.len(),
        gold_given: Rate::of(&answerable, |o| o.gold_given),
        gold_cited: Rate::of(&answerable, |o| o.gold_cited),
        contains_answer: Rate::of(&with_gold_answers, |o| o.contains_answer),
        false_abstention: Rate::of(&answerable, |o| o.abstained),
        unanswerable_abstention: Rate::of(&unanswerable, |o| o.abstained),
        off_library_abstention: Rate::of(&off_library, |o| o.abstained),
        invalid_citations: outcomes.iter().map(|o| o.invalid_citations).sum(),
        unsupported_sentences: Rate {
            count: outcomes.iter().map(|o| o.unsupported_sentences).sum(),
            of: outcomes.iter().map(|o| o.sentences).sum(),
        },
        prompt_tokens: percentiles(&asked, |o| o.prompt_tokens as f64),
        first_token_ms: percentiles(&asked, |o| o.first_token_ms.unwrap_or_default()),
        retrieval_ms: percentiles(&all, |o| o.retrieval_ms),
        total_ms: percentiles(&all, |o| o.total_ms),
        questions: outcomes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_compared_as_squad_normalises_them() {
        let gold = vec!["the start capacitor".to_string()];
        assert!(contains_gold(
            "Check the Start-Capacitor [1].",
            &["start capacitor".into()]
        ));
        assert!(contains_gold("Check the start capacitor.", &gold));
        assert!(!contains_gold("Check the capacitors.", &gold));
        // Whole words only: "12" is not found in "120".
        assert!(!contains_gold("It runs at 120 V.", &["12".to_string()]));
        assert!(!contains_gold("anything", &["the".to_string()]));
    }

    #[test]
    fn a_squad_file_gives_three_kinds_of_question() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qa.json");
        std::fs::write(
            &path,
            r#"{"version": "v2.0", "data": [
                {"title": "Pumps", "paragraphs": [
                    {"context": "If the pump hums, check the start capacitor.", "qas": [
                        {"id": "a", "question": "What to check?", "answers": [{"text": "start capacitor", "answer_start": 26}], "is_impossible": false},
                        {"id": "u", "question": "Who made it?", "answers": [], "is_impossible": true}]}]},
                {"title": "", "paragraphs": [
                    {"context": "", "qas": [{"id": "o", "question": "Capital of Peru?", "answers": [], "is_impossible": true}]}]}]}"#,
        )
        .unwrap();
        let d = QaDataset::load(&path).unwrap();
        assert_eq!(d.documents.len(), 1);
        assert_eq!(d.documents[0].key, "Pumps#1");
        let kinds: Vec<QaKind> = d.questions.iter().map(|q| q.kind).collect();
        assert_eq!(
            kinds,
            [QaKind::Answerable, QaKind::Unanswerable, QaKind::OffLibrary]
        );
        assert_eq!(d.questions[0].gold.as_deref(), Some("Pumps#1"));
        assert_eq!(d.questions[1].gold, None);

        std::fs::write(&path, "{\"data\": 3}").unwrap();
        let e = QaDataset::load(&path).unwrap_err().to_string();
        assert!(e.contains("not a SQuAD 2.0 file"), "{e}");
    }
}
