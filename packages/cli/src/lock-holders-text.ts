import { type LockHolder, sessionFacts } from '@opsbook/state';

/**
 * How a session that holds (or waits for) `lock` exclusively is named: as far as pg_locks and
 * pg_stat_activity tell the store's role (they hold no password). Opsbook's own processes never
 * take a worker lease exclusively, so such a session is never a worker.
 */
export function lockHolderText(h: LockHolder, lock: string): string {
  if (h.pid === null)
    return `a prepared transaction holds ${lock} exclusively (see pg_prepared_xacts; COMMIT PREPARED or ROLLBACK PREPARED ends it)`;
  const facts = sessionFacts({ ...h, pid: h.pid });
  const state = h.state !== null ? ` (${h.state})` : '';
  const hidden =
    h.connectedSince === null
      ? ' (its address and start are shown only to a superuser, a member of pg_read_all_stats, or its own role)'
      : '';
  return h.isGranted
    ? `another session, not an opsbook worker, holds ${lock} exclusively: ${facts}${state}${hidden}`
    : `another session, not an opsbook worker, waits to take ${lock} exclusively, and PostgreSQL lets no new holder in before it: ${facts}${state}${hidden}`;
}

/**
 * The SQL to look at the sessions among `holders` and to end them (`pg_terminate_backend`);
 * undefined when none of them is a session.
 */
export function sessionSql(
  holders: readonly LockHolder[],
): { look: string; end: string; sessions: string; them: string } | undefined {
  const pids = holders.flatMap((h) => (h.pid === null ? [] : [h.pid]));
  if (pids.length === 0) return undefined;
  if (pids.length === 1)
    return {
      look: `select * from pg_stat_activity where pid = ${pids[0]}`,
      end: `select pg_terminate_backend(${pids[0]})`,
      sessions: 'that session',
      them: 'it',
    };
  const which = `pid in (${pids.join(', ')})`;
  return {
    look: `select * from pg_stat_activity where ${which}`,
    end: `select pg_terminate_backend(pid) from pg_stat_activity where ${which}`,
    sessions: 'those sessions',
    them: 'them',
  };
}
