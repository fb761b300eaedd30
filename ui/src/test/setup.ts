import { act, cleanup } from '@testing-library/preact';
import { clearMocks } from '@tauri-apps/api/mocks';
import { afterEach } from 'vitest';

afterEach(() => {
  // Unmount inside act() so effect cleanups (which unregister event listeners)
  // run now, while the Tauri mock still exists; then remove the mock.
  act(() => cleanup());
  clearMocks();
});
