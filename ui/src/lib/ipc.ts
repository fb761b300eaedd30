// Typed wrappers over Tauri's IPC. This is the only module that imports
// `@tauri-apps/*`; components call these functions and get typed values back,
// or a `QuarryError` when a command rejects.

import { Channel, invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { getCurrentWebview } from '@tauri-apps/api/webview';
import { open } from '@tauri-apps/plugin-dialog';
import type {
  AnswerEvent,
  AskResult,
  Conversation,
  IngestEvent,
  Inspection,
  LibraryOverview,
  ModelStatus,
  PassageContext,
  QuarryErrorShape,
  Settings,
  SettingsUpdate,
  ModelKind,
  Turn,
} from './types';

/** A rejected command, normalised to the contract's `{ code, message, details }`. */
export class QuarryError extends Error implements QuarryErrorShape {
  readonly code: string;
  readonly details: string | null;

  constructor(shape: QuarryErrorShape) {
    super(shape.message);
    this.name = 'QuarryError';
    this.code = shape.code;
    this.details = shape.details ?? null;
  }
}

/**
 * Turns whatever a command rejected with into a `QuarryError`. The Rust side
 * sends `{ code, message, details? }`; Tauri itself rejects with plain strings
 * (unknown command, missing permission, bad arguments).
 */
export function toQuarryError(err: unknown): QuarryError {
  if (err instanceof QuarryError) return err;
  if (typeof err === 'string') return new QuarryError({ code: 'unknown', message: err });
  if (err && typeof err === 'object') {
    const o = err as Record<string, unknown>;
    const message =
      typeof o.message === 'string' && o.message.trim() !== ''
        ? o.message
        : typeof o.error === 'string'
          ? o.error
          : null;
    if (message !== null) {
      return new QuarryError({
        code: typeof o.code === 'string' ? o.code : 'unknown',
        message,
        details: typeof o.details === 'string' ? o.details : null,
      });
    }
    try {
      return new QuarryError({ code: 'unknown', message: JSON.stringify(err) });
    } catch {
      /* fall through */
    }
  }
  return new QuarryError({ code: 'unknown', message: String(err) });
}

function hasBackend(): boolean {
  const internals = (window as unknown as { __TAURI_INTERNALS__?: { invoke?: unknown } }).__TAURI_INTERNALS__;
  return typeof internals?.invoke === 'function';
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  if (!hasBackend()) {
    throw new QuarryError({
      code: 'io',
      message: 'The Quarry back end is not available: this page is running outside the Quarry app.',
    });
  }
  try {
    return await invoke<T>(cmd, args);
  } catch (err) {
    throw toQuarryError(err);
  }
}

// ---- Commands --------------------------------------------------------------

export const libraryOverview = () => call<LibraryOverview>('library_overview');
export const addPaths = (paths: string[]) => call<void>('add_paths', { paths });
export const reindex = (paths: string[]) => call<void>('reindex', { paths });
export const removePaths = (paths: string[]) => call<{ removed: number }>('remove_paths', { paths });
export const cancelIngest = () => call<void>('cancel_ingest');
export const reembedLibrary = () => call<void>('reembed_library');

/**
 * Asks a question. Events stream through `onEvent` while the answer is written;
 * the promise resolves when the answer is finished (or stopped).
 */
export function ask(
  question: string,
  conversationId: number | null,
  onEvent: (event: AnswerEvent) => void,
): Promise<AskResult> {
  const channel = new Channel<AnswerEvent>();
  channel.onmessage = onEvent;
  return call<AskResult>('ask', { question, conversation_id: conversationId, on_event: channel });
}

export const stopAnswer = () => call<void>('stop_answer');
export const listConversations = () => call<Conversation[]>('list_conversations');
export const conversationTurns = (conversationId: number) =>
  call<Turn[]>('conversation_turns', { conversation_id: conversationId });
export const deleteConversation = (conversationId: number) =>
  call<void>('delete_conversation', { conversation_id: conversationId });
export const modelStatus = () => call<ModelStatus>('model_status');
export const passageContext = (documentId: number, start: number, end: number) =>
  call<PassageContext>('passage_context', { document_id: documentId, start, end });
export const openDocument = (documentId: number) => call<void>('open_document', { document_id: documentId });
export const inspectPassage = (question: string, chunkId: number) =>
  call<Inspection>('inspect_passage', { question, chunk_id: chunkId });
export const getSettings = () => call<Settings>('get_settings');
export const saveSettings = (update: SettingsUpdate) => call<Settings>('save_settings', { update });
export const chooseModel = (kind: ModelKind, path: string) => call<Settings>('choose_model', { kind, path });

// ---- Events ----------------------------------------------------------------

type Unlisten = () => void;

/**
 * Registers a listener and returns a synchronous unsubscribe, safe to call
 * before the registration has finished (effects clean up that way).
 */
function subscribe(register: () => Promise<() => unknown>): Unlisten {
  let stop: (() => unknown) | null = null;
  let cancelled = false;
  const quietly = (fn: () => unknown) => {
    Promise.resolve()
      .then(fn)
      .catch(() => undefined);
  };
  if (!hasBackend()) return () => undefined;
  register()
    .then((unlisten) => {
      if (cancelled) quietly(unlisten);
      else stop = unlisten;
    })
    .catch((err) => {
      if (!cancelled) console.warn('Quarry: could not listen for events', err);
    });
  return () => {
    cancelled = true;
    if (stop) {
      const s = stop;
      stop = null;
      try {
        quietly(s);
      } catch {
        /* the backend is gone; nothing to unregister */
      }
    }
  };
}

export function onIngestProgress(handler: (event: IngestEvent) => void): Unlisten {
  return subscribe(() => listen<IngestEvent>('ingest:progress', (e) => handler(e.payload)));
}

export function onLibraryChanged(handler: () => void): Unlisten {
  return subscribe(() => listen('library:changed', () => handler()));
}

export type DragDrop =
  | { type: 'enter'; paths: string[] }
  | { type: 'over' }
  | { type: 'drop'; paths: string[] }
  | { type: 'leave' };

/** Files and folders dragged onto the window (the webview's native drag-and-drop). */
export function onDragDrop(handler: (event: DragDrop) => void): Unlisten {
  return subscribe(async () => {
    const webview = getCurrentWebview();
    return webview.onDragDropEvent((e) => {
      const p = e.payload;
      switch (p.type) {
        case 'enter':
          handler({ type: 'enter', paths: p.paths });
          break;
        case 'over':
          handler({ type: 'over' });
          break;
        case 'drop':
          handler({ type: 'drop', paths: p.paths });
          break;
        default:
          handler({ type: 'leave' });
      }
    });
  });
}

// ---- Dialogs ---------------------------------------------------------------

function asPaths(picked: string | string[] | null): string[] {
  if (picked === null) return [];
  return Array.isArray(picked) ? picked : [picked];
}

/** The system's file or folder picker; resolves to [] when cancelled. */
export async function pickPaths(directory: boolean): Promise<string[]> {
  if (!hasBackend()) return [];
  try {
    return asPaths(await open({ multiple: true, directory, title: directory ? 'Add folders' : 'Add files' }));
  } catch (err) {
    throw toQuarryError(err);
  }
}

/** One file, e.g. a `.gguf` model (`extensions` without dots). */
export async function pickFile(name: string, extensions: string[]): Promise<string | null> {
  if (!hasBackend()) return null;
  try {
    const picked = await open({ directory: false, multiple: false, filters: [{ name, extensions }] });
    return asPaths(picked)[0] ?? null;
  } catch (err) {
    throw toQuarryError(err);
  }
}

export async function pickFolder(defaultPath?: string): Promise<string | null> {
  if (!hasBackend()) return null;
  try {
    const picked = await open({ directory: true, multiple: false, defaultPath: defaultPath || undefined });
    return asPaths(picked)[0] ?? null;
  } catch (err) {
    throw toQuarryError(err);
  }
}
