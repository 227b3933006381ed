import type { PoolClient } from 'pg';
import { stateErrors } from '../error-codes.js';
import { exclusiveHoldersOf, sessionFacts } from './lock-holders.js';
import { LOCK_KEY_SQL } from './shared-journal-session.js';

/**
 * How long a transaction waits for one of opsbook's advisory locks by default. opsbook holds
 * them for the few statements of a claim or a findings write (milliseconds); a session that holds
 * one longer is not opsbook at work (an operator's psql, a script that locks everything), and
 * every claim behind it would otherwise wait for ever, a scheduled slot with it.
 */
export const LOCK_WAIT_MS = 30_000;

/** SQLSTATE lock_not_available: `lock_timeout` ran out. */
export const LOCK_NOT_AVAILABLE = '55P03';

export interface XactLock {
  /** The lock's name (`opsbook approval <id>`), mapped to its key as every opsbook lock is. */
  name: string;
  /** What waits for it, for the message: `a claim of a run of approval apr-1`. */
  purpose: string;
  /** Where the store is, for the message (never its password). */
  location: string;
  /** The store's url, for reading who holds the lock on a session of its own. */
  url: string | undefined;
  waitMs: number;
}

/**
 * Takes the transaction advisory lock `lock.name` on `client`, waiting at most `lock.waitMs`;
 * past that, throws STATE_DB_LOCKED naming the sessions that hold it, as pg_stat_activity shows
 * them, and the SQL that ends one.
 */
export async function takeXactLock(client: PoolClient, lock: XactLock): Promise<void> {
  // For the rest of the transaction: the store's sessions have this bound already.
  await client.query(`select set_config('lock_timeout', $1, true)`, [`${lock.waitMs}ms`]);
  try {
    await client.query(`select pg_advisory_xact_lock(${LOCK_KEY_SQL})`, [lock.name]);
  } catch (e) {
    if ((e as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw e;
    const { holders } = await exclusiveHoldersOf(lock.url, lock.name);
    const held = holders.filter((h) => h.isGranted && h.pid !== null);
    const who = held.length
      ? `held by ${held.map((h) => sessionFacts({ ...h, pid: h.pid as number })).join('; ')}`
      : 'held by a session that could not be named';
    const end = held.length
      ? `select pg_terminate_backend(${held[0]?.pid})`
      : 'select pg_terminate_backend(pid) (pg_locks shows the pid)';
    throw new stateErrors.WorkFailedError(
      'STATE_DB_LOCKED',
      `${lock.purpose} waited ${Math.round(lock.waitMs / 1000)} s for the lock '${lock.name}' of the PostgreSQL state store at ${lock.location}, ${who}: opsbook holds it for milliseconds, so that session is not opsbook at work; end it (${end}) and run again. Nothing was recorded.`,
      { lock: lock.name, holders: held.map((h) => h.pid) },
    );
  }
}

/**
 * STATE_DB_LOCKED for a statement whose wait for a lock ran out (`lock_timeout`): a session keeps
 * a table or row of opsbook's locked (an open transaction left in psql, a LOCK TABLE).
 */
export function lockTimeoutError(e: unknown, location: string): Error | undefined {
  if ((e as { code?: string }).code !== LOCK_NOT_AVAILABLE) return undefined;
  return new stateErrors.WorkFailedError(
    'STATE_DB_LOCKED',
    `a statement of the PostgreSQL state store at ${location} waited past its bound for a lock another session holds on opsbook's tables (${(e as Error).message}): find it with select pid, usename, application_name, state, xact_start from pg_stat_activity where state like 'idle in transaction%' or wait_event_type = 'Lock', end it with select pg_terminate_backend(pid), and run again. Nothing was recorded.`,
    {},
  );
}
