import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import * as ipc from './ipc';
import { QuarryError, toQuarryError } from './ipc';

describe('toQuarryError', () => {
  it('keeps the contract shape', () => {
    const e = toQuarryError({ code: 'busy', message: 'An answer is being written', details: 'turn 3' });
    expect(e).toBeInstanceOf(QuarryError);
    expect(e).toMatchObject({ code: 'busy', message: 'An answer is being written', details: 'turn 3' });
  });

  it('wraps the plain strings Tauri itself rejects with', () => {
    expect(toQuarryError('command ask not found')).toMatchObject({ code: 'unknown', message: 'command ask not found', details: null });
  });

  it('copes with errors and odd values', () => {
    expect(toQuarryError(new Error('boom')).message).toBe('boom');
    expect(toQuarryError({ code: 'io' }).message).toContain('io');
    expect(toQuarryError(null).message).toBe('null');
  });
});

describe('commands', () => {
  it('send snake_case arguments and normalise rejections', async () => {
    const seen: Array<[string, unknown]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      if (cmd === 'remove_paths') return { removed: 2 };
      if (cmd === 'conversation_turns') return Promise.reject({ code: 'not_found', message: 'No such conversation' });
      return null;
    });
    await expect(ipc.removePaths(['/a', '/b'])).resolves.toEqual({ removed: 2 });
    await ipc.passageContext(4, 10, 20);
    await ipc.inspectPassage('why?', 77);
    await ipc.saveSettings({
      library_dir: '/lib',
      model_path: null,
      embedder_dir: null,
      embed_precision: null,
      passages: 3,
      engine_url: null,
      engine_model: null,
      engine_context: null,
      embed_url: null,
      embed_model: null,
    });
    await expect(ipc.conversationTurns(9)).rejects.toMatchObject({ code: 'not_found', message: 'No such conversation' });
    expect(seen).toEqual([
      ['remove_paths', { paths: ['/a', '/b'] }],
      ['passage_context', { document_id: 4, start: 10, end: 20 }],
      ['inspect_passage', { question: 'why?', chunk_id: 77 }],
      [
        'save_settings',
        {
          update: {
            library_dir: '/lib',
            model_path: null,
            embedder_dir: null,
            embed_precision: null,
            passages: 3,
            engine_url: null,
            engine_model: null,
            engine_context: null,
            embed_url: null,
            embed_model: null,
          },
        },
      ],
      ['conversation_turns', { conversation_id: 9 }],
    ]);
  });

  it('reports a missing back end instead of crashing', async () => {
    await expect(ipc.libraryOverview()).rejects.toMatchObject({ code: 'io' });
  });

  it('returns the picked paths from the dialog, or none when cancelled', async () => {
    let answer: unknown = ['/a.pdf', '/b.md'];
    const opened: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'plugin:dialog|open') {
        opened.push((args as { options: unknown }).options);
        return answer;
      }
    });
    await expect(ipc.pickPaths(false)).resolves.toEqual(['/a.pdf', '/b.md']);
    answer = null;
    await expect(ipc.pickPaths(true)).resolves.toEqual([]);
    answer = '/lib';
    await expect(ipc.pickFolder()).resolves.toBe('/lib');
    expect(opened[0]).toMatchObject({ multiple: true, directory: false });
    expect(opened[1]).toMatchObject({ multiple: true, directory: true });
    expect(opened[2]).toMatchObject({ directory: true });
  });
});
