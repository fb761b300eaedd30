import { act, render, screen } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useElapsedSeconds } from './useElapsedSeconds';

function Waited({ active }: { active: boolean }) {
  return <p data-testid="waited">{useElapsedSeconds(active)}</p>;
}

describe('useElapsedSeconds', () => {
  afterEach(() => vi.useRealTimers());

  it('counts whole seconds while active and starts again from 0', () => {
    vi.useFakeTimers();
    const { rerender } = render(<Waited active={true} />);
    expect(screen.getByTestId('waited').textContent).toBe('0');
    act(() => {
      vi.advanceTimersByTime(3_200);
    });
    expect(screen.getByTestId('waited').textContent).toBe('3');

    rerender(<Waited active={false} />);
    expect(screen.getByTestId('waited').textContent).toBe('0');
    act(() => {
      vi.advanceTimersByTime(5_000);
    });
    expect(screen.getByTestId('waited').textContent).toBe('0');

    rerender(<Waited active={true} />);
    act(() => {
      vi.advanceTimersByTime(1_000);
    });
    expect(screen.getByTestId('waited').textContent).toBe('1');
  });
});
