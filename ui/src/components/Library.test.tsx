import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { installBackend } from '../test/backend';
import { makeDocument, makeFinished, makeOverview } from '../test/fixtures';
import type { LibraryOverview } from '../lib/types';
import { App } from './App';

const progress = () => screen.getByTestId('library-progress') as HTMLProgressElement;
const fileStates = () =>
  screen.getAllByTestId('file-status').map((row) => [row.querySelector('.file-status__name')?.textContent, row.dataset.state]);

describe('library panel', () => {
  it('invites a first-time user to drop documents', async () => {
    installBackend();
    render(<App />);
    const panel = await screen.findByTestId('library-panel');
    const zone = within(panel).getByTestId('drop-zone');
    expect(zone.textContent).toContain('Drop documents here');
    expect(zone.textContent).toMatch(/PDF.*Word.*HTML.*Markdown.*text/);
    expect(within(zone).getByText('Add files…')).toBeTruthy();
    expect(within(zone).getByText('Add folder…')).toBeTruthy();
    expect(progress().dataset.running).toBe('false');
  });

  it('shows per-file states and total progress from ingest events, then the documents', async () => {
    let overview: LibraryOverview = makeOverview();
    const backend = installBackend({ library_overview: () => overview, cancel_ingest: () => null });
    render(<App />);
    await screen.findByTestId('library-panel');
    await waitFor(() => expect(backend.argsOf('library_overview')).toHaveLength(1));

    await backend.emitIngest({ kind: 'queued', total: 3, paths: ['/docs/a.pdf', '/docs/b.md'] });
    await backend.emitIngest({ kind: 'started', path: '/docs/a.pdf' });
    await waitFor(() => expect(progress().dataset.running).toBe('true'));
    expect(fileStates()).toEqual([
      ['a.pdf', 'indexing'],
      ['b.md', 'queued'],
    ]);
    expect(screen.getByText('0 of 3 files done · indexing a.pdf')).toBeTruthy();

    // A question being answered pauses indexing, and the panel says why.
    await backend.emitIngest({ kind: 'paused', paused: true });
    await waitFor(() => expect(screen.getByText('0 of 3 files done · paused while a question is answered')).toBeTruthy());
    await backend.emitIngest({ kind: 'paused', paused: false });
    await waitFor(() => expect(screen.getByText('0 of 3 files done · indexing a.pdf')).toBeTruthy());

    await backend.emitIngest({ kind: 'file', done: 1, total: 3, path: '/docs/a.pdf', outcome: 'added', chunks: 9, error: null });
    await backend.emitIngest({ kind: 'file', done: 2, total: 3, path: '/docs/old.txt', outcome: 'unchanged', chunks: 2, error: null });
    await backend.emitIngest({ kind: 'started', path: '/docs/b.md' });
    await backend.emitIngest({ kind: 'file', done: 3, total: 3, path: '/docs/b.md', outcome: 'failed', chunks: 0, error: 'not valid UTF-8' });
    await waitFor(() =>
      expect(fileStates()).toEqual([
        ['a.pdf', 'added'],
        ['b.md', 'failed'],
        ['old.txt', 'unchanged'],
      ]),
    );
    expect(progress().value).toBe(3);
    expect(progress().max).toBe(3);
    expect(screen.getByText('not valid UTF-8')).toBeTruthy();

    // Cancel is offered while running.
    fireEvent.click(screen.getByText('Cancel'));
    await waitFor(() => expect(backend.argsOf('cancel_ingest')).toHaveLength(1));

    overview = makeOverview({
      roots: ['/docs'],
      documents: [
        makeDocument(1, { path: '/docs/a.pdf', title: 'Pump manual', units: 12, ocr_units: 4 }),
        makeDocument(2, { path: '/docs/b.md', title: null, status: 'failed', error: 'not valid UTF-8', chunks: 0 }),
        makeDocument(3, { path: '/docs/review.pptx', format: 'pptx', title: 'Review', unit: 'slide', units: 1 }),
      ],
    });
    await backend.emitIngest(makeFinished({ added: 1, unchanged: 1, failed: 1 }));
    await waitFor(() => expect(progress().dataset.running).toBe('false'));
    expect(screen.getByText('Done: 1 added, 1 unchanged, 1 failed')).toBeTruthy();
    const rows = await screen.findAllByTestId('document-row');
    expect(rows.map((r) => r.dataset.status)).toEqual(['indexed', 'failed', 'indexed']);
    expect(rows[0].textContent).toContain('Pump manual');
    // What of each document was read: its units, and those read by OCR.
    expect(rows[0].textContent).toContain('PDF · 12 pages, 4 by OCR');
    expect(rows[2].textContent).toContain('PPTX · 1 slide ·');
    expect(rows[1].textContent).toContain('b.md');
    expect(screen.getByText('/docs')).toBeTruthy();
    expect(screen.queryByText('Cancel')).toBeNull();
  });

  it('adds files and folders chosen in the dialog', async () => {
    const picks: unknown[] = [];
    const backend = installBackend({
      'plugin:dialog|open': (args) => {
        const options = args.options as { directory: boolean; multiple: boolean };
        picks.push(options);
        return options.directory ? ['/home/ana/manuals'] : ['/home/ana/a.pdf', '/home/ana/b.docx'];
      },
      add_paths: () => null,
    });
    render(<App />);
    fireEvent.click(await screen.findByText('Add files…'));
    await waitFor(() => expect(backend.argsOf('add_paths')).toEqual([{ paths: ['/home/ana/a.pdf', '/home/ana/b.docx'] }]));
    fireEvent.click(screen.getByText('Add folder…'));
    await waitFor(() => expect(backend.argsOf('add_paths')).toHaveLength(2));
    expect(backend.argsOf('add_paths')[1]).toEqual({ paths: ['/home/ana/manuals'] });
    expect(picks).toEqual([expect.objectContaining({ multiple: true, directory: false }), expect.objectContaining({ multiple: true, directory: true })]);
  });

  it('does nothing when the dialog is cancelled, and shows a failed add', async () => {
    let picked: string[] | null = null;
    const backend = installBackend({
      'plugin:dialog|open': () => picked,
      add_paths: () => Promise.reject({ code: 'invalid', message: 'Not a supported file', details: '/x.exe' }),
    });
    render(<App />);
    fireEvent.click(await screen.findByText('Add files…'));
    await new Promise((r) => setTimeout(r, 20));
    expect(backend.argsOf('add_paths')).toHaveLength(0);
    picked = ['/x.exe'];
    fireEvent.click(screen.getByText('Add files…'));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Not a supported file');
  });

  it('drag-and-drop onto the window shows an overlay and adds the dropped paths', async () => {
    const backend = installBackend({ add_paths: () => null });
    render(<App />);
    fireEvent.click(await screen.findByTestId('nav-settings'));
    await backend.drag('enter', ['/home/ana/report.pdf']);
    await screen.findByTestId('drop-overlay');
    await backend.drag('drop', ['/home/ana/report.pdf', '/home/ana/notes']);
    await waitFor(() => expect(backend.argsOf('add_paths')).toEqual([{ paths: ['/home/ana/report.pdf', '/home/ana/notes'] }]));
    expect(screen.queryByTestId('drop-overlay')).toBeNull();
    // The library panel comes forward to show the progress.
    expect(screen.getByTestId('library-panel')).toBeTruthy();

    await backend.drag('enter', ['/x']);
    await screen.findByTestId('drop-overlay');
    await backend.drag('leave');
    await waitFor(() => expect(screen.queryByTestId('drop-overlay')).toBeNull());
    expect(backend.argsOf('add_paths')).toHaveLength(1);
  });

  it('removes and re-indexes documents, and reloads when the library changes', async () => {
    let overview = makeOverview({ documents: [makeDocument(1, { path: '/docs/a.pdf' }), makeDocument(2, { path: '/docs/b.pdf' })] });
    const backend = installBackend({
      library_overview: () => overview,
      remove_paths: (args) => {
        overview = { ...overview, documents: overview.documents.filter((d) => !(args.paths as string[]).includes(d.path)) };
        return { removed: 1 };
      },
      reindex: () => null,
    });
    render(<App />);
    const rows = await screen.findAllByTestId('document-row');
    expect(rows).toHaveLength(2);

    fireEvent.click(within(rows[1]).getByText('Re-index'));
    await waitFor(() => expect(backend.argsOf('reindex')).toEqual([{ paths: ['/docs/b.pdf'] }]));

    fireEvent.click(within(rows[0]).getByText('Remove'));
    await waitFor(() => expect(backend.argsOf('remove_paths')).toEqual([{ paths: ['/docs/a.pdf'] }]));
    await waitFor(() => expect(screen.getAllByTestId('document-row')).toHaveLength(1));

    // The folder watcher found a new file.
    overview = { ...overview, documents: [...overview.documents, makeDocument(3, { path: '/docs/c.pdf', title: 'New one' })] };
    await backend.emitLibraryChanged();
    await waitFor(() => expect(screen.getAllByTestId('document-row')).toHaveLength(2));
    expect(screen.getByText('New one')).toBeTruthy();
  });

  it('shows an ingest already running when the window opens', async () => {
    installBackend({ library_overview: () => makeOverview({ ingest_running: true }) });
    render(<App />);
    await waitFor(() => expect(progress().dataset.running).toBe('true'));
    expect(progress().hasAttribute('value')).toBe(false);
  });

  it('offers to re-embed a library made by another embedder, and shows the passages going', async () => {
    const mismatch = { library: 'all-MiniLM-L6-v2 at f32', current: 'all-MiniLM-L6-v2 at int8', passages: 12 };
    let overview: LibraryOverview = makeOverview({ documents: [makeDocument(1, { chunks: 12 })], mismatch });
    const backend = installBackend({ library_overview: () => overview, reembed_library: () => null });
    render(<App />);
    const banner = await screen.findByTestId('embedder-mismatch');
    expect(banner.textContent).toContain('all-MiniLM-L6-v2 at f32');
    expect(banner.textContent).toContain('all-MiniLM-L6-v2 at int8');
    fireEvent.click(within(banner).getByText('Re-embed 12 passages'));
    await waitFor(() => expect(backend.argsOf('reembed_library')).toHaveLength(1));

    await backend.emitIngest({ kind: 'reembedding', done: 5, total: 12 });
    await waitFor(() => expect(screen.getByText('Re-embedding: 5 of 12 passages')).toBeTruthy());
    expect(progress().value).toBe(5);
    expect(progress().max).toBe(12);
    expect(screen.queryByTestId('embedder-mismatch')).toBeNull();
    // One transaction: there is nothing to cancel halfway.
    expect(screen.queryByText('Cancel')).toBeNull();

    overview = { ...overview, mismatch: null };
    await backend.emitIngest(makeFinished({ reembedded: 12 }));
    await waitFor(() => expect(screen.getByText('Done: 12 passages re-embedded')).toBeTruthy());
    expect(screen.queryByTestId('embedder-mismatch')).toBeNull();
  });
});
