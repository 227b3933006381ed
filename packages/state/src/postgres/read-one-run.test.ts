import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import { postgresStore } from './postgres-store.js';

/*
 * `schedule list` reads the run each schedule's last slot names, by its whole id. Reading one run
 * must look up that run (its row and its journal), not every run id and the whole ledger as
 * resolving a prefix does: the history of a team's store grows by a run per slot. The rows a
 * reading touched are counted by PostgreSQL itself (pg_stat_user_tables), not timed.
 */

const HISTORY = 3000;
let pg: Postgres;

beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.dispose();
});

/** Rows of opsbook_runs read (sequential scans and index fetches) so far, as the server counts them. */
async function runRowsRead(database: string): Promise<number> {
  const out = await pg.psql(
    `select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
     from pg_stat_user_tables where relname = 'opsbook_runs'`,
    database,
  );
  return Number(out.trim());
}

/**
 * Waits until every server process of `database` but psql's own has exited: a backend reports
 * the rows it read when it exits, so the counts are whole only then (bounded: 10 s).
 */
async function sessionsEnded(database: string, pids: readonly number[]): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    if (alive.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the sessions of ${database} (${pids.join(', ')}) did not end within 10 s`);
}

async function backendsOf(database: string): Promise<number[]> {
  const out = await pg.psql(
    `select pid from pg_stat_activity where datname = '${database}' and pid <> pg_backend_pid()`,
  );
  return out.split('\n').filter(Boolean).map(Number);
}

describe('reading one run by its whole id, in a store holding many runs', () => {
  it('finds that run, verified, and reads its row only, not the whole history', async () => {
    const { name, url } = await freshDatabase(pg);
    const setup = postgresStore({ url });
    const runId = '20261207-060000-target';
    await setup.claimRun({ approvalId: 'apr-daily', maxRuns: 100_000, runId, ticket: 'OPS-1' });
    const journal = await setup.createJournal(runId);
    await journal.append({
      type: 'run-start',
      ticket: 'OPS-1',
      runbook: { name: 'daily-inspection', version: '1.0.0' },
      hosts: ['web-1'],
    });
    await journal.append({ type: 'run-end', status: 'ok', hosts: { 'web-1': 'ok' } });
    await setup.recordRunEnd({ runId, head: journal.head, count: journal.count, status: 'ok' });
    await journal.close();
    await setup.close();
    // The history: thousands of other runs, some of whose ids start as the target's does.
    await pg.psql(
      `insert into opsbook_runs (run_id, approval_id, run_number, ticket, started_at)
       select '20261207-06' || lpad(n::text, 6, '0'), 'apr-daily', n + 1, 'OPS-1', now()
       from generate_series(1, ${HISTORY}) as n;
       analyze opsbook_runs;`,
      name,
    );
    await sessionsEnded(name, await backendsOf(name));
    const before = await runRowsRead(name);

    const store = postgresStore({ url });
    try {
      const run = await store.readRun(runId, { exact: true });
      expect(run.runId).toBe(runId);
      expect(run.verification.ok).toBe(true);
      expect(run.summary).toMatchObject({ status: 'ok', runbook: 'daily-inspection' });
      expect(run.ledger).toMatchObject({ runId, approvalId: 'apr-daily', status: 'ok' });
      // A whole id that is only a prefix of runs is no run: never taken for one of them.
      await expect(store.readRun('20261207-06000', { exact: true })).rejects.toMatchObject({
        kind: 'invalid',
        message: expect.stringContaining('no run has the id "20261207-06000"'),
      });
    } finally {
      const pids = await backendsOf(name);
      await store.close();
      await sessionsEnded(name, pids);
    }
    // The run's own row (and the schema check): a handful, not the thousands of the history.
    const read = (await runRowsRead(name)) - before;
    expect(read).toBeLessThan(20);
  }, 60_000);
});
