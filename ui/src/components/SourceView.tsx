import { useEffect, useRef, useState } from 'preact/hooks';
import * as ipc from '../lib/ipc';
import { displayTitle, fileName, OCR_NOTE, place } from '../lib/format';
import type { Passage, PassageContext, QuarryErrorShape } from '../lib/types';
import { ErrorNotice } from './ErrorNotice';

/** What the source view shows: a retrieved passage and the question it was found for. */
export interface SourceTarget {
  passage: Passage;
  question: string;
}

interface Props {
  target: SourceTarget | null;
  onInspect: (passage: Passage, question: string) => void;
}

export function SourceView({ target, onInspect }: Props) {
  const [context, setContext] = useState<PassageContext | null>(null);
  const [error, setError] = useState<QuarryErrorShape | null>(null);
  const [openError, setOpenError] = useState<QuarryErrorShape | null>(null);
  const mark = useRef<HTMLElement>(null);
  const passage = target?.passage ?? null;

  useEffect(() => {
    if (!passage) return;
    let live = true;
    setContext(null);
    setError(null);
    setOpenError(null);
    ipc
      .passageContext(passage.document_id, passage.span.start, passage.span.end)
      .then((c) => live && setContext(c))
      .catch((err) => live && setError(ipc.toQuarryError(err)));
    return () => {
      live = false;
    };
  }, [passage?.document_id, passage?.span.start, passage?.span.end, passage?.chunk_id]);

  useEffect(() => {
    if (context) mark.current?.scrollIntoView?.({ block: 'center', behavior: 'smooth' });
  }, [context]);

  if (!target || !passage) {
    return (
      <section class="panel source-view source-view--empty" data-testid="source-view" aria-label="Source">
        <p class="muted">Click a citation number or a source under an answer to read the passage in its document.</p>
      </section>
    );
  }

  const title = displayTitle(context?.title ?? passage.title, context?.path ?? passage.path);
  const page = context?.page ?? passage.page;
  const where = place(context?.unit ?? passage.unit, page);
  const ocr = context?.ocr ?? passage.ocr;
  const path = context?.path ?? passage.path;

  return (
    <section class="panel source-view" data-testid="source-view" aria-labelledby="source-title">
      <header class="panel__header">
        <h2 id="source-title" class="source-view__title">
          {passage.number > 0 && <span class="chip chip--static">{passage.number}</span>}
          {title}
        </h2>
        <p class="muted panel__sub">
          {[where && where[0].toUpperCase() + where.slice(1), passage.section, title !== fileName(path) ? fileName(path) : null]
            .filter(Boolean)
            .join(' · ')}
        </p>
        {ocr && (
          <p class="source-view__ocr" data-testid="ocr-note">
            {OCR_NOTE}
          </p>
        )}
        <p class="source-view__path muted" title={path}>
          {path}
        </p>
        <div class="panel__actions">
          <button
            type="button"
            class="button"
            data-testid="open-file-button"
            onClick={() => {
              setOpenError(null);
              ipc.openDocument(passage.document_id).catch((err) => setOpenError(ipc.toQuarryError(err)));
            }}
          >
            Open file
          </button>
          <button
            type="button"
            class="button"
            data-testid="inspect-button"
            onClick={() => onInspect(passage, target.question)}
          >
            Under the hood
          </button>
        </div>
      </header>
      {openError && <ErrorNotice error={openError} title="Could not open the file" />}
      {error && <ErrorNotice error={error} title="Could not load the passage" />}
      {!context && !error && (
        <p class="progress-line" role="status">
          <span class="spinner" aria-hidden="true" />
          Loading the passage…
        </p>
      )}
      {context && (
        <div class="source-text" tabIndex={0} aria-label="Passage in context">
          {context.truncated_before && <span class="source-text__ellipsis">… </span>}
          <span class="source-text__context">{context.before}</span>
          <mark ref={mark} class="source-text__highlight" data-testid="source-highlight">
            {context.passage}
          </mark>
          <span class="source-text__context">{context.after}</span>
          {context.truncated_after && <span class="source-text__ellipsis"> …</span>}
        </div>
      )}
    </section>
  );
}
