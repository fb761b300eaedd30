//! The lexical analyser every BM25 document and query goes through, and
//! the chunk contexts cut from a document's text (`quarry_index::lexical`).
//! The input is text; its first two bytes place two chunk spans in it.

use quarry_index::lexical::{analyze, contexts};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&[a, b], rest)) = data.split_first_chunk::<2>() else {
            return;
        };
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        let _ = analyze(text);
        // Spans as the chunker makes them: in order, on char boundaries.
        let cut = |at: u8| {
            let mut i = (at as usize * text.len()) / 255;
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let (x, y) = (cut(a.min(b)), cut(a.max(b)));
        let _ = contexts(text, &[(0, x), (x, y), (y, text.len())]);
    });
}
