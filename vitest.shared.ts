import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The one vitest configuration of the workspace; each package's vitest.config.ts re-exports it.
 * Besides the console report, each package writes test-results/vitest.json, which
 * scripts/test-summary.mjs adds up into the closing "N passed, N failed" line.
 */
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The worker reads the main process's answers after each test (see the file).
    setupFiles: [fileURLToPath(new URL('./vitest.between-tests.ts', import.meta.url))],
    reporters: [
      'default',
      ['json', { outputFile: path.join(process.cwd(), 'test-results', 'vitest.json') }],
    ],
  },
});
