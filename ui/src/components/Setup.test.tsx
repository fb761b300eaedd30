import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { installBackend } from '../test/backend';
import { makeModelStatus, makeSettings } from '../test/fixtures';
import type { Settings } from '../lib/types';
import { App } from './App';

const missing = makeSettings({
  embedder: null,
  embedder_error:
    'embedding model sentence-transformers/all-MiniLM-L6-v2 not found; looked in:\n  - /home/ana/.local/share/quarry/models/all-MiniLM-L6-v2',
});
const noAnswerModel = makeModelStatus({ ready: false, path: null, name: null, message: 'no answer model found' });

describe('first run without models', () => {
  it('explains what is needed and lets the person choose each model on disk', async () => {
    let settings: Settings = missing;
    let model = noAnswerModel;
    const backend = installBackend({
      get_settings: () => settings,
      model_status: () => model,
      'plugin:dialog|open': (args) => {
        const options = args.options as { directory: boolean; filters?: Array<{ extensions: string[] }> };
        return options.directory ? '/mnt/usb/all-MiniLM-L6-v2' : '/mnt/usb/qwen.gguf';
      },
      choose_model: (args) => {
        if (args.kind === 'embedder') {
          settings = makeSettings({ embedder_dir: '/home/ana/.local/share/quarry/models/all-MiniLM-L6-v2' });
        } else {
          model = makeModelStatus();
        }
        return settings;
      },
    });
    render(<App />);

    const setup = await screen.findByTestId('setup');
    expect(within(setup).getByText('Set up Quarry')).toBeTruthy();
    const embedderStep = within(setup).getByTestId('setup-embedder');
    expect(embedderStep.querySelector('.setup__state')?.textContent).toBe('needed');
    expect(embedderStep.textContent).toContain('all-MiniLM-L6-v2');
    expect(setup.textContent).toContain('/home/ana/.local/share/quarry/models/all-MiniLM-L6-v2');
    expect(within(setup).getByTestId('setup-answer').querySelector('.setup__state')?.textContent).toBe('optional');
    expect((screen.getByTestId('setup-done') as HTMLButtonElement).disabled).toBe(true);

    fireEvent.click(screen.getByTestId('choose-embedder'));
    const state = (step: string) => within(setup).getByTestId(step).querySelector('.setup__state')?.textContent;
    await waitFor(() => expect(state('setup-embedder')).toBe('ready'));
    expect(backend.argsOf('choose_model')[0]).toEqual({ kind: 'embedder', path: '/mnt/usb/all-MiniLM-L6-v2' });
    expect((screen.getByTestId('setup-done') as HTMLButtonElement).disabled).toBe(false);

    fireEvent.click(screen.getByTestId('choose-answer-model'));
    await waitFor(() => expect(state('setup-answer')).toBe('ready'));
    const dialogs = backend.argsOf('plugin:dialog|open').map((a) => a.options as { filters?: Array<{ extensions: string[] }> });
    expect(dialogs[1].filters?.[0].extensions).toEqual(['gguf']);
    expect(backend.argsOf('choose_model')[1]).toEqual({ kind: 'answer', path: '/mnt/usb/qwen.gguf' });

    fireEvent.click(screen.getByTestId('setup-done'));
    await waitFor(() => expect(screen.queryByTestId('setup')).toBeNull());
    expect(screen.getByTestId('question-input')).toBeTruthy();
  });

  it('says why a chosen model cannot be used, and stays on the screen', async () => {
    installBackend({
      get_settings: () => missing,
      model_status: () => noAnswerModel,
      'plugin:dialog|open': () => '/home/ana/Downloads/notes.txt',
      choose_model: () =>
        Promise.reject({ code: 'no_model', message: '/home/ana/Downloads/notes.txt is not a GGUF file', details: null }),
    });
    render(<App />);
    await screen.findByTestId('setup');
    fireEvent.click(screen.getByTestId('choose-answer-model'));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('is not a GGUF file');
    expect(screen.getByTestId('setup')).toBeTruthy();
  });

  it('is not shown when the embedder is found', async () => {
    installBackend();
    render(<App />);
    await screen.findByTestId('question-input');
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId('setup')).toBeNull();
  });
});
