//! The sentences of a passage that matter to a question: what the prompt
//! keeps of a passage (every prompt token is paid for in time to first
//! token), and the sentence a front end highlights the moment retrieval is
//! done, while the model is still reading.
//!
//! A sentence's score is the number of distinct question terms it holds,
//! in BM25's analysis (stemmed, stop words out), so it agrees with what
//! search matched. No embedding: this runs before the first token on every
//! question and must cost microseconds, not a model call.

use std::collections::HashSet;
use std::ops::Range;

use quarry_index::lexical::analyze;
use unicode_segmentation::UnicodeSegmentation;

/// Separates the parts of a trimmed passage that were not adjacent.
pub const GAP: &str = " … ";

/// The byte ranges of `text`'s sentences. A single line break does not end
/// a sentence (extracted PDF text breaks every wrapped line); a blank line
/// does.
pub fn sentences(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    // A line break with another one beyond the spaces around it ends a
    // paragraph ("\n\n", "\n \n"); a lone one is a wrapped line. Same
    // length as `text` (both are one byte), so ranges map back unchanged.
    let is_space = |b: u8| b == b' ' || b == b'\t' || b == b'\r';
    let paragraph_break = |i: usize| {
        let after = bytes[i + 1..].iter().find(|&&b| !is_space(b));
        let before = bytes[..i].iter().rev().find(|&&b| !is_space(b));
        after == Some(&b'\n') || before == Some(&b'\n')
    };
    let joined: String = text
        .char_indices()
        .map(|(i, c)| if c == '\n' && !paragraph_break(i) { ' ' } else { c })
        .collect();
    let mut out: Vec<Range<usize>> = Vec::new();
    for (start, sentence) in joined.split_sentence_bound_indices() {
        let end = start + sentence.len();
        let trimmed_start = start + (sentence.len() - sentence.trim_start().len());
        let trimmed_end = start + sentence.trim_end().len();
        if sentence.trim().is_empty() {
            continue;
        }
        if !sentence.chars().any(char::is_alphanumeric) {
            // Punctuation or a stray mark: part of the sentence before.
            if let Some(last) = out.last_mut() {
                last.end = trimmed_end.max(last.end);
            }
            continue;
        }
        if trimmed_start < end {
            out.push(trimmed_start..trimmed_end);
        }
    }
    out
}

/// The question's terms, as [`score`] counts them: those the relevance
/// test counts ([`super::relevance::question_terms`]).
pub fn question_terms(question: &str) -> HashSet<String> {
    super::relevance::question_terms(question).into_iter().collect()
}

/// Distinct question terms in `sentence`.
fn score(terms: &HashSet<String>, sentence: &str) -> usize {
    let found: HashSet<String> = analyze(sentence)
        .into_iter()
        .filter(|t| terms.contains(t))
        .collect();
    found.len()
}

/// The sentence of `text` that best matches the question (the first of
/// equals), or `None` when no sentence shares a term with it.
pub fn best_sentence(terms: &HashSet<String>, text: &str) -> Option<Range<usize>> {
    let mut best: Option<(usize, Range<usize>)> = None;
    for range in sentences(text) {
        let s = score(terms, &text[range.clone()]);
        if s > 0 && best.as_ref().is_none_or(|(b, _)| s > *b) {
            best = Some((s, range));
        }
    }
    best.map(|(_, r)| r)
}

/// At least `keep` sentences of `text` (all of it when it has no more):
/// the best-matching sentences, each with the sentence before and after it,
/// best first until `keep` are chosen (widened by neighbours when a match
/// sits at an edge); then in reading order, with [`GAP`] between parts that
/// were not adjacent. When no sentence matches, the first `keep`.
/// `keep == 0` keeps everything.
pub fn trim(terms: &HashSet<String>, text: &str, keep: usize) -> String {
    let all = sentences(text);
    if keep == 0 || all.len() <= keep {
        return text.to_string();
    }
    let scores: Vec<usize> = all.iter().map(|r| score(terms, &text[r.clone()])).collect();
    let mut order: Vec<usize> = (0..all.len()).filter(|&i| scores[i] > 0).collect();
    // Best first; among equals, the earlier.
    order.sort_by_key(|&i| (std::cmp::Reverse(scores[i]), i));
    let mut chosen = vec![false; all.len()];
    let mut count = 0;
    for i in order {
        if count >= keep {
            break;
        }
        for j in [Some(i), i.checked_sub(1), Some(i + 1)].into_iter().flatten() {
            if j < all.len() && !chosen[j] {
                chosen[j] = true;
                count += 1;
            }
        }
    }
    if count == 0 {
        chosen[..keep].fill(true);
        count = keep;
    }
    // A match at the passage's edge has one neighbour: widen what was
    // chosen until it holds `keep` sentences.
    while count < keep {
        let Some(next) = (0..all.len()).find(|&i| {
            !chosen[i] && ((i > 0 && chosen[i - 1]) || chosen.get(i + 1).copied().unwrap_or(false))
        }) else {
            break;
        };
        chosen[next] = true;
        count += 1;
    }
    let mut out = String::new();
    let mut previous: Option<usize> = None;
    for (i, range) in all.iter().enumerate().filter(|(i, _)| chosen[*i]) {
        match previous {
            Some(p) if p + 1 == i => out.push(' '),
            Some(_) => out.push_str(GAP),
            None if i > 0 => out.push_str(GAP.trim_start()),
            None => {}
        }
        out.push_str(&text[range.clone()]);
        previous = Some(i);
    }
    if previous.is_some_and(|p| p + 1 < all.len()) {
        out.push_str(GAP.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANUAL: &str = "Troubleshooting\nIf the pump hums but does not turn, check the start\ncapacitor. \
Cavitation sounds like gravel passing through the casing. The warranty lasts two years.\n\n\
Spare parts are listed on page 9. The impeller is made of bronze.";

    #[test]
    fn a_wrapped_line_does_not_end_a_sentence_but_a_blank_line_does() {
        let s: Vec<&str> = sentences(MANUAL).into_iter().map(|r| &MANUAL[r]).collect();
        assert_eq!(
            s[0],
            "Troubleshooting\nIf the pump hums but does not turn, check the start\ncapacitor."
        );
        assert_eq!(s[2], "The warranty lasts two years.");
        assert_eq!(s[3], "Spare parts are listed on page 9.");
        assert_eq!(s.len(), 5);
        // Spaces on the blank line still make a paragraph break; non-ASCII
        // text keeps its ranges on character boundaries.
        let text = "Überschrift\n \nDie Pumpe brummt — prüfen Sie den Kondensator.\nDanach läuft sie.";
        let s: Vec<&str> = sentences(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            s,
            [
                "Überschrift",
                "Die Pumpe brummt — prüfen Sie den Kondensator.",
                "Danach läuft sie."
            ]
        );
    }

    #[test]
    fn the_best_sentence_is_the_one_with_most_question_terms() {
        let terms = question_terms("What should I check if the pump hums but does not turn?");
        let best = best_sentence(&terms, MANUAL).unwrap();
        assert!(MANUAL[best].ends_with("start\ncapacitor."));
        assert_eq!(best_sentence(&question_terms("capital of Peru"), MANUAL), None);
    }

    #[test]
    fn trimming_keeps_the_match_and_its_neighbours_in_reading_order() {
        let terms = question_terms("What is the impeller made of?");
        let kept = trim(&terms, MANUAL, 2);
        assert_eq!(
            kept,
            "… Spare parts are listed on page 9. The impeller is made of bronze."
        );
        let terms = question_terms("How long is the warranty?");
        assert_eq!(
            trim(&terms, MANUAL, 3),
            "… Cavitation sounds like gravel passing through the casing. The warranty lasts two years. \
Spare parts are listed on page 9. …"
        );
        // Nothing matches: the passage's start. Short passages stay whole.
        assert!(trim(&question_terms("Peru"), MANUAL, 2).starts_with("Troubleshooting"));
        // A match in the first sentence has one neighbour; the next fills in.
        let terms = question_terms("What should I check if the pump hums?");
        let kept = trim(&terms, MANUAL, 3);
        assert!(
            kept.starts_with("Troubleshooting") && kept.ends_with("two years. …"),
            "{kept}"
        );
        assert_eq!(trim(&terms, "One. Two.", 3), "One. Two.");
        assert_eq!(trim(&terms, MANUAL, 0), MANUAL);
    }
}
