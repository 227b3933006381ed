import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import { openDatabase } from './database.js';
import { migrateStateStore } from './migrate.js';

let server: Postgres;

beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.dispose();
});

/** Ends the session of backend `pid` from another connection, as an administrator or a restart does. */
async function terminate(pid: number | string): Promise<void> {
  await server.psql(`select pg_terminate_backend(${pid})`);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

// vitest fails the file on an unhandled 'error' event, so each test also proves the process
// would have lived on.
describe('a connection the server terminates while it is in use', () => {
  it('fails a transaction waiting between queries as STATE_DB_UNREACHABLE, and the next one gets a new connection', async () => {
    const { url } = await freshDatabase(server);
    const db = openDatabase(url);
    const attempt = db.guard(() =>
      db.transaction(async (client) => {
        const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
        // Terminated while the transaction waits for something else (the dispatch lock calls
        // the tracker): the client sees the loss between two queries.
        await terminate(rows[0]?.pid ?? 0);
        await pause(200);
        await client.query('select 1');
      }),
    );
    await expect(attempt).rejects.toMatchObject({ code: 'STATE_DB_UNREACHABLE' });
    expect(
      await db.transaction(async (client) => (await client.query('select 1 as one')).rows),
    ).toEqual([{ one: 1 }]);
    await db.close();
  });

  it('fails a transaction whose query the termination interrupts as STATE_DB_UNREACHABLE', async () => {
    const { url } = await freshDatabase(server);
    const db = openDatabase(url);
    const attempt = db.guard(() =>
      db.transaction(async (client) => {
        const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
        const running = client.query('select pg_sleep(30)');
        running.catch(() => undefined); // awaited below, once the termination is sent
        await pause(100);
        await terminate(rows[0]?.pid ?? 0);
        await running;
      }),
    );
    await expect(attempt).rejects.toMatchObject({ code: 'STATE_DB_UNREACHABLE' });
    await pause(200);
    expect(await db.query('select 1 as one')).toEqual([{ one: 1 }]);
    await db.close();
  });

  it('fails a migrate waiting for the migration lock as STATE_DB_UNREACHABLE', async () => {
    const { url } = await freshDatabase(server, { migrated: false });
    // Another migrate holds the lock, so this one waits in a query the termination interrupts.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query('begin');
    await holder.query(`select pg_advisory_xact_lock(${0x6f70_7362_6f6f_6bn})`);
    const holderPid = (await holder.query('select pg_backend_pid() as pid')).rows[0]?.pid;
    const migrating = migrateStateStore(url);
    migrating.catch(() => undefined);
    let waiting = '';
    for (let i = 0; i < 100 && !waiting; i++) {
      await pause(50);
      waiting = (
        await server.psql(
          `select pid from pg_stat_activity where wait_event_type = 'Lock' and pid <> ${holderPid}`,
        )
      ).trim();
    }
    expect(waiting).not.toBe('');
    await terminate(waiting);
    await expect(migrating).rejects.toMatchObject({ code: 'STATE_DB_UNREACHABLE' });
    await pause(200);
    await holder.query('rollback');
    await holder.end();
  });
});
