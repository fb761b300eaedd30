import { describe, expect, it } from 'vitest';
import { makeAnswer, makePassage } from '../test/fixtures';
import {
  answerState,
  applyAnswerEvent,
  citationCorrections,
  displayText,
  failMessage,
  finishMessage,
  messageFromTurn,
  newMessage,
  passageByNumber,
  previewParts,
} from './chat';

describe('chat messages', () => {
  it('streams, then swaps in the checked answer', () => {
    let m = newMessage('How often?');
    expect(answerState(m)).toBe('streaming');
    expect(m.phase).toBe('searching');
    m = applyAnswerEvent(m, { kind: 'retrieved', conversation_id: 3, passages: [makePassage(1)], not_found: false, preview: null });
    expect(m.retrieved).toHaveLength(1);
    m = applyAnswerEvent(m, { kind: 'loading_model', path: '/m.gguf' });
    expect(m.phase).toBe('loading_model');
    m = applyAnswerEvent(m, { kind: 'token', text: 'Every 500 hours ' });
    m = applyAnswerEvent(m, { kind: 'token', text: '[1' });
    expect(displayText(m)).toBe('Every 500 hours [1');
    expect(m.phase).toBe('generating');
    const answer = makeAnswer({ answer: 'Every 500 hours [1].' });
    m = applyAnswerEvent(m, { kind: 'done', turn_id: 9, answer });
    expect(displayText(m)).toBe('Every 500 hours [1].');
    expect(m.turnId).toBe(9);
    // Still streaming until the ask call returns.
    expect(answerState(m)).toBe('streaming');
    m = finishMessage(m, answer, 9);
    expect(answerState(m)).toBe('done');
  });

  it('tells stopped, not-found and failed answers apart', () => {
    const m = newMessage('q');
    expect(answerState(finishMessage(m, makeAnswer({ stopped: true }), 1))).toBe('stopped');
    expect(answerState(finishMessage(m, makeAnswer({ not_found: true }), 1))).toBe('not-found');
    expect(answerState(failMessage(m, { code: 'busy', message: 'busy' }))).toBe('error');
  });

  it('finds the passage a chip points at by its number', () => {
    const answer = makeAnswer({ retrieved: [makePassage(1), makePassage(2, { chunk_id: 555 })] });
    const m = messageFromTurn({ id: 4, question: 'q', answer });
    expect(passageByNumber(m, 2)?.chunk_id).toBe(555);
    expect(passageByNumber(m, 3)).toBeUndefined();
    expect(answerState(m)).toBe('done');
  });

  it('places the preview sentence in its passage, and survives a sentence it cannot find', () => {
    let m = newMessage('How often?');
    expect(previewParts(m)).toBeNull();
    const passage = makePassage(2, { text: 'Intro. The seal is replaced every 500 hours. Outro.' });
    m = applyAnswerEvent(m, {
      kind: 'retrieved',
      conversation_id: 3,
      passages: [makePassage(1), passage],
      not_found: false,
      preview: { number: 2, sentence: 'The seal is replaced every 500 hours.' },
    });
    expect(previewParts(m)).toEqual({
      passage,
      before: 'Intro. ',
      sentence: 'The seal is replaced every 500 hours.',
      after: ' Outro.',
    });
    m = { ...m, preview: { number: 2, sentence: 'Not in the text.' } };
    expect(previewParts(m)?.sentence).toBe('Not in the text.');
    m = { ...m, preview: { number: 9, sentence: 'x' } };
    expect(previewParts(m)).toBeNull();
  });

  it('says in words what the citation check changed', () => {
    const answer = makeAnswer();
    expect(citationCorrections(answer)).toEqual([]);
    answer.citation_check = { ...answer.citation_check, moved: 2, dropped_unsupported: 1, dropped_invalid: 1, inferred: true };
    expect(citationCorrections(answer)).toEqual([
      '2 citations moved to the passage that supports the sentence',
      '1 citation removed: the passage does not support the sentence',
      '1 citation removed: it named a passage the model was not given',
      'the model cited nothing; sources added from the passages that support the answer',
    ]);
  });
});
