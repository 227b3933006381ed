import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filesStore, migrateStateStore, postgresStore, type StateStore } from '@opsbook/state';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectRun } from './inspection-history.js';
import { runCli, stackTrace, userEnv } from './run-cli.js';

/*
 * opsbook report through the built binary: formats, time range, host and group filters, a user's
 * mistake (exit 2, no stack trace), and the same report from the files store and from
 * PostgreSQL for the same runs.
 */

let root: string;
let pg: Postgres;
/** Working copies: one on the files store, one on PostgreSQL; same runs, same inventory. */
let files: string;
let team: string;
const teamEnv = () => ({ OPSBOOK_DATABASE_URL: '', PGPASSWORD: pg.password });

const inventory = [
  'all:',
  '  children:',
  '    web: {hosts: {web-1: {ansible_host: 127.0.0.2}, web-2: {ansible_host: 127.0.0.3}}}',
  '    db: {hosts: {db-1: {ansible_host: 127.0.0.4}}}',
  '',
].join('\n');

const disk = (host: string, pct: number) => ({
  host,
  check: 'inspection.disk',
  subject: '/',
  status: pct >= 90 ? 'crit' : pct >= 80 ? 'warn' : 'ok',
  value: pct,
  threshold: 80,
  unit: '%',
  message: `/ is ${pct}% full`,
});

/** Three daily inspections: web-1 filling its disk, web-2 steady, db-1 unreachable on day 2. */
async function inspectDays(store: StateStore): Promise<void> {
  for (const d of [1, 2, 3]) {
    await inspectRun(store, `2025030${d}-060000-day${d}`, `2025-03-0${d}T06:00:00Z`, {
      'web-1': [disk('web-1', 70 + 10 * d)],
      'web-2': [disk('web-2', 40)],
      'db-1': d === 2 ? 'unreachable' : [disk('db-1', 55)],
    });
  }
}

async function workingCopy(name: string, config: string): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir);
  await writeFile(
    path.join(dir, 'opsbook.yaml'),
    `apiVersion: opsbook/v1\nkind: Config\ninventory: inventory.yaml\n${config}`,
  );
  await writeFile(path.join(dir, 'inventory.yaml'), inventory);
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-report-'));
  pg = await startPostgres();
  await pg.psql('create database cli_report');
  const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/cli_report`;
  await migrateStateStore(url);

  files = await workingCopy('files', '');
  const local = filesStore(path.join(files, '.opsbook'));
  await inspectDays(local);
  await local.close();

  // The password stays out of opsbook.yaml: PGPASSWORD gives it, as a team would.
  team = await workingCopy(
    'team',
    `state:\n  kind: postgres\n  url: postgres://${pg.user}@${pg.host}:${pg.port}/cli_report\n`,
  );
  const shared = postgresStore({ url });
  await inspectDays(shared);
  await shared.close();
});

afterAll(async () => {
  await pg?.dispose();
  await rm(root, { recursive: true, force: true });
});

const range = ['--since', '2025-03-01', '--until', '2025-03-03'];

async function report(dir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(['report', ...args], {
    cwd: dir,
    env: userEnv({ OPSBOOK_DATABASE_URL: '', ...env }),
  });
}

/** The JSON report of a working copy, without the time it was made. */
async function reportJson(dir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = await report(dir, ['--format', 'json', ...range, ...args], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const { generatedAt: _, ...rest } = JSON.parse(r.stdout);
  return rest;
}

describe('opsbook report', () => {
  it('writes the JSON report of the runs in the range to stdout', async () => {
    const json = await reportJson(files, []);
    expect(json.kind).toBe('HealthReport');
    expect(json.range).toEqual({
      since: '2025-03-01T00:00:00.000Z',
      until: '2025-03-03T23:59:59.999Z',
    });
    expect(json.days).toEqual(['2025-03-01', '2025-03-02', '2025-03-03']);
    expect(json.hosts.map((h: { host: string; groups: string[] }) => [h.host, h.groups])).toEqual([
      ['db-1', ['db']],
      ['web-1', ['web']],
      ['web-2', ['web']],
    ]);
    // web-1 ended at 100 % (crit); it was 90 % (crit) on day 2, so it is not new since then.
    expect(json.environment.counts).toEqual({ ok: 2, warn: 0, crit: 1, unknown: 0 });
    expect(json.findings[0]).toMatchObject({ host: 'web-1', status: 'crit', value: 100 });
    expect(json.groups.map((g: { group: string }) => g.group).sort()).toEqual(['db', 'web']);
  });

  it('writes Markdown to stdout, and HTML to the file -o names', async () => {
    const md = await report(files, ['--format', 'md', ...range]);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^#/);
    expect(md.stdout).toContain('web-1');
    expect(md.stdout).not.toContain('<html');
    const out = path.join(root, 'out', 'report.html');
    const html = await report(files, [...range, '-o', out]);
    expect(html.code).toBe(0);
    expect(html.stdout.trim()).toBe(out);
    // The headline first (web-1's disk is crit), then the numbers.
    expect(html.stderr).toMatch(
      /^URGENT: web-1 inspection\.disk \/ is critical: \/ is 100% full\.[^\n]*\nscore \d/,
    );
    expect(await readFile(out, 'utf8')).toMatch(/^<!doctype html>/i);
  });

  it('starts from dist/report.js with the code cache the build made for it (no ES module chunk)', async () => {
    // A preloaded probe notes each script bin.js compiles through vm.Script, whether V8 took its
    // cache, and how many of Node's ES module loader's modules were loaded.
    const probe = path.join(root, 'report-probe.cjs');
    await writeFile(
      probe,
      `const vm = require('node:vm');
const Script = vm.Script;
const seen = [];
vm.Script = class extends Script {
  constructor(source, options) {
    super(source, options);
    seen.push({ file: require('node:path').basename(options.filename), cached: options.cachedData !== undefined && !this.cachedDataRejected });
  }
};
process.on('exit', () => process.stderr.write('PROBE ' + JSON.stringify({ seen, esm: process.moduleLoadList.filter((m) => m.includes('/esm/')).length }) + '\\n'));
`,
    );
    const out = path.join(root, 'out', 'probed.html');
    const r = await runCli(['report', ...range, '-o', out], {
      cwd: files,
      env: { ...teamEnv(), NODE_OPTIONS: `--require ${probe}` },
    });
    expect(r.code, r.stderr).toBe(0);
    const line = /^PROBE (.*)$/m.exec(r.stderr);
    expect(line, r.stderr).not.toBeNull();
    const probed = JSON.parse(line![1]!) as { seen: unknown[]; esm: number };
    expect(probed.seen).toEqual([{ file: 'report.js', cached: true }]);
    // The same probe on a command of the ES module build (journal list) sees its loader load
    // a dozen modules; the cached bundle only the few that vm.Script itself brings.
    const esm = await runCli(['journal', 'list'], {
      cwd: files,
      env: { ...teamEnv(), NODE_OPTIONS: `--require ${probe}` },
    });
    const esmProbed = JSON.parse(/^PROBE (.*)$/m.exec(esm.stderr)![1]!) as { esm: number };
    expect(probed.esm).toBeLessThan(esmProbed.esm);
    expect(await readFile(out, 'utf8')).toMatch(/^<!doctype html>/i);
  });

  it('reads only the runs in --since … --until', async () => {
    const day2 = await reportJson(files, ['--since', '2025-03-02', '--until', '2025-03-02']);
    expect(day2.days).toEqual(['2025-03-02']);
    // db-1 did not answer on day 2: no findings in the range.
    expect(day2.hosts.map((h: { host: string; state: string }) => [h.host, h.state])).toEqual([
      ['db-1', 'unreachable'],
      ['web-1', 'reporting'],
      ['web-2', 'reporting'],
    ]);
    const iso = await reportJson(files, [
      '--since',
      '2025-03-03T00:00:00Z',
      '--until',
      '2025-03-03T23:00:00Z',
    ]);
    expect(iso.days).toEqual(['2025-03-03']);
  });

  it('narrows the report to --host and to the hosts of --group', async () => {
    const host = await reportJson(files, ['--host', 'web-1']);
    expect(host.hosts.map((h: { host: string }) => h.host)).toEqual(['web-1']);
    const group = await reportJson(files, ['--group', 'db']);
    expect(group.hosts.map((h: { host: string }) => h.host)).toEqual(['db-1']);
    const both = await reportJson(files, ['--group', 'db', '--host', 'web-2']);
    expect(both.hosts.map((h: { host: string }) => h.host)).toEqual(['db-1', 'web-2']);
  });

  it.each([
    [['--format', 'pdf'], /--format "pdf" is not one of html, md, json/],
    [['--since', 'last tuesday'], /--since/],
    [['--since', '2025-03-03', '--until', '2025-03-01'], /is before --since/],
    [['--group', 'nope'], /no group "nope" in the inventory/],
  ])('refuses %j with exit 2 and no stack trace', async (args, message) => {
    const r = await report(files, args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.stdout).toBe('');
  });

  it('gives the same report from PostgreSQL as from the files store for the same runs', async () => {
    for (const args of [[], ['--group', 'web'], ['--since', '2025-03-02']]) {
      const fromFiles = await reportJson(files, args);
      const fromTeam = await reportJson(team, args, teamEnv());
      expect(fromTeam).toEqual(fromFiles);
    }
    expect(await pg.psql('select count(summary) from opsbook_run_findings', 'cli_report')).toBe(
      '3\n',
    );
  });
});
