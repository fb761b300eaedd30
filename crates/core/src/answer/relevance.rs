//! Deciding whether retrieval found anything worth answering from.
//!
//! Fused scores are rank-based and say nothing absolute, so the test uses
//! the two retrievers' own evidence: the best dense cosine (MiniLM puts
//! unrelated text below ~0.25 and on-topic passages above ~0.4), and the
//! best lexical coverage — the share of the question's content terms (BM25
//! analysis) that one passage contains, which catches exact codes and names
//! that the embedding blurs. Either one clearing its bar is enough.
//! The bars were chosen on in- and out-of-library questions over `samples/`
//! (the numbers are in the closing note of the answering issue, and
//! `tests/it/answer.rs` keeps both kinds).

use std::collections::HashSet;

use quarry_index::lexical::analyze;

use crate::library::SearchHit;

/// Best dense cosine at or above which retrieval counts as relevant.
pub const DENSE_MIN: f32 = 0.40;
/// Lexical coverage at or above which retrieval counts as relevant.
pub const COVERAGE_MIN: f32 = 0.67;
/// Questions with fewer content terms than this get no lexical vote (one
/// shared word proves nothing).
const MIN_QUESTION_TERMS: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Relevance {
    pub dense_best: f32,
    pub lexical_coverage: f32,
    pub relevant: bool,
}

/// Judge `hits` for `question`.
pub fn judge(question: &str, hits: &[SearchHit]) -> Relevance {
    let dense_best = hits
        .iter()
        .filter_map(|h| h.scores.dense_score)
        .fold(0.0f32, f32::max);
    let mut terms = analyze(question);
    terms.sort();
    terms.dedup();
    let lexical_coverage = if terms.len() < MIN_QUESTION_TERMS {
        0.0
    } else {
        hits.iter()
            .map(|h| {
                let mut text = analyze(&h.passage.text);
                if let Some(title) = &h.passage.title {
                    text.extend(analyze(title));
                }
                let present: HashSet<String> = text.into_iter().collect();
                terms.iter().filter(|t| present.contains(*t)).count() as f32 / terms.len() as f32
            })
            .fold(0.0f32, f32::max)
    };
    Relevance {
        dense_best,
        lexical_coverage,
        relevant: dense_best >= DENSE_MIN || lexical_coverage >= COVERAGE_MIN,
    }
}
