import { describe, expect, it } from 'vitest';
import { fileStateLabel, ingestReducer, initialIngest, summaryText, type IngestState } from './ingest';
import type { IngestEvent } from './types';
import { makeFinished } from '../test/fixtures';

const run = (events: IngestEvent[], from: IngestState = initialIngest) => events.reduce(ingestReducer, from);
const states = (s: IngestState) => Object.fromEntries(s.files.map((f) => [f.path, f.state]));

describe('ingestReducer', () => {
  it('queues files and starts a run', () => {
    const s = run([{ kind: 'queued', total: 3, paths: ['/a.pdf', '/b.md'] }]);
    expect(s.running).toBe(true);
    expect(s.total).toBe(3);
    expect(s.done).toBe(0);
    expect(states(s)).toEqual({ '/a.pdf': 'queued', '/b.md': 'queued' });
  });

  it('tracks the file being embedded and each outcome', () => {
    const s = run([
      { kind: 'queued', total: 2, paths: ['/a.pdf', '/b.md'] },
      { kind: 'started', path: '/a.pdf' },
    ]);
    expect(s.current).toBe('/a.pdf');
    expect(states(s)['/a.pdf']).toBe('indexing');

    const t = run(
      [
        { kind: 'file', done: 1, total: 2, path: '/a.pdf', outcome: 'added', chunks: 7, error: null },
        { kind: 'started', path: '/b.md' },
        { kind: 'file', done: 2, total: 2, path: '/b.md', outcome: 'failed', chunks: 0, error: 'not UTF-8' },
      ],
      s,
    );
    expect(t.done).toBe(2);
    expect(t.current).toBeNull();
    expect(t.files).toEqual([
      { path: '/a.pdf', state: 'added', chunks: 7, error: null, cancelled: false },
      { path: '/b.md', state: 'failed', chunks: 0, error: 'not UTF-8', cancelled: false },
    ]);
  });

  it('counts unchanged files the back end reports without a start', () => {
    const s = run([
      { kind: 'queued', total: 3, paths: ['/new.txt'] },
      { kind: 'file', done: 2, total: 3, path: '/old.txt', outcome: 'unchanged', chunks: 3, error: null },
    ]);
    expect(s.done).toBe(2);
    expect(states(s)).toEqual({ '/new.txt': 'queued', '/old.txt': 'unchanged' });
  });

  it('finishes with a summary and a full bar', () => {
    const s = run([
      { kind: 'queued', total: 1, paths: ['/a.pdf'] },
      { kind: 'file', done: 1, total: 1, path: '/a.pdf', outcome: 'updated', chunks: 4, error: null },
      makeFinished({ updated: 1 }),
    ]);
    expect(s.running).toBe(false);
    expect(s.done).toBe(s.total);
    expect(s.summary).toMatchObject({ updated: 1, cancelled: false });
  });

  it('marks files never reached when a run is cancelled', () => {
    const s = run([
      { kind: 'queued', total: 2, paths: ['/a.pdf', '/b.pdf'] },
      { kind: 'file', done: 1, total: 2, path: '/a.pdf', outcome: 'added', chunks: 2, error: null },
      { kind: 'started', path: '/b.pdf' },
      makeFinished({ added: 1, cancelled: true }),
    ]);
    expect(s.running).toBe(false);
    expect(s.done).toBe(1);
    expect(s.files[1]).toMatchObject({ path: '/b.pdf', state: 'queued', cancelled: true });
    expect(fileStateLabel(s.files[1])).toMatch(/not indexed/i);
  });

  it('keeps the error when the run fails outright', () => {
    const s = run([
      { kind: 'queued', total: 1, paths: ['/a.pdf'] },
      { kind: 'failed', error: { code: 'library', message: 'database is locked' } },
    ]);
    expect(s.running).toBe(false);
    expect(s.error).toEqual({ code: 'library', message: 'database is locked' });
  });

  it('starts afresh on the next run, but merges work queued during a run', () => {
    const first = run([
      { kind: 'queued', total: 1, paths: ['/a.pdf'] },
      { kind: 'file', done: 1, total: 1, path: '/a.pdf', outcome: 'added', chunks: 1, error: null },
      makeFinished({ added: 1 }),
    ]);
    const second = run([{ kind: 'queued', total: 1, paths: ['/b.pdf'] }], first);
    expect(Object.keys(states(second))).toEqual(['/b.pdf']);
    expect(second.summary).toBeNull();

    const merged = run([{ kind: 'queued', total: 2, paths: ['/c.pdf', '/d.pdf'] }], second);
    expect(merged.total).toBe(3);
    expect(states(merged)).toEqual({ '/b.pdf': 'queued', '/c.pdf': 'queued', '/d.pdf': 'queued' });
  });

  it('never lets done run past total', () => {
    const s = run([
      { kind: 'queued', total: 1, paths: ['/a'] },
      { kind: 'file', done: 1, total: 1, path: '/a', outcome: 'added', chunks: 1, error: null },
      { kind: 'file', done: 1, total: 1, path: '/b', outcome: 'removed', chunks: 0, error: null },
    ]);
    expect(s.done).toBeLessThanOrEqual(s.total);
    expect(s.done).toBe(2);
  });

  it('gives failed files a reason even when the event has none', () => {
    const s = run([{ kind: 'file', done: 1, total: 1, path: '/x', outcome: 'failed', chunks: 0, error: null }]);
    expect(s.files[0].error).toBeTruthy();
  });
});

describe('summaryText', () => {
  it('lists the non-zero counts', () => {
    expect(summaryText({ added: 2, updated: 0, unchanged: 5, failed: 1, removed: 0, reembedded: 0, cancelled: false })).toBe(
      'Done: 2 added, 5 unchanged, 1 failed',
    );
    expect(summaryText({ added: 0, updated: 0, unchanged: 0, failed: 0, removed: 0, reembedded: 0, cancelled: true })).toBe(
      'Cancelled: nothing to do',
    );
  });
});

describe('a re-embedding run', () => {
  it('counts passages, then the folders it catches up with as files, and sums up both', () => {
    let s = run([
      { kind: 'reembedding', done: 256, total: 300 },
      { kind: 'reembedding', done: 300, total: 300 },
    ]);
    expect(s).toMatchObject({ running: true, reembedding: true, done: 300, total: 300 });
    s = run([{ kind: 'queued', total: 2, paths: ['/docs/new.md'] }], s);
    expect(s).toMatchObject({ running: true, reembedding: false, done: 0, total: 2 });
    s = run([makeFinished({ added: 1, unchanged: 1, reembedded: 300 })], s);
    expect(s.running).toBe(false);
    expect(summaryText(s.summary!)).toBe('Done: 1 added, 1 unchanged, 300 passages re-embedded');
  });
});
