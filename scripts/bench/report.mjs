#!/usr/bin/env node
// `opsbook report` end to end (issue #16 item 4): 1,000 hosts × 30 days of daily inspections,
// timed as the user waits for it, from process fork to exit of `opsbook report` (HTML written
// to a file, the command's default), on the files store and on the PostgreSQL store, against
// floors measured in the same run: `node -e 0` (a node process that does nothing) and, for
// PostgreSQL, `psql -c 'select count(*) from opsbook_findings'` (a client that connects, asks
// one question of the findings table and exits).
//
// "cold" is the first report of a store holding journals but no findings (an old state dir, a
// database migrated after its runs): it derives them from the journals and keeps them; "warm"
// is every report after. Target (issue #17 item 7, #18 target 7): warm ≤ 2 s end to end, checked
// and printed PASS/FAIL on every warm row of every size. Each round runs every case once, in the
// opposite order from the round before (cold cases only in the first BENCH_COLD_RUNS rounds), so
// that a change in the machine's load hits every case alike; each row shows the load average
// (1 min) its runs started at. Needs `pnpm build` first (runs packages/cli/dist/bin.js; starts
// PostgreSQL with @opsbook/testkit).
//
//   BENCH_HOSTS=1000 (a list: 100,1000)  BENCH_DAYS=30  BENCH_RUNS=5  BENCH_COLD_RUNS=2
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeHistory } from './bench-history.mjs';
import { median } from './bench-measure.mjs';
import { cleanEnv, removedEnvNote, runMeasured, stopOnSignals } from './bench-processes.mjs';

const { computeReport, readHistory, renderHtml } = await import('@opsbook/health-report');
const { closeStateStores, filesStore, migrateStateStore, postgresStore } = await import(
  '@opsbook/state'
);
const { startPostgres } = await import('@opsbook/testkit/postgres');

const SIZES = (process.env.BENCH_HOSTS ?? '1000').split(',').map(Number);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 2);
const TARGET_MS = 2000;
const start = Date.parse('2025-03-01T06:00:00Z');
const since = new Date(start - 86_400_000);
const until = new Date(start + DAYS * 86_400_000);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repo, 'packages/cli/dist/bin.js');
const execFileP = promisify(execFile);

stopOnSignals();

/**
 * Wall time (ms) of one process from its fork to its exit, and the CPU time (user + sys, ms, to
 * the microsecond: rusage.py) it spent, which a machine busy with other work inflates far less
 * than the wall; throws when it fails.
 */
async function wall(argv, options) {
  const load = loadavg()[0];
  const r = await runMeasured(
    argv,
    { ...(options.dir ? { cwd: options.dir } : {}), env: cleanEnv(options.env) },
    120_000,
    path.join(work, 'time.out'),
  );
  if (r.code !== 0 || r.timedOut)
    throw new Error(`${argv.join(' ')} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return { ms: r.wall * 1000, cpu: r.cpu * 1000, load, stdout: r.stdout };
}

const reportArgv = (out, format = 'html') => [
  process.execPath,
  bin,
  'report',
  '--since',
  since.toISOString(),
  '--until',
  until.toISOString(),
  '--format',
  format,
  '-o',
  out,
];

/**
 * The cases' samples, round by round: every case once a round, the order reversed every other
 * round; a case with `rounds` runs only in the first that many. Each case gets `ms`, `cpu` and
 * `load` (the 1-minute load average at the start of each run), one entry a run.
 */
async function rounds(cases, n) {
  for (const c of cases) Object.assign(c, { ms: [], cpu: [], load: [] });
  for (let round = 0; round < n; round++) {
    const order = round % 2 ? [...cases].reverse() : cases;
    for (const c of order) {
      if (round >= (c.rounds ?? n)) continue;
      const { ms, cpu, load } = await c.run();
      c.ms.push(ms);
      c.cpu.push(cpu);
      c.load.push(load);
    }
  }
  return cases;
}

/** The JSON report of a working copy without its generation time, to compare the two stores. */
async function reportJson(copy) {
  const file = path.join(copy.dir, 'report.json');
  await wall(reportArgv(file, 'json'), copy);
  const { generatedAt: _, ...report } = JSON.parse(await readFile(file, 'utf8'));
  return JSON.stringify(report);
}

/** Read, compute and render in this process: where the time of a warm report goes. */
async function phases(store) {
  const t0 = performance.now();
  const history = await readHistory(store, { since, until });
  const t1 = performance.now();
  const report = computeReport(history, { range: { since, until }, now: until });
  const t2 = performance.now();
  await renderHtml(report);
  const t3 = performance.now();
  const findings = history.inspections.reduce((n, s) => n + s.findings.length, 0);
  return { read: t1 - t0, compute: t2 - t1, render: t3 - t2, findings };
}

/** Loads the generated runs into the database as the PostgreSQL store holds them. */
async function loadDatabase(pg, database, runs, dir) {
  const csv = (v) => (v === null ? '' : `"${String(v).replaceAll('"', '""')}"`);
  const runRows = runs.map((r, i) =>
    [r.runId, 'apr-bench', i + 1, 'OPS-1', r.startedAt, r.startedAt, r.endedAt, 'ok']
      .concat([r.head, r.lines.length])
      .map(csv)
      .join(','),
  );
  const lineRows = runs.flatMap((r) =>
    r.lines.map((line, i) => [r.runId, i + 1, line, JSON.parse(line).hash].map(csv).join(',')),
  );
  await writeFile(path.join(dir, 'runs.csv'), `${runRows.join('\n')}\n`);
  await writeFile(path.join(dir, 'lines.csv'), `${lineRows.join('\n')}\n`);
  const psql = (command) =>
    execFileP('psql', ['-v', 'ON_ERROR_STOP=1', '-qAt', '-c', command], {
      env: { ...process.env, ...pg.env(database) },
      maxBuffer: 1 << 20,
    });
  await psql(
    `\\copy opsbook_runs (run_id, approval_id, run_number, ticket, started_at, journal_started_at, ended_at, status, head, event_count) from '${path.join(dir, 'runs.csv')}' with (format csv)`,
  );
  await psql(
    `\\copy opsbook_journal_lines (run_id, seq, line, hash) from '${path.join(dir, 'lines.csv')}' with (format csv)`,
  );
  await psql('vacuum analyze');
  return psql;
}

const loadBefore = loadavg();
const work = await mkdtemp(path.join(tmpdir(), 'opsbook-bench-report-'));
let pg;
try {
  pg = await startPostgres();
  const verdicts = [];
  for (const hosts of SIZES) verdicts.push(await measureSize(hosts));
  console.log(
    `\nnode ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average (1, 5, 15 min) ${[
      loadBefore,
      loadavg(),
    ]
      .map((ls) => ls.map((l) => l.toFixed(1)).join(' '))
      .join(' before, ')} after`,
  );
  const ok = verdicts.every(Boolean);
  console.log(
    `${ok ? 'PASS' : 'FAIL'}: warm opsbook report ≤ ${TARGET_MS / 1000} s end to end on both stores at every size (${SIZES.join(', ')} hosts × ${DAYS} days), same report from both`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await pg?.dispose();
  await rm(work, { recursive: true, force: true });
}

/** Every case at one fleet size, in interleaved rounds; prints its table; true when every row passes. */
async function measureSize(HOSTS) {
  const config = (extra = '') =>
    `apiVersion: opsbook/v1\nkind: Config\nstateDir: state\n${extra}`.trimEnd().concat('\n');
  const files = { dir: path.join(work, `files-${HOSTS}`), env: { OPSBOOK_DATABASE_URL: '' } };
  await mkdir(files.dir, { recursive: true });
  await writeFile(path.join(files.dir, 'opsbook.yaml'), config());
  const { runs, bytes } = await writeHistory(path.join(files.dir, 'state'), {
    hosts: HOSTS,
    days: DAYS,
    start,
  });
  const events = runs.reduce((n, r) => n + r.lines.length, 0);

  const database = `opsbook_bench_${HOSTS}`;
  await pg.psql(`create database ${database}`);
  const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${database}`;
  await migrateStateStore(url);
  const psql = await loadDatabase(pg, database, runs, work);
  const postgres = { dir: path.join(work, `pg-${HOSTS}`), env: { OPSBOOK_DATABASE_URL: url } };
  await mkdir(postgres.dir, { recursive: true });
  await writeFile(path.join(postgres.dir, 'opsbook.yaml'), config());

  const html = (copy) => path.join(copy.dir, 'health-report.html');
  const forgetFiles = () => rm(path.join(files.dir, 'state', 'findings'), { recursive: true });
  const forgetRows = () =>
    psql(
      'truncate opsbook_findings, opsbook_host_facts, opsbook_host_outcomes, opsbook_run_findings',
    );

  // The cold cases come first in the first round: until one has run, a store has no findings.
  const cases = await rounds(
    [
      {
        name: 'files, cold (summaries derived from the journals)',
        rounds: COLD_RUNS,
        run: async () => {
          await forgetFiles().catch(() => undefined);
          return wall(reportArgv(html(files)), files);
        },
      },
      {
        name: 'postgres, cold (findings derived from journal lines)',
        rounds: COLD_RUNS,
        floor: 'psql',
        run: async () => {
          await forgetRows();
          return wall(reportArgv(html(postgres)), postgres);
        },
      },
      { name: 'floor: node -e 0', run: () => wall([process.execPath, '-e', '0'], files) },
      {
        name: "floor: psql -c 'select count(*) from opsbook_findings'",
        floor: 'psql',
        run: () =>
          wall(['psql', '-qAt', '-c', 'select count(*) from opsbook_findings'], {
            env: pg.env(database),
          }),
      },
      {
        name: 'files, warm',
        target: TARGET_MS,
        run: () => wall(reportArgv(html(files)), files),
      },
      {
        name: 'postgres, warm',
        target: TARGET_MS,
        floor: 'psql',
        run: () => wall(reportArgv(html(postgres)), postgres),
      },
    ],
    RUNS,
  );
  const findingRows = Number((await psql('select count(*) from opsbook_findings')).stdout);
  const [fromFiles, fromPg] = [await reportJson(files), await reportJson(postgres)];
  const same = fromFiles === fromPg;
  if (!same) {
    const at = [...fromFiles].findIndex((c, i) => c !== fromPg[i]);
    console.log(
      `reports differ at ${at}:\n${fromFiles.slice(at - 150, at + 150)}\n${fromPg.slice(at - 150, at + 150)}`,
    );
  }
  const inFiles = await phases(filesStore(path.join(files.dir, 'state')));
  const pgStore = postgresStore({ url });
  const inPg = await phases(pgStore);
  await pgStore.close();
  await closeStateStores();

  const f = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const range = (xs) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
  const loads = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
  const floorOf = (c) =>
    median(
      cases.find((x) => x.name.startsWith(c.floor === 'psql' ? 'floor: psql' : 'floor: node')).ms,
    );
  console.log(
    `\n${HOSTS} hosts × ${DAYS} days: ${events} journal events, ${(bytes / 2 ** 20).toFixed(1)} MB of journals in ${runs.length} runs, ${findingRows} finding rows; opsbook report --format html -o FILE, end to end (fork to exit)\n`,
  );
  if (removedEnvNote()) console.log(`${removedEnvNote()}\n`);
  console.log(
    '| case | median | min–max | runs | ÷ floor | CPU (user+sys) median | load (1 min) | target | result |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|');
  let ok = same;
  for (const c of cases) {
    const verdict = c.target === undefined ? '' : median(c.ms) <= c.target ? 'PASS' : 'FAIL';
    if (verdict === 'FAIL') ok = false;
    console.log(
      `| ${c.name} | ${f(median(c.ms))} | ${range(c.ms)} | ${c.ms.length} | ${(median(c.ms) / floorOf(c)).toFixed(1)}× | ${f(median(c.cpu))} | ${loads(c.load)} | ${c.target === undefined ? '' : `≤ ${f(c.target)}`} | ${verdict} |`,
    );
  }
  console.log('\nin one process, warm (read findings → History / compute / render HTML):');
  for (const [name, p] of [
    ['files', inFiles],
    ['postgres', inPg],
  ]) {
    console.log(
      `  ${name.padEnd(9)} read ${p.read.toFixed(0)} ms, compute ${p.compute.toFixed(0)} ms, render ${p.render.toFixed(0)} ms (${p.findings} findings)`,
    );
  }
  console.log(`\nJSON reports of the two stores identical (but generatedAt): ${same}`);
  const htmlKiB = (await stat(html(files))).size / 1024;
  const { headline, charts } = JSON.parse(fromFiles);
  console.log(
    `HTML report ${htmlKiB.toFixed(0)} KiB; headline ${headline?.status ?? '(none)'} with ${headline?.urgent?.length ?? 0} urgent item(s); ${charts?.hosts?.length ?? 0} host(s) charted`,
  );
  return ok;
}
