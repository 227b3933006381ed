import { access, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filesStore, migrateStateStore, postgresStore } from '@opsbook/state';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectRun } from './inspection-history.js';
import { runCli, stackTrace, userEnv } from './run-cli.js';

/*
 * The attack the other views' test (ledger-damaged-views) does not reach: every run's findings
 * summary is already kept, so opsbook report needs no ledger line to build the report, and a
 * damaged line went unsaid (exit 0, no ledgerDamage) where runs list, stats and catalog warn.
 * PostgreSQL keeps the same summaries, and its ledger rows cannot be half written: its report
 * stays whole, as its runs list does.
 */

let dir: string;
const RUNS = ['20250301-060000-day1', '20250302-060000-day2'];
const range = ['--since', '2025-03-01', '--until', '2025-03-31'];

const cli = (...args: string[]) =>
  runCli(args, { cwd: dir, env: userEnv({ OPSBOOK_DATABASE_URL: '' }) });
const ledger = () => path.join(dir, '.opsbook', 'ledger.jsonl');

const disk = (pct: number) => ({
  host: 'web-1',
  check: 'inspection.disk',
  subject: '/',
  status: pct >= 90 ? 'crit' : pct >= 80 ? 'warn' : 'ok',
  value: pct,
  threshold: 80,
  unit: '%',
  message: `/ is ${pct}% full`,
});

/** What the report says, without where it was written. */
interface ReportJson {
  summary: { reporting: number; hosts: number; warn: number };
  ledgerDamage?: { file: string; line: number }[];
}

let before: ReportJson;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-report-ledger-damaged-'));
  await writeFile(path.join(dir, 'opsbook.yaml'), 'apiVersion: opsbook/v1\nkind: Config\n');
  const store = filesStore(path.join(dir, '.opsbook'));
  for (const [i, runId] of RUNS.entries())
    await inspectRun(store, runId, `2025-03-0${i + 1}T06:00:00Z`, {
      'web-1': [disk(75 + 10 * i)],
    });
  await store.close();
  const whole = await cli('report', ...range, '--format', 'json', '-o', 'before.json', '--json');
  expect(whole.code).toBe(0);
  before = JSON.parse(whole.stdout) as ReportJson;
  expect(before.ledgerDamage).toBeUndefined();
  // Every run's findings summary is kept: the report reads no journal and no ledger line.
  expect((await readdir(path.join(dir, '.opsbook', 'findings'))).sort()).toEqual(
    RUNS.map((r) => `${r}.json`),
  );
  // A line damaged in place (a disk error, a bad edit): the first run's end, its pin.
  const lines = (await readFile(ledger(), 'utf8')).split('\n');
  lines[1] = '{"type":"run-end", "runId": oops';
  await writeFile(ledger(), lines.join('\n'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('opsbook report over a damaged ledger line when every run has its findings kept', () => {
  const warning = (stderr: string) => {
    expect(stderr).toContain(`${ledger()}:2:1:`);
    expect(stderr).toMatch(/restore the ledger from a backup/);
    expect(stderr).toMatch(/opsbook doctor/);
    expect(stderr).not.toMatch(stackTrace);
  };

  it('writes the report, warns with file:line and exits 2', async () => {
    const report = path.join(dir, 'report.html');
    const r = await cli('report', ...range, '-o', report);
    expect(r.code).toBe(2);
    warning(r.stderr);
    expect(r.stdout.trim()).toBe(report);
    await access(report);
    expect(await readFile(report, 'utf8')).toContain('web-1');
  });

  it('adds ledgerDamage to --json, and the report is the one the whole ledger gave', async () => {
    const r = await cli('report', ...range, '--format', 'json', '-o', 'after.json', '--json');
    expect(r.code).toBe(2);
    warning(r.stderr);
    const shown = JSON.parse(r.stdout) as ReportJson;
    expect(shown.ledgerDamage).toEqual([expect.objectContaining({ file: ledger(), line: 2 })]);
    expect(shown.summary).toEqual(before.summary);
    expect(shown.summary).toMatchObject({ reporting: 1, hosts: 1, warn: 1 });
  });

  it('answers as runs list does over the same ledger', async () => {
    const runs = await cli('runs', 'list', '--json');
    const report = await cli('report', ...range, '--format', 'md');
    expect(report.code).toBe(runs.code);
    expect(report.stdout).toContain('web-1');
    warning(report.stderr);
  });
});

describe('opsbook report from PostgreSQL when every run has its findings kept', () => {
  let pg: Postgres;
  let team: string;

  beforeAll(async () => {
    pg = await startPostgres();
    await pg.psql('create database report_ledger');
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/report_ledger`;
    await migrateStateStore(url);
    team = await mkdtemp(path.join(tmpdir(), 'opsbook-report-ledger-team-'));
    // The password stays out of opsbook.yaml: PGPASSWORD gives it, as a team would.
    await writeFile(
      path.join(team, 'opsbook.yaml'),
      `apiVersion: opsbook/v1\nkind: Config\nstate:\n  kind: postgres\n  url: postgres://${pg.user}@${pg.host}:${pg.port}/report_ledger\n`,
    );
    const store = postgresStore({ url });
    for (const [i, runId] of RUNS.entries())
      await inspectRun(store, runId, `2025-03-0${i + 1}T06:00:00Z`, {
        'web-1': [disk(75 + 10 * i)],
      });
    await store.close();
  });

  afterAll(async () => {
    await pg?.dispose();
    if (team) await rm(team, { recursive: true, force: true });
  });

  it('reads no ledger damage there: the same report, no warning, exit 0, as runs list', async () => {
    const env = userEnv({ OPSBOOK_DATABASE_URL: '', PGPASSWORD: pg.password });
    const teamCli = (...args: string[]) => runCli(args, { cwd: team, env });
    const r = await teamCli('report', ...range, '--format', 'json', '-o', 'team.json', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const shown = JSON.parse(r.stdout) as ReportJson;
    expect(shown.ledgerDamage).toBeUndefined();
    expect(shown.summary).toEqual(before.summary);
    const runs = await teamCli('runs', 'list', '--json');
    expect(runs.code).toBe(0);
    expect(JSON.parse(runs.stdout).ledgerDamage).toBeUndefined();
  });
});
