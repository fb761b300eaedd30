import type { Library } from '../hooks/useLibrary';
import { fileStateLabel, summaryText } from '../lib/ingest';
import { displayTitle, fileName, formatBytes, plural } from '../lib/format';
import type { Document } from '../lib/types';
import { ErrorNotice } from './ErrorNotice';

interface Props {
  library: Library;
  /** Files are being dragged over the window. */
  dragging: boolean;
}

const FORMATS =
  'PDFs (scans too), Word, PowerPoint, Excel, OpenDocument, CSV, EPUB, RTF, mail (EML, MBOX), photos of pages, HTML, Markdown and text';

export function LibraryPanel({ library, dragging }: Props) {
  const { overview, ingest, running } = library;
  const documents = overview?.documents ?? [];
  const failed = documents.filter((d) => d.status === 'failed').length;
  const empty = overview !== null && documents.length === 0 && ingest.files.length === 0;
  const indeterminate = running && ingest.total === 0;

  return (
    <section class="panel library-panel" data-testid="library-panel" aria-labelledby="library-title">
      <header class="panel__header">
        <h2 id="library-title">Library</h2>
        {overview && (
          <p class="muted panel__sub" title={overview.dir}>
            {plural(documents.length, 'document')}
            {failed > 0 && `, ${failed} failed`}
          </p>
        )}
      </header>

      <div
        class={`drop-zone${empty ? ' drop-zone--empty' : ''}${dragging ? ' drop-zone--active' : ''}`}
        data-testid="drop-zone"
        data-active={dragging ? 'true' : 'false'}
      >
        <p class="drop-zone__title">{dragging ? 'Drop to add them' : 'Drop documents here'}</p>
        <p class="drop-zone__hint">{FORMATS}; folders are indexed and watched for changes.</p>
        <div class="drop-zone__actions">
          <button type="button" class="button" onClick={() => void library.pickAndAdd(false)}>
            Add files…
          </button>
          <button type="button" class="button" onClick={() => void library.pickAndAdd(true)}>
            Add folder…
          </button>
        </div>
      </div>

      {library.loadError && <ErrorNotice error={library.loadError} title="Could not load the library" />}
      {library.actionError && (
        <ErrorNotice error={library.actionError} onDismiss={library.clearActionError} />
      )}
      {ingest.error && <ErrorNotice error={ingest.error} title="Indexing failed" />}
      {overview?.mismatch && !ingest.reembedding && (
        <div class="notice notice--warning" role="alert" data-testid="embedder-mismatch">
          <p>
            These passages were embedded by <strong>{overview.mismatch.library}</strong>; Quarry now embeds with{' '}
            <strong>{overview.mismatch.current}</strong>. Their vectors do not mix, so searching and adding wait until
            the library is re-embedded (or the embedder is set back in Settings).
          </p>
          <button type="button" class="button button--primary" disabled={running} onClick={() => void library.reembed()}>
            Re-embed {plural(overview.mismatch.passages, 'passage')}
          </button>
        </div>
      )}

      <div class="ingest" aria-live="polite">
        <div class="ingest__bar">
          <progress
            key={indeterminate ? 'indeterminate' : 'count'}
            class="ingest__progress"
            data-testid="library-progress"
            data-running={running ? 'true' : 'false'}
            aria-label="Indexing progress"
            max={indeterminate ? undefined : Math.max(ingest.total, 1)}
            value={indeterminate ? undefined : ingest.total === 0 ? (running ? 0 : 1) : ingest.done}
          />
          {running && !ingest.reembedding && (
            <button type="button" class="small-button small-button--danger" onClick={() => void library.cancel()}>
              Cancel
            </button>
          )}
        </div>
        <p class="ingest__status muted">
          {running
            ? ingest.reembedding
              ? `Re-embedding: ${ingest.done} of ${plural(ingest.total, 'passage')}`
              : ingest.total > 0
              ? `${ingest.done} of ${ingest.total} files done${
                  ingest.paused
                    ? ' · paused while a question is answered'
                    : ingest.current
                      ? ` · indexing ${fileName(ingest.current)}`
                      : ''
                }`
              : 'Indexing…'
            : ingest.summary
              ? summaryText(ingest.summary)
              : overview
                ? 'Up to date'
                : ''}
        </p>
        {ingest.files.length > 0 && (
          <ul class="plain-list file-status-list" aria-label="Files in this run">
            {ingest.files.map((f) => (
              <li
                key={f.path}
                class={`file-status file-status--${f.cancelled ? 'cancelled' : f.state}`}
                data-testid="file-status"
                data-state={f.state}
                title={f.path}
              >
                <span class="file-status__name">{fileName(f.path)}</span>
                <span class="file-status__state">
                  {fileStateLabel(f)}
                  {f.chunks != null && f.chunks > 0 && (f.state === 'added' || f.state === 'updated')
                    ? ` · ${plural(f.chunks, 'passage')}`
                    : ''}
                </span>
                {f.error && <span class="file-status__error">{f.error}</span>}
              </li>
            ))}
          </ul>
        )}
      </div>

      {overview && overview.roots.length > 0 && (
        <section class="roots" aria-labelledby="roots-title">
          <h3 id="roots-title" class="section-title">
            Watched folders
          </h3>
          <ul class="plain-list">
            {overview.roots.map((root) => (
              <li key={root} class="root-row">
                <code class="root-row__path" title={root}>
                  {root}
                </code>
                <button
                  type="button"
                  class="small-button"
                  onClick={() => void library.reindex([root])}
                  aria-label={`Re-index ${root}`}
                >
                  Re-index
                </button>
                <button
                  type="button"
                  class="small-button small-button--danger"
                  onClick={() => void library.remove([root])}
                  aria-label={`Remove ${root} from the library`}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}

      {documents.length > 0 && (
        <section class="documents" aria-labelledby="documents-title">
          <h3 id="documents-title" class="section-title">
            Documents
          </h3>
          <ul class="plain-list document-list">
            {documents.map((d) => {
              const name = displayTitle(d.title, d.path);
              return (
                <li key={d.id} class={`document-row document-row--${d.status}`} data-testid="document-row" data-status={d.status}>
                  <div class="document-row__info">
                    <span class="document-row__title" title={d.path}>
                      {name}
                    </span>
                    <span class="document-row__meta muted">
                      {[
                        d.title ? fileName(d.path) : null,
                        d.format?.toUpperCase() ?? null,
                        coverage(d),
                        formatBytes(d.size),
                        d.status === 'indexed' ? plural(d.chunks, 'passage') : 'failed',
                      ]
                        .filter(Boolean)
                        .join(' · ')}
                    </span>
                    {d.status === 'failed' && d.error && <span class="document-row__error">{d.error}</span>}
                  </div>
                  <div class="document-row__actions">
                    <button
                      type="button"
                      class="small-button"
                      onClick={() => void library.reindex([d.path])}
                      aria-label={`Re-index ${name}`}
                      title="Extract and embed again"
                    >
                      Re-index
                    </button>
                    <button
                      type="button"
                      class="small-button small-button--danger"
                      onClick={() => void library.remove([d.path])}
                      aria-label={`Remove ${name}`}
                      title="Remove from the library (the file itself is kept)"
                    >
                      Remove
                    </button>
                  </div>
                </li>
              );
            })}
          </ul>
        </section>
      )}
      {overview && (
        <p class="muted library-dir">
          Library folder: <code>{overview.dir}</code>
        </p>
      )}
    </section>
  );
}

/** What of a document was read: "3 slides", "12 pages, 4 by OCR"; null for formats without units. */
export function coverage(d: Pick<Document, 'unit' | 'units' | 'ocr_units' | 'status'>): string | null {
  if (d.status !== 'indexed' || !d.units) return null;
  const read = plural(d.units, d.unit || 'page');
  return d.ocr_units > 0 ? `${read}, ${d.ocr_units} by OCR` : read;
}
