import { defineConfig } from 'vitest/config';

// Quarry's UI: Preact + TypeScript, bundled for the Tauri webview (WebKitGTK on
// Linux). Everything is bundled locally; nothing is fetched at run time.
export default defineConfig({
  base: './',
  // JSX via Oxc (Vite 8's transformer), automatic runtime from Preact.
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2021',
    // The polyfill would be an extra script; WebKitGTK supports modulepreload.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  test: {
    environment: 'happy-dom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
