// Splits answer text into plain text and citation marks.
//
// Marks the model (or the citation checker) writes: [1], [1, 2], [1-3],
// [1–3], [Source 1], [Sources 1, 2], [Passage 2], [1; 3]. Each number becomes
// one chip. Anything else in brackets stays text.

export type Segment =
  | { kind: 'text'; text: string; unsupported: boolean }
  | { kind: 'cite'; numbers: number[]; raw: string; unsupported: boolean };

/** Ranges wider than this are not citations ("[1-2000]" is text). */
const MAX_RANGE = 20;

const LABEL = String.raw`(?:(?:sources?|passages?|refs?\.?)\s*)?`;
const ITEM = String.raw`${LABEL}\d{1,4}(?:\s*[-–—]\s*\d{1,4})?`;
const MARK_SOURCE = String.raw`\[\s*(${ITEM}(?:\s*[,;]\s*(?:and\s+)?${ITEM})*)\s*\]`;

function markRegex(): RegExp {
  return new RegExp(MARK_SOURCE, 'gi');
}

/**
 * The numbers inside one mark's brackets, e.g. "1, 3-4" → [1, 3, 4];
 * null when it is not a citation.
 */
export function parseMarkInner(inner: string): number[] | null {
  const numbers: number[] = [];
  for (const rawItem of inner.split(/[,;]/)) {
    const item = rawItem
      .trim()
      .replace(/^and\s+/i, '')
      .replace(/^(?:sources?|passages?|refs?\.?)\s*/i, '');
    const range = /^(\d+)\s*[-–—]\s*(\d+)$/.exec(item);
    if (range) {
      const lo = Number(range[1]);
      const hi = Number(range[2]);
      if (lo < 1 || hi < lo || hi - lo + 1 > MAX_RANGE) return null;
      for (let n = lo; n <= hi; n++) numbers.push(n);
      continue;
    }
    if (!/^\d+$/.test(item)) return null;
    const n = Number(item);
    if (n < 1) return null;
    numbers.push(n);
  }
  // Keep first occurrence order, drop repeats.
  return numbers.filter((n, i) => numbers.indexOf(n) === i);
}

interface Token {
  start: number;
  end: number;
  numbers: number[] | null; // null: plain text
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let last = 0;
  for (const m of text.matchAll(markRegex())) {
    const numbers = parseMarkInner(m[1]);
    if (!numbers || numbers.length === 0) continue;
    const start = m.index;
    const end = start + m[0].length;
    if (start > last) tokens.push({ start: last, end: start, numbers: null });
    tokens.push({ start, end, numbers });
    last = end;
  }
  if (last < text.length) tokens.push({ start: last, end: text.length, numbers: null });
  return tokens;
}

/** Plain text and citation segments, in order. Adjacent text is one segment. */
export function splitCitations(text: string): Segment[] {
  return segmentAnswer(text, []);
}

/** Every number cited in the text, in order of first appearance. */
export function citedNumbers(text: string): number[] {
  const seen: number[] = [];
  for (const t of tokenize(text)) {
    for (const n of t.numbers ?? []) if (!seen.includes(n)) seen.push(n);
  }
  return seen;
}

/** The text with its citation marks removed and whitespace collapsed. */
export function stripCitations(text: string): string {
  return stripWithMap(text).text.trim();
}

/**
 * Removes citation marks (and the space before each) and collapses runs of
 * whitespace; `map[i]` is the index in `text` of the output's i-th character.
 */
function stripWithMap(text: string): { text: string; map: number[] } {
  const out: string[] = [];
  const map: number[] = [];
  const push = (ch: string, at: number) => {
    if (/\s/.test(ch)) {
      if (out.length === 0 || out[out.length - 1] === ' ') return;
      out.push(' ');
    } else {
      out.push(ch);
    }
    map.push(at);
  };
  for (const t of tokenize(text)) {
    if (t.numbers) {
      // "word [1]." → "word." : drop the space that led up to the mark.
      if (out[out.length - 1] === ' ') {
        out.pop();
        map.pop();
      }
      continue;
    }
    for (let i = t.start; i < t.end; i++) push(text[i], i);
  }
  return { text: out.join(''), map };
}

/** Where each sentence sits in `text`, tolerant of citation marks and spacing. */
export function locateSentences(text: string, sentences: string[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let stripped: { text: string; map: number[] } | null = null;
  for (const raw of sentences) {
    const sentence = raw.trim();
    if (!sentence) continue;
    const exact = text.indexOf(sentence);
    if (exact >= 0) {
      ranges.push([exact, exact + sentence.length]);
      continue;
    }
    stripped ??= stripWithMap(text);
    const needle = stripWithMap(sentence).text.trim();
    if (!needle) continue;
    const at = stripped.text.indexOf(needle);
    if (at >= 0) {
      ranges.push([stripped.map[at], stripped.map[at + needle.length - 1] + 1]);
    }
  }
  return ranges.sort((a, b) => a[0] - b[0]);
}

/**
 * Segments for rendering an answer: citations as their own segments, and text
 * flagged `unsupported` where it falls inside one of the unsupported sentences.
 */
export function segmentAnswer(text: string, unsupportedSentences: string[]): Segment[] {
  const ranges = locateSentences(text, unsupportedSentences);
  const inside = (start: number, end: number) => ranges.some(([a, b]) => start >= a && end <= b);
  const cuts = new Set<number>();
  for (const [a, b] of ranges) {
    cuts.add(a);
    cuts.add(b);
  }

  const segments: Segment[] = [];
  const pushText = (start: number, end: number) => {
    if (end <= start) return;
    const piece = text.slice(start, end);
    const unsupported = inside(start, end);
    const prev = segments[segments.length - 1];
    if (prev && prev.kind === 'text' && prev.unsupported === unsupported) prev.text += piece;
    else segments.push({ kind: 'text', text: piece, unsupported });
  };

  for (const t of tokenize(text)) {
    if (t.numbers) {
      segments.push({ kind: 'cite', numbers: t.numbers, raw: text.slice(t.start, t.end), unsupported: inside(t.start, t.end) });
      continue;
    }
    let from = t.start;
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      if (cut > from && cut < t.end) {
        pushText(from, cut);
        from = cut;
      }
    }
    pushText(from, t.end);
  }
  return segments;
}
