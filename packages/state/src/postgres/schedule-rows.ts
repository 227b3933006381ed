import type { RunStatus } from '../run-status.js';
import type { ScheduleLog, ScheduleSlot, SlotOutcome } from '../schedule-log.js';
import { retryWhileDown } from './connection.js';
import type { Database } from './database.js';

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
  };
}

/** opsbook_schedules and opsbook_schedule_slots (migration 2). */
export function scheduleLogIn(db: Database, clock: () => Date): ScheduleLog {
  return {
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
      const rows = await db.guard(() =>
        db.query(
          `insert into opsbook_schedule_slots (schedule, slot, backfilled, started_at)
           values ($1, $2, $3, $4) on conflict (schedule, slot) do nothing returning 1`,
          [schedule, slot, backfilled, clock()],
        ),
      );
      return rows.length === 1;
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
                  code, message
           from opsbook_schedule_slots where slot >= $1 order by slot, schedule`,
          [since],
        ),
      );
      return rows.map(slotOf);
    },
  };
}
