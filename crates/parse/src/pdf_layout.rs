//! Reading order and paragraphs for a PDF page, from where its glyphs are.
//!
//! pdf-extract reports each glyph with its position ([`OutputDev`]); its
//! own plain-text writer emits them in content-stream order with a line
//! break per text line, which reads a two-column page drawn row by row as
//! alternating half-lines, and turns every wrapped line into a paragraph
//! break. Here the glyphs are grouped into runs (words on one baseline
//! without a wide gap), the runs into columns (split at a gutter no run
//! crosses), the columns into lines and the lines into paragraphs (a gap
//! wider than the usual line spacing ends one); a word hyphenated across a
//! line end is joined, and ligature glyphs ("ﬁ") become their letters.
//! Running headers and footers are dropped by [`drop_running_lines`],
//! which sees every page.
//!
//! Written for Quarry: the Rust PDF crates give glyphs or stream-order text
//! but no reading-order analysis, and PDFium (which does some) is a C++
//! library that is not thread-safe (see BENCHMARKS.md for how each scores
//! on the same pages).

use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};

/// One glyph, in page space with y growing downwards.
#[derive(Debug, Clone)]
struct Glyph {
    x: f64,
    y: f64,
    /// Where the next glyph of the same word would start.
    end: f64,
    size: f64,
    text: String,
    /// The glyph begins a word (pdf-extract's `begin_word`).
    word_start: bool,
}

/// Glyphs on one baseline without a wide gap: a line of one column.
#[derive(Debug, Clone)]
struct Run {
    x0: f64,
    x1: f64,
    y: f64,
    size: f64,
    text: String,
}

/// Collects one page's glyphs; [`PageGlyphs::paragraphs`] lays them out.
#[derive(Default)]
pub(crate) struct PageGlyphs {
    /// The page's height: PDF's y grows upwards, ours downwards.
    height: f64,
    glyphs: Vec<Glyph>,
    word_start: bool,
}

impl OutputDev for PageGlyphs {
    fn begin_page(
        &mut self,
        _page: u32,
        media_box: &MediaBox,
        _: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.height = media_box.ury - media_box.lly;
        self.glyphs.clear();
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        text: &str,
    ) -> Result<(), OutputError> {
        // The text rendering matrix scales the font size as it does a
        // (size, size) vector; the glyph's area gives one size.
        let scaled_x = font_size * (trm.m11 + trm.m21);
        let scaled_y = font_size * (trm.m12 + trm.m22);
        let size = (scaled_x * scaled_y).abs().sqrt().max(1.0);
        let (x, y) = (trm.m31, self.height - trm.m32);
        if !x.is_finite() || !y.is_finite() {
            return Ok(());
        }
        self.glyphs.push(Glyph {
            x,
            y,
            end: x + width * size,
            size,
            text: text.to_string(),
            word_start: std::mem::take(&mut self.word_start),
        });
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        self.word_start = true;
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

impl PageGlyphs {
    /// The page's paragraphs in reading order, each as one line of text.
    pub(crate) fn paragraphs(&self) -> Vec<String> {
        let runs = runs(&self.glyphs);
        let mut paragraphs: Vec<String> = Vec::new();
        for block in reading_order(runs) {
            for paragraph in paragraphs_of(&block) {
                // A paragraph that runs from the foot of one column to the
                // head of the next is one paragraph.
                match paragraphs.last_mut() {
                    Some(last) if continues(last, &paragraph) => join_line(last, &paragraph),
                    _ => paragraphs.push(paragraph),
                }
            }
        }
        paragraphs
    }
}

/// Glyphs → runs: a new run starts on another baseline, or after a gap
/// wider than a few spaces (a column gutter, a table cell).
fn runs(glyphs: &[Glyph]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for g in glyphs {
        if g.text.chars().all(char::is_whitespace) && g.text != " " {
            continue;
        }
        if let Some(run) = runs.last_mut() {
            let same_line = (g.y - run.y).abs() < run.size * 0.5;
            let gap = g.x - run.x1;
            if same_line && gap > -run.size * 0.5 && gap < run.size * 1.5 {
                let spaced = run.text.ends_with(' ') || g.text == " ";
                if !spaced && (gap > run.size * 0.1 || (g.word_start && gap > run.size * 0.05)) {
                    run.text.push(' ');
                }
                run.text.push_str(&g.text);
                run.x1 = run.x1.max(g.end);
                continue;
            }
        }
        if g.text == " " {
            continue;
        }
        runs.push(Run {
            x0: g.x,
            x1: g.end,
            y: g.y,
            size: g.size,
            text: g.text.clone(),
        });
    }
    for run in &mut runs {
        let trimmed = run.text.trim().to_string();
        run.text = trimmed;
    }
    runs.retain(|r| !r.text.is_empty());
    runs
}

/// Runs in reading order, as blocks: text above the columns, each column
/// left to right, text below. Columns are found by a vertical gutter that
/// (almost) no run crosses; each column is split again, so three columns
/// read in order too.
fn reading_order(runs: Vec<Run>) -> Vec<Vec<Run>> {
    let mut blocks = Vec::new();
    split_columns(runs, &mut blocks, 0);
    blocks
}

fn split_columns(mut runs: Vec<Run>, blocks: &mut Vec<Vec<Run>>, depth: usize) {
    if runs.len() < 6 || depth > 3 {
        if !runs.is_empty() {
            blocks.push(runs);
        }
        return;
    }
    let Some(gutter) = gutter(&runs) else {
        blocks.push(runs);
        return;
    };
    // Runs crossing the gutter span the columns (a title, a header): those
    // above the columns come first, those below last.
    let (spanning, columns): (Vec<Run>, Vec<Run>) =
        runs.drain(..).partition(|r| r.x0 < gutter && r.x1 > gutter);
    let top = columns.iter().map(|r| r.y).fold(f64::INFINITY, f64::min);
    let (above, below): (Vec<Run>, Vec<Run>) = spanning.into_iter().partition(|r| r.y <= top);
    let (left, right): (Vec<Run>, Vec<Run>) = columns.into_iter().partition(|r| r.x1 <= gutter);
    if !above.is_empty() {
        blocks.push(above);
    }
    split_columns(left, blocks, depth + 1);
    split_columns(right, blocks, depth + 1);
    if !below.is_empty() {
        blocks.push(below);
    }
}

/// The x of a gutter: the middle of the widest vertical band, inside the
/// middle of the text, that at most a few runs cross, with text on both
/// sides. `None` for a single column.
fn gutter(runs: &[Run]) -> Option<f64> {
    let left = runs.iter().map(|r| r.x0).fold(f64::INFINITY, f64::min);
    let right = runs.iter().map(|r| r.x1).fold(f64::NEG_INFINITY, f64::max);
    let width = right - left;
    let size = median(runs.iter().map(|r| r.size).collect()).max(1.0);
    // (NaN widths, from glyphs without positions, are not columns either.)
    if width.is_nan() || width <= size * 10.0 {
        return None;
    }
    // Coverage of 1-point bins across the text.
    let bins = (width.ceil() as usize).min(4000);
    let mut cover = vec![0usize; bins + 1];
    for r in runs {
        let from = (((r.x0 - left) / width) * bins as f64).floor().max(0.0) as usize;
        let to = (((r.x1 - left) / width) * bins as f64).ceil().min(bins as f64) as usize;
        // (A run drawn right to left, or with negative widths, covers nothing.)
        for c in cover.get_mut(from..to).unwrap_or_default() {
            *c += 1;
        }
    }
    // A few crossings are titles and headers spanning both columns.
    let allowed = (runs.len() / 10).max(1);
    let (lo, hi) = (bins / 5, bins * 4 / 5);
    let mut best: Option<(usize, usize)> = None;
    let mut start = None;
    for (i, &c) in cover.iter().enumerate().take(hi + 1).skip(lo) {
        match (c <= allowed, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if best.is_none_or(|(bs, be)| i - s > be - bs) {
                    best = Some((s, i));
                }
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        if best.is_none_or(|(bs, be)| hi + 1 - s > be - bs) {
            best = Some((s, hi + 1));
        }
    }
    let (s, e) = best?;
    let band = (e - s) as f64 * width / bins as f64;
    let x = left + (s + e) as f64 / 2.0 * width / bins as f64;
    // A gutter is at least a space wide, and both sides hold text lines.
    let side = |f: &dyn Fn(&Run) -> bool| runs.iter().filter(|r| f(r)).count();
    let on_left = side(&|r| r.x1 <= x);
    let on_right = side(&|r| r.x0 >= x);
    (band >= size * 0.8 && on_left >= 3 && on_right >= 3).then_some(x)
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A block's runs → lines (top to bottom) → paragraphs: a vertical gap
/// clearly wider than the block's usual line spacing, or a change of font
/// size, ends a paragraph.
fn paragraphs_of(block: &[Run]) -> Vec<String> {
    let mut runs = block.to_vec();
    runs.sort_by(|a, b| a.y.total_cmp(&b.y).then(a.x0.total_cmp(&b.x0)));
    // Runs on one baseline (a line broken by a wide gap) form one line.
    let mut lines: Vec<Run> = Vec::new();
    for run in runs {
        match lines.last_mut() {
            Some(line) if (run.y - line.y).abs() < line.size * 0.5 => {
                line.text.push(' ');
                line.text.push_str(&run.text);
                line.x1 = run.x1;
            }
            _ => lines.push(run),
        }
    }
    let gaps: Vec<f64> = lines
        .windows(2)
        .map(|w| w[1].y - w[0].y)
        .filter(|g| *g > 0.0)
        .collect();
    let spacing = median(gaps);
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            let previous = &lines[i - 1];
            let gap = line.y - previous.y;
            let resized = (line.size - previous.size).abs() > previous.size * 0.15;
            if gap > spacing * 1.4 || gap > previous.size * 2.5 || resized {
                paragraphs.push(std::mem::take(&mut current));
            }
        }
        join_line(&mut current, &line.text);
    }
    paragraphs.push(current);
    paragraphs
        .into_iter()
        .map(|p| ligatures(p.trim()))
        .filter(|p| !p.is_empty())
        .collect()
}

/// Whether `next` (the first paragraph of a block) goes on with `last`
/// (the last of the block before): `last` ends mid-sentence and `next`
/// starts in lower case.
fn continues(last: &str, next: &str) -> bool {
    let open = last
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || matches!(c, ',' | '-' | ';'));
    open && next.chars().next().is_some_and(char::is_lowercase)
}

/// Append a wrapped line to its paragraph: a word hyphenated at the line
/// end ("instal-" + "lation") is joined; otherwise a space.
fn join_line(paragraph: &mut String, line: &str) {
    if paragraph.is_empty() {
        paragraph.push_str(line);
        return;
    }
    let hyphenated = paragraph.ends_with('-')
        && paragraph[..paragraph.len() - 1]
            .chars()
            .next_back()
            .is_some_and(char::is_alphabetic)
        && line.chars().next().is_some_and(char::is_lowercase);
    if hyphenated {
        paragraph.pop();
    } else {
        paragraph.push(' ');
    }
    paragraph.push_str(line);
}

/// Ligature glyphs as the letters they stand for ("ﬁ" → "fi"), so that
/// search and the model see words.
pub(crate) fn ligatures(text: &str) -> String {
    if !text.chars().any(|c| ('\u{fb00}'..='\u{fb06}').contains(&c)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\u{fb00}' => out.push_str("ff"),
            '\u{fb01}' => out.push_str("fi"),
            '\u{fb02}' => out.push_str("fl"),
            '\u{fb03}' => out.push_str("ffi"),
            '\u{fb04}' => out.push_str("ffl"),
            '\u{fb05}' | '\u{fb06}' => out.push_str("st"),
            c => out.push(c),
        }
    }
    out
}

/// Drop running headers and footers: a page's first or last paragraph
/// that, with its digits masked ("Page 3" ~ "Page 4"), is also the first or
/// last paragraph of at least half the pages (and of two or more).
pub(crate) fn drop_running_lines(pages: &mut [Vec<String>]) {
    if pages.len() < 2 {
        return;
    }
    // Digits masked ("Page 3" ~ "Page 4"); a line must have words to be
    // running furniture, so a table's last row of numbers never is.
    let mask = |p: &str| {
        if p.chars().filter(|c| c.is_alphabetic()).count() < 2 {
            return String::new();
        }
        p.chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect::<String>()
    };
    let needed = pages.len().div_ceil(2).max(2);
    // Look at the first two and last two paragraphs: a header may be two
    // lines (a title and a page number).
    for _ in 0..2 {
        let heads = repeated(pages, needed, &mask, |page| page.first());
        let feet = repeated(pages, needed, &mask, |page| page.last());
        if heads.is_empty() && feet.is_empty() {
            break;
        }
        for page in pages.iter_mut() {
            if page.len() > 1 && page.first().is_some_and(|p| heads.contains(&mask(p))) {
                page.remove(0);
            }
            if page.len() > 1 && page.last().is_some_and(|p| feet.contains(&mask(p))) {
                page.pop();
            }
        }
    }
}

/// The masked paragraphs that `edge` picks on at least `needed` pages.
fn repeated(
    pages: &[Vec<String>],
    needed: usize,
    mask: &dyn Fn(&str) -> String,
    edge: impl Fn(&Vec<String>) -> Option<&String>,
) -> Vec<String> {
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for page in pages {
        if let Some(masked) = edge(page).map(|p| mask(p)).filter(|m| !m.is_empty()) {
            *counts.entry(masked).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n >= needed)
        .map(|(p, _)| p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyphens_and_ligatures() {
        let mut p = String::from("an instal-");
        join_line(&mut p, "lation of the pump");
        join_line(&mut p, "and a well-");
        join_line(&mut p, "Known part");
        assert_eq!(p, "an installation of the pump and a well- Known part");
        assert_eq!(ligatures("e\u{fb03}cient \u{fb02}ow"), "efficient flow");
    }

    #[test]
    fn running_lines_go_and_content_stays() {
        let page =
            |n: u32, body: &str| vec!["Field Manual".to_string(), body.to_string(), format!("Page {n}")];
        let mut pages = vec![page(1, "one"), page(2, "two"), page(3, "three")];
        drop_running_lines(&mut pages);
        assert_eq!(pages, vec![vec!["one"], vec!["two"], vec!["three"]]);
        let mut single = vec![vec!["Title".to_string(), "Body".to_string()]];
        drop_running_lines(&mut single);
        assert_eq!(single[0].len(), 2);
    }
}
