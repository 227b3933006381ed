import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import { MIGRATE_LOCK, migrateStateStore } from './migrate.js';
import { LATEST_VERSION } from './migrations.js';

/*
 * `opsbook db migrate` queues on its own advisory lock, on a connection of its own. Any session
 * of the database's roles can take that lock and keep it (a psql left open, a script): migrate
 * then waited for ever, saying nothing. It waits a bounded time and names that session.
 */

let postgres: Postgres;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.dispose();
});

describe('opsbook db migrate while a session keeps its lock', () => {
  it('gives up after its wait with STATE_DB_LOCKED naming the session and how to end it; migrates once it is gone', async () => {
    const { url } = await freshDatabase(postgres, { migrated: false });
    const holder = new pg.Client({ connectionString: url, application_name: 'held-by-hand' });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock($1)', [MIGRATE_LOCK.toString()]);
      const pid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]
        ?.pid;
      const stalled = new Promise<'stalled'>((r) => setTimeout(() => r('stalled'), 15_000).unref());
      const outcome = await Promise.race([
        migrateStateStore(url, { lockWaitMs: 1000 }).then(
          (result) => ({ result }),
          (error: unknown) => ({ error }),
        ),
        stalled,
      ]);
      expect(outcome).not.toBe('stalled');
      expect(outcome).toMatchObject({
        error: {
          code: 'STATE_DB_LOCKED',
          message: expect.stringContaining(`pid ${pid}, user postgres, application 'held-by-hand'`),
        },
      });
      const { message } = (outcome as { error: Error }).error;
      expect(message).toContain(`select pg_terminate_backend(${pid})`);
      expect(message).toContain('opsbook db migrate waited 1 s');
      expect(message).not.toContain(postgres.password);
    } finally {
      await holder.end();
    }
    expect(await migrateStateStore(url, { lockWaitMs: 1000 })).toMatchObject({
      version: LATEST_VERSION,
    });
  }, 60_000);
});
