// Folds the `ingest:progress` events into what the Library panel shows: one
// row per file with its state, a done/total count, the file being embedded,
// and the summary of the last run.

import type { FileState, IngestEvent, IngestSummary, QuarryErrorShape } from './types';

export type { IngestSummary };

export interface FileRow {
  path: string;
  state: FileState;
  chunks: number | null;
  error: string | null;
  /** The run was cancelled before this file was reached. */
  cancelled: boolean;
}

export interface IngestState {
  running: boolean;
  done: number;
  total: number;
  /** The file being embedded now, if any. */
  current: string | null;
  /** Waiting while a question is answered. */
  paused: boolean;
  /** The run re-embeds the library's passages: `done` and `total` count passages, not files. */
  reembedding: boolean;
  files: FileRow[];
  summary: IngestSummary | null;
  error: QuarryErrorShape | null;
}

export const initialIngest: IngestState = {
  running: false,
  done: 0,
  total: 0,
  current: null,
  paused: false,
  reembedding: false,
  files: [],
  summary: null,
  error: null,
};

function upsert(files: FileRow[], path: string, change: Partial<FileRow>): FileRow[] {
  const i = files.findIndex((f) => f.path === path);
  if (i < 0) {
    return [...files, { path, state: 'queued', chunks: null, error: null, cancelled: false, ...change }];
  }
  const next = files.slice();
  next[i] = { ...files[i], ...change };
  return next;
}

/**
 * A run is `queued` … `finished` (or `failed`). A `queued` that arrives while a
 * run is going on (the back end queued more work) adds to the same progress
 * rather than resetting it.
 */
export function ingestReducer(state: IngestState, event: IngestEvent): IngestState {
  switch (event.kind) {
    case 'queued': {
      // (A re-embedding run goes on to catch up with the folders: files from
      // here on, counted afresh.)
      if (!state.running || state.reembedding) {
        return {
          ...initialIngest,
          running: true,
          total: event.total,
          files: event.paths.map((path) => ({ path, state: 'queued', chunks: null, error: null, cancelled: false })),
        };
      }
      let files = state.files;
      for (const path of event.paths) {
        const existing = files.find((f) => f.path === path);
        if (!existing || (existing.state !== 'queued' && existing.state !== 'indexing')) {
          files = upsert(files, path, { state: 'queued', chunks: null, error: null, cancelled: false });
        }
      }
      return { ...state, files, total: state.total + event.total };
    }
    case 'started':
      return {
        ...state,
        running: true,
        current: event.path,
        files: upsert(state.files, event.path, { state: 'indexing', error: null }),
      };
    case 'paused':
      return { ...state, paused: event.paused };
    case 'reembedding':
      return {
        ...(state.reembedding ? state : initialIngest),
        running: true,
        reembedding: true,
        done: event.done,
        total: event.total,
      };
    case 'file': {
      const done = Math.max(state.done + 1, event.done);
      const total = Math.max(state.total, event.total, done);
      return {
        ...state,
        running: true,
        done,
        total,
        current: state.current === event.path ? null : state.current,
        files: upsert(state.files, event.path, {
          state: event.outcome,
          chunks: event.chunks,
          error: event.outcome === 'failed' ? (event.error ?? 'Could not be indexed') : null,
        }),
      };
    }
    case 'finished': {
      const { kind: _kind, ...summary } = event;
      return {
        ...state,
        running: false,
        current: null,
        paused: false,
        reembedding: false,
        done: summary.cancelled ? state.done : state.total,
        summary,
        files: state.files.map((f) =>
          f.state === 'queued' || f.state === 'indexing' ? { ...f, state: 'queued', cancelled: true } : f,
        ),
      };
    }
    case 'failed':
      return {
        ...state,
        running: false,
        current: null,
        paused: false,
        reembedding: false,
        error: event.error,
        files: state.files.map((f) =>
          f.state === 'queued' || f.state === 'indexing' ? { ...f, state: 'queued', cancelled: true } : f,
        ),
      };
    default:
      return state;
  }
}

/** How a row's state reads to a person. */
export function fileStateLabel(row: Pick<FileRow, 'state' | 'cancelled'>): string {
  if (row.cancelled) return 'Not indexed (stopped)';
  switch (row.state) {
    case 'queued':
      return 'Queued';
    case 'indexing':
      return 'Indexing…';
    case 'added':
      return 'Indexed';
    case 'updated':
      return 'Re-indexed';
    case 'unchanged':
      return 'Unchanged';
    case 'failed':
      return 'Failed';
    case 'removed':
      return 'Removed';
  }
}

/** "3 added, 1 failed" — the non-zero counts of a finished run. */
export function summaryText(s: IngestSummary): string {
  const parts: string[] = [];
  if (s.added) parts.push(`${s.added} added`);
  if (s.updated) parts.push(`${s.updated} updated`);
  if (s.unchanged) parts.push(`${s.unchanged} unchanged`);
  if (s.removed) parts.push(`${s.removed} removed`);
  if (s.failed) parts.push(`${s.failed} failed`);
  if (s.reembedded) parts.push(`${s.reembedded} ${s.reembedded === 1 ? 'passage' : 'passages'} re-embedded`);
  const body = parts.length ? parts.join(', ') : 'nothing to do';
  return s.cancelled ? `Cancelled: ${body}` : `Done: ${body}`;
}
