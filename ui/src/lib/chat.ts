// The chat's message model and how answer events update it.

import type { Answer, AnswerEvent, Passage, Preview, QuarryErrorShape, Turn } from './types';

export type Phase = 'searching' | 'loading_model' | 'generating' | 'finished' | 'error';

export interface ChatMessage {
  key: string;
  question: string;
  phase: Phase;
  /** Raw streamed model text (marks like [1] included), until `answer` replaces it. */
  streamed: string;
  /** Passages found for this question, numbered as in the prompt. */
  retrieved: Passage[];
  /** The retrieval step already found nothing relevant. */
  retrievalNotFound: boolean;
  /** The best-matching sentence, shown until the answer is done. */
  preview: Preview | null;
  loadingModel: string | null;
  answer: Answer | null;
  /** The ask call has returned: the answer is final and the next question can be asked. */
  settled: boolean;
  turnId: number | null;
  error: QuarryErrorShape | null;
}

/** The `data-state` of an answer container. */
export type AnswerState = 'streaming' | 'done' | 'stopped' | 'not-found' | 'error';

export function answerState(m: ChatMessage): AnswerState {
  if (m.error) return 'error';
  if (!m.answer || !m.settled) return 'streaming';
  if (m.answer.stopped) return 'stopped';
  if (m.answer.not_found) return 'not-found';
  return 'done';
}

let counter = 0;
export function newMessage(question: string): ChatMessage {
  counter += 1;
  return {
    key: `m${Date.now().toString(36)}-${counter}`,
    question,
    phase: 'searching',
    streamed: '',
    retrieved: [],
    retrievalNotFound: false,
    preview: null,
    loadingModel: null,
    answer: null,
    settled: false,
    turnId: null,
    error: null,
  };
}

export function messageFromTurn(turn: Turn): ChatMessage {
  return {
    key: `t${turn.id}`,
    question: turn.question,
    phase: 'finished',
    streamed: '',
    retrieved: turn.answer.retrieved,
    retrievalNotFound: false,
    preview: null,
    loadingModel: null,
    answer: turn.answer,
    settled: true,
    turnId: turn.id,
    error: null,
  };
}

export function applyAnswerEvent(m: ChatMessage, ev: AnswerEvent): ChatMessage {
  switch (ev.kind) {
    case 'retrieved':
      return { ...m, retrieved: ev.passages, retrievalNotFound: ev.not_found, preview: ev.preview ?? null };
    case 'loading_model':
      return { ...m, phase: 'loading_model', loadingModel: ev.path };
    case 'token':
      return { ...m, phase: 'generating', streamed: m.streamed + ev.text };
    case 'done':
      // The checked text replaces the streamed one now; the message is settled
      // when the ask call itself returns (see finishMessage).
      return {
        ...m,
        answer: ev.answer,
        turnId: ev.turn_id,
        retrieved: ev.answer.retrieved.length ? ev.answer.retrieved : m.retrieved,
      };
    default:
      return m;
  }
}

export function finishMessage(m: ChatMessage, answer: Answer, turnId: number): ChatMessage {
  return {
    ...m,
    phase: 'finished',
    answer,
    settled: true,
    turnId,
    retrieved: answer.retrieved.length ? answer.retrieved : m.retrieved,
  };
}

export function failMessage(m: ChatMessage, error: QuarryErrorShape): ChatMessage {
  return { ...m, phase: 'error', settled: true, error };
}

/** The text to show: the checked answer once done, else what has streamed. */
export function displayText(m: ChatMessage): string {
  return m.answer ? m.answer.answer : m.streamed;
}

/** The retrieved passage a chip with this number points at. */
export function passageByNumber(m: ChatMessage, n: number): Passage | undefined {
  return m.retrieved.find((p) => p.number === n) ?? m.answer?.retrieved.find((p) => p.number === n);
}

/** The preview's sentence with the text around it in its passage, for display. */
export function previewParts(m: ChatMessage): { passage: Passage; before: string; sentence: string; after: string } | null {
  const preview = m.preview;
  if (!preview) return null;
  const passage = m.retrieved.find((p) => p.number === preview.number);
  if (!passage) return null;
  const at = passage.text.indexOf(preview.sentence);
  if (at < 0) return { passage, before: '', sentence: preview.sentence, after: '' };
  return {
    passage,
    before: passage.text.slice(0, at),
    sentence: preview.sentence,
    after: passage.text.slice(at + preview.sentence.length),
  };
}

/**
 * What the citation check changed in the marks the model wrote, in words
 * (empty when it changed nothing): shown when the answer ends, because the
 * chips seen while it streamed were the model's own.
 */
export function citationCorrections(answer: Answer): string[] {
  const c = answer.citation_check;
  const notes: string[] = [];
  const n = (count: number, one: string, many: string) => (count === 1 ? `1 ${one}` : `${count} ${many}`);
  if (c.moved > 0) notes.push(`${n(c.moved, 'citation moved', 'citations moved')} to the passage that supports the sentence`);
  if (c.dropped_unsupported > 0)
    notes.push(`${n(c.dropped_unsupported, 'citation removed', 'citations removed')}: the passage does not support the sentence`);
  if (c.dropped_invalid > 0)
    notes.push(`${n(c.dropped_invalid, 'citation removed', 'citations removed')}: it named a passage the model was not given`);
  if (c.inferred) notes.push('the model cited nothing; sources added from the passages that support the answer');
  return notes;
}
