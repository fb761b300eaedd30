import { useState } from 'preact/hooks';
import { formatWhen } from '../lib/format';
import type { Conversation, QuarryErrorShape } from '../lib/types';
import { ErrorNotice } from './ErrorNotice';

export type PanelName = 'library' | 'source' | 'inspect' | 'settings';

interface Props {
  conversations: Conversation[];
  currentId: number | null;
  error: QuarryErrorShape | null;
  /** Switching is held while an answer is being written. */
  locked: boolean;
  panel: PanelName | null;
  documentCount: number | null;
  indexing: boolean;
  onNew: () => void;
  onSelect: (id: number) => void;
  onDelete: (id: number) => void;
  onPanel: (panel: PanelName) => void;
}

export function Sidebar(props: Props) {
  const [confirming, setConfirming] = useState<number | null>(null);
  const lockedTitle = props.locked ? 'Stop or wait for the answer first' : undefined;
  return (
    <nav class="sidebar" aria-label="Conversations and tools">
      <div class="sidebar__brand">Quarry</div>
      <button
        type="button"
        class="button button--primary sidebar__new"
        data-testid="new-conversation"
        onClick={props.onNew}
        disabled={props.locked}
        title={lockedTitle}
      >
        New conversation
      </button>
      {props.error && <ErrorNotice error={props.error} title="Conversations" />}
      <div class="conversations">
        {props.conversations.length === 0 && <p class="muted sidebar__empty">No conversations yet.</p>}
        <ul class="conversation-list plain-list" aria-label="Conversations">
          {props.conversations.map((c) => {
            const current = c.id === props.currentId;
            return (
              <li
                key={c.id}
                class={current ? 'conversation-item conversation-item--current' : 'conversation-item'}
                data-testid="conversation-item"
                data-id={c.id}
              >
                {confirming === c.id ? (
                  <div class="conversation-item__confirm">
                    <span>Delete “{c.title}”?</span>
                    <button
                      type="button"
                      class="small-button small-button--danger"
                      onClick={() => {
                        setConfirming(null);
                        props.onDelete(c.id);
                      }}
                    >
                      Delete
                    </button>
                    <button type="button" class="small-button" onClick={() => setConfirming(null)}>
                      Keep
                    </button>
                  </div>
                ) : (
                  <>
                    <button
                      type="button"
                      class="conversation-item__open"
                      aria-current={current ? 'true' : undefined}
                      disabled={props.locked && !current}
                      title={lockedTitle ?? c.title}
                      onClick={() => props.onSelect(c.id)}
                    >
                      <span class="conversation-item__title">{c.title || 'Untitled'}</span>
                      <span class="conversation-item__when">{formatWhen(c.updated_at)}</span>
                    </button>
                    <button
                      type="button"
                      class="icon-button conversation-item__delete"
                      aria-label={`Delete conversation “${c.title}”`}
                      title="Delete conversation"
                      disabled={props.locked && current}
                      onClick={() => setConfirming(c.id)}
                    >
                      ×
                    </button>
                  </>
                )}
              </li>
            );
          })}
        </ul>
      </div>
      <div class="sidebar__tools">
        <button
          type="button"
          class={props.panel === 'library' ? 'nav-button nav-button--active' : 'nav-button'}
          data-testid="nav-library"
          aria-pressed={props.panel === 'library'}
          onClick={() => props.onPanel('library')}
        >
          Library
          {props.indexing ? (
            <span class="nav-button__meta">indexing…</span>
          ) : (
            props.documentCount !== null && <span class="nav-button__meta">{props.documentCount}</span>
          )}
        </button>
        <button
          type="button"
          class={props.panel === 'settings' ? 'nav-button nav-button--active' : 'nav-button'}
          data-testid="nav-settings"
          aria-pressed={props.panel === 'settings'}
          onClick={() => props.onPanel('settings')}
        >
          Settings
        </button>
      </div>
    </nav>
  );
}
