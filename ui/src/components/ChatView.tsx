import { useEffect, useRef, useState } from 'preact/hooks';
import type { Chat } from '../hooks/useChat';
import { plural } from '../lib/format';
import { questionKeyAction } from '../lib/keys';
import type { ModelStatus, Passage, QuarryErrorShape } from '../lib/types';
import { AnswerMessage } from './AnswerMessage';
import { ErrorNotice } from './ErrorNotice';
import { ModelBanner } from './ModelBanner';

interface Props {
  chat: Chat;
  model: ModelStatus | null;
  modelError: QuarryErrorShape | null;
  documentCount: number | null;
  title: string | null;
  /** Changes whenever the question box should take the focus (new or opened conversation). */
  focusToken: number;
  onOpenPassage: (passage: Passage, question: string) => void;
  onInspect: (passage: Passage, question: string) => void;
  onOpenLibrary: () => void;
  onOpenSettings: () => void;
  onModelChosen: () => void;
}

function EmptyState({ documentCount, onOpenLibrary }: { documentCount: number | null; onOpenLibrary: () => void }) {
  const hasDocs = (documentCount ?? 0) > 0;
  return (
    <div class="empty-chat">
      <h2>Ask your documents</h2>
      <ol class="steps">
        <li class={hasDocs ? 'steps__done' : undefined}>
          {hasDocs ? (
            <>
              Your library has {plural(documentCount ?? 0, 'document')}.{' '}
              <button type="button" class="link-button" onClick={onOpenLibrary}>
                Add more
              </button>
            </>
          ) : (
            <>
              <button type="button" class="link-button" onClick={onOpenLibrary}>
                Add documents
              </button>{' '}
              — drop PDFs (scans too), Word, PowerPoint and Excel files, OpenDocument, e-books, mail, web pages, Markdown or text onto this window.
            </>
          )}
        </li>
        <li>Ask a question below. Answers cite the passages they come from; click a number to read it in context.</li>
      </ol>
      <p class="muted">Everything stays on this computer.</p>
    </div>
  );
}

export function ChatView(props: Props) {
  const { chat, model, modelError } = props;
  const [draft, setDraft] = useState('');
  const input = useRef<HTMLTextAreaElement>(null);
  const scroller = useRef<HTMLDivElement>(null);
  /** Follow the answer as it streams, unless the reader has scrolled up. */
  const follow = useRef(true);
  const showBanner = (model !== null && !model.ready) || modelError !== null;

  useEffect(() => {
    input.current?.focus();
  }, [props.focusToken]);

  const last = chat.messages[chat.messages.length - 1];
  useEffect(() => {
    follow.current = true;
  }, [chat.messages.length]);
  useEffect(() => {
    const el = scroller.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [chat.messages.length, last?.streamed.length, last?.answer, last?.error]);

  const submit = () => {
    // Read the box itself: keys can arrive before a re-render has caught up with the last input.
    const question = (input.current?.value ?? draft).trim();
    if (!question || chat.streaming) return;
    setDraft('');
    void chat.send(question);
    input.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const action = questionKeyAction(e);
    if (action === 'send') {
      e.preventDefault();
      submit();
    } else if (action === 'stop' && chat.streaming) {
      e.preventDefault();
      void chat.stop();
    }
  };

  return (
    <main class="chat" aria-label="Chat">
      <header class="chat__header">
        <h1 class="chat__title">{props.title ?? 'New conversation'}</h1>
      </header>
      <div
        class="chat__scroll"
        ref={scroller}
        onScroll={(e) => {
          const el = e.currentTarget as HTMLDivElement;
          follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 64;
        }}
      >
        {showBanner && <ModelBanner status={model} error={modelError} onOpenSettings={props.onOpenSettings} onChosen={props.onModelChosen} />}
        {chat.loadError && <ErrorNotice error={chat.loadError} title="Could not open the conversation" />}
        {chat.loadingConversation && (
          <p class="progress-line" role="status">
            <span class="spinner" aria-hidden="true" />
            Opening the conversation…
          </p>
        )}
        {chat.messages.length === 0 && !chat.loadingConversation && !chat.loadError && (
          <EmptyState documentCount={props.documentCount} onOpenLibrary={props.onOpenLibrary} />
        )}
        <div class="messages" aria-live="off">
          {chat.messages.map((m) => (
            <AnswerMessage key={m.key} message={m} onOpenPassage={props.onOpenPassage} onInspect={props.onInspect} />
          ))}
        </div>
      </div>
      <form
        class="composer"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <label for="question" class="visually-hidden">
          Your question
        </label>
        <textarea
          id="question"
          ref={input}
          data-testid="question-input"
          class="composer__input"
          rows={2}
          placeholder="Ask a question about your documents…  (Enter to send, Shift+Enter for a new line)"
          value={draft}
          onInput={(e) => setDraft((e.currentTarget as HTMLTextAreaElement).value)}
          onKeyDown={onKeyDown}
          autoFocus
        />
        <div class="composer__actions">
          {chat.streaming && (
            <button
              type="button"
              class="button button--danger"
              data-testid="stop-button"
              onClick={() => {
                void chat.stop();
                input.current?.focus();
              }}
            >
              Stop
            </button>
          )}
          <button
            type="submit"
            class="button button--primary"
            data-testid="send-button"
            disabled={chat.streaming || draft.trim() === ''}
            aria-label="Send question"
          >
            Send
          </button>
        </div>
      </form>
    </main>
  );
}
