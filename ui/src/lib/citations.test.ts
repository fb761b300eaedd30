import { describe, expect, it } from 'vitest';
import { citedNumbers, locateSentences, parseMarkInner, segmentAnswer, splitCitations, stripCitations } from './citations';

const cites = (text: string) => splitCitations(text).filter((s) => s.kind === 'cite').map((s) => (s.kind === 'cite' ? s.numbers : []));

describe('parseMarkInner', () => {
  it('reads single numbers, lists, ranges and labels', () => {
    expect(parseMarkInner('1')).toEqual([1]);
    expect(parseMarkInner('1, 2')).toEqual([1, 2]);
    expect(parseMarkInner('1,2;4')).toEqual([1, 2, 4]);
    expect(parseMarkInner('1-3')).toEqual([1, 2, 3]);
    expect(parseMarkInner('2 – 4')).toEqual([2, 3, 4]);
    expect(parseMarkInner('Source 1')).toEqual([1]);
    expect(parseMarkInner('Sources 1, 3')).toEqual([1, 3]);
    expect(parseMarkInner('passage 2, and 5')).toEqual([2, 5]);
  });

  it('drops repeats and rejects what is not a citation', () => {
    expect(parseMarkInner('2, 2, 1')).toEqual([2, 1]);
    expect(parseMarkInner('0')).toBeNull();
    expect(parseMarkInner('3-1')).toBeNull();
    expect(parseMarkInner('1-500')).toBeNull();
    expect(parseMarkInner('a')).toBeNull();
  });
});

describe('splitCitations', () => {
  it('keeps text and marks in order', () => {
    const segs = splitCitations('The seal lasts 500 hours [1]. Check it [2, 3].');
    expect(segs.map((s) => (s.kind === 'text' ? s.text : s.numbers))).toEqual([
      'The seal lasts 500 hours ',
      [1],
      '. Check it ',
      [2, 3],
      '.',
    ]);
  });

  it('understands every mark form', () => {
    expect(cites('a [1] b [1, 2] c [1-3] d [Source 4] e [1][2]')).toEqual([[1], [1, 2], [1, 2, 3], [4], [1], [2]]);
  });

  it('leaves other brackets, and an unfinished mark while streaming, as text', () => {
    expect(cites('array[i] and [note] and [x1]')).toEqual([]);
    const streaming = splitCitations('The seal lasts 500 hours [1');
    expect(streaming).toEqual([{ kind: 'text', text: 'The seal lasts 500 hours [1', unsupported: false }]);
  });

  it('returns nothing for empty text', () => {
    expect(splitCitations('')).toEqual([]);
  });

  it('keeps the raw mark for tooltips', () => {
    const seg = splitCitations('x [Source 2]')[1];
    expect(seg).toMatchObject({ kind: 'cite', raw: '[Source 2]', numbers: [2] });
  });
});

describe('citedNumbers / stripCitations', () => {
  it('lists cited numbers once, in order of appearance', () => {
    expect(citedNumbers('b [3] a [1, 3] c [2-3]')).toEqual([3, 1, 2]);
  });

  it('removes marks and the space before them', () => {
    expect(stripCitations('It lasts 500 hours [1].  Check  it [2, 3].')).toBe('It lasts 500 hours. Check it.');
  });
});

describe('unsupported sentences', () => {
  const text = 'The seal lasts 500 hours [1]. It is made of unobtainium. Replace it yearly [2].';

  it('locates a sentence given exactly', () => {
    const [[a, b]] = locateSentences(text, ['It is made of unobtainium.']);
    expect(text.slice(a, b)).toBe('It is made of unobtainium.');
  });

  it('locates a sentence the checker gave without its marks', () => {
    const [[a, b]] = locateSentences(text, ['Replace it yearly.']);
    expect(text.slice(a, b)).toBe('Replace it yearly [2].');
  });

  it('ignores sentences it cannot find', () => {
    expect(locateSentences(text, ['Something else entirely.', '  '])).toEqual([]);
  });

  it('flags the text (and marks) inside unsupported sentences only', () => {
    const segs = segmentAnswer(text, ['It is made of unobtainium.', 'Replace it yearly.']);
    const flagged = segs.filter((s) => s.unsupported).map((s) => (s.kind === 'text' ? s.text : s.raw));
    expect(flagged).toEqual(['It is made of unobtainium.', 'Replace it yearly ', '[2]', '.']);
    const plain = segs.filter((s) => !s.unsupported).map((s) => (s.kind === 'text' ? s.text : s.raw));
    expect(plain).toEqual(['The seal lasts 500 hours ', '[1]', '. ', ' ']);
    // Nothing lost or duplicated.
    expect(segs.map((s) => (s.kind === 'text' ? s.text : s.raw)).join('')).toBe(text);
  });
});
