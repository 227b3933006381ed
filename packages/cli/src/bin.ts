#!/usr/bin/env node
// The `opsbook` command. Built as CommonJS (scripts/bundle.mjs), and kept tiny: `--version`
// answers without loading anything else, not even Node's ES module loader. The commands that only
// read runbooks (validate, list, show, digest) start from one CommonJS bundle, dist/fast.js, and
// `run` from another, dist/run.js, each compiled with the V8 code cache made for it at build time;
// every other command imports the ES module build, dist/main.mjs, whose chunks load only what the
// command uses.
import { ignoreClosedPipe } from './closed-pipe.js';
import type { MainOptions, Outcome } from './main.js';

/**
 * Set by scripts/bundle.mjs: the package's version, and the CommonJS bundles beside this file
 * (fast.js, run.js) with the commands each holds.
 */
declare const OPSBOOK_VERSION: string;
declare const OPSBOOK_CACHED_BUNDLES: Readonly<Record<string, readonly string[]>>;

/** Beside this file in dist/; not a path TypeScript or the bundler should follow. */
const esModuleBuild = './main.mjs';

interface Cli {
  main(argv: string[], options?: MainOptions): Promise<Outcome>;
}

/**
 * Runs dist/fast.js (or `file`, another of the cached bundles) as Node runs a CommonJS file, but
 * through vm.Script, which takes V8's code cache: its functions are then deserialized instead of
 * parsed and compiled, the larger part of a short command's start-up. A cache that does not fit
 * (another Node version, other V8 flags, a changed bundle) is rejected by V8 itself, and the
 * bundle is compiled as usual. `codeCache` serializes what is compiled so far: scripts/bundle.mjs
 * calls it after a run to write the cache, and checks `isCached` in a fresh process.
 */
export function loadFastBundle(
  dir: string,
  file = 'fast.js',
): {
  cli: Cli;
  codeCache: () => Buffer;
  /** The cache was there and V8 took it. */
  isCached: boolean;
} {
  // Required here, not imported at the top (which the CommonJS build would hoist): `--version`
  // then loads neither node:vm nor node:module, which bring Node's ES module loader with them.
  const { readFileSync } = require('node:fs') as typeof import('node:fs');
  const { createRequire } = require('node:module') as typeof import('node:module');
  const path = require('node:path') as typeof import('node:path');
  const vm = require('node:vm') as typeof import('node:vm');
  const bundle = path.join(dir, file);
  // The build makes the bundles ASCII (scripts/bundle.mjs fails on any other byte): read as
  // Latin-1, the same text is made without the UTF-8 decoding that took tens of milliseconds for
  // 2 MB, and without checking each byte again here (~2.5 ms of a run: a cache is only as fast as
  // its source read).
  const source = readFileSync(bundle, 'latin1');
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${bundle}.cache`);
  } catch {
    // No cache: compiled as usual.
  }
  // The file is `(function (exports, require, module, __filename, __dirname) {…})`.
  const script = new vm.Script(source, {
    filename: bundle,
    ...(cachedData ? { cachedData } : {}),
    // The bundle imports nothing at run time, but a dynamic import() must not fail if it did.
    ...(vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER
      ? { importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER }
      : {}),
  });
  const module = { exports: {} as Cli };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dir);
  return {
    cli: module.exports,
    codeCache: () => script.createCachedData(),
    isCached: cachedData !== undefined && !script.cachedDataRejected,
  };
}

/**
 * One write to file descriptor 1: Node then sets up no stream for stdout, which for a pipe loads
 * its network module (a few percent of a process that does nothing else).
 */
function printVersion(): void {
  const { writeSync } = require('node:fs') as typeof import('node:fs');
  const text = `${OPSBOOK_VERSION}\n`;
  try {
    writeSync(1, text);
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    // A pipe that would block: the stream queues it. A reader gone away: nothing to say.
    if (code === 'EAGAIN') process.stdout.write(text);
    else if (code !== 'EPIPE') throw error;
  }
}

/**
 * node-postgres reads ~/.pgpass, the way the docs give to keep the state store's password out of
 * opsbook.yaml, and warns on stderr at its first use that pg 9 will stop doing so: two lines of
 * Node's (`(node:123) DeprecationWarning …`, `Use node --trace-deprecation`) that tell a user
 * nothing to do. That one warning is dropped; every other goes on as before.
 */
function dropDriverPgpassWarning(): void {
  const emit = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === 'string' ? warning : warning?.message;
    if (typeof text === 'string' && text.startsWith('pgpass support is deprecated')) return;
    return (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
}

/** Runs the command line `argv`; exported for bin/opsbook.cjs, the workspace's `opsbook`. */
export function run(argv: string[]): void {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    printVersion();
    return;
  }
  dropDriverPgpassWarning();
  // The same test as main's: the command is named by the leading words, and these are one word.
  const cached = Object.keys(OPSBOOK_CACHED_BUNDLES).find((file) =>
    OPSBOOK_CACHED_BUNDLES[file]!.includes(argv[0] ?? ''),
  );
  // The commands of dist/fast.js write their few lines straight to file descriptors 1 and 2
  // (src/stdio.ts): setting up process.stdout and process.stderr is a few percent of a validate.
  const directStdio = cached === 'fast.js';
  if (!directStdio) {
    for (const stream of [process.stdout, process.stderr]) stream.on('error', ignoreClosedPipe);
  }
  const cli: Promise<Cli> = cached
    ? Promise.resolve(loadFastBundle(__dirname, cached).cli)
    : import(esModuleBuild);
  cli
    .then((m) => m.main(argv, { directStdio }))
    .then((outcome) => {
      if (!outcome.rerunInFullBuild) return outcome;
      // The command needs a module its cached bundle leaves out (src/full-build.ts): it read
      // and printed nothing yet, and runs again from the full build.
      for (const stream of [process.stdout, process.stderr]) stream.on('error', ignoreClosedPipe);
      return (import(esModuleBuild) as Promise<Cli>).then((m) => m.main(argv));
    })
    .then(({ exitCode, isDone }) => {
      process.exitCode = exitCode;
      // A command that left nothing pending exits now rather than after the runtime's teardown
      // (~10 ms of a cold validate) — isDone only once stdout and stderr hold no unwritten bytes:
      // a pipe to a slow reader can keep part of a large --json queued, and exit() would drop it.
      if (isDone) process.exit();
    });
}

// Run as the command; required (by scripts/bundle.mjs, to make the code cache), it only exports.
if (require.main === module) run(process.argv.slice(2));
