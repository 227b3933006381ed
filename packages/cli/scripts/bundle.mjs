// Bundles the CLI into dist/, in three parts (src/bin.ts says how they are used):
// - dist/main.mjs and dist/chunks/: the ES module build, one chunk per lazily imported command,
//   so that each command loads only what it uses;
// - dist/fast.js: the commands that only read runbooks (validate, list, show, digest) in one
//   CommonJS file, with dist/fast.js.cache, V8's code cache for it, made by running them here;
// - dist/bin.js: the command itself, CommonJS, which picks one of the two.
// Packages with native parts or their own heavy runtime stay external (real dependencies).
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';

const dist = new URL('../dist/', import.meta.url);
const src = (file) => new URL(`../src/${file}`, import.meta.url).pathname;
const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

/** The commands dist/fast.js holds: each a one-word command whose module is commands/<name>.js. */
const fastCommands = ['validate', 'list', 'show', 'digest'];

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Whitespace only: the chunks of `validate` parse about 2 ms faster, and names stay readable
  // in --debug stack traces (full minification gained ~2 ms more, not worth unreadable traces).
  minifyWhitespace: true,
  sourcemap: 'linked',
  // graphile-worker (the scheduler's job queue) is CommonJS with a config loader that would pull
  // TypeScript into the bundle: it stays a real dependency, imported by `schedule run` only.
  external: ['ssh2', 'cpu-features', 'playwright-core', 'graphile-worker'],
  logLevel: 'warning',
};

await rm(dist, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { main: src('main.ts') },
  outdir: dist.pathname,
  outExtension: { '.js': '.mjs' },
  splitting: true,
  format: 'esm',
  chunkNames: 'chunks/[name]-[hash]',
  banner: {
    // Bundled CommonJS dependencies (ajv) call require(); give them one.
    js: "import { createRequire as __opsbookCreateRequire } from 'node:module'; const require = __opsbookCreateRequire(import.meta.url);",
  },
});

// Every other command's module is replaced by one that says it is not here: bin.js never sends
// them to this file. Each fast command must be found, so that a renamed module fails the build.
const kept = new Set();
await build({
  ...common,
  entryPoints: [src('main.ts')],
  outfile: new URL('fast.js', dist).pathname,
  format: 'cjs',
  define: { 'import.meta.url': '__opsbookFileUrl' },
  banner: { js: "const __opsbookFileUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [
    {
      name: 'fast-commands-only',
      setup(b) {
        b.onResolve({ filter: /^\.\/[a-z-]+\.js$/ }, (args) => {
          if (!args.importer.endsWith('/commands/registry.ts')) return undefined;
          const name = args.path.slice(2, -3);
          if (fastCommands.includes(name)) {
            kept.add(name);
            return undefined;
          }
          return { path: name, namespace: 'not-fast' };
        });
        b.onLoad({ filter: /.*/, namespace: 'not-fast' }, (args) => ({
          contents: `throw new Error('internal error: ${args.path} is not in dist/fast.js (dist/bin.js sends it to dist/main.mjs)');`,
        }));
      },
    },
  ],
});
const missing = fastCommands.filter((c) => !kept.has(c));
if (missing.length) throw new Error(`commands/registry.ts imports no ./${missing[0]}.js`);

await build({
  ...common,
  entryPoints: [src('bin.ts')],
  outfile: new URL('bin.js', dist).pathname,
  format: 'cjs',
  define: {
    OPSBOOK_VERSION: JSON.stringify(version),
    OPSBOOK_FAST_COMMANDS: JSON.stringify(fastCommands),
  },
});
// dist/ is CommonJS (bin.js, fast.js) but for the .mjs files; the package is "type": "module".
await writeFile(new URL('package.json', dist), '{ "type": "commonjs" }\n');

// The code cache: the fast commands run once on the repository's runbooks in a process that
// loaded dist/fast.js as bin.js does, then V8 serializes every function compiled by then. Their
// exit codes do not matter (a runbook being edited may not validate); a crash fails the build.
const repo = new URL('../../../', import.meta.url).pathname;
const made = spawnSync(
  process.execPath,
  [
    '--input-type=module',
    '--eval',
    `import { createRequire } from 'node:module';
     import { writeFileSync } from 'node:fs';
     const dist = ${JSON.stringify(dist.pathname)};
     const { loadFastBundle } = createRequire(import.meta.url)(dist + 'bin.js');
     const { cli, codeCache } = loadFastBundle(dist);
     await cli.main(['validate']);
     await cli.main(['list']);
     writeFileSync(dist + 'fast.js.cache', codeCache());`,
  ],
  { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
);
if (made.status !== 0)
  throw new Error(`making dist/fast.js.cache failed (exit ${made.status}):\n${made.stderr}`);
// A cache V8 rejects would only cost a read: make sure this one is taken.
const taken = spawnSync(
  process.execPath,
  [
    '--eval',
    `const { loadFastBundle } = require(${JSON.stringify(`${dist.pathname}bin.js`)});
     process.exitCode = loadFastBundle(${JSON.stringify(dist.pathname)}).isCached ? 0 : 1;`,
  ],
  { stdio: 'inherit' },
);
if (taken.status !== 0) throw new Error('V8 rejects dist/fast.js.cache');
