import { describe, expect, it } from 'vitest';
import { answeredBy, displayTitle, fileName, formatBytes, formatMs, formatWhen } from './format';

describe('format', () => {
  it('takes file names from either kind of path', () => {
    expect(fileName('/home/ana/docs/manual.pdf')).toBe('manual.pdf');
    expect(fileName('C:\\Users\\ana\\notes.md')).toBe('notes.md');
    expect(fileName('/home/ana/docs/')).toBe('docs');
    expect(displayTitle(null, '/x/y.txt')).toBe('y.txt');
    expect(displayTitle('  ', '/x/y.txt')).toBe('y.txt');
    expect(displayTitle('Manual', '/x/y.txt')).toBe('Manual');
  });

  it('names a local model by its file and a remote one by where it runs', () => {
    expect(answeredBy('/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf')).toBe('qwen2.5-coder-1.5b-instruct-q4_k_m.gguf');
    expect(answeredBy('qwen2.5-coder-1.5b-instruct-q4_k_m.gguf')).toBe('qwen2.5-coder-1.5b-instruct-q4_k_m.gguf');
    expect(answeredBy('qwen2.5-7b at http://gpu-box:8000/v1')).toBe('qwen2.5-7b at http://gpu-box:8000/v1');
  });

  it('formats sizes and durations', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(48_213)).toBe('47 KB');
    expect(formatBytes(1_500_000)).toBe('1.4 MB');
    expect(formatMs(420)).toBe('420 ms');
    expect(formatMs(2400)).toBe('2.4 s');
  });

  it('accepts timestamps in seconds or milliseconds', () => {
    const now = new Date(2026, 10, 25, 15, 0);
    const secs = Math.floor(new Date(2026, 10, 25, 9, 30).getTime() / 1000);
    expect(formatWhen(secs, now)).toBe(formatWhen(secs * 1000, now));
    expect(formatWhen(0, now)).toBe('');
  });
});
