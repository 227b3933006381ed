import path from 'node:path';
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
    reporters: [
      'default',
      ['json', { outputFile: path.join(process.cwd(), 'test-results', 'vitest.json') }],
    ],
  },
});
