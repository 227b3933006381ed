import { isOpsbookError } from '@opsbook/schema';
import { connectionTargetOf } from './connection.js';
import { exclusiveHoldersOf, type LockHolders } from './lock-holders.js';
import {
  lockKeySqlOf,
  OWN_ADVISORY_LOCKS_SQL,
  openJournalSession,
} from './shared-journal-session.js';

/**
 * The leases (session advisory locks, named) a run's processes hold in the PostgreSQL store. A
 * lease lives exactly as long as its holder's connection, so one that is held says its process
 * runs; `runs list` reads them to tell a running run from one whose runner died.
 */

/** Held by the process running a run (not distributed) while the run's journal is open. */
export function runnerLease(runId: string): string {
  return `opsbook run ${runId} runner`;
}

/**
 * Held by the submitter of a distributed run while it follows the run: a worker refuses a shard
 * whose run has no submitter (killed, or stopped), since nobody would follow or end it.
 */
export function submitterLease(runId: string): string {
  return `opsbook run ${runId} submitter`;
}

/**
 * Held, shared, by every `opsbook worker` of the zone for as long as it runs: a submitter whose
 * shard waits tells "no worker of this zone is connected to this database" (a worker started
 * with another store url) from "its workers are busy".
 */
export function workerLease(zone: string): string {
  return `opsbook worker zone ${zone}`;
}

/**
 * Held by one `opsbook worker` process for as long as it runs, named by its job queue pool (the
 * `locked_by` of each job it takes): a shard's job taken by a pool whose lease is free was taken
 * by a worker that is gone (killed, or its machine lost, and its session with it), so its
 * submitter may give the shard back to the queue when no host of it started.
 */
export function workerPoolLease(poolId: string): string {
  return `opsbook worker pool ${poolId}`;
}

/**
 * Takes `workerPoolLease(poolId)` on a session of its own, taken again after a restart (the
 * session's heartbeat); `close` lets it go, and so does the process's end. A first take that
 * fails (the server down) is told to `onError` and tried again by that heartbeat.
 */
export function holdWorkerPoolLease(
  url: string | undefined,
  poolId: string,
  onError?: (error: unknown) => void,
): { close(): Promise<void> } {
  const session = openJournalSession({ url, lease: workerPoolLease(poolId) });
  const taken = session.query('select 1').catch((e: unknown) => onError?.(e));
  return {
    async close() {
      await taken;
      await session.close();
    },
  };
}

/**
 * What `holdWorkerLeases` tells its worker. `lease-waiting`, once each time a zone's lease cannot
 * be taken: the sessions that hold its lock exclusively, or wait to (the zone's workers hold it
 * shared, which never keeps another from it, so these are never opsbook workers);
 * `lease-taken`, once, when it is taken after that.
 */
export type WorkerLeaseNotice =
  | ({
      type: 'lease-waiting';
      zone: string;
      lease: string;
      /** The store's database (`postgres://user@host:port/db`, never its password). */
      database: string;
      /** How often the lease is tried again. */
      retryMs: number;
    } & LockHolders)
  | { type: 'lease-taken'; zone: string; lease: string };

/**
 * Takes `workerLease` of each zone on the database at `url`, each on a session of its own that
 * takes it again after a restart; `close` lets them go (so does the process's end). A database
 * that cannot be reached, or has another schema, refuses the worker's start.
 *
 * The lease only tells a waiting submitter that a worker of the zone is there, and any role of
 * the database (a read-only one too) may take an advisory lock of the same name exclusively: that
 * must not keep a zone's workers from starting. Such a zone's lease is tried again every
 * `retryMs` (and after a restart that let someone take it first), and held once it is free;
 * `onNotice` is told who keeps it, and when it is taken.
 */
export async function holdWorkerLeases(
  url: string | undefined,
  zones: readonly string[],
  options: { retryMs?: number; onNotice?(notice: WorkerLeaseNotice): void } = {},
): Promise<{ close(): Promise<void> }> {
  const retryMs = options.retryMs ?? 5000;
  const { location } = connectionTargetOf(url);
  const holders = zones.map((zone) => {
    const lease = workerLease(zone);
    return sharedLeaseHolder(url, lease, {
      async onRefused() {
        const held = await exclusiveHoldersOf(url, lease);
        options.onNotice?.({
          type: 'lease-waiting',
          zone,
          lease,
          database: location,
          retryMs,
          ...held,
        });
      },
      onTaken: () => options.onNotice?.({ type: 'lease-taken', zone, lease }),
    });
  });
  const close = async () => {
    clearInterval(timer);
    await Promise.all(holders.map((h) => h.close()));
  };
  let retrying = false;
  const timer = setInterval(() => {
    if (retrying) return;
    retrying = true;
    void Promise.all(holders.map((h) => h.take().catch(() => undefined))).finally(() => {
      retrying = false;
    });
  }, retryMs);
  timer.unref();
  try {
    await Promise.all(holders.map((h) => h.take()));
  } catch (e) {
    await close();
    throw e;
  }
  return { close };
}

/**
 * A shared lease whose `take` holds it if it can, and otherwise leaves it for the next try. Of a
 * run of refused tries only the first is told (`onRefused`), and the take that ends it
 * (`onTaken`).
 */
function sharedLeaseHolder(
  url: string | undefined,
  lease: string,
  tell: { onRefused(): Promise<void>; onTaken(): void },
) {
  const open = () => openJournalSession({ url, lease, isLeaseShared: true });
  let session = open();
  let closed = false;
  // Set while refused: the telling of it, which a take that ends the wait lets finish first.
  let refusal: Promise<void> | undefined;
  return {
    async take(): Promise<void> {
      if (closed) return;
      const current = session;
      try {
        await current.query('select 1');
      } catch (e) {
        if (!isOpsbookError(e) || e.code !== 'LEASE_LOST') throw e;
        // Fenced for good by another session's exclusive lock: a new session tries again.
        await current.close();
        if (!closed && session === current) session = open();
        refusal ??= tell.onRefused();
        await refusal;
        return;
      }
      if (refusal) {
        const told = refusal;
        refusal = undefined;
        await told;
        tell.onTaken();
      }
    },
    async close(): Promise<void> {
      closed = true;
      await session.close();
    },
  };
}

/**
 * SQL: whether the run whose id is the text expression `runIdSql` has a runner or a submitter
 * holding its lease now; the query must define HELD_LEASES_CTE.
 */
export function runLeaseHeldSql(runIdSql: string): string {
  return `exists (select 1 from held_leases where held_leases.key in (
    ${lockKeySqlOf(`'opsbook run ' || ${runIdSql} || ' runner'`)},
    ${lockKeySqlOf(`'opsbook run ' || ${runIdSql} || ' submitter'`)}))`;
}

/**
 * The advisory locks held now on this database, as the bigint keys `lockKeySqlOf` makes (a CTE,
 * read once): a lock of the same name taken on another database of the server (one's own) must
 * not make a dead run look running here.
 */
export const HELD_LEASES_CTE = `held_leases as materialized (
  select key from ${OWN_ADVISORY_LOCKS_SQL} l where granted)`;
