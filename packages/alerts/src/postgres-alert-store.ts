import { type Database, openDatabase, retryWhileDown } from '@opsbook/state';
import type { PoolClient } from 'pg';
import { type AlertRecord, alertKey } from './alert.js';
import { RoundBook } from './alert-round.js';
import type { AlertDay, AlertState, AlertStore, StateChange } from './alert-store.js';
import type { Incident } from './incident.js';

// Any fixed 64-bit number of our own: one dispatcher at a time across the team's receivers.
const DISPATCH_LOCK = (0x6f70_7362_6f6f_6bn + 19n).toString();
/** One intake batch at a time across the team's receivers: each works out rounds from the last's. */
const INTAKE_LOCK = 'opsbook alert intake';

/**
 * The PostgreSQL backend: the team's state store (migration 6 of @opsbook/state). An alert is a
 * row of `opsbook_alerts`, unique per fingerprint, startsAt, status and round, so a retry from
 * any receiver is stored once; the round of each alert of a batch is worked out from the rows
 * of its alert, read under a lock in the transaction that stores the batch (alert-round.ts), so
 * that it follows what every receiver stored; a pass locks `opsbook_alert_progress`, so passes of several
 * receivers take turns, and takes the alerts not converged yet in the same transaction.
 */
export function postgresAlertStore(options: { url?: string | undefined } = {}): AlertStore {
  const db = openDatabase(options.url);
  return {
    kind: 'postgres',
    location: db.target.location,
    append: (records) => db.guard(() => retryWhileDown(() => insertAlerts(db, records))),
    recentKeys: (since) =>
      db.guard(async () => {
        const rows = await db.query<KeyRow>(
          'select fingerprint, starts_at, status, round from opsbook_alerts where received_at >= $1',
          [since.toISOString()],
        );
        return rows.map(keyOfRow);
      }),
    transact: (take, work) =>
      db.guard(() =>
        db.transaction(async (client) => {
          const state = await readState(client);
          const taken =
            take > 0
              ? (
                  await client.query<{ seq: string; alert: AlertRecord }>(
                    'select seq, alert from opsbook_alerts where not converged order by seq limit $1',
                    [take],
                  )
                ).rows
              : [];
          const { change, result } = await work(
            state,
            taken.map((r) => r.alert),
          );
          await saveChange(client, change);
          if (taken.length)
            await client.query(
              'update opsbook_alerts set converged = true where seq = any($1::bigint[])',
              [taken.map((r) => r.seq)],
            );
          return result;
        }),
      ),
    dispatchLock: (work) =>
      db.guard(() =>
        db.transaction(async (client) => {
          const { rows } = await client.query<{ ok: boolean }>(
            'select pg_try_advisory_xact_lock($1) as ok',
            [DISPATCH_LOCK],
          );
          return rows[0]?.ok ? work() : undefined;
        }),
      ),
    incidents: (query = {}) =>
      db.guard(async () => {
        const rows = await db.query<{ incident: Incident }>(
          `select incident from opsbook_alert_incidents
            where ($1::boolean is not true or open)
              and ($2::timestamptz is null or opened_at >= $2)
              and ($3::timestamptz is null or opened_at <= $3)
            order by opened_at desc, length(id) desc, id desc`,
          [
            query.open ?? null,
            query.since?.toISOString() ?? null,
            query.until?.toISOString() ?? null,
          ],
        );
        return rows.map((r) => r.incident);
      }),
    incident: (idOrTicket) =>
      db.guard(async () => {
        const rows = await db.query<{ incident: Incident }>(
          `select incident from opsbook_alert_incidents where id = $1 or ticket = $1
            order by (id = $1) desc limit 1`,
          [idOrTicket],
        );
        return rows[0]?.incident;
      }),
    alertDays: (since, until) =>
      db.guard(async () => {
        const rows = await db.query<{ day: string; status: string; n: string }>(
          `select to_char(received_at at time zone 'UTC', 'YYYY-MM-DD') as day, status, count(*) as n
             from opsbook_alerts where received_at between $1 and $2 group by 1, 2 order by 1`,
          [since.toISOString(), until.toISOString()],
        );
        const days = new Map<string, AlertDay>();
        for (const r of rows) {
          const day = days.get(r.day) ?? { day: r.day, firing: 0, resolved: 0 };
          days.set(r.day, day);
          day[r.status as 'firing' | 'resolved'] = Number(r.n);
        }
        return [...days.values()];
      }),
    close: () => db.close(),
  };
}

interface KeyRow {
  fingerprint: string;
  starts_at: string;
  status: string;
  round: number;
}

function keyOfRow(r: KeyRow): string {
  return alertKey({
    fingerprint: r.fingerprint,
    startsAt: r.starts_at,
    status: r.status as AlertRecord['status'],
    round: r.round,
  });
}

/**
 * Stores a batch in one transaction: under the intake lock (receivers take turns, a batch of
 * each is a few milliseconds), reads what the table holds of the batch's alerts, works out each
 * record's round from it, and inserts the new ones: a few statements a batch, none per alert.
 */
async function insertAlerts(db: Database, given: readonly AlertRecord[]): Promise<boolean[]> {
  if (given.length === 0) return [];
  return db.transaction(async (client) => {
    await db.lockInTransaction(client, INTAKE_LOCK, 'storing alerts');
    const book = await roundsHeld(client, given);
    const placed = book.place(given);
    const fresh = placed.filter((p) => p.isNew).map((p) => p.record);
    const stored = await insertNew(client, fresh);
    return placed.map((p) => p.isNew && stored.delete(alertKey(p.record)));
  });
}

/** What the table holds of the alerts (fingerprint and startsAt) of `records`. */
async function roundsHeld(client: PoolClient, records: readonly AlertRecord[]): Promise<RoundBook> {
  const { rows } = await client.query<{
    fingerprint: string;
    starts_at: string;
    status: AlertRecord['status'];
    round: number;
    ends_at: string | null;
    sender: string | null;
  }>(
    `select a.fingerprint, a.starts_at, a.status, a.round, a.alert->>'endsAt' as ends_at,
            a.alert->>'sender' as sender
       from opsbook_alerts a
       join (select distinct * from unnest($1::text[], $2::text[])) k (fingerprint, starts_at)
         on a.fingerprint = k.fingerprint and a.starts_at = k.starts_at
      order by a.seq`,
    [records.map((r) => r.fingerprint), records.map((r) => r.startsAt)],
  );
  const book = new RoundBook();
  for (const r of rows)
    book.add({
      fingerprint: r.fingerprint,
      startsAt: r.starts_at,
      status: r.status,
      round: r.round,
      ...(r.ends_at ? { endsAt: r.ends_at } : {}),
      ...(r.sender ? { sender: r.sender } : {}),
    });
  return book;
}

/** Inserts `records`; the keys of those inserted. */
async function insertNew(
  client: PoolClient,
  records: readonly AlertRecord[],
): Promise<Set<string>> {
  if (records.length === 0) return new Set();
  const { rows } = await client.query<KeyRow>(
    `insert into opsbook_alerts (fingerprint, starts_at, status, round, received_at, alert)
     select * from unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::jsonb[])
     on conflict do nothing
     returning fingerprint, starts_at, status, round`,
    [
      records.map((r) => r.fingerprint),
      records.map((r) => r.startsAt),
      records.map((r) => r.status),
      records.map((r) => r.round ?? 0),
      records.map((r) => r.receivedAt),
      records.map((r) => JSON.stringify(r)),
    ],
  );
  return new Set(rows.map(keyOfRow));
}

async function readState(client: PoolClient): Promise<AlertState> {
  const progress = await client.query<{
    next_incident: number;
    counters: Record<string, number>;
  }>('select next_incident, counters from opsbook_alert_progress where id = 1 for update');
  const open = await client.query<{ incident: Incident }>(
    'select incident from opsbook_alert_incidents where open order by opened_at, id',
  );
  return {
    nextIncident: progress.rows[0]?.next_incident ?? 1,
    counters: progress.rows[0]?.counters ?? {},
    incidents: open.rows.map((r) => r.incident),
  };
}

async function saveChange(client: PoolClient, change: StateChange): Promise<void> {
  if (change.nextIncident !== undefined || change.counters)
    await client.query(
      `update opsbook_alert_progress set next_incident = coalesce($1, next_incident),
         counters = coalesce($2::jsonb, counters) where id = 1`,
      [change.nextIncident ?? null, change.counters ? JSON.stringify(change.counters) : null],
    );
  const incidents = change.incidents ?? [];
  if (incidents.length === 0) return;
  await client.query(
    `insert into opsbook_alert_incidents (id, opened_at, updated_at, open, grade, ticket, incident)
     select * from unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::boolean[],
                          $5::text[], $6::text[], $7::jsonb[])
     on conflict (id) do update set updated_at = excluded.updated_at, open = excluded.open,
       grade = excluded.grade, ticket = excluded.ticket, incident = excluded.incident`,
    [
      incidents.map((i) => i.id),
      incidents.map((i) => i.openedAt),
      incidents.map((i) => i.updatedAt),
      incidents.map((i) => i.open),
      incidents.map((i) => i.grade.grade),
      incidents.map((i) => i.ticket.key ?? null),
      incidents.map((i) => JSON.stringify(i)),
    ],
  );
}
