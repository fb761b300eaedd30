import { useEffect, useState } from 'preact/hooks';
import * as ipc from '../lib/ipc';
import { displayTitle, fileName, formatRank, formatScore, place } from '../lib/format';
import type { Inspection, Passage, QuarryErrorShape, WordPiece } from '../lib/types';
import { ErrorNotice } from './ErrorNotice';

export interface InspectTarget {
  passage: Passage;
  question: string;
}

interface Props {
  target: InspectTarget | null;
}

function pieceDetail(ins: Inspection, p: WordPiece): string {
  const [rows, dims] = ins.token_embeddings.shape;
  return `row ${p.row} of ${ins.token_embeddings.tensor} [${rows} × ${dims}] in ${fileName(ins.token_embeddings.file)}`;
}

function TokenStrip({ ins }: { ins: Inspection }) {
  const [selected, setSelected] = useState<number | null>(null);
  const sel = selected !== null ? ins.word_pieces[selected] : undefined;
  return (
    <section class="inspect-section" aria-labelledby="pieces-title">
      <h3 id="pieces-title" class="section-title">
        Word pieces
      </h3>
      <p class="muted">
        The embedding model reads the passage as these {ins.word_pieces.length} word pieces
        {ins.word_pieces_truncated ? ' (only the first ones are shown)' : ''}.
      </p>
      <div class="token-strip" role="group" aria-label="Word pieces">
        {ins.word_pieces.map((p, i) => (
          <button
            key={i}
            type="button"
            class={i === selected ? 'token token--selected' : 'token'}
            data-testid="word-piece"
            title={pieceDetail(ins, p)}
            aria-label={`${p.piece}, id ${p.id}`}
            aria-pressed={i === selected}
            onMouseEnter={() => setSelected(i)}
            onFocus={() => setSelected(i)}
            onClick={() => setSelected(i)}
          >
            <span class="token__piece">{p.piece}</span>
            <span class="token__id">{p.id}</span>
          </button>
        ))}
        {ins.word_pieces_truncated && <span class="token token--more">…</span>}
      </div>
      <p class="token-detail" aria-live="polite" data-testid="word-piece-detail">
        {sel ? (
          <>
            <code>{sel.piece}</code> (id {sel.id}) is row {sel.row} of <code>{ins.token_embeddings.tensor}</code> [
            {ins.token_embeddings.shape[0]} × {ins.token_embeddings.shape[1]}] in{' '}
            <code title={ins.token_embeddings.file}>{fileName(ins.token_embeddings.file)}</code>.
          </>
        ) : (
          'Point at or select a word piece to see where its vector comes from.'
        )}
      </p>
      <p class="callout">
        These token embeddings are part of the embedding model's weights (<code>{fileName(ins.token_embeddings.file)}</code>
        ), the same for every document — they are not stored in your library.
        {ins.token_embeddings.note && <> {ins.token_embeddings.note}</>}
      </p>
    </section>
  );
}

export function InspectPanel({ target }: Props) {
  const [ins, setIns] = useState<Inspection | null>(null);
  const [error, setError] = useState<QuarryErrorShape | null>(null);
  const chunkId = target?.passage.chunk_id;
  const question = target?.question;

  useEffect(() => {
    if (chunkId === undefined || question === undefined) return;
    let live = true;
    setIns(null);
    setError(null);
    ipc
      .inspectPassage(question, chunkId)
      .then((r) => live && setIns(r))
      .catch((err) => live && setError(ipc.toQuarryError(err)));
    return () => {
      live = false;
    };
  }, [chunkId, question]);

  if (!target) {
    return (
      <section class="panel inspect-panel inspect-panel--empty" data-testid="inspect-panel" aria-label="Under the hood">
        <p class="muted">Choose “Under the hood” on a source to see how Quarry found it.</p>
      </section>
    );
  }

  const name = displayTitle(target.passage.title, target.passage.path);
  const v = ins?.chunk_vector;
  const r = ins?.retrieval;

  return (
    <section class="panel inspect-panel" data-testid="inspect-panel" aria-labelledby="inspect-title">
      <header class="panel__header">
        <h2 id="inspect-title">Under the hood</h2>
        <p class="muted panel__sub">
          {name}
          {target.passage.page != null ? `, ${place(target.passage.unit, target.passage.page)}` : ''} — for “{target.question}”
        </p>
      </header>
      {error && <ErrorNotice error={error} title="Could not inspect the passage" />}
      {!ins && !error && (
        <p class="progress-line" role="status">
          <span class="spinner" aria-hidden="true" />
          Looking inside…
        </p>
      )}
      {ins && r && v && (
        <>
          <section class="inspect-section" aria-labelledby="retrieval-title">
            <h3 id="retrieval-title" class="section-title">
              How it was found
            </h3>
            <table class="facts-table">
              <thead>
                <tr>
                  <th scope="col">Search</th>
                  <th scope="col">Rank</th>
                  <th scope="col">Score</th>
                </tr>
              </thead>
              <tbody>
                <tr data-testid="retrieval-dense">
                  <th scope="row">Meaning (dense vectors)</th>
                  <td>{formatRank(r.dense_rank)}</td>
                  <td>{formatScore(r.dense_score)}</td>
                </tr>
                <tr data-testid="retrieval-lexical">
                  <th scope="row">Words (BM25)</th>
                  <td>{formatRank(r.lexical_rank)}</td>
                  <td>{formatScore(r.lexical_score)}</td>
                </tr>
                <tr data-testid="retrieval-fused">
                  <th scope="row">Combined (fused)</th>
                  <td>{formatRank(r.fused_rank)}</td>
                  <td>{formatScore(r.fused_score, 4)}</td>
                </tr>
              </tbody>
            </table>
          </section>

          <section class="inspect-section" aria-labelledby="vector-title">
            <h3 id="vector-title" class="section-title">
              The passage's vector — stored in the library
            </h3>
            <dl class="facts">
              <dt>Dimension</dt>
              <dd>{v.dimension}</dd>
              <dt>First values</dt>
              <dd>
                <code class="vector-values">
                  [{v.first.map((x) => x.toFixed(4)).join(', ')}
                  {v.first.length < v.dimension ? ', …' : ''}]
                </code>
              </dd>
              <dt>Norm</dt>
              <dd>{formatScore(v.norm, 4)}</dd>
              <dt>Cosine with the question</dt>
              <dd data-testid="cosine">{formatScore(v.cosine_with_question, 4)}</dd>
              <dt>Stored in</dt>
              <dd>
                <code>{v.stored_in}</code>
              </dd>
            </dl>
          </section>

          <TokenStrip ins={ins} />
        </>
      )}
    </section>
  );
}
