import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The generated ajv validators import ajv's CommonJS runtime the way Node does
    // (`import x from '…/ucs2length.js'; x.default`); keep Node's semantics in tests too.
    deps: { interopDefault: false },
  },
});
