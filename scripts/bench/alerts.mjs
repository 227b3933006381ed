#!/usr/bin/env node
// Alert intake throughput (issue #19): Alertmanager webhook posts (version 4, one post of ten
// alerts per host, made by @opsbook/testkit's makeAlertBurst) into `opsbook alerts serve` (the
// built binary, files store in a fresh state dir: every alert fsynced before its 200), alone and
// with an alerts.yaml beside it (converging, grading and dispatching into the local tracker in
// the background while it takes the burst), against a bare node HTTP handler that only reads and
// JSON.parses the body and answers 200. Same payloads, same client (testkit's postWebhooks,
// keep-alive, BENCH_CONCURRENCY posts in flight), each server its own process started fresh for
// each measurement, the order of the sides rotated and reversed from round to round.
//
// Per side and size: alerts/s from the first post to the last 200 (median of the rounds), the
// server's CPU seconds in that time (/proc/PID/stat), and its peak RSS (VmHWM); the receiver's
// alerts are counted in its intake files after it stopped (each stored once, all of them); with
// alerts.yaml, also when its log said every alert was converged and the tickets made.
// Goal: the receiver accepts and stores ≥ 2,000 alerts/s. The ratio is receiver ÷ bare, per round.
//   BENCH_SIZES=2000,20000  BENCH_ROUNDS=5  BENCH_CONCURRENCY=8  BENCH_DIR=(os.tmpdir())  BENCH_BIN
// Needs `pnpm build` first (packages/cli/dist/bin.js and the testkit's dist).
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv, removedEnvNote } from './bench-processes.mjs';

const { clusterAlertRules, makeAlertBurst, postWebhooks } = await import(
  '@opsbook/testkit/alert-burst'
);

const SIZES = (process.env.BENCH_SIZES ?? '2000,20000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ALERTS_PER_HOST = 10;
const GOAL = 2000;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// BENCH_BIN: a copy of the built CLI, so that a rebuild of packages/cli/dist during the run
// (another engineer's) cannot change what is measured.
const bin = process.env.BENCH_BIN ?? path.join(repo, 'packages/cli/dist/bin.js');
const CLOCK_TICKS = 100;

// The whole of the bare side: read, parse, answer. It prints its address as serve does.
const BARE = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const text = JSON.stringify({ accepted: body.alerts.length, duplicates: 0 }) + '\\n';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
});
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port + '/'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const live = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const child of live) child.kill('SIGKILL');
    process.exit(130);
  });
}

/** Starts a server process and resolves with its URL once it printed `listening on URL`. */
function startServer(argv, cwd) {
  const child = spawn(process.execPath, argv, {
    cwd,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve(sig ?? code)));
  exited.then(() => live.delete(child));
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      const m = /^listening on (http:\/\/\S+)\n/.exec(stdout);
      if (m) resolve({ child, url: m[1], exited, stderr: () => stderr });
    });
    exited.then((how) => reject(new Error(`${argv.join(' ')} ended (${how}):\n${stderr}`)));
  });
}

async function cpuSeconds(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function peakRssMb(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Lines of the intake files: each alert key must be there once, all `expected` of them. */
async function countStored(stateDir) {
  const dir = path.join(stateDir, 'alerts', 'intake');
  const keys = new Set();
  let lines = 0;
  for (const name of await readdir(dir)) {
    for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line);
      keys.add(`${r.fingerprint}|${r.startsAt}|${r.status}`);
      lines++;
    }
  }
  return { lines, keys: keys.size };
}

const CONFIG = 'apiVersion: opsbook/v1\nkind: Config\nstateDir: state\ntracker: {kind: local}\n';
// One incident per cluster (makeAlertBurst's four), graded, with a runbook and an owner.
const RULES = clusterAlertRules({ owners: ['alice', 'bob'], p1MinHosts: 10 });

/** Seconds since `started` until serve's log says every alert was converged (bounded). */
async function untilConverged(server, alerts, started) {
  for (let i = 0; i < 6000; i++) {
    const converged = [...server.stderr().matchAll(/converged (\d+) alert/g)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    if (converged >= alerts && /tickets: /.test(server.stderr()))
      return Number(process.hrtime.bigint() - started) / 1e9;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`serve+rules never converged ${alerts} alerts:\n${server.stderr()}`);
}

/**
 * One measurement of one side: `bare`, `serve` (the intake alone) or `serve+rules` (alerts.yaml
 * beside it: converging, grading and dispatching into the local tracker behind the intake).
 */
async function measure(side, bodies, alerts, work) {
  const dir = await mkdtemp(path.join(work, `${side.replace('+', '-')}-`));
  try {
    await writeFile(path.join(dir, 'opsbook.yaml'), CONFIG);
    if (side === 'serve+rules') await writeFile(path.join(dir, 'alerts.yaml'), RULES);
    const argv =
      side === 'bare' ? ['-e', BARE] : [bin, 'alerts', 'serve', '--listen', '127.0.0.1:0'];
    const server = await startServer(argv, dir);
    const load = loadavg()[0];
    const cpuBefore = await cpuSeconds(server.child.pid);
    const started = process.hrtime.bigint();
    const outcomes = await postWebhooks(server.url, bodies, { concurrency: CONCURRENCY });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = (await cpuSeconds(server.child.pid)) - cpuBefore;
    const converged =
      side === 'serve+rules' ? await untilConverged(server, alerts, started) : undefined;
    const rss = await peakRssMb(server.child.pid);
    server.child.kill('SIGTERM');
    const how = await server.exited;
    const failed = outcomes.filter((o) => !('status' in o) || o.status !== 200);
    if (failed.length)
      throw new Error(
        `${side}: ${failed.length} posts not answered 200: ${JSON.stringify(failed[0])}`,
      );
    const accepted = outcomes.reduce((n, o) => n + JSON.parse(o.body).accepted, 0);
    if (accepted !== alerts) throw new Error(`${side}: accepted ${accepted} of ${alerts}`);
    if (how !== 0) throw new Error(`${side} exited ${how} on SIGTERM:\n${server.stderr()}`);
    if (side !== 'bare') {
      const stored = await countStored(path.join(dir, 'state'));
      if (stored.lines !== alerts || stored.keys !== alerts)
        throw new Error(
          `${side} stored ${stored.lines} lines, ${stored.keys} alerts, of ${alerts}`,
        );
    }
    return { rate: alerts / seconds, seconds, cpu, rss, load, converged };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const work = await mkdtemp(path.join(process.env.BENCH_DIR ?? tmpdir(), 'opsbook-bench-alerts-'));
const commit = await new Promise((resolve) => {
  const git = spawn('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo });
  let out = '';
  git.stdout.on('data', (d) => {
    out += d;
  });
  git.on('close', () => resolve(out.trim()));
});
console.log(
  `alerts intake: ${new Date().toISOString()}, commit ${commit}, ${cpus().length} cores, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}${removedEnvNote() ? `; ${removedEnvNote()}` : ''}`,
);
console.log(
  `${ROUNDS} rounds, ${CONCURRENCY} posts in flight, ${ALERTS_PER_HOST} alerts a post, state in ${work}\n`,
);
const SIDES = ['serve', 'bare', 'serve+rules'];
const rows = [];
try {
  for (const alerts of SIZES) {
    const payloads = makeAlertBurst({ alerts, hosts: Math.ceil(alerts / ALERTS_PER_HOST) });
    const bodies = payloads.map((p) => JSON.stringify(p));
    const samples = Object.fromEntries(SIDES.map((side) => [side, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with another side, and runs them in the other direction every other round.
      const rotated = SIDES.map((_, k) => SIDES[(k + round) % SIDES.length]);
      const order = round % 2 === 0 ? rotated : rotated.reverse();
      for (const side of order) {
        const s = await measure(side, bodies, alerts, work);
        samples[side].push(s);
        console.log(
          `  ${fmt(alerts)} alerts, round ${round + 1}, ${side.padEnd(11)}: ${fmt(s.rate)} alerts/s (${s.seconds.toFixed(2)} s, server CPU ${s.cpu.toFixed(2)} s, peak RSS ${fmt(s.rss)} MB${s.converged ? `, all converged and ticketed at ${s.converged.toFixed(2)} s` : ''}, load ${s.load.toFixed(2)})`,
        );
      }
    }
    const stats = {};
    for (const side of SIDES) {
      const xs = samples[side];
      stats[side] = {
        rate: median(xs.map((s) => s.rate)),
        min: Math.min(...xs.map((s) => s.rate)),
        max: Math.max(...xs.map((s) => s.rate)),
        cpuMsPerK: (median(xs.map((s) => s.cpu)) / alerts) * 1e6,
        perCpuSecond: median(xs.map((s) => alerts / s.cpu)),
        rss: median(xs.map((s) => s.rss)),
        load: median(xs.map((s) => s.load)),
        converged: xs[0].converged ? median(xs.map((s) => s.converged)) : undefined,
      };
    }
    for (const side of ['serve', 'serve+rules']) {
      // The ratio of each round's pair, measured minutes apart at most.
      const ratio = median(samples[side].map((s, i) => s.rate / samples.bare[i].rate));
      rows.push({ alerts, side, ratio, receiver: stats[side], bare: stats.bare });
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

const range = (x) => `${fmt(x.rate)} (${fmt(x.min)}–${fmt(x.max)})`;
console.log(
  '\n| alerts | receiver | receiver alerts/s (min–max) | bare alerts/s (min–max) | ratio | server CPU ms / 1,000 alerts (receiver / bare) | alerts per server CPU second (receiver / bare) | peak RSS MB (receiver / bare) | all converged and ticketed | load | goal ≥ 2,000/s |',
);
console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
let failed = false;
for (const r of rows) {
  const pass = r.receiver.rate >= GOAL;
  failed ||= !pass;
  const x = r.receiver;
  console.log(
    `| ${fmt(r.alerts)} | ${r.side === 'serve' ? 'serve' : 'serve + alerts.yaml'} | ${range(x)} | ${range(r.bare)} | ${r.ratio.toFixed(2)} | ${fmt(x.cpuMsPerK)} / ${fmt(r.bare.cpuMsPerK)} | ${fmt(x.perCpuSecond)} / ${fmt(r.bare.perCpuSecond)} | ${fmt(x.rss)} / ${fmt(r.bare.rss)} | ${x.converged ? `${x.converged.toFixed(2)} s` : '—'} | ${x.load.toFixed(2)} | ${pass ? 'PASS' : 'FAIL'} |`,
  );
}
console.log(
  `\nload average at the end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
process.exitCode = failed ? 1 : 0;
