import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { installBackend } from '../test/backend';
import { makeSettings } from '../test/fixtures';
import type { Settings } from '../lib/types';
import { App } from './App';

async function openSettings() {
  fireEvent.click(await screen.findByTestId('nav-settings'));
  const panel = await screen.findByTestId('settings-panel');
  await within(panel).findByLabelText('Library folder');
  return panel;
}

describe('settings', () => {
  it('shows the settings, models and the embedder', async () => {
    installBackend({ get_settings: () => makeSettings() });
    render(<App />);
    const panel = await openSettings();
    expect((within(panel).getByLabelText('Library folder') as HTMLInputElement).value).toBe('/home/ana/.local/share/quarry');
    const options = within(within(panel).getByLabelText('Language model'))
      .getAllByRole('option')
      .map((o) => o.textContent);
    expect(options).toEqual([
      'Automatic (qwen2.5-coder-1.5b-instruct-q4_k_m.gguf)',
      'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf — qwen2 · 1.5B · Q4_K_M (default)',
      'gemma-3-1b-it-q4_0.gguf — gemma3 · 1B · Q4_0',
    ]);
    expect((within(panel).getByLabelText('Passages per answer') as HTMLInputElement).value).toBe('5');
    expect(panel.textContent).toContain('all-MiniLM-L6-v2');
    expect(panel.textContent).toContain('384');
    expect(within(panel).getByTestId('model-facts').textContent).toContain('default');
  });

  it('chooses the embedding precision and shows the one running', async () => {
    let stored = makeSettings();
    const backend = installBackend({
      get_settings: () => stored,
      save_settings: (args) => {
        const update = (args as { update: Settings }).update;
        stored = { ...stored, ...update, embedder: { ...stored.embedder!, precision: update.embed_precision ?? 'int8' } };
        return stored;
      },
    });
    render(<App />);
    const panel = await openSettings();
    const precision = within(panel).getByLabelText('Precision') as HTMLSelectElement;
    expect(precision.value).toBe('');
    expect(Array.from(precision.options).map((o) => o.textContent)).toEqual([
      'As the library was made (int8 for a new library)',
      'int8 — indexes 2–3× faster',
      'f32 — exact, slower',
    ]);
    expect(within(panel).getByTestId('embed-precision-running').textContent).toBe('f32');
    fireEvent.change(precision, { target: { value: 'int8' } });
    fireEvent.click(within(panel).getByText('Save'));
    await waitFor(() => expect(backend.argsOf('save_settings')).toHaveLength(1));
    expect((backend.argsOf('save_settings')[0] as { update: Settings }).update.embed_precision).toBe('int8');
    await waitFor(() => expect(within(panel).getByTestId('embed-precision-running').textContent).toBe('int8'));
    // A server's embeddings have no precision to choose.
    fireEvent.click(within(panel).getByTestId('embed-remote'));
    expect(within(panel).queryByLabelText('Precision')).toBeNull();
  });

  it('saves the chosen folder, model and passage count', async () => {
    let stored = makeSettings();
    const backend = installBackend({
      get_settings: () => stored,
      'plugin:dialog|open': () => '/mnt/data/quarry',
      save_settings: (args) => {
        stored = { ...stored, ...(args as { update: Partial<Settings> }).update };
        return stored;
      },
    });
    render(<App />);
    const panel = await openSettings();

    fireEvent.click(within(panel).getByText('Choose…'));
    await waitFor(() => expect((within(panel).getByLabelText('Library folder') as HTMLInputElement).value).toBe('/mnt/data/quarry'));

    fireEvent.change(within(panel).getByLabelText('Language model'), { target: { value: '/models/gemma-3-1b-it-q4_0.gguf' } });
    const passages = within(panel).getByLabelText('Passages per answer') as HTMLInputElement;
    fireEvent.input(passages, { target: { value: '8' } });
    await waitFor(() => expect(within(panel).getByTestId('model-facts').textContent).toContain('gemma3'));

    fireEvent.click(within(panel).getByText('Save'));
    await waitFor(() =>
      expect(backend.argsOf('save_settings')).toEqual([
        {
          update: {
            library_dir: '/mnt/data/quarry',
            model_path: '/models/gemma-3-1b-it-q4_0.gguf',
            embedder_dir: null,
            embed_precision: null,
            passages: 8,
            engine_url: null,
            engine_model: null,
            engine_context: null,
            embed_url: null,
            embed_model: null,
          },
        },
      ]),
    );
    await within(panel).findByText('Saved.');
    // What the settings affect is reloaded.
    await waitFor(() => expect(backend.argsOf('model_status').length).toBeGreaterThan(1));
    expect(backend.argsOf('library_overview').length).toBeGreaterThan(1);
  });

  it('keeps passages within 1–10 and sends null for the automatic model', async () => {
    const backend = installBackend({
      get_settings: () => makeSettings({ model_path: '/models/gemma-3-1b-it-q4_0.gguf', passages: 3 }),
      save_settings: (args) => makeSettings((args as { update: Partial<Settings> }).update),
    });
    render(<App />);
    const panel = await openSettings();
    fireEvent.change(within(panel).getByLabelText('Language model'), { target: { value: '' } });
    fireEvent.input(within(panel).getByLabelText('Passages per answer'), { target: { value: '40' } });
    fireEvent.click(within(panel).getByText('Save'));
    await waitFor(() =>
      expect(backend.argsOf('save_settings')).toEqual([
        {
          update: {
            library_dir: '/home/ana/.local/share/quarry',
            model_path: null,
            embedder_dir: null,
            embed_precision: null,
            passages: 10,
            engine_url: null,
            engine_model: null,
            engine_context: null,
            embed_url: null,
            embed_model: null,
          },
        },
      ]),
    );
  });

  it('sends answers to a server of yours only when chosen, and says what leaves the machine', async () => {
    const backend = installBackend({
      get_settings: () => makeSettings(),
      save_settings: (args) => {
        const a = (args as { update: Settings }).update;
        return makeSettings({ ...a, answers_by: `${a.engine_model} at ${a.engine_url}` });
      },
    });
    render(<App />);
    const panel = await openSettings();
    expect(within(panel).getByTestId('answers-by').textContent).toContain('answers by this computer');
    expect(within(panel).queryByLabelText('Server URL')).toBeNull();
    fireEvent.click(within(panel).getByTestId('engine-remote'));
    expect(within(panel).getByTestId('engine-privacy').textContent).toContain('passages found for it are sent to this server');
    fireEvent.input(within(panel).getByLabelText('Server URL'), { target: { value: ' http://gpu-box:8000/v1 ' } });
    fireEvent.input(within(panel).getByLabelText('Model'), { target: { value: 'qwen2.5-7b' } });
    fireEvent.input(within(panel).getByLabelText('Context (tokens)'), { target: { value: '8192' } });
    fireEvent.click(within(panel).getByText('Save'));
    await waitFor(() =>
      expect(backend.argsOf('save_settings')).toEqual([
        {
          update: {
            library_dir: '/home/ana/.local/share/quarry',
            model_path: null,
            embedder_dir: null,
            embed_precision: null,
            passages: 5,
            engine_url: 'http://gpu-box:8000/v1',
            engine_model: 'qwen2.5-7b',
            engine_context: 8192,
            embed_url: null,
            embed_model: null,
          },
        },
      ]),
    );
    await waitFor(() =>
      expect(within(panel).getByTestId('answers-by').textContent).toContain('answers by qwen2.5-7b at http://gpu-box:8000/v1'),
    );
  });

  it('sends embeddings to a server of yours only when chosen, and keeps settings usable when it is down', async () => {
    const backend = installBackend({
      get_settings: () =>
        makeSettings({
          embedder: null,
          embedder_error: 'embedding server: the server at http://gpu-box:8080/v1: cannot reach it',
          embed_url: 'http://gpu-box:8080/v1',
          embed_model: 'bge-small-en-v1.5',
          embeddings_by: 'bge-small-en-v1.5 at http://gpu-box:8080/v1 (not reachable)',
        }),
      save_settings: (args) => makeSettings((args as { update: Partial<Settings> }).update),
    });
    render(<App />);
    const panel = await openSettings();
    const section = within(panel).getByTestId('embedding-engine');
    expect(section.textContent).toContain('cannot reach it');
    expect(within(panel).getByTestId('embed-privacy').textContent).toContain('Every passage indexed and every question searched');
    // Back to this computer: the server's fields go, and nulls are sent.
    fireEvent.click(within(section).getByLabelText('On this computer'));
    expect(within(panel).queryByLabelText('Server URL')).toBeNull();
    fireEvent.click(within(panel).getByText('Save'));
    await waitFor(() => expect(backend.argsOf('save_settings')).toHaveLength(1));
    const [sent] = backend.argsOf('save_settings') as Array<{ update: Record<string, unknown> }>;
    expect([sent.update.embed_url, sent.update.embed_model]).toEqual([null, null]);
  });

  it('shows why saving failed', async () => {
    installBackend({
      get_settings: () => makeSettings(),
      save_settings: () => Promise.reject({ code: 'invalid', message: 'That folder is not writable', details: 'EACCES' }),
    });
    render(<App />);
    const panel = await openSettings();
    fireEvent.input(within(panel).getByLabelText('Library folder'), { target: { value: '/root/x' } });
    fireEvent.click(within(panel).getByText('Save'));
    const alert = await within(panel).findByRole('alert');
    expect(alert.textContent).toContain('That folder is not writable');
    expect(alert.textContent).toContain('EACCES');
  });
});
