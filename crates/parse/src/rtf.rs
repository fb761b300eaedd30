//! RTF: the plain text of the body, nothing else.
//!
//! Written by hand: RTF's text is a small state machine (groups, control
//! words, hex and Unicode escapes, destinations to skip), and the RTF crates
//! build a styled document model we do not need. This reader allocates only
//! its output and a group stack, never recurses and never panics: any byte
//! sequence gives some text (tested on random input below).

use super::{ExtractError, Extracted, Format};

/// Destinations whose content is not body text (tables of fonts, colours
/// and styles, metadata, pictures, embedded objects, field instructions).
const SKIPPED_DESTINATIONS: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "header",
    "headerl",
    "headerr",
    "headerf",
    "footer",
    "footerl",
    "footerr",
    "footerf",
    "xmlnstbl",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "themedata",
    "colorschememapping",
    "datastore",
    "latentstyles",
    "pgdsctbl",
    "filetbl",
    "revtbl",
    "bkmkstart",
    "bkmkend",
    "fldinst",
    "nonshppict",
    "shppict",
    "mmathPr",
    "wgrffmtfilter",
];
/// Groups nested deeper than this are read as part of the enclosing one
/// (and cannot start a skipped destination): bounds the stack on hostile
/// input.
const MAX_DEPTH: usize = 1024;

#[derive(Clone, Copy)]
struct Group {
    skip: bool,
    /// Characters to skip after a `\uN` (set by `\ucN`).
    unicode_skip: usize,
}

pub(super) fn extract(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    if !bytes.starts_with(b"{\\rtf") {
        return Err(ExtractError::Corrupt {
            format: "RTF",
            detail: "does not start with {\\rtf".into(),
        });
    }
    Ok(Extracted::unpaged(Format::Rtf, plain_text(bytes), Vec::new()))
}

fn plain_text(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut stack: Vec<Group> = Vec::new();
    let mut overflow = 0usize;
    let mut group = Group {
        skip: false,
        unicode_skip: 1,
    };
    // Characters still to drop after a `\uN` (its ANSI fallback).
    let mut pending_skip = 0usize;
    // The group just opened: a `\*` or a known destination word right
    // after `{` makes the whole group skipped.
    let mut group_start = false;
    let mut i = 0;
    let emit = |out: &mut String, group: &Group, pending: &mut usize, c: char| {
        if *pending > 0 {
            *pending -= 1;
        } else if !group.skip {
            out.push(c);
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        match b {
            b'{' => {
                if stack.len() < MAX_DEPTH {
                    stack.push(group);
                } else {
                    overflow += 1;
                }
                group_start = true;
                continue;
            }
            b'}' => {
                if overflow > 0 {
                    overflow -= 1;
                } else if let Some(outer) = stack.pop() {
                    group = outer;
                }
                pending_skip = 0;
            }
            b'\\' => {
                let Some(&next) = bytes.get(i) else { break };
                if next.is_ascii_alphabetic() {
                    let start = i;
                    while i < bytes.len() && bytes[i].is_ascii_alphabetic() && i - start < 32 {
                        i += 1;
                    }
                    let word = std::str::from_utf8(&bytes[start..i]).unwrap_or("");
                    let num_start = i;
                    if i < bytes.len() && bytes[i] == b'-' {
                        i += 1;
                    }
                    while i < bytes.len() && bytes[i].is_ascii_digit() && i - num_start < 10 {
                        i += 1;
                    }
                    let parameter: Option<i64> = std::str::from_utf8(&bytes[num_start..i])
                        .ok()
                        .and_then(|n| n.parse().ok());
                    if i < bytes.len() && bytes[i] == b' ' {
                        i += 1;
                    }
                    if group_start && overflow == 0 && SKIPPED_DESTINATIONS.contains(&word) {
                        group.skip = true;
                    }
                    match word {
                        "par" | "line" | "sect" | "page" | "row" => emit(&mut out, &group, &mut 0, '\n'),
                        "tab" => emit(&mut out, &group, &mut 0, '\t'),
                        "cell" => emit(&mut out, &group, &mut 0, ' '),
                        "emdash" => emit(&mut out, &group, &mut 0, '—'),
                        "endash" => emit(&mut out, &group, &mut 0, '–'),
                        "bullet" => emit(&mut out, &group, &mut 0, '•'),
                        "lquote" => emit(&mut out, &group, &mut 0, '‘'),
                        "rquote" => emit(&mut out, &group, &mut 0, '’'),
                        "ldblquote" => emit(&mut out, &group, &mut 0, '“'),
                        "rdblquote" => emit(&mut out, &group, &mut 0, '”'),
                        "uc" => group.unicode_skip = parameter.unwrap_or(1).clamp(0, 8) as usize,
                        "u" => {
                            if let Some(n) = parameter {
                                let code = if n < 0 { n + 65536 } else { n };
                                let c = u32::try_from(code)
                                    .ok()
                                    .and_then(char::from_u32)
                                    .unwrap_or('\u{fffd}');
                                emit(&mut out, &group, &mut 0, c);
                                pending_skip = group.unicode_skip;
                            }
                        }
                        _ => {}
                    }
                } else {
                    i += 1;
                    match next {
                        b'\\' | b'{' | b'}' => emit(&mut out, &group, &mut pending_skip, next as char),
                        b'~' => emit(&mut out, &group, &mut pending_skip, ' '),
                        b'_' => emit(&mut out, &group, &mut pending_skip, '-'),
                        b'*' if group_start && overflow == 0 => group.skip = true,
                        b'\'' => {
                            let hex = bytes.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                                i += 2;
                                emit(&mut out, &group, &mut pending_skip, windows_1252(byte));
                            }
                        }
                        b'\n' | b'\r' => emit(&mut out, &group, &mut 0, '\n'),
                        _ => {}
                    }
                }
            }
            b'\r' | b'\n' => {}
            _ => {
                // Body text is ASCII with escapes; a raw high byte is read
                // as Windows-1252, RTF's usual code page.
                emit(&mut out, &group, &mut pending_skip, windows_1252(b));
            }
        }
        group_start = false;
    }
    tidy(&out)
}

/// Windows-1252, which differs from Latin-1 only in 0x80–0x9F.
fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
        '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9f => HIGH[(byte - 0x80) as usize],
        _ => byte as char,
    }
}

fn tidy(raw: &str) -> String {
    raw.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::plain_text;

    #[test]
    fn body_text_without_tables_and_with_escapes() {
        let rtf =
            br"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}{\colortbl;\red0\green0\blue0;}{\*\generator Writer;}
{\info{\title Secret title}}\pard Caf\'e9 cr\u232?me \{braces\}\par
Second \b bold\b0  line\tab end\par}";
        assert_eq!(plain_text(rtf), "Café crème {braces}\nSecond bold line\tend");
    }

    #[test]
    fn any_bytes_give_text_without_panicking() {
        // A small deterministic generator: no test-time dependency needed.
        let mut state = 0x2545_f491_u32;
        for len in 0..2000 {
            let bytes: Vec<u8> = (0..len % 300)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    b"{}\\'u-0123456789abcdefrtfpar*~ \xe9\n"[(state % 32) as usize]
                })
                .collect();
            let _ = plain_text(&bytes);
        }
        let deep = "{".repeat(100_000) + "x" + &"}".repeat(100_000);
        assert_eq!(plain_text(deep.as_bytes()), "x");
    }
}
