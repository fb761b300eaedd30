//! Citation marks in an answer (`[1]`, `[1, 2]`, `[1-3]`, `[Source 2]`)
//! and the sentences they belong to.
//!
//! Kept apart from the citation checker (`cite.rs`), with no dependency
//! but `unicode-segmentation`, so the fuzzer (`fuzz/`) builds this very
//! file without building the rest of quarry-core and llama.cpp with it.

use unicode_segmentation::UnicodeSegmentation;

/// A citation mark in the text: its byte range and the numbers it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub start: usize,
    pub end: usize,
    pub numbers: Vec<usize>,
}

/// Find `[1]`, `[1, 2]`, `[1-3]`, `[Source 2]` marks. Written by hand: the
/// forms are few and a regex crate would be a dependency for ten lines.
pub fn find_marks(text: &str) -> Vec<Mark> {
    let mut marks = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'[' {
            i += 1;
            continue;
        }
        let Some(close) = text[i + 1..].find(']').map(|c| i + 1 + c) else {
            break;
        };
        let inner = text[i + 1..close].trim();
        let inner = inner
            .strip_prefix("Source")
            .or_else(|| inner.strip_prefix("source"))
            .unwrap_or(inner)
            .trim();
        if let Some(numbers) = parse_numbers(inner) {
            marks.push(Mark {
                start: i,
                end: close + 1,
                numbers,
            });
            i = close + 1;
        } else {
            i += 1;
        }
    }
    marks
}

fn parse_numbers(inner: &str) -> Option<Vec<usize>> {
    if inner.is_empty() || inner.len() > 24 {
        return None;
    }
    let mut numbers = Vec::new();
    for part in inner.split([',', ';']) {
        let part = part.trim();
        if let Some((a, b)) = part.split_once(['-', '–']) {
            let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            if b < a || b - a > 10 {
                return None;
            }
            numbers.extend(a..=b);
        } else {
            numbers.push(part.parse().ok()?);
        }
    }
    Some(numbers)
}

/// Split an answer into sentences; citation marks that follow a sentence's
/// end ("… 1450 rpm. [1] Next …") belong to the sentence before them.
pub fn split_sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (start, segment) in text.split_sentence_bound_indices() {
        let end = start + segment.len();
        // Leading marks (and the whitespace around them) go to the previous sentence.
        let mut lead = 0;
        for mark in find_marks(segment) {
            if !segment[lead..mark.start].trim().is_empty() {
                break;
            }
            lead = mark.end + (segment[mark.end..].len() - segment[mark.end..].trim_start().len());
        }
        let split = match out.last_mut() {
            Some(last) if lead > 0 => {
                last.1 = start + lead;
                start + lead
            }
            _ => start,
        };
        if split == end {
            continue;
        }
        let substantive = strip_marks(&text[split..end])
            .chars()
            .any(|c| c.is_alphanumeric());
        match out.last_mut() {
            Some(last) if !substantive => last.1 = end,
            _ => out.push((split, end)),
        }
    }
    out
}

/// The text without its citation marks.
pub(crate) fn strip_marks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for mark in find_marks(text) {
        out.push_str(&text[at..mark.start]);
        at = mark.end;
    }
    out.push_str(&text[at..]);
    out
}
