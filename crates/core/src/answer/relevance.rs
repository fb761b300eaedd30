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

/// Words that make a sentence a question without saying what it is about,
/// as BM25's analysis leaves them (stemmed: "does" → "doe"). BM25's stop
/// list is short (Lucene's 33 words), so without these "What does a worn
/// seal cause?" had 5 terms and a passage holding "a worn seal causes"
/// covered only 3 of them: a question the manual answers word for word was
/// refused (`tests/data/qa/samples.json`, measured in the closing note of
/// the answers issue).
const QUESTION_WORDS: [&str; 28] = [
    "what", "which", "who", "whom", "whose", "when", "where", "whi", "why", "how", "do", "doe", "did", "can",
    "could", "should", "would", "shall", "may", "might", "must", "i", "me", "my", "we", "our", "you", "your",
];

/// What a tokenizer leaves of English contractions and possessives
/// ("pump's" → "pump", "s"; "don't" → "don", "t"); other one-letter terms
/// ("vitamin D", "page 9") stay.
const CLITICS: [&str; 2] = ["s", "t"];

/// The terms of `question` that say what it is about: BM25's analysis,
/// without question words and clitics, each once.
pub fn question_terms(question: &str) -> Vec<String> {
    let mut terms: Vec<String> = analyze(question)
        .into_iter()
        .filter(|t| !QUESTION_WORDS.contains(&t.as_str()) && !CLITICS.contains(&t.as_str()))
        .collect();
    terms.sort();
    terms.dedup();
    terms
}

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
    let terms = question_terms(question);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_words_and_clitics_are_not_what_a_question_is_about() {
        assert_eq!(
            question_terms("What does a worn seal cause?"),
            ["caus", "seal", "worn"]
        );
        assert_eq!(
            question_terms("To what torque are the pump's anchor bolts tightened?"),
            ["anchor", "bolt", "pump", "tighten", "torqu"]
        );
        // "why" is stemmed to "whi"; a one-letter name stays.
        assert_eq!(
            question_terms("Why does vitamin D matter?"),
            ["d", "matter", "vitamin"]
        );
        // What is left of a question about nothing: no lexical vote.
        assert!(question_terms("What is it?").is_empty());
    }
}
