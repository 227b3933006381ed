import { migrateStateStore } from '@opsbook/state';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAlertStore } from '../src/index.js';

/*
 * The PostgreSQL alert store when the server ends a session it holds (a restart, an
 * administrator's pg_terminate_backend): the pass fails as the store being unreachable, and the
 * process lives on (vitest fails the file on an unhandled 'error' event).
 */

let pg: Postgres;

beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.dispose();
});

describe('the postgres alert store losing its connection', () => {
  it('fails a dispatch whose lock holder was terminated while it called the tracker as STATE_DB_UNREACHABLE, and the next dispatch takes the lock', async () => {
    const name = `opsbook_alerts_loss_${process.pid}`;
    await pg.psql(`create database ${name}`);
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${name}`;
    await migrateStateStore(url);
    const store = postgresAlertStore({ url });
    const dispatching = store.dispatchLock(async () => {
      // The tracker call takes a while; meanwhile the session holding the lock is ended.
      await pg.psql(
        `select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = '${name}')`,
      );
      await new Promise((r) => setTimeout(r, 200));
      return 'sent';
    });
    await expect(dispatching).rejects.toMatchObject({ code: 'STATE_DB_UNREACHABLE' });
    expect(await store.dispatchLock(async () => 'next')).toBe('next');
    await store.close();
  });
});
