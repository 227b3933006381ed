// Bundles the CLI into dist/, in four parts (src/bin.ts says how they are used):
// - dist/main.mjs and dist/chunks/: the ES module build, one chunk per lazily imported command,
//   so that each command loads only what it uses;
// - dist/fast.js: the commands that only read runbooks (validate, list, show, digest) in one
//   CommonJS file, with dist/fast.js.cache, V8's code cache for it, made by running them here;
// - dist/run.js: `run` in one CommonJS file, ssh2's JavaScript included (ssh2Inside), with
//   dist/run.js.cache, made by a run of a throwaway approval on this machine (run-warmup.mjs);
// - dist/report.js: `report` in one CommonJS file, with dist/report.js.cache, made by reports of
//   a small generated history (the report benchmark's generator);
// - dist/bin.js: the command itself, CommonJS, which picks one of them.
// Packages with native parts or their own heavy runtime stay external (real dependencies), but
// for ssh2 in dist/run.js, where only its native parts are.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { writeHistory } from '../../../scripts/bench/bench-history.mjs';
import { prepareRunWarmup } from './run-warmup.mjs';

const dist = new URL('../dist/', import.meta.url);
const src = (file) => new URL(`../src/${file}`, import.meta.url).pathname;
const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

/**
 * The one-file CommonJS bundles bin.js compiles with their V8 code cache, and the commands each
 * holds: one-word commands whose module is commands/<name>.js.
 */
const cachedBundles = {
  'fast.js': ['validate', 'list', 'show', 'digest'],
  'run.js': ['run'],
  'report.js': ['report'],
};

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

/**
 * esbuild plugin for dist/run.js: ssh2's JavaScript (with asn1 and bcrypt-pbkdf) goes into the
 * bundle, and so into its code cache. Loaded from node_modules, ssh2's 40-odd files were
 * resolved, read and compiled from source in every run (~25 ms of a run's fixed cost, the
 * largest part of loading ssh2: BENCHMARKS.md, fan-out). Its optional native parts, the crypto
 * binding it requires by relative path and cpu-features (which decides its cipher order), are
 * still required from the installed ssh2 package, as ssh2 itself would: a missing one throws
 * into ssh2's own try/catch, as before.
 */
const ssh2Inside = {
  name: 'ssh2-inside',
  setup(b) {
    b.onResolve(
      { filter: /^(\.\/crypto\/build\/Release\/sshcrypto\.node|cpu-features)$/ },
      (args) =>
        /[\\/]ssh2[\\/]lib[\\/]/.test(args.importer)
          ? { path: args.path, namespace: 'ssh2-native' }
          : undefined,
    );
    // ssh2's HTTP(S) agents over SSH, which opsbook does not use: without them a run does not
    // load Node's http, https and tls (~3 ms).
    b.onResolve({ filter: /^\.\/http-agents\.js$/ }, (args) =>
      /[\\/]ssh2[\\/]lib[\\/]index\.js$/.test(args.importer)
        ? { path: args.path, namespace: 'ssh2-unused' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'ssh2-unused' }, () => ({
      contents: 'module.exports = {};',
      loader: 'js',
    }));
    // ssh2 instantiates its WebAssembly poly1305 as it loads, for chacha20-poly1305 without its
    // native binding. Its 16 MiB of memory count as external memory made since V8's last full
    // collection, which started one early in every run (BENCHMARKS.md, fan-out, 2026-12-06
    // 08:40). With the binding, ssh2 never uses it: patches/ssh2@1.17.0.patch (pnpm's
    // patchedDependencies, so for every command and library that loads ssh2) does not make it
    // then. The bundle must hold the patched file: an install that skipped the patch fails here.
    b.onLoad({ filter: /[\\/]ssh2[\\/]lib[\\/]protocol[\\/]crypto\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('if (ChaChaPolyCipher && ChaChaPolyDecipher) return resolve();')) {
        throw new Error(
          `${args.path}: ssh2 without patches/ssh2@1.17.0.patch (its WebAssembly poly1305 skip); run pnpm install, or update the patch for this version of ssh2`,
        );
      }
      return { contents: source, loader: 'js' };
    });
    b.onLoad({ filter: /.*/, namespace: 'ssh2-native' }, (args) => ({
      // The specifier in a variable: esbuild would try to bundle a require.resolve of a literal.
      contents: `const crypto = 'ssh2/lib/protocol/crypto.js'; module.exports = require('node:module').createRequire(require.resolve(crypto))(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * One CommonJS bundle of main.ts holding only `commands`: every other command's module is
 * replaced by one that says it is not here (bin.js never sends them to this file). Each of
 * `commands` must be found, so that a renamed module fails the build. Dynamic imports are inlined
 * (those of external packages become require(): ssh2 then loads as Node loads CommonJS, without
 * the ES module loader's scan of its exports). `withSsh2`: ssh2 is bundled (ssh2Inside).
 */
async function buildCachedBundle(file, commands, { withSsh2 = false } = {}) {
  const kept = new Set();
  await build({
    ...common,
    ...(withSsh2 ? { external: common.external.filter((e) => e !== 'ssh2') } : {}),
    entryPoints: [src('main.ts')],
    outfile: new URL(file, dist).pathname,
    format: 'cjs',
    supported: { 'dynamic-import': false },
    define: { 'import.meta.url': '__opsbookFileUrl' },
    // The file is the CommonJS wrapper function itself (bin.js calls it): V8 compiles the file's
    // text as it is, with no wrapped copy of a 2 MB string to make and then collect.
    banner: {
      js: "(function (exports, require, module, __filename, __dirname) {const __opsbookFileUrl = require('node:url').pathToFileURL(__filename).href;",
    },
    footer: { js: '})' },
    plugins: [
      ...(withSsh2 ? [ssh2Inside] : []),
      {
        name: 'listed-commands-only',
        setup(b) {
          b.onResolve({ filter: /^\.\/[a-z-]+\.js$/ }, (args) => {
            if (!args.importer.endsWith('/commands/registry.ts')) return undefined;
            const name = args.path.slice(2, -3);
            if (commands.includes(name)) {
              kept.add(name);
              return undefined;
            }
            return { path: name, namespace: 'not-here' };
          });
          // Modules a cached command loads only in some cases, too large for its bundle: a stub
          // says so (`fullBuildOnly`), and the command continues in the full build.
          b.onResolve({ filter: /^\.\/alert-rules-file\.js$/ }, (args) =>
            args.importer.includes('/commands/')
              ? { path: args.path, namespace: 'full-build-only' }
              : undefined,
          );
          b.onLoad({ filter: /.*/, namespace: 'full-build-only' }, () => ({
            contents: 'module.exports = { fullBuildOnly: true };',
            loader: 'js',
          }));
          b.onLoad({ filter: /.*/, namespace: 'not-here' }, (args) => ({
            contents: `throw new Error('internal error: ${args.path} is not in dist/${file} (dist/bin.js sends it to dist/main.mjs)');`,
          }));
        },
      },
    ],
  });
  const missing = commands.filter((c) => !kept.has(c));
  if (missing.length) throw new Error(`commands/registry.ts imports no ./${missing[0]}.js`);
  // bin.js reads an ASCII bundle as Latin-1, without decoding UTF-8. esbuild escapes what it can;
  // a regular expression or a String.raw template keeps its characters: write those as \u escapes.
  const text = await readFile(new URL(file, dist), 'utf8');
  const beyond = /[^\x00-\x7f]/.exec(text);
  if (beyond)
    throw new Error(
      `dist/${file} is not ASCII: U+${beyond[0].codePointAt(0).toString(16).padStart(4, '0')} in "${text.slice(Math.max(0, beyond.index - 60), beyond.index + 20)}"; write it as a \\u escape in its source`,
    );
}
for (const [file, commands] of Object.entries(cachedBundles))
  await buildCachedBundle(file, commands, { withSsh2: file === 'run.js' });

await build({
  ...common,
  entryPoints: [src('bin.ts')],
  outfile: new URL('bin.js', dist).pathname,
  format: 'cjs',
  define: {
    OPSBOOK_VERSION: JSON.stringify(version),
    OPSBOOK_CACHED_BUNDLES: JSON.stringify(cachedBundles),
  },
});
// dist/ is CommonJS (bin.js, fast.js, run.js) but for the .mjs files; the package is "type": "module".
await writeFile(new URL('package.json', dist), '{ "type": "commonjs" }\n');

/**
 * The defaults, in this Node, of the V8 flags a run sets as it runs (src/heap-growth.ts, every
 * `*_V8_FLAGS`), read from `node --v8-options`: a cache is written with them put back.
 */
function runV8Defaults() {
  const source = readFileSync(src('heap-growth.ts'), 'utf8');
  const flags = [...source.matchAll(/^export const \w+_V8_FLAGS =\s+'([^']+)';$/gm)].flatMap((m) =>
    m[1].split(' '),
  );
  if (!flags.length) throw new Error('src/heap-growth.ts: no *_V8_FLAGS string literal');
  const options = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout;
  const defaults = flags.map((flag) => {
    const name = flag.split('=')[0];
    const found = new RegExp(
      `^\\s+${name} \\(.*\\n\\s+type: \\S+\\s+default: (${name}=\\S+)$`,
      'm',
    ).exec(options);
    if (!found)
      throw new Error(`node --v8-options gives no default for ${name} (src/heap-growth.ts)`);
    return found[1];
  });
  // The interrupt budget a run puts back (every *_V8_FLAGS but RUN_V8_FLAGS) must be V8's own.
  const putBack = [...source.matchAll(/^export const (\w+)_V8_FLAGS =\s+'([^']+)';$/gm)]
    .filter((m) => m[1] !== 'RUN')
    .flatMap((m) => m[2].split(' ').map((flag) => [`${m[1]}_V8_FLAGS`, flag]))
    .filter(([, flag]) => flag.startsWith('--interrupt-budget='));
  if (!putBack.length) throw new Error('src/heap-growth.ts: no interrupt budget is put back');
  for (const [name, flag] of putBack)
    if (!defaults.includes(flag))
      throw new Error(
        `src/heap-growth.ts: ${name} has ${flag}, but this Node's default is ${defaults.find((d) => d.startsWith('--interrupt-budget='))}: write that there`,
      );
  return [...new Set(defaults)].join(' ');
}
const RUN_V8_DEFAULTS = runV8Defaults();

/**
 * Makes `<file>.cache`: in a process that loaded dist/<file> as bin.js does, `argvs` run one after
 * the other (their exit codes do not matter: a runbook being edited may not validate), then V8
 * serializes every function compiled by then. A crash fails the build; so does a cache that V8
 * rejects in a fresh process (it would only cost a read).
 */
function makeCodeCache(file, argvs, { cwd, env }) {
  const made = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '--eval',
      `import { createRequire } from 'node:module';
       import { writeFileSync } from 'node:fs';
       import { setFlagsFromString } from 'node:v8';
       const dist = ${JSON.stringify(dist.pathname)};
       const { loadFastBundle } = createRequire(import.meta.url)(dist + 'bin.js');
       const { cli, codeCache } = loadFastBundle(dist, ${JSON.stringify(file)});
       for (const argv of ${JSON.stringify(argvs)}) await cli.main(argv);
       // A command may set V8 flags as it runs (run tunes the heap and the optimizer): V8 hashes
       // the flags into the cache, and a process without them would reject it.
       setFlagsFromString(${JSON.stringify(RUN_V8_DEFAULTS)});
       writeFileSync(dist + ${JSON.stringify(`${file}.cache`)}, codeCache());`,
    ],
    { cwd, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
  );
  if (made.status !== 0)
    throw new Error(`making dist/${file}.cache failed (exit ${made.status}):\n${made.stderr}`);
  const taken = spawnSync(
    process.execPath,
    [
      '--eval',
      `const { loadFastBundle } = require(${JSON.stringify(`${dist.pathname}bin.js`)});
       process.exitCode = loadFastBundle(${JSON.stringify(dist.pathname)}, ${JSON.stringify(file)}).isCached ? 0 : 1;`,
    ],
    { stdio: 'inherit' },
  );
  if (taken.status !== 0) throw new Error(`V8 rejects dist/${file}.cache`);
}

// The fast commands on the repository's runbooks.
const repo = new URL('../../../', import.meta.url).pathname;
makeCodeCache('fast.js', [['validate'], ['list']], { cwd: repo, env: process.env });
// `run` of a throwaway approval (a local host, twelve SSH hosts that answer, one that refuses:
// run-warmup.mjs): what a run compiles from start to exit. Where that cannot be set up (the trust
// pin needs root), the cache holds what compiles on the way to the refusal, and run.js is still
// taken.
const warmup = await prepareRunWarmup(new URL('bin.js', dist).pathname);
if (warmup.note) console.warn(`dist/run.js.cache is made from a run refused early: ${warmup.note}`);
try {
  makeCodeCache('run.js', [warmup.argv], warmup);
  // Without its SSH hosts the cache would still be taken, only smaller: a run would then compile
  // the code of every host that answers (~5 ms of CPU on one host, BENCHMARKS.md, fan-out).
  if (!warmup.note && warmup.sshSessions() < warmup.sshHosts)
    console.warn(
      `dist/run.js.cache: ${warmup.sshSessions()} of the warm-up's ${warmup.sshHosts} SSH hosts ran their steps (warmup-ssh-server.mjs): the cache lacks what a run compiles for a host that answers`,
    );
} finally {
  await warmup.remove();
}

// `report` of a small generated history (20 hosts, 3 days of daily inspections) in a temp state
// folder: the first derives the findings from the journals, the second reads them back, each
// renders HTML; the JSON report compiles its own writer.
const reportDir = await mkdtemp(path.join(tmpdir(), 'opsbook-report-warmup-'));
try {
  await writeFile(
    path.join(reportDir, 'opsbook.yaml'),
    'apiVersion: opsbook/v1\nkind: Config\nstateDir: state\n',
  );
  const start = Date.parse('2025-03-01T06:00:00Z');
  await writeHistory(path.join(reportDir, 'state'), { hosts: 20, days: 3, start });
  const range = ['--since', '2025-02-28T06:00:00Z', '--until', '2025-03-04T06:00:00Z'];
  const out = (name) => ['-o', path.join(reportDir, name)];
  makeCodeCache(
    'report.js',
    [
      ['report', ...range, ...out('cold.html')],
      ['report', ...range, ...out('warm.html')],
      ['report', ...range, '--format', 'json', ...out('report.json')],
    ],
    { cwd: reportDir, env: { ...process.env, OPSBOOK_DATABASE_URL: '' } },
  );
} finally {
  await rm(reportDir, { recursive: true, force: true });
}
