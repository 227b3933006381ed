import { isOpsbookError } from '@opsbook/schema';
import type { RunStatus } from '../run-status.js';
import type { ScheduleLog, ScheduleSlot, SlotHold, SlotOutcome } from '../schedule-log.js';
import { retryWhileDown } from './connection.js';
import type { Database } from './database.js';
import { exclusiveHoldersOf } from './lock-holders.js';
import {
  type JournalSession,
  lockKeySqlOf,
  OWN_ADVISORY_LOCKS_SQL,
  openJournalSession,
} from './shared-journal-session.js';

interface SlotRow {
  schedule: string;
  slot: Date;
  backfilled: boolean;
  started_at: Date;
  ended_at: Date | null;
  outcome: SlotOutcome | null;
  run_id: string | null;
  run_status: RunStatus | null;
  code: string | null;
  message: string | null;
  abandoned: boolean;
}

/** The lock a scheduler holds while one of its schedule's slots goes on. */
function scheduleLease(schedule: string): string {
  return `opsbook-schedule:${schedule}`;
}

/** The lock a scheduler holds while it works on a slot (its name is built in SQL too). */
function slotLease(schedule: string, slot: Date): string {
  return `opsbook-schedule-slot:${schedule}:${slot.getTime()}`;
}

/** slotLease of a row of opsbook_schedule_slots, in SQL. */
const SLOT_LEASE_SQL = `'opsbook-schedule-slot:' || schedule || ':' || (extract(epoch from slot) * 1000)::bigint`;

/**
 * Takes a session's lease (its first query does): false when another session holds it. The
 * session is the shared journal's, which takes its lease again after a reconnection.
 */
async function takeLease(session: JournalSession): Promise<boolean> {
  try {
    await session.query('select 1');
    return true;
  } catch (e) {
    await session.close();
    if (isOpsbookError(e) && e.code === 'LEASE_LOST') return false;
    throw e;
  }
}

function slotOf(row: SlotRow): ScheduleSlot {
  return {
    schedule: row.schedule,
    slot: row.slot,
    backfilled: row.backfilled,
    startedAt: row.started_at,
    ...(row.ended_at ? { endedAt: row.ended_at } : {}),
    ...(row.outcome ? { outcome: row.outcome } : {}),
    ...(row.run_id ? { runId: row.run_id } : {}),
    ...(row.run_status ? { runStatus: row.run_status } : {}),
    ...(row.code ? { code: row.code } : {}),
    ...(row.message ? { message: row.message } : {}),
    ...(row.abandoned ? { abandoned: true } : {}),
  };
}

/**
 * opsbook_schedules and opsbook_schedule_slots (migration 2); a slot's holder is a session
 * advisory lock on `url` (the store's), so no column tells it.
 */
export function scheduleLogIn(db: Database, clock: () => Date, url?: string): ScheduleLog {
  return {
    async holdSlot({ schedule, slot }): Promise<SlotHold | undefined> {
      const held = openJournalSession({ url, lease: slotLease(schedule, slot) });
      if (!(await takeLease(held))) return undefined;
      let scheduleHeld: JournalSession | undefined;
      return {
        async takeSchedule() {
          scheduleHeld = openJournalSession({ url, lease: scheduleLease(schedule) });
          return takeLease(scheduleHeld);
        },
        async release() {
          await scheduleHeld?.close();
          await held.close();
        },
      };
    },
    async register(entries) {
      if (!entries.length) return;
      await db.guard(() =>
        db.query(
          `insert into opsbook_schedules (name, runbook, cron, known_since)
           select name, runbook, cron, $4::timestamptz
           from unnest($1::text[], $2::text[], $3::text[]) as e (name, runbook, cron)
           on conflict (name) do update set
             runbook = excluded.runbook,
             cron = excluded.cron,
             known_since = case when opsbook_schedules.cron = excluded.cron
               then opsbook_schedules.known_since else excluded.known_since end`,
          [
            entries.map((e) => e.name),
            entries.map((e) => e.runbook),
            entries.map((e) => e.cron),
            clock(),
          ],
        ),
      );
    },
    async beginSlot({ schedule, slot, backfilled }) {
      const startedAt = clock();
      // Retried while the server is down or restarting: graphile-worker hands a slot over once.
      // A retry that finds this very row (its time is ours, no end: the first attempt committed
      // and its answer was lost) has taken the slot; any other row is another taker's.
      return db.guard(() =>
        retryWhileDown(async (attempt) => {
          const rows = await db.query<{ started_at: Date; ended_at: Date | null; taken: boolean }>(
            `with taken as (
               insert into opsbook_schedule_slots (schedule, slot, backfilled, started_at)
               values ($1, $2, $3, $4) on conflict (schedule, slot) do nothing
               returning started_at, ended_at, true as taken)
             select * from taken
             union all
             select started_at, ended_at, false from opsbook_schedule_slots
             where $5 and schedule = $1 and slot = $2 and not exists (select 1 from taken)`,
            [schedule, slot, backfilled, startedAt, attempt > 0],
          );
          const [row] = rows;
          if (!row) return false;
          return (
            row.taken || (row.ended_at === null && row.started_at.getTime() === startedAt.getTime())
          );
        }),
      );
    },
    async endSlot(end) {
      // The end of a run must outlive a database restart, like the run's own end.
      await db.guard(() =>
        retryWhileDown(() =>
          db.query(
            `update opsbook_schedule_slots
             set ended_at = $3, outcome = $4, run_id = $5, run_status = $6, code = $7, message = $8
             where schedule = $1 and slot = $2 and ended_at is null`,
            [
              end.schedule,
              end.slot,
              clock(),
              end.outcome,
              end.runId ?? null,
              end.runStatus ?? null,
              end.code ?? null,
              end.message ?? null,
            ],
          ),
        ),
      );
    },
    scheduleHolders(schedule) {
      return exclusiveHoldersOf(url, scheduleLease(schedule));
    },
    slotHolders({ schedule, slot }) {
      return exclusiveHoldersOf(url, slotLease(schedule, slot));
    },
    async databaseNow() {
      const rows = await db.guard(() => db.query<{ now: Date }>('select clock_timestamp() as now'));
      return rows[0]!.now;
    },
    async knownSchedules() {
      const rows = await db.guard(() =>
        db.query<{ name: string; runbook: string; cron: string; known_since: Date }>(
          'select name, runbook, cron, known_since from opsbook_schedules order by name',
        ),
      );
      return rows.map((r) => ({
        name: r.name,
        runbook: r.runbook,
        cron: r.cron,
        knownSince: r.known_since,
      }));
    },
    async slotsSince(since) {
      const rows = await db.guard(() =>
        db.query<SlotRow>(
          `select schedule, slot, backfilled, started_at, ended_at, outcome, run_id, run_status,
                  code, message,
                  ended_at is null and not exists (
                    select 1 from ${OWN_ADVISORY_LOCKS_SQL} l
                    where granted and key = ${lockKeySqlOf(SLOT_LEASE_SQL)}
                  ) as abandoned
           from opsbook_schedule_slots where slot >= $1 order by slot, schedule`,
          [since],
        ),
      );
      return rows.map(slotOf);
    },
  };
}
