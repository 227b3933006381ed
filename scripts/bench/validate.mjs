#!/usr/bin/env node
// Cold start of the CLI, end to end as a user waits for it: `opsbook validate` over catalogs of
// generated runbooks (every size in BENCH_SIZES) and `opsbook --version`, each a fresh process,
// against `node -e 0` measured in the same rounds. Issue #18 target 5: validate ≤ 2.5× and
// --version ≤ 1.1× the floor, checked and printed PASS/FAIL for every row.
//
// A catalog of N runbooks holds every runbook of runbooks/ once under its own name (so that a
// composed runbook's range resolves to one bundle; with fewer than that, the runbooks that compose
// others are left out first), then renamed copies round-robin, so that steps with `uses:` have
// their `with:` checked against the built-in actions' schemas.
// Three peers per size have no target: Node reading the catalog's files, and reading them and
// parsing each runbook.yaml with the yaml package or with js-yaml (validate-peer.cjs): what the
// files alone cost, and what a general YAML parser for Node costs before any check.
// Every process starts without NODE_EXTRA_CA_CERTS and NODE_OPTIONS (bench-processes.mjs), which
// change what Node costs to start (BENCH_KEEP_NODE_ENV=1 keeps them, to compare).
// Each round runs every row once, in the opposite order from the round before, so that a change
// in the machine's load hits every row alike; the load average is printed with the results. The
// target is on the ratio of medians; the ratio of the fastest runs is printed beside it.
//
//   BENCH_RUNS=21 (rounds)   BENCH_SIZES=10,50,200
//   BENCH_BINS=before=a/dist/bin.js,after=b/dist/bin.js   builds to compare in the same rounds,
//                                            each optionally named (default: this checkout's
//                                            packages/cli/dist/bin.js)
//   BENCH_SOURCES=disk-cleanup,…             the runbooks to copy (default: all of runbooks/; an
//                                            older build may not read a newer kind of runbook)
//   BENCH_CALLGRIND=1                        also count each row's instructions once under valgrind
//                                            (callgrind): all threads, and the main thread alone. A
//                                            count does not depend on the machine's load, as wall
//                                            times do; it leaves out waits (I/O, page faults).
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { cleanEnv, removedEnvNote } from './bench-processes.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const runs = Number(process.env.BENCH_RUNS ?? 21);
const sizes = (process.env.BENCH_SIZES ?? '10,50,200').split(',').map(Number);
const bins = (process.env.BENCH_BINS ?? path.join(root, 'packages/cli/dist/bin.js'))
  .split(',')
  .map((b) => {
    const [name, file] = b.includes('=') ? b.split('=') : [undefined, b];
    return { name, file: path.resolve(file) };
  });
const targets = { validate: 2.5, version: 1.1 };
// Every row, the floor included, in the same environment, without what changes Node's start-up.
const env = cleanEnv();

/** A folder holding a runbooks/ of `count` runbooks: each source once, then renamed copies. */
async function makeCatalog(dir, sources, count) {
  for (let i = 0; i < count; i++) {
    const src = sources[i % sources.length];
    const name = i < sources.length ? src : `${src}-${String(i).padStart(4, '0')}`;
    const target = path.join(dir, 'runbooks', name);
    await cp(path.join(root, 'runbooks', src), target, { recursive: true });
    if (name === src) continue;
    const file = path.join(target, 'runbook.yaml');
    const yaml = await readFile(file, 'utf8');
    await writeFile(file, yaml.replace(`\n  name: ${src}\n`, `\n  name: ${name}\n`));
    const pkg = JSON.parse(await readFile(path.join(target, 'package.json'), 'utf8'));
    await writeFile(
      path.join(target, 'package.json'),
      `${JSON.stringify({ ...pkg, name: `@runbooks/${name}` }, null, 2)}\n`,
    );
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (ms) => `${ms.toFixed(1)} ms`;

const work = await mkdtemp(path.join(tmpdir(), 'opsbook-bench-validate-'));
try {
  const sources = process.env.BENCH_SOURCES
    ? process.env.BENCH_SOURCES.split(',')
    : (await readdir(path.join(root, 'runbooks'), { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
  // Runbooks that compose others last: a catalog smaller than the sources leaves them out first.
  const composes = new Set();
  for (const src of sources) {
    const yaml = await readFile(path.join(root, 'runbooks', src, 'runbook.yaml'), 'utf8');
    if (/uses:\s*["']?runbook:/.test(yaml)) composes.add(src);
  }
  sources.sort((a, b) => Number(composes.has(a)) - Number(composes.has(b)));
  for (const size of sizes)
    await makeCatalog(path.join(work, String(size)), sources.slice(0, size), size);

  const label = (bin) =>
    bins.length > 1 ? ` [${bin.name ?? path.relative(process.cwd(), bin.file)}]` : '';
  const rows = [{ label: 'node -e 0 (floor)', args: ['-e', '0'], cwd: work }];
  for (const bin of bins) {
    rows.push({
      label: `opsbook --version${label(bin)}`,
      args: [bin.file, '--version'],
      cwd: work,
      expect: /^\d+\.\d+\.\d+/,
      target: targets.version,
    });
    for (const size of sizes) {
      rows.push({
        label: `opsbook validate, ${size} runbooks${label(bin)}`,
        args: [bin.file, 'validate'],
        cwd: path.join(work, String(size)),
        expect: new RegExp(`✓ ${size} runbooks valid`),
        target: targets.validate,
      });
    }
  }
  // Peers, no target: Node reading the same files, and reading them and parsing each runbook.yaml
  // with the yaml package or js-yaml (validate-peer.cjs). They say how much of the floor's
  // multiple the files alone take on this machine, and what parsing them with a general parser
  // costs, checks aside.
  const peer = path.join(import.meta.dirname, 'validate-peer.cjs');
  const schemaRequire = createRequire(path.join(root, 'packages/schema/package.json'));
  const yamlPackage = path.dirname(schemaRequire.resolve('yaml/package.json'));
  const jsYamlPackage = path.dirname(schemaRequire.resolve('js-yaml/package.json'));
  for (const size of sizes) {
    for (const [mode, what] of [
      ['read', 'read the files'],
      ['yaml', 'read + yaml.parse'],
      ['js-yaml', 'read + js-yaml load'],
    ]) {
      rows.push({
        label: `peer: ${what}, ${size} runbooks`,
        args: [peer, mode],
        cwd: path.join(work, String(size)),
        env: { BENCH_YAML_PACKAGE: yamlPackage, BENCH_JS_YAML_PACKAGE: jsYamlPackage },
        expect: new RegExp(`^${size} runbooks read`),
      });
    }
  }
  for (const row of rows) row.samples = [];

  const loads = [];
  const started = new Date();
  for (let round = 0; round < runs; round++) {
    loads.push(loadavg()[0]);
    const order = round % 2 ? [...rows].reverse() : rows;
    for (const row of order) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, row.args, {
        cwd: row.cwd,
        encoding: 'utf8',
        env: row.env ? { ...env, ...row.env } : env,
      });
      row.samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0 || (row.expect && !row.expect.test(r.stdout)))
        throw new Error(`${row.label} failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
    }
  }
  loads.push(loadavg()[0]);

  const floor = median(rows[0].samples);
  const width = Math.max(...rows.map((r) => r.label.length)) + 2;
  console.log(
    `${'command'.padEnd(width)}${'median'.padStart(10)}${'min'.padStart(10)}${'max'.padStart(10)}${'÷ floor'.padStart(9)}${'min ÷ min'.padStart(11)}${'target'.padStart(8)}  result`,
  );
  let failed = 0;
  for (const r of rows) {
    const ratio = median(r.samples) / floor;
    const verdict = r.target === undefined ? '' : ratio <= r.target ? 'PASS' : 'FAIL';
    if (verdict === 'FAIL') failed++;
    console.log(
      [
        r.label.padEnd(width),
        fmt(median(r.samples)).padStart(10),
        fmt(Math.min(...r.samples)).padStart(10),
        fmt(Math.max(...r.samples)).padStart(10),
        `${ratio.toFixed(2)}×`.padStart(9),
        // The ratio of the fastest runs: less moved by a neighbour's load than the medians.
        `${(Math.min(...r.samples) / Math.min(...rows[0].samples)).toFixed(2)}×`.padStart(11),
        (r.target === undefined ? '' : `≤${r.target}×`).padStart(8),
        `  ${verdict}`,
      ].join(''),
    );
  }
  console.log(
    `\n${started.toISOString()}, ${runs} rounds (order reversed every other round), node ${process.version}; ` +
      `load average (1 min) ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} over the rounds; ` +
      `floor median ${fmt(floor)}.`,
  );
  if (removedEnvNote()) console.log(removedEnvNote());
  console.log(failed ? `${failed} row(s) FAIL` : 'every row PASS');
  process.exitCode = failed ? 1 : 0;
  if (process.env.BENCH_CALLGRIND) await countInstructions(rows, work);
} finally {
  await rm(work, { recursive: true, force: true });
}

/**
 * Each row's instructions, counted once under callgrind: the sum over every thread (V8 compiles
 * and collects garbage on helper threads) and the main thread's alone (what a free second core
 * takes off the wall time), each with its ratio to the floor's.
 */
async function countInstructions(rows, dir) {
  const counts = [];
  for (const row of rows) {
    const out = path.join(dir, 'callgrind');
    await rm(out, { recursive: true, force: true });
    await mkdir(out);
    const r = spawnSync(
      'valgrind',
      [
        '--tool=callgrind',
        '--separate-threads=yes',
        '--smc-check=all',
        `--callgrind-out-file=${path.join(out, 'cg.out')}`,
        process.execPath,
        ...row.args,
      ],
      { cwd: row.cwd, encoding: 'utf8', env },
    );
    if (r.status !== 0) throw new Error(`valgrind ${row.label} failed: ${r.stderr.slice(-2000)}`);
    const perThread = [];
    for (const f of (await readdir(out)).sort()) {
      const m = /^summary: (\d+)$/m.exec(await readFile(path.join(out, f), 'utf8'));
      if (m) perThread.push(Number(m[1]));
    }
    counts.push({ row, all: perThread.reduce((a, b) => a + b, 0), main: perThread[0] });
  }
  const [floor] = counts;
  const g = (n) => `${(n / 1e6).toFixed(0)} M`;
  console.log(`\ninstructions (valgrind --tool=callgrind, one run each):`);
  const width = Math.max(...rows.map((r) => r.label.length)) + 2;
  console.log(
    `${'command'.padEnd(width)}${'all threads'.padStart(13)}${'÷ floor'.padStart(9)}${'main thread'.padStart(13)}${'÷ floor'.padStart(9)}`,
  );
  for (const c of counts) {
    console.log(
      `${c.row.label.padEnd(width)}${g(c.all).padStart(13)}${`${(c.all / floor.all).toFixed(2)}×`.padStart(9)}${g(c.main).padStart(13)}${`${(c.main / floor.main).toFixed(2)}×`.padStart(9)}`,
    );
  }
}
