import { readdir } from 'node:fs/promises';
import path from 'node:path';
import {
  filesStore,
  findingsPath,
  migrateStateStore,
  postgresStore,
  type StateStore,
} from '@opsbook/state';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHealthReport, type HealthReport } from '../src/index.js';
import { type FixtureRun, writeRuns } from './journal-fixture.js';

/*
 * The report reads a state store's findings: the same runs give the same report from the files
 * store and from PostgreSQL, and a state dir from before findings were kept reports as it did.
 */

const now = new Date('2025-03-06T00:00:00Z');
const since = new Date('2025-03-01T00:00:00Z');
let pg: Postgres;
let temp: { dir: string; remove: () => Promise<void> };
let databases = 0;

beforeAll(async () => {
  pg = await startPostgres();
  temp = await makeTempDir('opsbook-health-store-');
});
afterAll(async () => {
  await pg?.dispose();
  await temp?.remove();
});

const load = (host: string, value: number) => ({
  check: 'inspection.load',
  subject: 'load15',
  status: value > 1.5 ? ('warn' as const) : ('ok' as const),
  value,
  threshold: 1.5,
  unit: 'per-core',
  message: `load per core ${value}`,
  host,
});
const disk = (host: string, pct: number) => ({
  check: 'inspection.disk',
  subject: '/',
  status: pct >= 90 ? ('crit' as const) : pct >= 80 ? ('warn' as const) : ('ok' as const),
  value: pct,
  threshold: 80,
  unit: '%',
  message: `/ is ${pct}% full`,
  host,
});

/** Four daily runs: web-1 filling its disk, web-2 busy, db-1 answering only twice. */
const days: FixtureRun[] = [1, 2, 3, 4].map((d) => ({
  runId: `2025030${d}-060000-day${d}`,
  at: `2025-03-0${d}T06:00:00Z`,
  hosts: [
    { host: 'web-1', findings: [disk('web-1', 70 + 6 * d), load('web-1', 0.3)] },
    { host: 'web-2', findings: [disk('web-2', 40), load('web-2', 1 + d / 4)] },
    d % 2 ? { host: 'db-1', findings: [disk('db-1', 55)] } : { host: 'db-1' },
  ],
}));

/** Journals `runs` through a store's own API, as the runner does, and records their findings. */
async function journalRuns(store: StateStore, runs: readonly FixtureRun[]): Promise<void> {
  for (const run of runs) {
    let t = Date.parse(run.at) - 1000;
    const clock = () => {
      t += 1000;
      return new Date(t);
    };
    await store.claimRun({
      approvalId: `apr-${run.runId}`,
      maxRuns: 1,
      runId: run.runId,
      ticket: 'OPS-1',
    });
    const journal = await store.createJournal(run.runId, { clock });
    await journal.append({
      type: 'run-start',
      runbook: { name: 'daily-inspection', version: '1.0.0' },
      hosts: run.hosts.map((h) => h.host),
    });
    for (const h of run.hosts) {
      if (!h.findings) {
        await journal.append({ type: 'host-end', host: h.host, status: 'unreachable' });
        continue;
      }
      for (const f of h.findings) {
        await journal.append({
          type: 'step-end',
          host: h.host,
          step: f.check,
          status: 'ok',
          uses: f.check,
          result: { findings: [{ ...f, host: h.host }] },
        });
      }
      await journal.append({ type: 'host-end', host: h.host, status: 'ok' });
    }
    await journal.append({ type: 'run-end', status: 'ok', hosts: {} });
    await journal.close();
    await store.recordRunEnd({
      runId: run.runId,
      head: journal.head,
      count: journal.count,
      status: 'ok',
    });
    await store.recordFindings(run.runId);
  }
}

async function postgresWith(runs: readonly FixtureRun[]): Promise<StateStore> {
  const name = `health_${process.pid}_${++databases}`;
  await pg.psql(`create database ${name}`);
  const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${name}`;
  await migrateStateStore(url);
  const store = postgresStore({ url });
  await journalRuns(store, runs);
  return store;
}

const report = (store: StateStore, options: { until?: Date; hosts?: string[] } = {}) =>
  buildHealthReport({
    store,
    since,
    now,
    inventory: { 'web-1': ['web'], 'web-2': ['web'], 'db-1': ['db'] },
    ...options,
  });

describe('the health report from a state store', () => {
  it('is the same from the PostgreSQL store as from the files store for the same runs', async () => {
    const files = filesStore(path.join(temp.dir, 'same-runs'));
    await journalRuns(files, days);
    const postgres = await postgresWith(days);
    try {
      const fromFiles = await report(files);
      expect(fromFiles.hosts.map((h) => [h.host, h.state, h.score])).toEqual([
        ['db-1', 'reporting', 100],
        ['web-1', 'reporting', 25],
        ['web-2', 'reporting', 90],
      ]);
      expect(fromFiles.days).toEqual(['2025-03-01', '2025-03-02', '2025-03-03', '2025-03-04']);
      expect(await report(postgres)).toEqual(fromFiles);
      const narrowed = { until: new Date('2025-03-02T23:59:59Z'), hosts: ['web-1', 'db-1'] };
      expect(await report(postgres, narrowed)).toEqual(await report(files, narrowed));
    } finally {
      await postgres.close();
    }
  });

  it('narrows to the hosts and the range asked for', async () => {
    const files = filesStore(path.join(temp.dir, 'filters'));
    await journalRuns(files, days);
    const r = await report(files, { hosts: ['web-1'], until: new Date('2025-03-02T23:59:59Z') });
    expect(r.hosts.map((h) => h.host)).toEqual(['web-1']);
    expect(r.days).toEqual(['2025-03-01', '2025-03-02']);
    expect(r.findings.map((f) => [f.host, f.check, f.value])).toEqual([
      ['web-1', 'inspection.disk', 82],
      ['web-1', 'inspection.load', 0.3],
    ]);
    expect(r.groups.map((g) => g.group)).toEqual(['web']);
  });

  it('reads a state dir whose journals have no findings kept (older opsbook) and keeps them', async () => {
    const dir = path.join(temp.dir, 'old-state');
    await writeRuns(dir, days);
    const old = filesStore(dir);
    const first: HealthReport = await report(old);
    expect((await readdir(path.join(dir, 'findings'))).sort()).toEqual(
      days.map((d) => path.basename(findingsPath(dir, d.runId))).sort(),
    );
    expect(await report(old)).toEqual(first);
    const recorded = filesStore(path.join(temp.dir, 'recorded'));
    await journalRuns(recorded, days);
    // The fixture journals hold the same findings (at other seconds): the same scores.
    const scores = (r: HealthReport) => r.hosts.map((h) => [h.host, h.state, h.score, h.daily]);
    expect(scores(first)).toEqual(scores(await report(recorded)));
  });
});
