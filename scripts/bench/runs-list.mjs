#!/usr/bin/env node
// `opsbook runs list` over a month of a large fleet's runs (issue #18): the report benchmark's
// generated history (bench-history.mjs: HOSTS hosts × DAYS daily inspections, hash-chained, with
// the ledger), timed from process spawn to exit, RUNS times, rounds alternating between the
// binaries given (BENCH_BINS, comma-separated paths of bin.js; default this checkout's), so that
// a build from before a change and one from after meet the same load. Needs `pnpm build` first.
//
//   BENCH_HOSTS=1000  BENCH_DAYS=30  BENCH_RUNS=7  BENCH_BINS=/a/bin.js,/b/bin.js
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeHistory } from './bench-history.mjs';
import { median } from './bench-measure.mjs';
import { cleanEnv, removedEnvNote } from './bench-processes.mjs';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 1000);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bins = (process.env.BENCH_BINS ?? path.join(repo, 'packages/cli/dist/bin.js')).split(',');
const execFileP = promisify(execFile);

const work = await mkdtemp(path.join(tmpdir(), 'opsbook-bench-runs-list-'));
try {
  await writeFile(
    path.join(work, 'opsbook.yaml'),
    'apiVersion: opsbook/v1\nkind: Config\nstateDir: state\n',
  );
  const { bytes } = await writeHistory(path.join(work, 'state'), {
    hosts: HOSTS,
    days: DAYS,
    start: Date.parse('2025-03-01T06:00:00Z'),
  });
  const env = cleanEnv({ OPSBOOK_DATABASE_URL: '', NO_COLOR: '1' });
  const times = bins.map(() => []);
  const loads = [];
  for (let round = 0; round < RUNS; round++) {
    const order = bins.map((_, i) => i);
    if (round % 2) order.reverse();
    for (const i of order) {
      loads.push(loadavg()[0]);
      const t0 = performance.now();
      const { stdout } = await execFileP(process.execPath, [bins[i], 'runs', 'list', '--json'], {
        cwd: work,
        env,
        maxBuffer: 1 << 26,
      });
      times[i].push(performance.now() - t0);
      const states = new Set(JSON.parse(stdout).runs.map((r) => r.status));
      if (states.size !== 1 || !states.has('ok'))
        throw new Error(`${bins[i]}: expected every run ok, got ${[...states].join(', ')}`);
    }
  }
  console.log(
    `opsbook runs list --json: ${DAYS} runs × ${HOSTS} hosts, ${(bytes / 2 ** 20).toFixed(0)} MB of journals; ${RUNS} runs each, load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
  );
  if (removedEnvNote()) console.log(removedEnvNote());
  bins.forEach((bin, i) => {
    const ms = times[i];
    console.log(
      `  ${bin}: median ${(median(ms) / 1000).toFixed(2)} s, min ${(Math.min(...ms) / 1000).toFixed(2)} s, max ${(Math.max(...ms) / 1000).toFixed(2)} s`,
    );
  });
} finally {
  await rm(work, { recursive: true, force: true });
}
