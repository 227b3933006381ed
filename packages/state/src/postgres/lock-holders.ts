import { showControlsOnLine } from '@opsbook/schema';
import {
  LOCK_KEY_SQL,
  OWN_ADVISORY_LOCKS_SQL,
  openJournalSession,
} from './shared-journal-session.js';

/**
 * A session that keeps a shared lease from being taken, as pg_locks and pg_stat_activity show it
 * on the store's own database to the store's role. A field is null where they do not tell: the
 * address, start and state of another role's session are shown only to a superuser, a member of
 * pg_read_all_stats, or that role.
 */
export interface LockHolder {
  /** Null: a prepared transaction holds it (pg_prepared_xacts), not a session. */
  pid: number | null;
  /**
   * False: it waits to take the lock exclusively, behind its shared holders, and PostgreSQL lets
   * no new holder in before it.
   */
  isGranted: boolean;
  user: string | null;
  application: string | null;
  /** `address:port`, or `local` for a unix socket. */
  client: string | null;
  /** When its session connected (ISO 8601). */
  connectedSince: string | null;
  /** `active`, `idle`, `idle in transaction`, … */
  state: string | null;
}

/**
 * What pg_stat_activity told of a session holding a lock, for a message: `pid 4242, user ops,
 * application 'psql', client 10.0.0.5:51234, connected since …`. A role's name and an application
 * name are whoever connected's to choose: their control characters and line breaks are written
 * out, so they stay on the line.
 */
export function sessionFacts(h: LockHolder & { pid: number }): string {
  return [
    `pid ${h.pid}`,
    ...(h.user !== null ? [`user ${showControlsOnLine(h.user)}`] : []),
    ...(h.application !== null ? [`application '${showControlsOnLine(h.application)}'`] : []),
    ...(h.client !== null ? [`client ${h.client}`] : []),
    ...(h.connectedSince !== null ? [`connected since ${h.connectedSince}`] : []),
  ].join(', ');
}

/** Who holds (or waits for) `lease` exclusively; `unreadable` says why that could not be read. */
export interface LockHolders {
  holders: LockHolder[];
  unreadable?: string;
}

/** A pg_locks row `l` left joined with its session's pg_stat_activity row `a`. */
export interface HolderRow {
  pid: number | null;
  granted: boolean;
  usename: string | null;
  application_name: string | null;
  client_addr: string | null;
  client_port: number | null;
  backend_start: Date | null;
  state: string | null;
}

/**
 * The sessions of the database at `url` that hold the advisory lock `lease` exclusively, or wait
 * to (those are what refuse a shared holder), read on a session of its own: the lease's session
 * has been fenced out. Never throws: this only explains a wait.
 */
export async function exclusiveHoldersOf(
  url: string | undefined,
  lease: string,
): Promise<LockHolders> {
  const session = openJournalSession({ url });
  try {
    const rows = await session.query<HolderRow>(
      `select ${HOLDER_COLUMNS}
       from ${OWN_ADVISORY_LOCKS_SQL} l left join pg_stat_activity a on a.pid = l.pid
       where l.mode = 'ExclusiveLock' and l.key = ${LOCK_KEY_SQL}
       order by l.granted desc, l.pid`,
      [lease],
    );
    return { holders: rows.map(holderOf) };
  } catch (e) {
    return { holders: [], unreadable: e instanceof Error ? e.message : String(e) };
  } finally {
    await session.close();
  }
}

/** SQL: the columns of a `HolderRow`. */
export const HOLDER_COLUMNS = `l.pid, l.granted, a.usename, a.application_name,
  host(a.client_addr) as client_addr, a.client_port, a.backend_start, a.state`;

export function holderOf(r: HolderRow): LockHolder {
  const address = r.client_addr?.includes(':') ? `[${r.client_addr}]` : r.client_addr;
  const client =
    address !== null
      ? `${address}:${r.client_port ?? '?'}`
      : // A session shown whole (its start is) with no address came over a unix socket.
        r.backend_start !== null
        ? 'local'
        : null;
  return {
    pid: r.pid,
    isGranted: r.granted,
    user: r.usename,
    application: r.application_name || null,
    client,
    connectedSince: r.backend_start?.toISOString() ?? null,
    state: r.state,
  };
}
