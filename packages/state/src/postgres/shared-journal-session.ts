import type { Client, QueryResultRow } from 'pg';
import { stateErrors } from '../error-codes.js';
import {
  type ConnectionTarget,
  connectionTargetOf,
  isConnectionLoss,
  retryWhileDown,
  unreachableError,
} from './connection.js';
import { checkSchemaVersion } from './migrate.js';

/**
 * One dedicated connection of a shared journal, made again after the server drops it (a
 * restart). With a lease (a session advisory lock named by the caller) it is the fence of a
 * distributed run: the lock lives exactly as long as the session, so whoever holds the lease may
 * append, and after a reconnection the lease must be taken again before anything else is done.
 * If someone else took it meanwhile (the submitter declaring this worker dead) the session is
 * fenced out for good: LEASE_LOST, never retried.
 */
export interface JournalSession {
  readonly target: ConnectionTarget;
  /** Runs `work` on the connection, again while the server is down (up to retryForMs). */
  run<T>(work: (client: Client, attempt: number) => Promise<T>): Promise<T>;
  query<R extends QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

export interface SessionOptions {
  url?: string | undefined;
  lease?: string | undefined;
  /** The lease is shared: any number of sessions hold it at once (a zone's workers). */
  isLeaseShared?: boolean | undefined;
  /**
   * Run on the session each time it takes its lease (after a reconnection too), before anything
   * else is done on it; the session is ended (and the lease let go) if it fails.
   */
  onLeaseTaken?: ((client: Client) => Promise<void>) | undefined;
  /**
   * Asked each time the lease is taken again after a reconnection: false fences the session out
   * for good (LEASE_LOST), as a lease found held does. The lease was free while the session was
   * down, and another process may have taken it, acted under it and let it go meanwhile (a
   * submitter that gave a shard's job back to the queue): what this process held it for may be
   * another's now.
   */
  isLeaseStillOwn?: ((client: Client) => Promise<boolean>) | undefined;
  retryForMs?: number | undefined;
}

/** How often a session holding a lease checks that it still has its connection. */
const HEARTBEAT_MS = 1000;

/** The bigint an advisory lock name (an SQL text expression) maps to. */
export function lockKeySqlOf(name: string): string {
  return `('x' || left(md5(${name}), 16))::bit(64)::bigint`;
}

/** The bigint an advisory lock name maps to (the same mapping as the approval claims'). */
export const LOCK_KEY_SQL = lockKeySqlOf('$1');

/**
 * SQL: a table of the pg_locks rows of advisory locks taken by name on this database (granted
 * or waited for), each with the bigint `key` its name maps to (`lockKeySqlOf`). pg_locks lists
 * the locks of every database of the server: a lock of the same name taken on another one (a
 * database of one's own) is not this store's.
 */
export const OWN_ADVISORY_LOCKS_SQL = `(select *, (classid::bigint << 32) | objid::bigint as key
  from pg_locks where locktype = 'advisory' and objsubid = 1
    and database = (select oid from pg_database where datname = current_database()))`;

export function openJournalSession(options: SessionOptions): JournalSession {
  const target = connectionTargetOf(options.url);
  let current: Promise<Client> | undefined;
  let fenced: Error | undefined;
  let closed = false;
  let leaseTakings = 0;

  const connect = async (): Promise<Client> => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({
      ...(options.url ? { connectionString: options.url } : {}),
      connectionTimeoutMillis: 10_000,
    });
    // A dropped connection is made again on next use; without a listener 'error' would crash.
    client.on('error', () => {
      if (current === made) current = undefined;
    });
    client.on('end', () => {
      if (current === made) current = undefined;
    });
    const made = (async () => {
      await client.connect();
      await checkSchemaVersion(client, target);
      if (options.lease !== undefined) {
        const { rows } = await client.query<{ ok: boolean }>(
          `select pg_try_advisory_lock${options.isLeaseShared ? '_shared' : ''}(${LOCK_KEY_SQL}) as ok`,
          [options.lease],
        );
        if (!rows[0]?.ok) {
          await client.end().catch(() => undefined);
          fenced = new stateErrors.WorkFailedError(
            'LEASE_LOST',
            `${options.lease} is held by another process: this process no longer owns it and writes nothing more under it`,
            { lease: options.lease },
          );
          throw fenced;
        }
        if (leaseTakings++ > 0 && options.isLeaseStillOwn) {
          const isOwn = await options.isLeaseStillOwn(client).catch(async (e: unknown) => {
            await client.end().catch(() => undefined);
            throw e;
          });
          if (!isOwn) {
            await client.end().catch(() => undefined);
            fenced = new stateErrors.WorkFailedError(
              'LEASE_LOST',
              `${options.lease} was free while this process's connection was down, and what it was held for is no longer this process's (another took it over meanwhile): this process writes nothing more under it`,
              { lease: options.lease },
            );
            throw fenced;
          }
        }
        try {
          await options.onLeaseTaken?.(client);
        } catch (e) {
          await client.end().catch(() => undefined);
          throw e;
        }
      }
      return client;
    })();
    return made;
  };

  const clientOf = async (): Promise<Client> => {
    if (fenced) throw fenced;
    if (closed) throw new Error('the journal session is closed');
    current ??= connect().catch((e) => {
      current = undefined;
      throw e;
    });
    return current;
  };

  const run = async <T>(work: (client: Client, attempt: number) => Promise<T>): Promise<T> => {
    try {
      return await retryWhileDown(
        async (attempt) => {
          const client = await clientOf();
          try {
            return await work(client, attempt);
          } catch (e) {
            if (isConnectionLoss(e)) {
              current = undefined;
              await client.end().catch(() => undefined);
            }
            throw e;
          }
        },
        options.retryForMs !== undefined ? { forMs: options.retryForMs } : {},
      );
    } catch (e) {
      throw unreachableError(e, target) ?? e;
    }
  };

  // A lease must be taken back soon after a restart, not only at the holder's next append (a
  // step may run for minutes): a heartbeat reconnects, and with it re-takes the lease.
  let beating = false;
  const heartbeat =
    options.lease === undefined
      ? undefined
      : setInterval(() => {
          if (beating || fenced || closed) return;
          beating = true;
          void run((client) => client.query('select 1'))
            .catch(() => undefined)
            .finally(() => {
              beating = false;
            });
        }, HEARTBEAT_MS);
  heartbeat?.unref();

  return {
    target,
    run,
    query: (sql, params = []) => run(async (client) => (await client.query(sql, params)).rows),
    async close() {
      closed = true;
      if (heartbeat) clearInterval(heartbeat);
      const c = current;
      current = undefined;
      // Ending the session releases its lease.
      if (c) await (await c.catch(() => undefined))?.end().catch(() => undefined);
    },
  };
}
