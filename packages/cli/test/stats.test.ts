import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackTrace, userEnv } from './run-cli.js';
import {
  daysAgo as daysBefore,
  historySites,
  type JournaledRun,
  journalRun,
  runIdAt,
  workingCopy,
} from './stats-history.js';

/** One "now" for the whole history, so that a time the test expects is the one it journaled. */
const NOW = Date.now();
const daysAgo = (days: number) => daysBefore(days, NOW);

/*
 * opsbook stats through the built binary, over a run history journaled with @opsbook/state's own
 * journal (hash chain, ledger, recorded ends) at times the test chooses, so every number has a
 * known answer: per runbook version the runs, outcomes, failure rate, duration percentiles,
 * rollbacks and most-failed steps; the catalog's runbooks not run in 90 days; a tampered journal
 * left out. The same history in a files store and in PostgreSQL gives the same statistics.
 */

let root: string;
let pg: Postgres;
let files: string;
let team: string;

const step = (
  phase: JournaledRun['hosts'][string]['steps'][number]['phase'],
  id: string,
  status: 'ok' | 'failed' | 'timeout' | 'error' = 'ok',
) => ({ phase, step: id, status });
const okHost = { status: 'ok', steps: [step('prechecks', 'check'), step('steps', 'install')] };

/** config-rollout 1.0.0 four times (one failed, rolled back on both hosts), 1.1.0 twice, … */
function history(): JournaledRun[] {
  const rollout = (days: number, suffix: string, version: string, seconds: number) => ({
    runId: runIdAt(daysAgo(days), suffix),
    runbook: 'config-rollout',
    version,
    at: daysAgo(days),
    seconds,
  });
  return [
    { ...rollout(80, 'aaaaaa', '1.0.0', 60), status: 'ok', hosts: { h1: okHost, h2: okHost } },
    {
      ...rollout(70, 'bbbbbb', '1.0.0', 120),
      status: 'failed',
      hosts: {
        h1: {
          status: 'failed',
          rolledBack: true,
          steps: [
            step('steps', 'install'),
            step('steps', 'validate', 'failed'),
            step('rollback', 'restore'),
          ],
        },
        h2: {
          status: 'failed',
          rolledBack: true,
          steps: [
            step('steps', 'install'),
            step('steps', 'validate', 'timeout'),
            step('rollback', 'restore'),
          ],
        },
      },
    },
    { ...rollout(60, 'cccccc', '1.0.0', 30), status: 'ok', hosts: { h1: okHost } },
    { ...rollout(50, 'dddddd', '1.0.0', 90), status: 'ok', hosts: { h1: okHost } },
    { ...rollout(10, 'eeeeee', '1.1.0', 40), status: 'ok', hosts: { h1: okHost } },
    {
      ...rollout(5, 'ffffff', '1.1.0', 100),
      status: 'failed',
      hosts: {
        h1: { status: 'failed', rolledBack: true, steps: [step('steps', 'reload', 'failed')] },
      },
    },
    {
      runId: runIdAt(daysAgo(20), 'gggggg'),
      runbook: 'disk-cleanup',
      version: '1.0.0',
      at: daysAgo(20),
      seconds: 5,
      status: 'unreachable',
      hosts: { h1: { status: 'unreachable', steps: [] } },
    },
    {
      runId: runIdAt(daysAgo(1), 'hhhhhh'),
      runbook: 'disk-cleanup',
      version: '1.0.0',
      at: daysAgo(1),
      seconds: 0,
      status: null,
      hosts: { h1: { status: 'ok', steps: [step('steps', 'compress-old-logs')] } },
    },
    {
      runId: runIdAt(daysAgo(200), 'iiiiii'),
      runbook: 'service-restart',
      version: '1.0.0',
      at: daysAgo(200),
      seconds: 20,
      status: 'ok',
      hosts: { h1: okHost },
    },
  ];
}

const tamperedId = runIdAt(daysAgo(3), 'tamper');
/** The catalog: four shipped runbooks, one of which (data-restore) never ran. */
const RUNBOOKS = ['config-rollout', 'disk-cleanup', 'service-restart', 'data-restore'];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-stats-'));
  pg = await startPostgres();
  const sites = await historySites({
    root,
    pg,
    db: 'cli_stats',
    runbooks: RUNBOOKS,
    runs: history(),
  });
  ({ files, team } = sites);
  // One more run whose journal is edited afterwards: it must be left out, and named.
  await journalRun(sites.local, {
    runId: tamperedId,
    runbook: 'disk-cleanup',
    version: '1.0.0',
    at: daysAgo(3),
    seconds: 9,
    status: 'failed',
    hosts: { h1: { status: 'failed', steps: [step('steps', 'compress-old-logs', 'failed')] } },
  });
  const journal = path.join(files, '.opsbook', 'runs', `${tamperedId}.jsonl`);
  await writeFile(
    journal,
    (await readFile(journal, 'utf8')).replace('"status":"failed"', '"status":"ok"'),
  );
});

afterAll(async () => {
  await pg?.dispose();
  await rm(root, { recursive: true, force: true });
});

const env = () => userEnv({ OPSBOOK_DATABASE_URL: '', PGPASSWORD: pg.password });

async function statsJson(dir: string, args: string[] = []) {
  const r = await runCli(['stats', '--json', ...args], { cwd: dir, env: env() });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe('opsbook stats', () => {
  it('gives per runbook version the runs, outcomes, failure rate, durations, rollbacks and failing steps', async () => {
    const stats = await statsJson(files);
    expect(stats.kind).toBe('RunbookStats');
    expect(stats.store.kind).toBe('files');
    expect(
      stats.runbooks.map((r: { runbook: string; version: string }) => `${r.runbook}@${r.version}`),
    ).toEqual(['config-rollout@1.1.0', 'config-rollout@1.0.0', 'disk-cleanup@1.0.0']);
    const [v11, v10, cleanup] = stats.runbooks;
    expect(v10).toMatchObject({
      runs: 4,
      outcomes: { ok: 3, failed: 1, unreachable: 0, interrupted: 0, incomplete: 0 },
      failureRate: 0.25,
      // 30, 60, 90, 120 s: nearest rank p50 is the 2nd, p90 the 4th.
      durationMs: { p50: 60_000, p90: 120_000, max: 120_000 },
      rollbacks: { runs: 1, hosts: 2 },
      failedSteps: [{ phase: 'steps', step: 'validate', failures: 2, timeouts: 1, runs: 1 }],
    });
    expect(v11).toMatchObject({
      runs: 2,
      failureRate: 0.5,
      durationMs: { p50: 40_000, p90: 100_000, max: 100_000 },
      rollbacks: { runs: 1, hosts: 1 },
      failedSteps: [{ phase: 'steps', step: 'reload', failures: 1, timeouts: 0, runs: 1 }],
    });
    expect(cleanup).toMatchObject({
      runs: 2,
      outcomes: { ok: 0, failed: 0, unreachable: 1, interrupted: 0, incomplete: 1 },
      failureRate: 0,
      durationMs: { p50: 5000, p90: 5000, max: 5000 },
      failedSteps: [],
    });
    expect(stats.totals).toEqual({ runs: 8, runbooks: 2, failed: 2, rolledBack: 2 });
  });

  it('lists the catalog runbooks not run in 90 days, and leaves out a journal that does not verify', async () => {
    const stats = await statsJson(files);
    expect(stats.idle).toEqual([
      { runbook: 'data-restore', lastRunAt: null },
      { runbook: 'service-restart', lastRunAt: daysAgo(200).toISOString() },
    ]);
    expect(stats.leftOut).toHaveLength(1);
    expect(stats.leftOut[0].runId).toBe(tamperedId);
    expect(stats.leftOut[0].reason).toMatch(/does not verify/);
  });

  it('narrows to one runbook and a shorter range', async () => {
    const stats = await statsJson(files, ['--runbook', 'config-rollout', '--since', '30d']);
    expect(
      stats.runbooks.map((r: { version: string; runs: number }) => [r.version, r.runs]),
    ).toEqual([['1.1.0', 2]]);
    expect(stats.idle).toEqual([]);
    const longIdle = await statsJson(files, ['--idle', '365d']);
    expect(longIdle.idle).toEqual([{ runbook: 'data-restore', lastRunAt: null }]);
  });

  it('writes Markdown for a review ticket', async () => {
    const r = await runCli(['stats'], { cwd: files, env: env() });
    expect(r.code).toBe(0);
    const md = r.stdout;
    expect(md).toMatch(/^## Runbook usage \d{4}-\d\d-\d\d – \d{4}-\d\d-\d\d$/m);
    expect(md).toContain('8 runs of 2 runbooks in 90 days (files store): 2 failed, 2 rolled back.');
    expect(md).toContain(
      '| config-rollout | 1.0.0 | 4 | 1 | 25 % | 1 m 0 s | 2 m 0 s | 2 m 0 s | 1 (2 hosts) |',
    );
    expect(md).toContain(
      '| config-rollout | 1.1.0 | 2 | 1 | 50 % | 40 s | 1 m 40 s | 1 m 40 s | 1 (1 host) |',
    );
    expect(md).toContain('Not counted as failed: `disk-cleanup` 1.0.0 1 unreachable, 1 not ended.');
    expect(md).toContain('| config-rollout | 1.0.0 | steps.validate | 2 | 1 | 1 |');
    expect(md).toContain('- `data-restore`: never run');
    expect(md).toMatch(/- `service-restart`: last run \d{4}-\d\d-\d\d \(200 days ago\)/);
    expect(md).toContain(`- run \`${tamperedId}\`: its journal does not verify`);
  });

  it('gives the same statistics from the team PostgreSQL store', async () => {
    const fromFiles = await statsJson(files);
    const fromPg = await statsJson(team);
    expect(fromPg.store.kind).toBe('postgres');
    expect(fromPg.runbooks).toEqual(fromFiles.runbooks);
    expect(fromPg.idle).toEqual(fromFiles.idle);
    expect(fromPg.leftOut).toEqual([]);
  });

  it('refuses a bad --since, --idle or --format as a usage error, without a stack trace', async () => {
    for (const args of [
      ['--since', 'yesterday'],
      ['--idle', '3w'],
      ['--format', 'html'],
    ]) {
      const r = await runCli(['stats', ...args], { cwd: files, env: env() });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).not.toMatch(stackTrace);
    }
  });

  it('refuses a --runbook that is neither in the catalog nor in the history, with a guess (no false "every runbook ran")', async () => {
    const r = await runCli(['stats', '--runbook', 'config-rolout'], { cwd: files, env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: --runbook config-rolout: no runbook of that name in this repository's catalog, and no run of it since \d{4}-\d\d-\d\d: did you mean 'config-rollout'\?\n/,
    );
    expect(r.stdout).toBe('');
  });

  it('says there is nothing yet in an empty state store', async () => {
    const empty = await workingCopy(path.join(root, 'empty'), RUNBOOKS);
    const r = await runCli(['stats'], { cwd: empty, env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No run in these 90 days (files store).');
    expect(r.stdout).toContain('- `config-rollout`: never run');
    expect(await readdir(path.join(empty, 'runbooks'))).toHaveLength(4);
  });
});
