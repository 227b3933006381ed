import type { Pool, PoolClient, QueryResultRow } from 'pg';
import {
  type ConnectionTarget,
  connectionTargetOf,
  isConnectionLoss,
  refusalError,
  unreachableError,
} from './connection.js';
import { checkSchemaVersion } from './migrate.js';
import { LOCK_WAIT_MS, lockTimeoutError, takeXactLock } from './xact-lock.js';

/** The store's way into its database: queries and transactions on a schema checked once. */
export interface Database {
  readonly target: ConnectionTarget;
  query<R extends QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs `work` in one transaction on one pooled connection; rolls back if it throws. */
  transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T>;
  /**
   * Runs `work`, turning a connection failure into STATE_DB_UNREACHABLE (naming the server,
   * never the password), and a refusal due to the database's state or grants (read-only, no
   * grant, disk full, …) into STATE_DB_REFUSED; other errors pass through.
   */
  guard<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Takes the transaction advisory lock `name` on `client` (in `transaction`), waiting a bounded
   * time: past it, STATE_DB_LOCKED names the session holding it (xact-lock.ts). `purpose` is what
   * waits, for the message.
   */
  lockInTransaction(client: PoolClient, name: string, purpose: string): Promise<void>;
  /** `items`, read with the same mapping as `guard`: a connection failure ends the reading. */
  guardEach<T>(items: AsyncIterable<T>): AsyncGenerator<T>;
  close(): Promise<void>;
}

/**
 * A pool on `url` (absent: libpq's PG* variables and ~/.pgpass, as the driver reads them),
 * made on first use, whose connections never keep the process alive once idle.
 */
export function openDatabase(
  url: string | undefined,
  options: { lockWaitMs?: number } = {},
): Database {
  const target = connectionTargetOf(url);
  let pool: Promise<Pool> | undefined;
  let schemaChecked: Promise<void> | undefined;

  const poolOf = (): Promise<Pool> => {
    pool ??= import('pg').then(({ default: pg }) => {
      const created = new pg.Pool({
        ...(url ? { connectionString: url } : {}),
        // Every statement's wait for a lock is bounded (the store's: 30 s): a session that keeps
        // a table or row of opsbook's locked would otherwise stall every claim with no word.
        ...(options.lockWaitMs !== undefined ? { lock_timeout: options.lockWaitMs } : {}),
        allowExitOnIdle: true,
        connectionTimeoutMillis: 10_000,
      });
      // An idle connection the server closes (a restart) is dropped by the pool and replaced on
      // the next query; without a listener the pool's 'error' event would end the process.
      created.on('error', () => undefined);
      return created;
    });
    return pool;
  };

  const ready = async (): Promise<Pool> => {
    const p = await poolOf();
    schemaChecked ??= (async () => {
      const { client, release } = await checkOut(p);
      try {
        await checkSchemaVersion(client, target);
      } finally {
        release();
      }
    })().catch((e) => {
      schemaChecked = undefined; // checked again next time: `opsbook db migrate` may have run
      throw e;
    });
    await schemaChecked;
    return p;
  };

  return {
    target,
    async query<R extends QueryResultRow>(sql: string, params: unknown[] = []) {
      return (await (await ready()).query<R>(sql, params)).rows;
    },
    async transaction(work) {
      const { client, lost, release } = await checkOut(await ready());
      let broken: unknown;
      try {
        await client.query('begin');
        const result = await work(client);
        await client.query('commit');
        return result;
      } catch (e) {
        await client.query('rollback').catch((rollbackError) => {
          broken = rollbackError;
        });
        // A query after the loss fails with "not queryable": the loss itself says more.
        throw isConnectionLoss(e) ? (lost() ?? e) : e;
      } finally {
        // A connection that failed mid-transaction is not given to the next caller.
        release(broken);
      }
    },
    async guard(work) {
      try {
        return await work();
      } catch (e) {
        throw (
          unreachableError(e, target) ??
          lockTimeoutError(e, target.location) ??
          refusalError(e, target) ??
          e
        );
      }
    },
    lockInTransaction(client, name, purpose) {
      return takeXactLock(client, {
        name,
        purpose,
        location: target.location,
        url,
        waitMs: options.lockWaitMs ?? LOCK_WAIT_MS,
      });
    },
    async *guardEach(items) {
      try {
        yield* items;
      } catch (e) {
        throw (
          unreachableError(e, target) ??
          lockTimeoutError(e, target.location) ??
          refusalError(e, target) ??
          e
        );
      }
    },
    async close() {
      const p = pool;
      pool = undefined;
      schemaChecked = undefined;
      if (p) await (await p).end();
    },
  };
}

/** A connection checked out of the pool, and how to give it back. */
interface CheckedOut {
  client: PoolClient;
  /** The error the connection reported while checked out (the server ended it), if any. */
  lost(): Error | undefined;
  /** Gives the connection back, or discards it if it broke (or `broken` is an error). */
  release(broken?: unknown): void;
}

/**
 * Checks a connection out of `pool`, listening for its loss while it is out. pg-pool listens to a
 * connection's 'error' only while it is idle: a server that ends a checked-out one (a restart,
 * pg_terminate_backend) would emit an 'error' nobody hears, which ends the process. The work on
 * it fails with the loss at its next query instead, and the connection is discarded.
 */
async function checkOut(pool: Pool): Promise<CheckedOut> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (e: Error) => {
    lost ??= e;
  };
  client.on('error', onError);
  return {
    client,
    lost: () => lost,
    release(broken) {
      const error = lost ?? (broken instanceof Error ? broken : undefined);
      client.release(error);
      // A discarded connection keeps the listener: it may still report its end as it closes.
      if (!error) client.removeListener('error', onError);
    },
  };
}
