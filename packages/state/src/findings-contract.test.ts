import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from './__fixtures__/fresh-database.js';
import type { RunFindings } from './findings.js';
import { findingsPath } from './findings-files.js';
import { journalPath } from './journal.js';
import { postgresStore } from './postgres/postgres-store.js';
import { filesStore, type StateStore } from './store.js';

/*
 * The findings contract, both backends: recorded when a run ends, read back by time and host,
 * and derived from the journal for a run whose findings were never recorded.
 */

let root: string;
let pg: Postgres;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-findings-'));
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.dispose();
  await rm(root, { recursive: true, force: true });
});

/** A clock from a fixed start, moving `stepMs` per reading. */
function clockFrom(iso: string, stepMs = 1000): () => Date {
  let t = Date.parse(iso) - stepMs;
  return () => {
    t += stepMs;
    return new Date(t);
  };
}

interface Backend {
  name: string;
  open: (clock: () => Date) => Promise<{ store: StateStore; database?: string }>;
}
const backends: Backend[] = [
  {
    name: 'files',
    open: async (clock) => ({ store: filesStore(path.join(root, `state-${++n}`), { clock }) }),
  },
  {
    name: 'postgres',
    open: async (clock) => {
      const db = await freshDatabase(pg);
      return { store: postgresStore({ url: db.url, clock }), database: db.name };
    },
  },
];

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

describe.each(backends)('findings in the $name state store', ({ name, open }) => {
  let store: StateStore;
  let database: string | undefined;
  let stateDir: string;
  afterEach(async () => {
    await store?.close();
  });
  const openStore = async () => {
    ({ store, database } = await open(clockFrom('2025-03-01T06:00:00.000Z')));
    stateDir = store.location;
  };

  /** A daily inspection as the runner journals it: inspected hosts, one unreachable. */
  async function inspect(runId: string, at: string, options: { record?: boolean } = {}) {
    const clock = clockFrom(at);
    const hosts = ['web-1', 'web-2', 'db-1'];
    await store.claimRun({ approvalId: `apr-${runId}`, maxRuns: 1, runId, ticket: 'OPS-1' });
    const journal = await store.createJournal(runId, { clock });
    await journal.append({
      type: 'run-start',
      runbook: { name: 'daily-inspection', version: '1.0.0' },
      hosts,
    });
    for (const [i, host] of hosts.entries()) {
      if (host === 'db-1') {
        await journal.append({ type: 'host-end', host, status: 'unreachable' });
        continue;
      }
      await journal.append({
        type: 'step-end',
        host,
        step: 'disk',
        status: 'ok',
        uses: 'inspection.disk',
        result: { findings: [disk(host, 70 + 10 * i), { ...disk(host, 50), subject: '/data' }] },
      });
      await journal.append({
        type: 'step-end',
        host,
        step: 'facts',
        status: 'ok',
        uses: 'inventory.collect',
        result: { facts: { memory: { totalBytes: 100, availableBytes: 40 } } },
      });
      await journal.append({ type: 'host-end', host, status: 'ok' });
    }
    await journal.append({ type: 'run-end', status: 'ok', hosts: {} });
    await journal.close();
    await store.recordRunEnd({ runId, head: journal.head, count: journal.count, status: 'ok' });
    if (options.record ?? true) await store.recordFindings(runId);
  }

  const read = async (query: { since: string; until: string; hosts?: string[] }) => {
    const runs: RunFindings[] = [];
    for await (const run of store.readFindings({
      since: new Date(query.since),
      until: new Date(query.until),
      ...(query.hosts ? { hosts: query.hosts } : {}),
    }))
      runs.push(run);
    return runs;
  };

  it('records a run’s findings, facts and host outcomes when it ends, and reads them back', async () => {
    await openStore();
    await inspect('day-1', '2025-03-01T06:00:00.000Z');
    if (name === 'files') {
      expect((await stat(findingsPath(stateDir, 'day-1'))).isFile()).toBe(true);
    } else {
      expect(await pg.psql('select count(*) from opsbook_findings', database)).toBe('4\n');
    }
    const [run, ...more] = await read({
      since: '2025-03-01T00:00:00Z',
      until: '2025-03-02T00:00:00Z',
    });
    expect(more).toEqual([]);
    expect(run).toMatchObject({
      runId: 'day-1',
      start: {
        at: '2025-03-01T06:00:00.000Z',
        runbook: 'daily-inspection',
        hosts: ['web-1', 'web-2', 'db-1'],
      },
      problems: [],
      isComplete: true,
    });
    expect(run!.findings).toEqual([
      {
        seq: 2,
        at: '2025-03-01T06:00:01.000Z',
        host: 'web-1',
        action: 'inspection.disk',
        check: 'inspection.disk',
        subject: '/',
        status: 'ok',
        value: 70,
        threshold: 80,
        unit: '%',
        message: '/ is 70% full',
      },
      expect.objectContaining({ seq: 2, subject: '/data', value: 50 }),
      expect.objectContaining({ seq: 5, host: 'web-2', subject: '/', status: 'warn', value: 80 }),
      expect.objectContaining({ seq: 5, host: 'web-2', subject: '/data' }),
    ]);
    expect(run!.facts).toEqual([
      {
        seq: 3,
        at: '2025-03-01T06:00:02.000Z',
        host: 'web-1',
        facts: { memory: { totalBytes: 100, availableBytes: 40 } },
      },
      expect.objectContaining({ seq: 6, host: 'web-2' }),
    ]);
    expect(run!.outcomes.map((o) => [o.host, o.status])).toEqual([
      ['web-1', 'ok'],
      ['web-2', 'ok'],
      ['db-1', 'unreachable'],
    ]);
  });

  it('reads only the runs and rows in the time range, and only the hosts asked for', async () => {
    await openStore();
    await inspect('day-1', '2025-03-01T06:00:00.000Z');
    await inspect('day-2', '2025-03-02T06:00:00.000Z');
    await inspect('day-3', '2025-03-03T06:00:00.000Z');
    const middle = await read({ since: '2025-03-02T00:00:00Z', until: '2025-03-02T23:59:59Z' });
    expect(middle.map((r) => r.runId)).toEqual(['day-2']);
    // The range cuts a run: its rows before `since` stay out, run-start included.
    const cut = await read({ since: '2025-03-02T06:00:03Z', until: '2025-03-02T23:59:59Z' });
    expect(cut).toHaveLength(1);
    expect(cut[0]!.start).toBeUndefined();
    expect(cut[0]!.findings.map((f) => f.host)).toEqual(['web-2', 'web-2']);
    expect(cut[0]!.outcomes.map((o) => o.host)).toEqual(['web-1', 'web-2', 'db-1']);
    const web2 = await read({
      since: '2025-03-01T00:00:00Z',
      until: '2025-03-04T00:00:00Z',
      hosts: ['web-2'],
    });
    expect(web2.map((r) => r.runId)).toEqual(['day-1', 'day-2', 'day-3']);
    for (const run of web2) {
      expect(run.start?.hosts).toEqual(['web-2']);
      expect(new Set([...run.findings, ...run.facts, ...run.outcomes].map((r) => r.host))).toEqual(
        new Set(['web-2']),
      );
    }
  });

  it('derives the findings of a run that never recorded them from its journal, and keeps them', async () => {
    await openStore();
    await inspect('day-1', '2025-03-01T06:00:00.000Z', { record: false });
    await inspect('day-2', '2025-03-02T06:00:00.000Z');
    const range = { since: '2025-03-01T00:00:00Z', until: '2025-03-03T00:00:00Z' };
    const derived = await read(range);
    expect(derived.map((r) => [r.runId, r.findings.length, r.outcomes.length])).toEqual([
      ['day-1', 4, 3],
      ['day-2', 4, 3],
    ]);
    if (name === 'files') {
      expect((await stat(findingsPath(stateDir, 'day-1'))).isFile()).toBe(true);
    } else {
      expect(
        await pg.psql("select count(*) from opsbook_findings where run_id = 'day-1'", database),
      ).toBe('4\n');
    }
    expect(await read(range)).toEqual(derived);
  });

  it('yields runs in run id byte order, recorded and derived ones alike', async () => {
    await openStore();
    // Byte order puts 'D' before 'd' and '-' before '_'; a locale's collation would not.
    await inspect('day_c', '2025-03-01T06:00:00.000Z');
    await inspect('day-a', '2025-03-02T06:00:00.000Z', { record: false });
    await inspect('Day-b', '2025-03-03T06:00:00.000Z');
    const runs = await read({ since: '2025-03-01T00:00:00Z', until: '2025-03-04T00:00:00Z' });
    expect(runs.map((r) => [r.runId, r.findings.length])).toEqual([
      ['Day-b', 4],
      ['day-a', 4],
      ['day_c', 4],
    ]);
  });

  if (name === 'postgres') {
    it('reads a run recorded before migration 4 (rows, no summary) from its journal, and records its summary', async () => {
      await openStore();
      await inspect('day-1', '2025-03-01T06:00:00.000Z');
      const range = { since: '2025-03-01T00:00:00Z', until: '2025-03-02T00:00:00Z' };
      const recorded = await read(range);
      await pg.psql('update opsbook_run_findings set summary = null', database);
      expect(await read(range)).toEqual(recorded);
      const summaries = 'select count(summary) from opsbook_run_findings';
      expect(await pg.psql(summaries, database)).toBe('1\n');
      // The rows stay for SQL users, written with the summary in the same transaction.
      expect(await pg.psql('select count(*) from opsbook_findings', database)).toBe('4\n');
    });
  }

  it('records from the run it is given (readRun of that run) what it records reading the run itself', async () => {
    await openStore();
    await inspect('day-1', '2025-03-01T06:00:00.000Z');
    await inspect('day-2', '2025-03-02T06:00:00.000Z', { record: false });
    const day1 = await store.readRun('day-1');
    // A view of another run is not taken for this one: day-2 is read.
    const fromDay2 = await store.recordFindings('day-2', day1);
    const given = await store.recordFindings('day-1', day1);
    expect(given).toEqual(await store.recordFindings('day-1'));
    expect(fromDay2.runId).toBe('day-2');
    expect(fromDay2.findings.length).toBe(given.findings.length);
    expect(day1.bytes.toString('utf8').split('\n').filter(Boolean)).toHaveLength(
      day1.verification.count,
    );
  });

  it('refuses to record the findings of a journal that does not verify', async () => {
    await openStore();
    await inspect('day-1', '2025-03-01T06:00:00.000Z', { record: false });
    if (name === 'files') {
      const file = journalPath(stateDir, 'day-1');
      const text = await readFile(file, 'utf8');
      const { writeFile } = await import('node:fs/promises');
      await writeFile(file, text.replace('/ is 70% full', '/ is 10% full'));
    } else {
      await pg.psql(
        // A superuser's session past the append-only triggers (postgres/append-only.test.ts).
        "set session_replication_role = replica; update opsbook_journal_lines set line = replace(line, '/ is 70% full', '/ is 10% full') where run_id = 'day-1'",
        database,
      );
    }
    await expect(store.recordFindings('day-1')).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'journal-unverified' })],
    });
    // Given the run as read (which says it does not verify), the same refusal.
    await expect(store.recordFindings('day-1', await store.readRun('day-1'))).rejects.toMatchObject(
      {
        problems: [expect.objectContaining({ rule: 'journal-unverified' })],
      },
    );
  });
});
