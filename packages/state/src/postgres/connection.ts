import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OpsbookError } from '@opsbook/schema';
import { stateErrors } from '../error-codes.js';

/** Where a PostgreSQL state store is, as far as messages may say: never its password. */
export interface ConnectionTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  /** `postgres://user@host:port/database`. */
  location: string;
  /**
   * True when no url and no PGHOST, PGPORT or PGDATABASE named the store, so that libpq's
   * defaults (localhost:5432, the OS user's database) were tried: messages say to name it.
   */
  unnamed?: true;
}

/**
 * The server, database and user a connection url (or, absent, libpq's PG* variables) names,
 * read the way libpq reads them, so that messages name what the driver really connects to.
 */
export function connectionTargetOf(
  url: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ConnectionTarget {
  let parsed: URL | undefined;
  if (url) {
    try {
      parsed = new URL(url);
    } catch {
      // reported by the driver when it connects; the location falls back to the environment
    }
  }
  const query = (name: string) => parsed?.searchParams.get(name) || undefined;
  const decoded = (text: string | undefined) => (text ? decodeURIComponent(text) : undefined);
  const user = decoded(parsed?.username) ?? query('user') ?? env.PGUSER ?? osUser();
  const host = decoded(parsed?.hostname) ?? query('host') ?? env.PGHOST ?? 'localhost';
  const port = Number(parsed?.port || query('port') || env.PGPORT || 5432);
  const database = decoded(parsed?.pathname.slice(1)) ?? env.PGDATABASE ?? user;
  return {
    host,
    port,
    database,
    user,
    location: `postgres://${encodeURIComponent(user)}@${host}:${port}/${encodeURIComponent(database)}`,
    ...(url || env.PGHOST || env.PGPORT || env.PGDATABASE ? {} : { unnamed: true as const }),
  };
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'postgres';
  }
}

interface DriverError {
  code?: string;
  message?: string;
}

// Server-side codes (SQLSTATE) and socket errors that mean the server went away or is not
// there yet: work that met them may succeed once it is back.
const SERVER_GONE = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);
const SOCKET_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOENT', // a unix socket that is not there while the server restarts
]);
const LOST_CONNECTION =
  /Connection terminated|connection timeout|Client has encountered a connection error|Connection is closed/i;

/** True when `e` is the connection failing (the server down or restarting), not the SQL. */
export function isConnectionLoss(e: unknown): boolean {
  const { code, message } = (e ?? {}) as DriverError;
  if (code && (SERVER_GONE.has(code) || SOCKET_ERRORS.has(code))) return true;
  return !code && LOST_CONNECTION.test(message ?? '');
}

/** Login refused: bad password, no such role, no matching pg_hba line, no password given. */
function isLoginRefused(e: unknown): boolean {
  const { code, message } = (e ?? {}) as DriverError;
  return (
    code === '28P01' ||
    code === '28000' ||
    (!code && /^SASL: |password must be a string|password authentication/i.test(message ?? ''))
  );
}

/**
 * STATE_DB_UNREACHABLE for a connection failure, naming the server and database and what to do
 * (never the password: the driver's messages do not carry it and the url is not repeated);
 * undefined for any other error.
 */
export function unreachableError(e: unknown, target: ConnectionTarget): OpsbookError | undefined {
  const { code, message } = (e ?? {}) as DriverError;
  const where = `${target.host}:${target.port}/${target.database}`;
  const details = { host: target.host, port: target.port, database: target.database, cause: code };
  let text: string | undefined;
  if (!code && /password must be a string/i.test(message ?? '')) {
    // The driver's words for a server that asks for a password when none was found.
    text =
      `the PostgreSQL state store at ${where} asks user ${target.user} for a password, and none was given: ` +
      'set PGPASSWORD, add a line host:port:database:user:password to ~/.pgpass (mode 0600), or put it in the url of OPSBOOK_DATABASE_URL';
  } else if (isLoginRefused(e)) {
    text =
      `the PostgreSQL state store at ${where} refused the login of user ${target.user} (${message}): ` +
      'check the user and its password (PGPASSWORD, ~/.pgpass or the url in OPSBOOK_DATABASE_URL)';
  } else if (code === '3D000') {
    text =
      `the PostgreSQL server at ${target.host}:${target.port} has no database ${target.database}: ` +
      'create it (createdb) or fix state.url / OPSBOOK_DATABASE_URL, then run opsbook db migrate';
  } else if (isConnectionLoss(e)) {
    text =
      `cannot reach the PostgreSQL state store at ${where} (${code ?? message}): check that the ` +
      'server runs and that state.url in opsbook.yaml (or OPSBOOK_DATABASE_URL, or PGHOST/PGPORT) names it';
  }
  if (text === undefined) return undefined;
  // state: {kind: postgres} with no url, in a shell where OPSBOOK_DATABASE_URL was not exported:
  // the address above is libpq's guess, not one the user gave, and the fix is to give one.
  if (target.unnamed)
    text +=
      '. No url names the store: opsbook.yaml has state: {kind: postgres} without a url, and OPSBOOK_DATABASE_URL ' +
      "(or PGHOST, PGPORT, PGDATABASE) is not set, so libpq's defaults were tried: export " +
      'OPSBOOK_DATABASE_URL=postgres://user@host:5432/database (or set state.url in opsbook.yaml, without the password)';
  return new stateErrors.UnreachableError('STATE_DB_UNREACHABLE', text, details);
}

/** What to do about a server's refusal, by SQLSTATE (or its class, the first two characters). */
const REFUSAL_ADVICE: Record<string, string> = {
  '42501':
    "grant the role what opsbook needs on its tables: the store's administrator (the role that ran opsbook db migrate) runs opsbook db grant-runner <role>",
  // migrations.ts (version 9): the database's own refusal to rewrite the audit trail.
  OB001:
    'the journal lines and run records are append-only: opsbook never changes or removes them, so this was not opsbook; nothing was changed. Ask the team why this role tried',
  // migrations.ts (version 10): a journal line for a run whose end is already recorded.
  OB002:
    "opsbook writes a run's end after its journal's last line, so another session of this role recorded the end meanwhile; the run stopped here, this event was not written. Ask the team who holds this role's credentials and did it, and check the run's hosts (opsbook runs show names what ran)",
  '25006':
    'the server is a read-only standby, or default_transaction_read_only is on: point state.url (or OPSBOOK_DATABASE_URL) at the primary',
  '53100': "the database server's disk is full: free space on it, then run again",
  '53300':
    "the server (or the role) has no connection left: end idle sessions or raise max_connections (or the role's connection limit), then run again",
  '57014':
    "a statement timeout set on the server, the database or the role cancelled the statement: raise it (or reset it) for opsbook's role, then run again",
  // opsbook's SQL against a schema that is not the one its recorded migrations made: a table,
  // column or function dropped, or a partial restore (migrate adds nothing it recorded as done).
  ...Object.fromEntries(
    ['42P01', '42703', '42883', '3F000'].map((code) => [
      code,
      'the database lacks a table, column or function opsbook db migrate made (dropped, or a partial restore), while its record of migrations says they are there: restore the database from a backup, or ask its administrator; opsbook db migrate re-creates nothing it recorded as done',
    ]),
  ),
  '53': 'the server lacks a resource (memory, disk, connections): ask its administrator, then run again',
  '54': 'a limit of the server was reached: ask its administrator',
  '57': 'the server cancelled the work (an administrator, or a timeout): run again, and ask its administrator if it recurs',
  '40': 'the server rolled the transaction back (a deadlock or a serialization conflict): run again',
};

/**
 * STATE_DB_REFUSED for an error the server answered with (a SQLSTATE) whose cause is the
 * database's state or grants, not opsbook's SQL: a role without the grant, a read-only standby,
 * a full disk, no connection left, a statement timeout. It names the server, the user, the
 * server's words and SQLSTATE, and what to do; undefined for any other error (a bug).
 */
export function refusalError(e: unknown, target: ConnectionTarget): OpsbookError | undefined {
  const { code, message } = (e ?? {}) as DriverError;
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  const advice = REFUSAL_ADVICE[code] ?? REFUSAL_ADVICE[code.slice(0, 2)];
  if (advice === undefined) return undefined;
  const where = `${target.host}:${target.port}/${target.database}`;
  return new stateErrors.WorkFailedError(
    'STATE_DB_REFUSED',
    `the PostgreSQL state store at ${where} refused the work of user ${target.user}: ${message} (SQLSTATE ${code}); ${advice}`,
    { host: target.host, port: target.port, database: target.database, sqlstate: code },
  );
}

export interface RetryOptions {
  /** How long to keep trying after the first failure (default 30 s). */
  forMs?: number;
}

/**
 * Runs `work`, and runs it again while it fails because the server is down or restarting, for up
 * to `forMs` with backoff: a run outlives a PostgreSQL restart. `work` must be idempotent: its
 * first attempt may have committed before the connection broke.
 */
export async function retryWhileDown<T>(
  work: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.forMs ?? 30_000);
  let pause = 50;
  for (let attempt = 0; ; attempt++) {
    try {
      return await work(attempt);
    } catch (e) {
      if (!isConnectionLoss(e) || Date.now() + pause > deadline) throw e;
    }
    await sleep(pause);
    pause = Math.min(pause * 2, 1000);
  }
}
