// Keyboard handling for the question box.

export interface KeyLike {
  key: string;
  shiftKey: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  /** True while an input method (IME) is composing; Enter then confirms the composition. */
  isComposing?: boolean;
  keyCode?: number;
}

/**
 * - `send`: Enter (or Ctrl/Cmd+Enter) — ask the question.
 * - `newline`: Shift+Enter — let the textarea insert a line break.
 * - `stop`: Escape — stop the answer being written.
 * - `null`: anything else, including Enter while an IME is composing.
 */
export type QuestionKeyAction = 'send' | 'newline' | 'stop' | null;

export function questionKeyAction(e: KeyLike): QuestionKeyAction {
  if (e.key === 'Escape') return 'stop';
  if (e.key !== 'Enter') return null;
  // keyCode 229 is what WebKit reports for keys an IME is handling.
  if (e.isComposing || e.keyCode === 229) return null;
  if (e.shiftKey) return 'newline';
  if (e.altKey) return null;
  return 'send';
}
