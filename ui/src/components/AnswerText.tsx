import { useMemo } from 'preact/hooks';
import { segmentAnswer } from '../lib/citations';
import { displayTitle, place } from '../lib/format';
import type { Passage } from '../lib/types';

interface Props {
  text: string;
  unsupported: string[];
  passageFor: (n: number) => Passage | undefined;
  onCite: (n: number) => void;
}

/** Answer text with its citation marks as numbered chips. */
export function AnswerText({ text, unsupported, passageFor, onCite }: Props) {
  const segments = useMemo(() => segmentAnswer(text, unsupported), [text, unsupported]);
  return (
    <div class="answer-text">
      {segments.map((s, i) => {
        if (s.kind === 'text') {
          return s.unsupported ? (
            <span key={i} class="unsupported" title="Not supported by the passages">
              {s.text}
            </span>
          ) : (
            <span key={i}>{s.text}</span>
          );
        }
        return (
          <span key={i} class={s.unsupported ? 'cite-group unsupported' : 'cite-group'} title={s.raw}>
            {s.numbers.map((n) => {
              const p = passageFor(n);
              const label = p
                ? `Source ${n}: ${displayTitle(p.title, p.path)}${p.page != null ? `, ${place(p.unit, p.page)}` : ''}`
                : `Source ${n} (not among the retrieved passages)`;
              return (
                <button
                  key={n}
                  type="button"
                  class="chip"
                  data-testid="citation-chip"
                  data-number={n}
                  aria-label={label}
                  title={label}
                  disabled={!p}
                  onClick={() => onCite(n)}
                >
                  {n}
                </button>
              );
            })}
          </span>
        );
      })}
    </div>
  );
}
