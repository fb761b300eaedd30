import { answerState, displayText, passageByNumber, type ChatMessage } from '../lib/chat';
import { answeredBy, fileName, formatMs, plural } from '../lib/format';
import type { Passage, Timing } from '../lib/types';
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

        {busy && (
          <p class="progress-line" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true" />
            {m.phase === 'generating' ? 'Writing…' : progressText(m)}
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
