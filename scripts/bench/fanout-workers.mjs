#!/usr/bin/env node
// Fan-out through workers (issue #16 item 5): one command on 1,000 hosts, in the same run, by
//   opsbook run                   one runner process (the PostgreSQL state store, as below)
//   opsbook run --distribute      the same run cut into 2 shards (--shard-size N/2) for 2
//                                 `opsbook worker` processes (zone default, one shard each),
//                                 the submitter following the shared journal
// Both at the runbook's concurrency (default 50 per process) against the world of fanout.mjs
// (bench-world.mjs: ONE real sshd on 127.0.0.1 behind host-0001… aliases), with the state store
// and graphile-worker's queue in a real PostgreSQL (testkit's, fsync off) on the same machine.
// Reported: wall time of the submitting command (workers started and idle before it, untimed),
// the ratio, CPU, and peak RSS: the runner's, and each worker's (VmHWM, read before it is
// stopped; fresh workers each round) plus the submitter's, each divided by the hosts it ran.
// BENCH_RUNS rounds (default 2), interleaved, median reported. Needs root (as fanout.mjs).
//
//   node scripts/bench/fanout-workers.mjs
//   BENCH_HOSTS=200 BENCH_RUNS=1 BENCH_CONCURRENCY=50 node scripts/bench/fanout-workers.mjs
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { describeSample, measure, median } from './bench-measure.mjs';
import { cleanEnv, isStopping, killGroup, live, sleep, stopOnSignals } from './bench-processes.mjs';
import { closeBenchWorld, openBenchWorld, writeFanoutRunbook } from './bench-world.mjs';

const hosts = Number(process.env.BENCH_HOSTS ?? 1000);
const runs = Number(process.env.BENCH_RUNS ?? 2);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 50);
const timeoutMs = Number(process.env.BENCH_TIMEOUT_S ?? 900) * 1000;
const WORKERS = 2;
const RUNBOOK = `bench-1step-c${concurrency}`;

stopOnSignals();
const { startPostgres } = await import('@opsbook/testkit/postgres');
const pg = await startPostgres();
try {
  await pg.psql('create database opsbook_bench');
  // Every opsbook command of the benchmark (plan, approve, run, worker) uses this store.
  process.env.OPSBOOK_DATABASE_URL = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/opsbook_bench`;
  const world = await openBenchWorld({ name: 'fanout-workers', hostCounts: [hosts] });
  world.opsbook(['db', 'migrate']);
  await writeFanoutRunbook(world.dir, RUNBOOK, { steps: 1, concurrency, command: 'true' });
  const results = await measureAll(world);
  report(results);
} finally {
  await closeBenchWorld();
  await pg.dispose();
}

async function measureAll(world) {
  const samples = { single: [], distributed: [] };
  for (let round = 1; round <= runs && !isStopping(); round++) {
    for (const kind of ['single', 'distributed']) {
      const argv = await world.approve({
        runbook: RUNBOOK,
        hosts,
        summary: `fan-out through workers: ${kind} on ${hosts} hosts`,
      });
      const c = {
        n: hosts,
        concurrency,
        tool: kind === 'single' ? 'opsbook run' : `opsbook run --distribute (${WORKERS} workers)`,
        argv:
          kind === 'single'
            ? argv
            : [...argv, '--distribute', '--shard-size', String(Math.ceil(hosts / WORKERS))],
        ok: (r) => r.code === 0,
      };
      const workers = kind === 'distributed' ? await startWorkers(world, argv) : [];
      let sample;
      try {
        sample = await measure(c, world, timeoutMs);
        sample.workers = await Promise.all(workers.map(workerUsage));
      } finally {
        for (const w of workers) killGroup(w.pid);
      }
      if (sample.failure) throw new Error(`${c.tool} failed: ${sample.failure}`);
      samples[kind].push(sample);
      console.error(
        `${describeSample(c, sample, round, runs)}${sample.workers.map((w, i) => `; worker ${i + 1}: ${w.hosts} hosts, ${w.rssMb.toFixed(0)} MB, cpu ${w.cpu.toFixed(2)} s`).join('')}`,
      );
    }
  }
  return samples;
}

/** Starts the workers (each in its own process group) and waits until each is ready. */
async function startWorkers(world, runArgv) {
  const inventory = runArgv[runArgv.indexOf('-i') + 1];
  const started = [];
  for (let i = 0; i < WORKERS; i++) {
    const child = spawn(
      process.execPath,
      [world.bin, 'worker', '--zone', 'default', '-i', inventory],
      { cwd: world.dir, env: cleanEnv(), detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    live.add(child.pid);
    const w = { pid: child.pid, child, log: '' };
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (t) => {
      if (w.log.length < 1_000_000) w.log += t;
    });
    started.push(w);
  }
  for (let i = 0; i < 600 && !started.every((w) => w.log.includes('worker ready')); i++) {
    if (started.some((w) => w.child.exitCode !== null))
      throw new Error(`a worker exited: ${started.map((w) => w.log).join('\n')}`);
    await sleep(50);
  }
  return started;
}

/** A worker's peak RSS and CPU so far (from /proc), and the hosts it reported. */
async function workerUsage(w) {
  const status = await readFile(`/proc/${w.pid}/status`, 'utf8');
  const hwmKb = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0);
  const stat = await readFile(`/proc/${w.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / 100;
  const ended = w.log.match(/ended: (.*)$/gm) ?? [];
  const hostsRun = ended.reduce((n, line) => n + (line.match(/ ok(,|$)/g) ?? []).length, 0);
  return { rssMb: hwmKb / 1024, cpu, hosts: hostsRun };
}

function report({ single, distributed }) {
  const m = (list, f) => median(list.map(f));
  const singleWall = m(single, (s) => s.wall);
  const distWall = m(distributed, (s) => s.wall);
  const workerRss = (s) => s.workers.reduce((a, w) => a + w.rssMb, 0);
  const rows = [
    [
      'opsbook run',
      singleWall,
      m(single, (s) => s.cpu),
      m(single, (s) => s.rssMb),
      m(single, (s) => s.rssMb) / hosts,
    ],
    [
      `opsbook run --distribute, ${WORKERS} workers`,
      distWall,
      m(distributed, (s) => s.cpu + s.workers.reduce((a, w) => a + w.cpu, 0)),
      m(distributed, (s) => s.rssMb + workerRss(s)),
      m(distributed, (s) => s.rssMb + workerRss(s)) / hosts,
    ],
  ];
  console.log(
    `\n${hosts} hosts, concurrency ${concurrency} per process, ${runs} round(s), median; ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
  );
  console.log(
    '| case | wall s | CPU s (all processes) | peak RSS MB (sum of processes) | MB per host |',
  );
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, wall, cpu, rss, perHost] of rows)
    console.log(
      `| ${name} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${rss.toFixed(0)} | ${perHost.toFixed(3)} |`,
    );
  console.log(`\nratio (one runner / distributed wall): ${(singleWall / distWall).toFixed(2)}×`);
  for (const s of distributed)
    console.log(
      `distributed round: submitter ${s.rssMb.toFixed(0)} MB; ${s.workers.map((w) => `worker ${w.hosts} hosts ${w.rssMb.toFixed(0)} MB (${((w.rssMb * 1024) / Math.max(w.hosts, 1)).toFixed(0)} KB/host)`).join(', ')}`,
    );
}
