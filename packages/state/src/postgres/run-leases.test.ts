import { setTimeout as sleep } from 'node:timers/promises';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import { postgresStore } from './postgres-store.js';
import {
  holdWorkerLeases,
  runnerLease,
  type WorkerLeaseNotice,
  workerLease,
} from './run-leases.js';
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
async function holdExclusively(
  url: string,
  lease: string,
  applicationName?: string,
): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    ...(applicationName ? { application_name: applicationName } : {}),
  });
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

/** Each session's request of `lease` on the database at `url`: mode, and whether it waits. */
async function lockRequests(url: string, lease: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ request: string }>(
      `select mode || case when granted then '' else ' waiting' end as request from pg_locks
       where locktype = 'advisory' and objsubid = 1
         and database = (select oid from pg_database where datname = current_database())
         and ((classid::bigint << 32) | objid::bigint) = ${LOCK_KEY_SQL}`,
      [lease],
    );
    return rows.map((r) => r.request);
  } finally {
    await client.end();
  }
}

/** Polls `check` (at most 400 times, 50 ms apart) until it holds. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`gave up waiting for ${what}`);
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

describe("a worker kept from its zone's lease", () => {
  it('is told once which session holds the lock (pid, user, application, client, since), and once that it took the lease when that session let go', async () => {
    const { url } = await freshDatabase(server);
    const blocker = await holdExclusively(url, workerLease('dc1'), 'nightly-audit');
    const [blockerPid] = (await blocker.query<{ pid: number }>('select pg_backend_pid() as pid'))
      .rows;
    const notices: WorkerLeaseNotice[] = [];
    const leases = await holdWorkerLeases(url, ['dc1', 'dc2'], {
      retryMs: 50,
      onNotice: (n) => notices.push(n),
    });
    // Told at the start, not at every try after it.
    expect(notices).toEqual([
      {
        type: 'lease-waiting',
        zone: 'dc1',
        lease: workerLease('dc1'),
        database: `postgres://postgres@${server.host}:${server.port}/${new URL(url).pathname.slice(1)}`,
        retryMs: 50,
        holders: [
          {
            pid: blockerPid?.pid,
            isGranted: true,
            user: 'postgres',
            application: 'nightly-audit',
            client: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
            connectedSince: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
            state: 'idle',
          },
        ],
      },
    ]);
    expect(JSON.stringify(notices)).not.toContain(server.password);
    await sleep(500);
    expect(notices).toHaveLength(1);
    await blocker.end();
    await until(() => notices.length === 2, 'the lease to be taken');
    expect(notices[1]).toEqual({ type: 'lease-taken', zone: 'dc1', lease: workerLease('dc1') });
    expect(await sharedHolders(url, workerLease('dc1'))).toBe(1);
    await sleep(200);
    expect(notices).toHaveLength(2);
    await leases.close();
  });

  it("is told of a session that waits to hold the lock exclusively behind the zone's other workers: PostgreSQL lets no new holder in before it", async () => {
    const { url } = await freshDatabase(server);
    const first = await holdWorkerLeases(url, ['dc1']);
    const waiter = new pg.Client({ connectionString: url, application_name: 'lock-everything' });
    waiter.on('error', () => undefined);
    await waiter.connect();
    const waiting = waiter.query(`select pg_advisory_lock(${LOCK_KEY_SQL})`, [workerLease('dc1')]);
    // Ended by the server's stop if the test fails before it gets the lock.
    waiting.catch(() => undefined);
    await until(
      async () => (await lockRequests(url, workerLease('dc1'))).includes('ExclusiveLock waiting'),
      'the exclusive request to wait',
    );
    const notices: WorkerLeaseNotice[] = [];
    const second = await holdWorkerLeases(url, ['dc1'], { onNotice: (n) => notices.push(n) });
    expect(notices).toMatchObject([
      {
        type: 'lease-waiting',
        zone: 'dc1',
        holders: [{ isGranted: false, application: 'lock-everything' }],
      },
    ]);
    await second.close();
    await first.close();
    await waiting;
    await waiter.end();
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
