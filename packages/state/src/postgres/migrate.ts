import type { ClientBase } from 'pg';
import { stateErrors } from '../error-codes.js';
import { type ConnectionTarget, connectionTargetOf, unreachableError } from './connection.js';
import { HOLDER_COLUMNS, type HolderRow, holderOf, sessionFacts } from './lock-holders.js';
import { LATEST_VERSION, MIGRATIONS_TABLE, type Migration, migrations } from './migrations.js';
import { OWN_ADVISORY_LOCKS_SQL } from './shared-journal-session.js';
import { LOCK_NOT_AVAILABLE, LOCK_WAIT_MS, lockTimeoutError } from './xact-lock.js';

export interface MigrateOptions {
  /** Told of each migration as it is applied (e.g. `applying 1 runs and journals`). */
  onProgress?: (message: string) => void;
  /** How long each migration waits for the migrate lock, or a lock on a table (default 30 s). */
  lockWaitMs?: number;
}

export interface MigrationResult {
  /** The migrations this call applied, in order; empty when the store was up to date. */
  applied: { version: number; name: string }[];
  /** The store's schema version now. */
  version: number;
  /** Where the store is (never its password). */
  location: string;
}

// Any fixed 64-bit number of our own: every migrate in the database queues on it.
export const MIGRATE_LOCK = 0x6f70_7362_6f6f_6bn; // "opsbook"

/**
 * Brings the PostgreSQL state store at `url` (absent: libpq's PG* variables) up to this
 * opsbook's schema. Each migration runs in its own transaction holding an advisory lock, so two
 * concurrent migrates apply each step once; a second migrate applies nothing.
 */
export async function migrateStateStore(
  url: string | undefined,
  options: MigrateOptions = {},
): Promise<MigrationResult> {
  const target = connectionTargetOf(url);
  const { default: pg } = await import('pg');
  const client = new pg.Client(url ? { connectionString: url } : {});
  // The server ending the session (a restart, pg_terminate_backend) is reported as an 'error'
  // event as well as to the query it interrupts, or the next one: without a listener the event
  // ends the process instead of failing the migrate with STATE_DB_UNREACHABLE.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const applied: Migration[] = [];
    let version = 0;
    const lock = { url, target, waitMs: options.lockWaitMs ?? LOCK_WAIT_MS };
    for (const migration of migrations) {
      version = await applyOnce(client, migration, lock, () => {
        options.onProgress?.(`applying ${migration.version} ${migration.name}`);
        applied.push(migration);
      });
    }
    return {
      applied: applied.map(({ version: v, name }) => ({ version: v, name })),
      version,
      location: target.location,
    };
  } catch (e) {
    throw unreachableError(e, target) ?? lockTimeoutError(e, target.location) ?? e;
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface MigrateLock {
  url: string | undefined;
  target: ConnectionTarget;
  waitMs: number;
}

/** Applies one migration unless the store has it; returns the store's version after it. */
async function applyOnce(
  client: ClientBase,
  migration: Migration,
  lock: MigrateLock,
  onApply: () => void,
): Promise<number> {
  const { target } = lock;
  await client.query('begin');
  try {
    // Bounded, for the lock and every statement after it (a table another session keeps locked
    // would stall a migration's DDL as well): a session keeping it would stall migrate for ever.
    await client.query(`select set_config('lock_timeout', $1, true)`, [`${lock.waitMs}ms`]);
    await client
      .query('select pg_advisory_xact_lock($1)', [MIGRATE_LOCK.toString()])
      .catch(async (e: unknown) => {
        if ((e as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw e;
        throw await migrateLocked(client, lock);
      });
    await client.query(
      `create table if not exists ${MIGRATIONS_TABLE} (
         version int primary key, name text not null, applied_at timestamptz not null default now())`,
    );
    const current = await versionIn(client);
    if (current > LATEST_VERSION) throw tooNew(current, target);
    const { rowCount } = await client.query(
      `select 1 from ${MIGRATIONS_TABLE} where version = $1`,
      [migration.version],
    );
    if (rowCount === 0) {
      onApply();
      await client.query(migration.sql);
      await client.query(`insert into ${MIGRATIONS_TABLE} (version, name) values ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
    }
    await client.query('commit');
    return Math.max(current, migration.version);
  } catch (e) {
    await client.query('rollback').catch(() => undefined);
    throw e;
  }
}

/**
 * STATE_DB_LOCKED for a migrate that waited its bound for the migrate lock, naming who holds it,
 * as pg_locks and pg_stat_activity show it on `client` (its transaction rolled back: the store
 * may not be migrated yet, so a store session, which checks the schema first, cannot read it).
 */
async function migrateLocked(client: ClientBase, lock: MigrateLock): Promise<Error> {
  await client.query('rollback');
  const { rows } = await client
    .query<HolderRow>(
      `select ${HOLDER_COLUMNS}
       from ${OWN_ADVISORY_LOCKS_SQL} l left join pg_stat_activity a on a.pid = l.pid
       where l.granted and l.key = $1::bigint order by l.pid`,
      [MIGRATE_LOCK.toString()],
    )
    .catch(() => ({ rows: [] as HolderRow[] }));
  const held = rows.map(holderOf).filter((h) => h.pid !== null);
  const who = held.length
    ? `held by ${held.map((h) => sessionFacts({ ...h, pid: h.pid as number })).join('; ')}`
    : 'held by a session that could not be named';
  const end = held.length
    ? `select pg_terminate_backend(${held[0]?.pid})`
    : 'select pg_terminate_backend(pid), pg_locks showing the pid of the advisory lock';
  return new stateErrors.WorkFailedError(
    'STATE_DB_LOCKED',
    `opsbook db migrate waited ${Math.round(lock.waitMs / 1000)} s for its lock (advisory lock ${MIGRATE_LOCK}) on the PostgreSQL state store at ${lock.target.location}, ${who}: another opsbook db migrate holds it only while it applies a migration; if that session is not one, end it (${end}) and run opsbook db migrate again. The migrations applied before it stay applied; this one was not.`,
    {
      location: lock.target.location,
      lock: MIGRATE_LOCK.toString(),
      holders: held.map((h) => h.pid),
    },
  );
}

async function versionIn(client: ClientBase): Promise<number> {
  const { rows } = await client.query<{ version: number | null }>(
    `select max(version) as version from ${MIGRATIONS_TABLE}`,
  );
  return rows[0]?.version ?? 0;
}

function tooNew(version: number, target: ConnectionTarget) {
  return new stateErrors.WorkFailedError(
    'STATE_DB_TOO_NEW',
    `the PostgreSQL state store at ${target.location} is at schema version ${version}, newer than ` +
      `the ${LATEST_VERSION} this opsbook knows: a newer opsbook migrated it; upgrade opsbook`,
    { location: target.location, version, known: LATEST_VERSION },
  );
}

/**
 * Connects to the store at `url` now and refuses it as a store refuses it on first use: not
 * reachable (STATE_DB_UNREACHABLE), not migrated, or migrated by a newer opsbook. For a process
 * that reaches the database through something else first (a worker's job queue).
 */
export async function checkStateStore(url: string | undefined): Promise<void> {
  const target = connectionTargetOf(url);
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    ...(url ? { connectionString: url } : {}),
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => undefined); // the query in progress fails with it
  try {
    await client.connect();
    await checkSchemaVersion(client, target);
  } catch (e) {
    throw unreachableError(e, target) ?? e;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Refuses a store whose schema this opsbook cannot use: not migrated (or not far enough), or
 * migrated by a newer opsbook. Run once per store and process, on first use.
 */
export async function checkSchemaVersion(
  client: ClientBase,
  target: ConnectionTarget,
): Promise<void> {
  let version: number;
  try {
    version = await versionIn(client);
  } catch (e) {
    if ((e as { code?: string }).code !== '42P01') throw e; // 42P01: undefined_table
    version = 0;
  }
  if (version > LATEST_VERSION) throw tooNew(version, target);
  if (version < LATEST_VERSION) {
    throw new stateErrors.WorkFailedError(
      'STATE_DB_NOT_MIGRATED',
      `the PostgreSQL state store at ${target.location} is at schema version ${version} and this ` +
        `opsbook needs ${LATEST_VERSION}: run opsbook db migrate`,
      { location: target.location, version, needed: LATEST_VERSION },
    );
  }
}
