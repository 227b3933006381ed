// Bundles the CLI into dist/ with one chunk per lazily imported command, so that
// `opsbook --version` loads one small file and each command loads only what it uses.
// Packages with native parts or their own heavy runtime stay external (real dependencies).
import { rm } from 'node:fs/promises';
import { build } from 'esbuild';

const dist = new URL('../dist/', import.meta.url);
await rm(dist, { recursive: true, force: true });
await build({
  entryPoints: [new URL('../src/bin.ts', import.meta.url).pathname],
  outdir: dist.pathname,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Whitespace only: the chunks of `validate` parse about 2 ms faster, and names stay readable
  // in --debug stack traces (full minification gained ~2 ms more, not worth unreadable traces).
  minifyWhitespace: true,
  sourcemap: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  // graphile-worker (the scheduler's job queue) is CommonJS with a config loader that would pull
  // TypeScript into the bundle: it stays a real dependency, imported by `schedule run` only.
  external: ['ssh2', 'cpu-features', 'playwright-core', 'graphile-worker'],
  banner: {
    // Bundled CommonJS dependencies (ajv) call require(); give them one.
    js: "import { createRequire as __opsbookCreateRequire } from 'node:module'; const require = __opsbookCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
