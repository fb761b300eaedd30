import { displayTitle, OCR_NOTE, place } from '../lib/format';
import type { Answer, Passage } from '../lib/types';

export interface SourceItem {
  key: string;
  number: number | null;
  title: string | null;
  path: string;
  page: number | null;
  unit: string;
  ocr: boolean;
  snippet: string;
  /** The passage this row opens; absent when it cannot be resolved. */
  passage: Passage | null;
  inferred: boolean;
}

/**
 * Cited sources (from `answer.citations`, in number order), then the other
 * passages: those in the prompt that the answer did not cite, and
 * `also_retrieved`.
 */
export function sourceItems(answer: Answer): { cited: SourceItem[]; also: SourceItem[] } {
  const byNumber = new Map(answer.retrieved.map((p) => [p.number, p]));
  const cited: SourceItem[] = [...answer.citations]
    .sort((a, b) => a.number - b.number)
    .map((c) => {
      const passage =
        byNumber.get(c.number) ??
        [...answer.retrieved, ...answer.also_retrieved].find(
          (p) => p.path === c.path && p.span.start === c.span.start && p.span.end === c.span.end,
        ) ??
        null;
      return {
        key: `c${c.number}`,
        number: c.number,
        title: c.title,
        path: c.path,
        page: c.page,
        unit: c.unit,
        ocr: c.ocr,
        snippet: c.text,
        passage,
        inferred: c.inferred,
      };
    });
  const citedChunks = new Set(cited.map((c) => c.passage?.chunk_id).filter((x) => x !== undefined));
  const citedNumbers = new Set(cited.map((c) => c.number));
  const also: SourceItem[] = [];
  const seen = new Set<number>();
  for (const p of [...answer.retrieved.filter((p) => !citedNumbers.has(p.number)), ...answer.also_retrieved]) {
    if (citedChunks.has(p.chunk_id) || seen.has(p.chunk_id)) continue;
    seen.add(p.chunk_id);
    also.push({
      key: `p${p.chunk_id}`,
      number: answer.retrieved.includes(p) ? p.number : null,
      title: p.title,
      path: p.path,
      page: p.page,
      unit: p.unit,
      ocr: p.ocr,
      snippet: p.text,
      passage: p,
      inferred: false,
    });
  }
  return { cited, also };
}

interface Props {
  answer: Answer;
  onOpen: (passage: Passage) => void;
  onInspect: (passage: Passage) => void;
}

function snippet(text: string, max = 220): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function Row({ item, onOpen, onInspect }: { item: SourceItem } & Omit<Props, 'answer'>) {
  const name = displayTitle(item.title, item.path);
  const where = place(item.unit, item.page);
  const p = item.passage;
  return (
    <li class="source-row" data-testid="source-row" data-number={item.number ?? undefined}>
      <button
        type="button"
        class="source-row__main"
        disabled={!p}
        onClick={() => p && onOpen(p)}
        aria-label={`Show ${item.number != null ? `source ${item.number}, ` : ''}${name}${where ? `, ${where}` : ''} in context`}
      >
        <span class="source-row__head">
          {item.number != null && <span class="chip chip--static">{item.number}</span>}
          <span class="source-row__title">{name}</span>
          {where && <span class="source-row__page">{where}</span>}
          {item.ocr && (
            <span class="badge" data-testid="ocr-badge" title={OCR_NOTE}>
              scan
            </span>
          )}
          {item.inferred && (
            <span class="badge" title="Quarry matched this source to the answer itself; the model did not cite it">
              inferred
            </span>
          )}
        </span>
        <span class="source-row__snippet">{snippet(item.snippet)}</span>
      </button>
      {p && (
        <button
          type="button"
          class="small-button"
          data-testid="inspect-button"
          onClick={() => onInspect(p)}
          aria-label={`Under the hood: how ${name} was found`}
          title="Under the hood"
        >
          Under the hood
        </button>
      )}
    </li>
  );
}

export function SourceList({ answer, onOpen, onInspect }: Props) {
  const { cited, also } = sourceItems(answer);
  if (cited.length === 0 && also.length === 0) return null;
  return (
    <div class="sources">
      {cited.length > 0 && (
        <section aria-label="Sources">
          <h3 class="sources__heading">Sources</h3>
          <ol class="plain-list source-list">
            {cited.map((item) => (
              <Row key={item.key} item={item} onOpen={onOpen} onInspect={onInspect} />
            ))}
          </ol>
        </section>
      )}
      {also.length > 0 && (
        <details class="sources__also" open={cited.length === 0}>
          <summary class="sources__heading">Also retrieved ({also.length})</summary>
          <ul class="plain-list source-list">
            {also.map((item) => (
              <Row key={item.key} item={item} onOpen={onOpen} onInspect={onInspect} />
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
