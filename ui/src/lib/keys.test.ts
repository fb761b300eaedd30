import { describe, expect, it } from 'vitest';
import { questionKeyAction } from './keys';

const key = (key: string, mods: Partial<{ shiftKey: boolean; ctrlKey: boolean; metaKey: boolean; altKey: boolean; isComposing: boolean; keyCode: number }> = {}) => ({
  key,
  shiftKey: false,
  ...mods,
});

describe('questionKeyAction', () => {
  it('sends on Enter', () => {
    expect(questionKeyAction(key('Enter'))).toBe('send');
    expect(questionKeyAction(key('Enter', { ctrlKey: true }))).toBe('send');
    expect(questionKeyAction(key('Enter', { metaKey: true }))).toBe('send');
  });

  it('leaves Shift+Enter to insert a newline', () => {
    expect(questionKeyAction(key('Enter', { shiftKey: true }))).toBe('newline');
  });

  it('does not send while an input method is composing', () => {
    expect(questionKeyAction(key('Enter', { isComposing: true }))).toBeNull();
    expect(questionKeyAction(key('Enter', { keyCode: 229 }))).toBeNull();
  });

  it('stops on Escape and ignores other keys', () => {
    expect(questionKeyAction(key('Escape'))).toBe('stop');
    expect(questionKeyAction(key('a'))).toBeNull();
    expect(questionKeyAction(key('Enter', { altKey: true }))).toBeNull();
  });
});
