import { lockKeySqlOf, openJournalSession } from './shared-journal-session.js';

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
 * Takes `workerLease` of each zone on the database at `url`, each on a session of its own that
 * takes it again after a restart; `close` lets them go (so does the process's end).
 */
export async function holdWorkerLeases(
  url: string | undefined,
  zones: readonly string[],
): Promise<{ close(): Promise<void> }> {
  const sessions = zones.map((zone) =>
    openJournalSession({ url, lease: workerLease(zone), isLeaseShared: true }),
  );
  const close = async () => {
    await Promise.all(sessions.map((s) => s.close()));
  };
  try {
    await Promise.all(sessions.map((s) => s.query('select 1')));
  } catch (e) {
    await close();
    throw e;
  }
  return { close };
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

/** The advisory locks held now, as the bigint keys `lockKeySqlOf` makes (a CTE, read once). */
export const HELD_LEASES_CTE = `held_leases as materialized (
  select (classid::bigint << 32) | objid::bigint as key from pg_locks
  where locktype = 'advisory' and granted and objsubid = 1)`;
