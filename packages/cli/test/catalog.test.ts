import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
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
} from './stats-history.js';

/*
 * opsbook catalog through the built binary (issue #20 item 5): index.html and catalog.md of the
 * shipped runbooks, each version with its CHANGELOG entry and the approvals and runs that used
 * it, read from a history journaled with @opsbook/state (hash chain, ledger, recorded ends) in a
 * files store and in PostgreSQL, which give the same catalog; a tampered journal is left out and
 * named. The page itself is checked in Chromium by @opsbook/curation's tests.
 */

const NOW = Date.now();
const daysAgo = (days: number) => daysBefore(days, NOW);

let root: string;
let pg: Postgres;
let files: string;
let team: string;

const ok = {
  status: 'ok',
  steps: [{ phase: 'steps' as const, step: 'install', status: 'ok' as const }],
};
const rolloutAt = (days: number, suffix: string) => runIdAt(daysAgo(days), suffix);

/** config-rollout: 0.9.0 once (a version gone from its CHANGELOG), 1.0.0 three times under two approvals. */
function history(): JournaledRun[] {
  const run = (
    days: number,
    suffix: string,
    version: string,
    approval: string,
    ticket: string,
  ) => ({
    runId: rolloutAt(days, suffix),
    runbook: 'config-rollout',
    version,
    at: daysAgo(days),
    seconds: 30,
    status: 'ok' as const,
    hosts: { h1: ok, h2: ok },
    approval: { id: approval, signers: ['alice', 'bob'], maxRuns: 5 },
    ticket,
    executor: 'carol',
    digest: `sha256:${version.replace(/\./g, '').padEnd(64, '0')}`,
  });
  return [
    run(40, 'aaaaaa', '0.9.0', 'apr-0001', 'OPS-1'),
    run(30, 'bbbbbb', '1.0.0', 'apr-0002', 'OPS-2'),
    { ...run(20, 'cccccc', '1.0.0', 'apr-0002', 'OPS-2'), status: 'failed' as const },
    run(10, 'dddddd', '1.0.0', 'apr-0003', 'OPS-3'),
  ];
}

const tamperedId = rolloutAt(5, 'tamper');

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-catalog-'));
  pg = await startPostgres();
  const sites = await historySites({
    root,
    pg,
    db: 'cli_catalog',
    // disk-full-recovery composes disk-cleanup and service-restart (docs/composition.md).
    runbooks: [
      'config-rollout',
      'disk-cleanup',
      'daily-inspection',
      'disk-full-recovery',
      'service-restart',
    ],
    runs: history(),
  });
  ({ files, team } = sites);
  await journalRun(sites.local, { ...history()[3]!, runId: tamperedId, at: daysAgo(5) });
  const journal = path.join(files, '.opsbook', 'runs', `${tamperedId}.jsonl`);
  await writeFile(journal, (await readFile(journal, 'utf8')).replace('"carol"', '"mallory"'));
});

afterAll(async () => {
  await pg?.dispose();
  await rm(root, { recursive: true, force: true });
});

const env = () => userEnv({ OPSBOOK_DATABASE_URL: '', PGPASSWORD: pg.password });

interface CatalogDoc {
  files: string[];
  catalog: {
    store: { kind: string };
    runbooks: Array<{
      name: string;
      version: string;
      runs: number;
      composes: Array<{ name: string; range: string; isKnown: boolean }>;
      composedBy: string[];
      versions: Array<{
        version: string;
        isCurrent: boolean;
        changes: string[];
        approvals: Array<{
          id: string;
          tickets: string[];
          signers: string[];
          runs: number;
          maxRuns: number;
        }>;
        runs: Array<{ runId: string; status: string; executor: string }>;
      }>;
    }>;
    leftOut: Array<{ runId: string; reason: string }>;
  };
}

async function catalogJson(dir: string, out: string): Promise<CatalogDoc> {
  const r = await runCli(['catalog', '--out', out, '--json'], { cwd: dir, env: env() });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as CatalogDoc;
}

describe('opsbook catalog', () => {
  it('writes index.html and catalog.md of every runbook, with the approvals and runs of each version', async () => {
    const doc = await catalogJson(files, 'site');
    expect(doc.files).toEqual([
      path.join(files, 'site', 'index.html'),
      path.join(files, 'site', 'catalog.md'),
    ]);
    expect(doc.catalog.store.kind).toBe('files');
    expect(doc.catalog.runbooks.map((r) => r.name)).toEqual([
      'config-rollout',
      'daily-inspection',
      'disk-cleanup',
      'disk-full-recovery',
      'service-restart',
    ]);
    const rollout = doc.catalog.runbooks[0]!;
    expect(rollout.runs).toBe(4);
    expect(rollout.versions.map((v) => [v.version, v.isCurrent, v.runs.length])).toEqual([
      ['1.0.1', true, 0],
      ['1.0.0', false, 3],
      ['0.9.0', false, 1],
    ]);
    // The shipped runbook is at 1.0.1 now; the history's runs used 1.0.0 and 0.9.0.
    const [, current, old] = rollout.versions;
    expect(current!.changes).toEqual(['First version of the config-rollout runbook.']);
    expect(current!.approvals).toEqual([
      { id: 'apr-0003', tickets: ['OPS-3'], signers: ['alice', 'bob'], maxRuns: 5, runs: 1 },
      { id: 'apr-0002', tickets: ['OPS-2'], signers: ['alice', 'bob'], maxRuns: 5, runs: 2 },
    ]);
    expect(current!.runs.map((r) => [r.runId, r.status, r.executor])).toEqual([
      [rolloutAt(10, 'dddddd'), 'ok', 'carol'],
      [rolloutAt(20, 'cccccc'), 'failed', 'carol'],
      [rolloutAt(30, 'bbbbbb'), 'ok', 'carol'],
    ]);
    expect(old!.approvals.map((a) => a.id)).toEqual(['apr-0001']);
    // The tampered journal is named, not counted.
    expect(doc.catalog.leftOut).toEqual([
      { runId: tamperedId, reason: expect.stringMatching(/^its journal does not verify/) },
    ]);

    // The composite links the runbooks it runs, and they name it.
    const byName = new Map(doc.catalog.runbooks.map((r) => [r.name, r]));
    expect(byName.get('disk-full-recovery')?.composes).toEqual([
      { name: 'disk-cleanup', range: '^1.0.0', isKnown: true },
      { name: 'service-restart', range: '^1.0.0', isKnown: true },
    ]);
    expect(byName.get('disk-cleanup')?.composedBy).toEqual(['disk-full-recovery']);

    const html = await readFile(doc.files[0]!, 'utf8');
    expect(html).toContain(
      'runs runbook <a href="#runbook-service-restart">service-restart</a> <code>@^1.0.0</code>',
    );
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain(
      '<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;',
    );
    expect(html.match(/<script[\s>]/g)).toHaveLength(1);
    expect(html).toContain('id="runbook-config-rollout"');
    expect(html).toContain('<code>apr-0002</code>');
    const md = await readFile(doc.files[1]!, 'utf8');
    expect(md).toContain('## config-rollout');
    expect(md).toContain('#### 0.9.0');
    expect(md).toContain(`| \`${rolloutAt(20, 'cccccc')}\` | OPS-2 | failed |`);
    expect((await stat(doc.files[0]!)).mode & 0o777).toBe(0o644);
  });

  it('gives the same catalog from the team PostgreSQL store', async () => {
    const fromFiles = await catalogJson(files, 'site');
    const fromTeam = await catalogJson(team, 'site');
    expect(fromTeam.catalog.store.kind).toBe('postgres');
    const versions = (d: CatalogDoc) =>
      d.catalog.runbooks.map((r) => ({ name: r.name, versions: r.versions }));
    expect(versions(fromTeam)).toEqual(versions(fromFiles));
    expect(fromTeam.catalog.leftOut).toEqual([]);
  });

  it('says what it wrote, names what it left out, and refuses an empty --title', async () => {
    const r = await runCli(['catalog', '--out', 'public', '--title', 'Ops runbooks'], {
      cwd: files,
      env: env(),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      '✓ 5 runbooks, 4 runs from the files state store\n  public/index.html\n  public/catalog.md\n',
    );
    expect(r.stderr).toContain(`run ${tamperedId} left out: its journal does not verify`);
    expect(await readFile(path.join(files, 'public', 'index.html'), 'utf8')).toContain(
      '<title>Ops runbooks</title>',
    );
    const bad = await runCli(['catalog', '--title', ' '], { cwd: files, env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--title is empty');
    expect(bad.stderr).not.toMatch(stackTrace);
    const help = await runCli(['catalog', '--help']);
    expect(help.stdout).toContain('index.html');
    expect(help.stdout).toContain('file://');
  });
});
