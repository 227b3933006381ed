import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import { postgresStore } from './postgres-store.js';
import { holdWorkerLeases, runnerLease, workerLease } from './run-leases.js';
import { SharedJournal } from './shared-journal.js';
import { LOCK_KEY_SQL } from './shared-journal-session.js';

let server: Postgres;

beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.dispose();
});

/** A session of any user of the database holding `lease` as an exclusive advisory lock. */
async function holdExclusively(url: string, lease: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // The server's end, after a failed test, must not crash the run.
  client.on('error', () => undefined);
  await client.connect();
  await client.query(`select pg_advisory_lock(${LOCK_KEY_SQL})`, [lease]);
  return client;
}

/** How many sessions hold `lease` shared on the database at `url`. */
async function sharedHolders(url: string, lease: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `select count(*)::int as n from pg_locks where locktype = 'advisory' and granted
         and mode = 'ShareLock' and objsubid = 1
         and database = (select oid from pg_database where datname = current_database())
         and ((classid::bigint << 32) | objid::bigint) = ${LOCK_KEY_SQL}`,
      [lease],
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

describe("a zone's worker lease", () => {
  it('does not stop a worker from starting when another session holds its zone lock, and is taken once it is let go', async () => {
    const { url } = await freshDatabase(server);
    // Advisory locks are open to every role of the database (a read-only one too): one such
    // session must not keep every worker of a zone from starting.
    const blocker = await holdExclusively(url, workerLease('dc1'));
    const leases = await holdWorkerLeases(url, ['dc1'], { retryMs: 100 });
    expect(await sharedHolders(url, workerLease('dc1'))).toBe(0);
    await blocker.end();
    await vi.waitFor(async () => expect(await sharedHolders(url, workerLease('dc1'))).toBe(1), {
      timeout: 5000,
      interval: 100,
    });
    await leases.close();
    expect(await sharedHolders(url, workerLease('dc1'))).toBe(0);
  });
});

describe('a run shown as running', () => {
  it('is one whose runner holds its lease on this database, not a lock of that name on another database of the server', async () => {
    const team = await freshDatabase(server);
    const other = await freshDatabase(server);
    const store = postgresStore({ url: team.url });
    await store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'r1', ticket: 'OPS-7' });
    const journal = await SharedJournal.create({ url: team.url, runId: 'r1' });
    await journal.append({ type: 'run-start', ticket: 'OPS-7', hosts: ['a'] });
    await journal.close();
    // The runner died: nothing holds r1's lease on the team's database.
    expect((await store.listRuns()).map((r) => r.status)).toEqual(['incomplete']);
    // A session on a database of one's own on the same server names r1's lease.
    const elsewhere = await holdExclusively(other.url, runnerLease('r1'));
    expect((await store.listRuns()).map((r) => r.status)).toEqual(['incomplete']);
    expect((await store.readRun('r1')).summary.status).toBe('incomplete');
    await elsewhere.end();
    await store.close();
  });
});
