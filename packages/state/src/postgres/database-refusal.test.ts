import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import { postgresStore } from './postgres-store.js';

/*
 * The server refuses the store's work for the database's own state (real refusals of a real
 * PostgreSQL): opsbook says so in its words, with the server's and what to do, and a code tools
 * match on, instead of passing the driver's error on as a bug of opsbook's.
 */

let pg: Postgres;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.dispose();
});

describe('a database that refuses the work', () => {
  it('read-only (as a standby is): a claim fails with STATE_DB_REFUSED, pointing at the primary', async () => {
    const { name, url } = await freshDatabase(pg);
    await pg.psql(`alter database ${name} set default_transaction_read_only = on`);
    const store = postgresStore({ url });
    try {
      const claim = { approvalId: 'apr-1', maxRuns: 1, runId: 'r1', ticket: 'OPS-1' };
      await expect(store.claimRun(claim)).rejects.toMatchObject({
        code: 'STATE_DB_REFUSED',
        kind: 'failed',
        message: expect.stringMatching(
          /read-only transaction \(SQLSTATE 25006\); the server is a read-only standby, or default_transaction_read_only is on: point state\.url \(or OPSBOOK_DATABASE_URL\) at the primary$/,
        ),
      });
    } finally {
      await store.close();
    }
    await pg.psql(`alter database ${name} reset default_transaction_read_only`);
    const writable = postgresStore({ url });
    try {
      await expect(writable.runsUsed('apr-1')).resolves.toBe(0);
    } finally {
      await writable.close();
    }
  }, 60_000);
});
