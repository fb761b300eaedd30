//! Citation marks and answer sentences: the very source file quarry-core
//! compiles (crates/core/src/answer/marks.rs), included here so this
//! target does not build quarry-core, and llama.cpp with it.

#[path = "../../../crates/core/src/answer/marks.rs"]
#[allow(dead_code)]
mod marks;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        for mark in marks::find_marks(text) {
            // Marks are byte ranges of the text on char boundaries.
            assert!(mark.start < mark.end && text.get(mark.start..mark.end).is_some());
        }
        let mut last = 0;
        for (start, end) in marks::split_sentences(text) {
            assert!(last <= start && start <= end && text.get(start..end).is_some());
            last = end;
        }
    });
}
