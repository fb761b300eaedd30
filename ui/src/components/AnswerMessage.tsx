import { answerState, citationCorrections, displayText, passageByNumber, previewParts, type ChatMessage } from '../lib/chat';
import { answeredBy, displayTitle, fileName, formatMs, place, plural } from '../lib/format';
import type { Passage, Timing } from '../lib/types';
import { useElapsedSeconds } from '../hooks/useElapsedSeconds';
import { AnswerText } from './AnswerText';
import { ErrorNotice } from './ErrorNotice';
import { SourceList } from './SourceList';

interface Props {
  message: ChatMessage;
  onOpenPassage: (passage: Passage, question: string) => void;
  onInspect: (passage: Passage, question: string) => void;
}

function progressText(m: ChatMessage): string {
  if (m.phase === 'loading_model') {
    return m.loadingModel ? `Loading the model (${fileName(m.loadingModel)})…` : 'Loading the model…';
  }
  if (m.retrieved.length > 0 || m.retrievalNotFound) {
    return m.retrievalNotFound ? 'Nothing relevant found; finishing…' : `Found ${plural(m.retrieved.length, 'passage')}; writing the answer…`;
  }
  return 'Searching your documents…';
}

function TimingLine({ timing, model }: { timing: Timing; model: string | null }) {
  const parts: string[] = [];
  if (timing.generated_tokens > 0) {
    parts.push(`first token ${formatMs(timing.time_to_first_token_ms)}`);
    parts.push(`${timing.tokens_per_second.toFixed(1)} tok/s`);
    parts.push(plural(timing.generated_tokens, 'token'));
  }
  parts.push(`search ${formatMs(timing.retrieval_ms)}`);
  parts.push(`total ${formatMs(timing.total_ms)}`);
  if (model) parts.push(answeredBy(model));
  const detail =
    `Prompt: ${timing.prompt_tokens} tokens (${timing.reused_prompt_tokens} reused), ` +
    `${timing.prompt_tokens_per_second.toFixed(1)} tok/s`;
  return (
    <p class="timing" title={detail}>
      {parts.join(' · ')}
    </p>
  );
}

/**
 * The best-matching sentence of the best passage, shown the moment retrieval
 * is done, so there is something true to read while the model writes.
 */
function PreviewBlock({ message, onOpen }: { message: ChatMessage; onOpen: (p: Passage) => void }) {
  const parts = previewParts(message);
  if (!parts) return null;
  const { passage, before, sentence, after } = parts;
  const where = `${displayTitle(passage.title, passage.path)}${passage.page != null ? `, ${place(passage.unit, passage.page)}` : ''}`;
  // A sentence's neighbours, cut to a few words: context, not a second
  // answer; an ellipsis only where words were cut.
  const CONTEXT_WORDS = 12;
  const beforeWords = before.split(/\s+/).filter(Boolean);
  const afterWords = after.split(/\s+/).filter(Boolean);
  const lead = (beforeWords.length > CONTEXT_WORDS ? '…' : '') + beforeWords.slice(-CONTEXT_WORDS).join(' ');
  const tail = afterWords.slice(0, CONTEXT_WORDS).join(' ') + (afterWords.length > CONTEXT_WORDS ? '…' : '');
  return (
    <section class="preview" data-testid="preview" aria-label="From your documents">
      <h4 class="preview-title">From your documents</h4>
      <p class="preview-text">
        {lead && <span class="preview-context">{lead} </span>}
        <mark>{sentence}</mark>
        {tail && <span class="preview-context"> {tail}</span>}
      </p>
      <button type="button" class="preview-source" onClick={() => onOpen(passage)} title="Open this passage">
        [{passage.number}] {where}
      </button>
    </section>
  );
}

export function AnswerMessage({ message: m, onOpenPassage, onInspect }: Props) {
  const state = answerState(m);
  const text = displayText(m);
  const answer = m.answer;
  const unsupported = answer?.citation_check?.unsupported_sentences ?? [];
  // What retrieval searched for (a follow-up is searched together with the
  // question before it), so "under the hood" explains the ranks it had.
  const searched = answer?.search_query || m.question;
  const open = (n: number) => {
    const p = passageByNumber(m, n);
    if (p) onOpenPassage(p, searched);
  };
  const busy = state === 'streaming';
  const waited = useElapsedSeconds(busy);
  const corrections = answer ? citationCorrections(answer) : [];

  return (
    <div class="turn">
      <div class="question-bubble" aria-label="Your question">
        {m.question}
      </div>
      <article class="answer" data-testid="answer" data-state={state} aria-busy={busy} aria-label="Answer">
        {state === 'not-found' && (
          <div class="notice notice--not-found" role="status">
            <strong>Not found in your documents.</strong>{' '}
            {answer?.abstention === 'retrieval'
              ? 'No passage in your library is close enough to this question.'
              : answer?.abstention === 'unsupported'
                ? 'No passage Quarry found supports what the model wrote below: it does not come from your documents.'
                : 'The passages Quarry found do not answer this question.'}
          </div>
        )}

        {text.trim() !== '' && (
          <AnswerText
            text={text}
            unsupported={unsupported}
            passageFor={(n) => passageByNumber(m, n)}
            onCite={open}
          />
        )}

        {busy && <PreviewBlock message={m} onOpen={(p) => onOpenPassage(p, searched)} />}

        {busy && (
          <p class="progress-line" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true" />
            {m.phase === 'generating' ? 'Writing…' : progressText(m)}
            {waited > 0 && <span class="elapsed"> {waited} s</span>}
          </p>
        )}

        {state === 'stopped' && (
          <p class="badge badge--stopped" role="status">
            stopped
          </p>
        )}

        {unsupported.length > 0 && (
          <p class="unsupported-note">
            {unsupported.length === 1
              ? '1 sentence is not supported by the passages'
              : `${unsupported.length} sentences are not supported by the passages`}{' '}
            (marked with a dotted underline).
          </p>
        )}

        {answer && m.settled && corrections.length > 0 && (
          <p class="corrections-note" data-testid="citation-corrections">
            Citations checked: {corrections.join('; ')}.
          </p>
        )}

        {m.error && <ErrorNotice error={m.error} title="Could not answer" />}

        {answer && (
          <SourceList
            answer={answer}
            onOpen={(p) => onOpenPassage(p, searched)}
            onInspect={(p) => onInspect(p, searched)}
          />
        )}

        {answer?.timing && <TimingLine timing={answer.timing} model={answer.model ?? null} />}
      </article>
    </div>
  );
}
