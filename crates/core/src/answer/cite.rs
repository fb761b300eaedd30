//! Checking the model's citations against the passages it was given.
//!
//! Small models write `[n]` unreliably: the right fact under the wrong
//! number, numbers that name no source, or none at all. So every sentence's
//! citations are checked here. A sentence is *supported* by a passage when
//! either
//! - most of its content (the BM25 analysis: stemmed, stop words removed) is
//!   found in that passage, each term weighted by how rare it is among the
//!   passages given (a term every passage shares, usually the question's own
//!   words, proves little; a number or name found in one passage proves a
//!   lot); or
//! - it paraphrases one of the passage's sentences (cosine of their
//!   embeddings);
//!
//! and, either way, every number and code in it occurs in the passage: an
//! invented figure next to the right words is the failure that matters most.
//! Measured on labelled answer sentences (`tests/it/cite.rs`): overlap alone
//! rejects honest paraphrases ("reduced" for "cutting") and accepts wrong
//! figures; embeddings alone accept wrong figures too. A citation is kept when its passage supports the sentence, moved
//! when another passage supports it clearly better, dropped when none does;
//! numbers that name no given passage are dropped and counted. When the
//! model cites nothing, the passages the sentences draw on are attached as
//! *inferred*.

use std::collections::{HashMap, HashSet};

use quarry_embed::{cosine, EmbedError, Embedder};
use quarry_index::lexical::analyze;

use super::marks::strip_marks;
pub use super::marks::{find_marks, split_sentences, Mark};

/// Share of a sentence's weighted content a passage must contain to support it.
pub const SUPPORT_THRESHOLD: f32 = 0.5;
/// A cited passage within this much of the best one is kept (near ties are
/// the model's call, not ours).
const TIE_MARGIN: f32 = 0.1;
/// Sentences with fewer content terms ("Yes.", "See below.") cannot be
/// checked by overlap; their citations are kept if they name a given passage.
const MIN_TERMS: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CitationStatus {
    /// The model cited this passage and it supports the sentence.
    Kept,
    /// The model cited another passage; this one supports the sentence.
    Moved { from: usize },
    /// The model cited nothing; the sentence draws on this passage.
    Inferred,
    /// Too short to check; kept as the model wrote it.
    Unchecked,
}

/// One sentence's use of one passage.
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceCitation {
    /// 0-based index of the sentence in the answer.
    pub sentence: usize,
    /// 1-based source number (as in the prompt).
    pub source: usize,
    /// Share of the sentence's weighted content found in the passage.
    pub support: f32,
    pub status: CitationStatus,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CitationReport {
    /// Citations the model wrote.
    pub written: usize,
    pub kept: usize,
    pub moved: usize,
    /// Citations of a given passage that did not support their sentence.
    pub dropped_unsupported: usize,
    /// Citations naming no passage that was given (e.g. `[7]` of 4).
    pub dropped_invalid: usize,
    /// True when the model cited nothing and sources were inferred.
    pub inferred: bool,
    /// Sentences (0-based) that no passage given supports, cited or not:
    /// a claim the reader should not take from the documents.
    pub unsupported_sentences: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckedAnswer {
    /// The answer with its citation marks corrected.
    pub text: String,
    pub sentences: Vec<String>,
    pub citations: Vec<SentenceCitation>,
    pub report: CitationReport,
}

/// A passage as the model saw it: the label it was given under ("manual.pdf,
/// page 2") and its text. Answers quote the label too ("as page 2 of the
/// manual says"), so its terms and figures count as the passage's.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    pub label: &'a str,
    pub text: &'a str,
}

/// Cosine at which a paraphrase counts as support (with its figures present):
/// midway between the best invented claim (0.45) and the weakest true
/// paraphrase (0.54) of the labelled sentences in `tests/it/cite.rs`.
pub const PARAPHRASE_COSINE: f32 = 0.5;

/// Weighted share of `sentence` terms found in `passage`.
fn overlap(sentence: &[String], passage: &HashSet<String>, weight: &HashMap<String, f32>) -> f32 {
    let total: f32 = sentence.iter().map(|t| weight[t]).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let found: f32 = sentence
        .iter()
        .filter(|t| passage.contains(*t))
        .map(|t| weight[t])
        .sum();
    found / total
}

/// The support signals of one sentence for one passage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signals {
    /// Weighted share of the sentence's terms found in the passage.
    pub overlap: f32,
    /// Best cosine of the sentence with one of the passage's sentences.
    pub cosine: f32,
    /// Every number and code of the sentence occurs in the passage.
    pub figures_present: bool,
}

impl Signals {
    /// Support in 0..1; [`SUPPORT_THRESHOLD`] and above means supported.
    /// A sentence with a figure the passage lacks is never supported by it;
    /// the cosine is scaled so that [`PARAPHRASE_COSINE`] lands on the threshold.
    pub fn support(&self) -> f32 {
        if !self.figures_present {
            return 0.0;
        }
        self.overlap
            .max(self.cosine * SUPPORT_THRESHOLD / PARAPHRASE_COSINE)
            .min(1.0)
    }
}

/// Scores sentences against the passages given.
pub struct Scorer<'a> {
    terms: Vec<HashSet<String>>,
    /// Each passage's sentences, embedded: a claim paraphrases one sentence,
    /// and against a whole multi-topic passage its cosine is diluted
    /// (measured: 0.33–0.36 for true paraphrases, below invented claims).
    sentence_vectors: Vec<Vec<Vec<f32>>>,
    weight: HashMap<String, f32>,
    embedder: &'a dyn Embedder,
}

impl<'a> Scorer<'a> {
    pub fn new(passages: &[Evidence], embedder: &'a dyn Embedder) -> Result<Self, EmbedError> {
        let mut sentence_vectors = Vec::with_capacity(passages.len());
        for passage in passages {
            let text = passage.text;
            let sentences: Vec<&str> = split_sentences(text)
                .into_iter()
                .map(|(s, e)| text[s..e].trim())
                .filter(|s| s.chars().any(char::is_alphanumeric))
                .collect();
            sentence_vectors.push(if sentences.is_empty() {
                Vec::new()
            } else {
                embedder.embed(&sentences)?
            });
        }
        Ok(Scorer {
            terms: passages
                .iter()
                .map(|p| analyze(p.label).into_iter().chain(analyze(p.text)).collect())
                .collect(),
            sentence_vectors,
            weight: HashMap::new(),
            embedder,
        })
    }

    /// Both signals of `text` for each passage.
    pub fn signals(&mut self, text: &str) -> Result<Vec<Signals>, EmbedError> {
        let mut terms = analyze(text);
        terms.sort();
        terms.dedup();
        // Rarity among the passages given: ln(1 + (k + 1) / (df + 0.5)).
        let k = self.terms.len() as f32;
        for term in &terms {
            if !self.weight.contains_key(term) {
                let df = self.terms.iter().filter(|p| p.contains(term)).count() as f32;
                self.weight
                    .insert(term.clone(), (1.0 + (k + 1.0) / (df + 0.5)).ln());
            }
        }
        let vector = self.embedder.embed(&[text])?.pop().unwrap_or_default();
        let figures: Vec<&String> = terms
            .iter()
            .filter(|t| t.chars().any(|c| c.is_ascii_digit()))
            .collect();
        Ok(self
            .terms
            .iter()
            .zip(&self.sentence_vectors)
            .map(|(passage, sentences)| Signals {
                overlap: overlap(&terms, passage, &self.weight),
                cosine: sentences.iter().map(|s| cosine(&vector, s)).fold(0.0, f32::max),
                figures_present: figures.iter().all(|f| passage.contains(*f)),
            })
            .collect())
    }

    fn scores(&mut self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self.signals(text)?.iter().map(Signals::support).collect())
    }
}

/// The best-supporting passage (lowest number on ties).
fn best_of(scores: &[f32]) -> Option<usize> {
    (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)))
}

fn supported(scores: &[f32]) -> bool {
    best_of(scores).is_some_and(|b| scores[b] >= SUPPORT_THRESHOLD)
}

/// What to do with one written citation of `number`.
fn decide(number: usize, scores: &[f32], checkable: bool) -> Option<(usize, f32, CitationStatus)> {
    let own = scores[number - 1];
    let best = best_of(scores);
    if !checkable {
        Some((number, own, CitationStatus::Unchecked))
    } else if own >= SUPPORT_THRESHOLD && best.is_none_or(|b| own + TIE_MARGIN >= scores[b]) {
        Some((number, own, CitationStatus::Kept))
    } else {
        best.filter(|&b| scores[b] >= SUPPORT_THRESHOLD)
            .map(|b| (b + 1, scores[b], CitationStatus::Moved { from: number }))
    }
}

/// The sentence with its marks replaced by `sources` (where the first mark
/// was; without a space before it when nothing is left).
fn rewrite(sentence: &str, marks: &[Mark], sources: &[usize]) -> String {
    let mut text = String::with_capacity(sentence.len());
    let mut at = 0;
    for (i, mark) in marks.iter().enumerate() {
        let before = &sentence[at..mark.start];
        if i == 0 && sources.is_empty() || i > 0 {
            text.push_str(before.trim_end());
        } else {
            text.push_str(before);
        }
        if i == 0 {
            for source in sources {
                text.push_str(&format!("[{source}]"));
            }
        }
        at = mark.end;
    }
    text.push_str(&sentence[at..]);
    text
}

/// Check `answer`'s citations against `passages` (source `[n]` is
/// `passages[n - 1]`), embedding sentences with `embedder` (the library's).
///
/// A citation closing several uncited sentences ("A. B. [1]", or "This is
/// stated in [1].") is checked against those sentences together.
pub fn check(
    answer: &str,
    passages: &[Evidence],
    embedder: &dyn Embedder,
) -> Result<CheckedAnswer, EmbedError> {
    let mut scorer = Scorer::new(passages, embedder)?;
    let spans = split_sentences(answer);
    let sentences: Vec<String> = spans.iter().map(|&(s, e)| answer[s..e].to_string()).collect();
    let claims: Vec<String> = sentences
        .iter()
        .map(|s| strip_marks(s).trim().to_string())
        .collect();
    let term_counts: Vec<usize> = claims
        .iter()
        .map(|c| {
            let mut terms = analyze(c);
            terms.sort();
            terms.dedup();
            terms.len()
        })
        .collect();
    let mut alone: Vec<Option<Vec<f32>>> = vec![None; sentences.len()];
    let mut scores_alone = |scorer: &mut Scorer, i: usize| -> Result<Vec<f32>, EmbedError> {
        if alone[i].is_none() {
            alone[i] = Some(scorer.scores(&claims[i])?);
        }
        Ok(alone[i].clone().unwrap_or_default())
    };

    let mut report = CitationReport::default();
    let mut citations: Vec<SentenceCitation> = Vec::new();
    let mut rewritten = String::with_capacity(answer.len());
    // Uncited sentences since the last cited one.
    let mut run_start = 0;
    for (index, sentence) in sentences.iter().enumerate() {
        let marks = find_marks(sentence);
        if marks.is_empty() {
            rewritten.push_str(sentence);
            continue;
        }
        let mut scores = scores_alone(&mut scorer, index)?;
        let mut covered = index..index + 1;
        if run_start < index && !supported(&scores) {
            let joint = scorer.scores(&claims[run_start..=index].join(" "))?;
            if supported(&joint) {
                scores = joint;
                covered = run_start..index + 1;
            }
        }
        let checkable = covered.clone().map(|i| term_counts[i]).sum::<usize>() >= MIN_TERMS;
        let mut chosen: Vec<(usize, f32, CitationStatus)> = Vec::new();
        for &number in marks.iter().flat_map(|m| &m.numbers) {
            report.written += 1;
            if number == 0 || number > passages.len() {
                report.dropped_invalid += 1;
                continue;
            }
            let Some(decision) = decide(number, &scores, checkable) else {
                report.dropped_unsupported += 1;
                continue;
            };
            match decision.2 {
                CitationStatus::Moved { .. } => report.moved += 1,
                _ => report.kept += 1,
            }
            // Two marks resolving to one passage make one citation.
            if !chosen.iter().any(|c| c.0 == decision.0) {
                chosen.push(decision);
            }
        }
        chosen.sort_by_key(|c| c.0);
        let sources: Vec<usize> = chosen.iter().map(|c| c.0).collect();
        rewritten.push_str(&rewrite(sentence, &marks, &sources));
        for sentence in covered {
            for &(source, support, status) in &chosen {
                citations.push(SentenceCitation {
                    sentence,
                    source,
                    support,
                    status,
                });
            }
        }
        run_start = index + 1;
    }

    let checkable: Vec<usize> = (0..sentences.len())
        .filter(|&i| term_counts[i] >= MIN_TERMS)
        .collect();
    if report.written == 0 {
        for &index in &checkable {
            let scores = scores_alone(&mut scorer, index)?;
            if let Some(b) = best_of(&scores).filter(|&b| scores[b] >= SUPPORT_THRESHOLD) {
                report.inferred = true;
                citations.push(SentenceCitation {
                    sentence: index,
                    source: b + 1,
                    support: scores[b],
                    status: CitationStatus::Inferred,
                });
            }
        }
    }
    // Sentences that make a claim no given passage supports.
    for &index in &checkable {
        if !citations.iter().any(|c| c.sentence == index) && !supported(&scores_alone(&mut scorer, index)?) {
            report.unsupported_sentences.push(index);
        }
    }
    Ok(CheckedAnswer {
        text: rewritten,
        sentences,
        citations,
        report,
    })
}

#[cfg(test)]
mod tests {
    //! Properties: marks of every written form are found; marks after a
    //! sentence's end belong to it. (The check itself needs the embedder:
    //! `tests/it/cite.rs`.)
    use super::*;

    #[test]
    fn marks_in_all_written_forms() {
        let marks = find_marks("a [1] b [2, 3] c [4-5] d [Source 6] e [x] f [");
        let numbers: Vec<Vec<usize>> = marks.iter().map(|m| m.numbers.clone()).collect();
        assert_eq!(numbers, vec![vec![1], vec![2, 3], vec![4, 5], vec![6]]);
    }

    #[test]
    fn trailing_marks_belong_to_their_sentence() {
        let spans = split_sentences("It lasts five years. [3] Done here.");
        assert_eq!(spans.len(), 2);
        assert_eq!(
            &"It lasts five years. [3] Done here."[spans[0].0..spans[0].1],
            "It lasts five years. [3] "
        );
    }
}
