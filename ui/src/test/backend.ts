// A fake Quarry back end for component tests. It sits exactly at the IPC
// boundary: `mockIPC` answers `invoke` calls, events go through the mocked
// event plugin, and answer tokens go through the real `Channel` object the UI
// passed to `ask`, using the same `{ index, message }` frames Tauri sends.

import { emit } from '@tauri-apps/api/event';
import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';
import type { AnswerEvent, IngestEvent } from '../lib/types';
import { makeModelStatus, makeSettings, makeOverview } from './fixtures';

type Args = Record<string, unknown>;
export type Handler = (args: Args) => unknown;

export interface Call {
  cmd: string;
  args: Args;
}

export interface FakeBackend {
  calls: Call[];
  /** Arguments of every call to `cmd`, in order. */
  argsOf(cmd: string): Args[];
  emitIngest(event: IngestEvent): Promise<void>;
  emitLibraryChanged(): Promise<void>;
  /** Simulates the webview's native drag-and-drop events. */
  drag(type: 'enter' | 'over' | 'drop' | 'leave', paths?: string[]): Promise<void>;
}

const defaults: Record<string, Handler> = {
  library_overview: () => makeOverview(),
  list_conversations: () => [],
  model_status: () => makeModelStatus(),
  get_settings: () => makeSettings(),
};

/** Installs the fake back end; unhandled commands reject like the real one would. */
export function installBackend(handlers: Record<string, Handler> = {}): FakeBackend {
  const calls: Call[] = [];
  mockWindows('main');
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Args;
      calls.push({ cmd, args });
      const handler = handlers[cmd] ?? defaults[cmd];
      if (!handler) {
        return Promise.reject({ code: 'invalid', message: `the fake back end has no '${cmd}'`, details: null });
      }
      return handler(args);
    },
    { shouldMockEvents: true },
  );
  return {
    calls,
    argsOf: (cmd) => calls.filter((c) => c.cmd === cmd).map((c) => c.args),
    emitIngest: (event) => emit('ingest:progress', event),
    emitLibraryChanged: () => emit('library:changed'),
    drag: (type, paths = []) => {
      const position = { x: 10, y: 10 };
      switch (type) {
        case 'enter':
          return emit('tauri://drag-enter', { paths, position });
        case 'over':
          return emit('tauri://drag-over', { position });
        case 'drop':
          return emit('tauri://drag-drop', { paths, position });
        default:
          return emit('tauri://drag-leave', null);
      }
    },
  };
}

interface Internals {
  runCallback: (id: number, data: unknown) => void;
}

/**
 * Sends messages down a Channel the UI passed as a command argument, framed
 * the way Tauri frames them (`{ index, message }`), then `{ index, end: true }`.
 */
export function channelSender(channel: unknown) {
  const id = (channel as { id: number }).id;
  if (typeof id !== 'number') throw new Error('not a Tauri Channel');
  const internals = (window as unknown as { __TAURI_INTERNALS__: Internals }).__TAURI_INTERNALS__;
  let index = 0;
  return {
    send(message: AnswerEvent) {
      internals.runCallback(id, { index: index++, message });
    },
    end() {
      internals.runCallback(id, { index: index++, end: true });
    },
  };
}

/** A promise whose settling the test controls. */
export function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
