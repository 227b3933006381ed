import type { KnownSchedule, LockHolder, RunStatus, ScheduleSlot } from '@opsbook/state';
import { digestOf, type Schedule, type SlotMatcher } from './schedules.js';

const MINUTE = 60_000;

/**
 * How long after its minute a slot may still be starting before its absence counts as missed:
 * graphile-worker queues a slot's job at its minute and a worker takes it within seconds.
 */
export const SLOT_GRACE_MS = 2 * MINUTE;

/** The most missed slots a status lists (their count is always whole). */
export const MISSED_LISTED = 20;

/** Why a slot counts as missed. */
export type MissReason = 'no-run' | 'refused' | 'error' | 'abandoned';

/** What an abandoned slot is reported with. */
const ABANDONED =
  'its scheduler stopped in the middle of the slot (killed, or its machine lost) and never recorded its end: opsbook runs list shows whether a run started';

export interface MissedSlot {
  slot: string;
  /**
   * no-run: no scheduler took it (down, and backfill did not cover it); abandoned: its scheduler
   * died before recording its end; else why it ran nothing.
   */
  reason: MissReason;
  code?: string;
  message?: string;
  /**
   * A no-run slot (the newest one of its schedule) whose lock (`opsbook-schedule-slot:<name>:<ms>`)
   * a session still holds, as `opsbook schedule list` finds it: that session kept the slot from
   * any scheduler.
   */
  heldBy?: LockHolder[];
}

export interface LastSlot {
  slot: string;
  backfilled: boolean;
  /** The run's status, `running` while it goes (`abandoned`: its scheduler died), or why nothing ran. */
  status: RunStatus | 'running' | 'abandoned' | 'refused' | 'error';
  runId?: string;
  code?: string;
  message?: string;
  /**
   * Set by `opsbook schedule list` when the run the row names is not in the state store, or its
   * journal does not verify, or it is not the schedule's run as recorded: why. The row is then
   * taken for nothing (anyone with the database's credentials can write one).
   */
  unverified?: string;
}

export interface ScheduleStatus {
  name: string;
  runbook: string;
  cron: string;
  target?: string;
  /** When a scheduler first ran this schedule (with this cron); null: none has. */
  knownSince: string | null;
  next: string | null;
  last: LastSlot | null;
  missed: { count: number; slots: MissedSlot[] };
  /** ok; missed (a slot since `since` ran nothing); unscheduled (no scheduler has run it). */
  state: 'ok' | 'missed' | 'unscheduled';
}

export interface StatusInput {
  schedule: Schedule;
  matches: SlotMatcher;
  known: KnownSchedule | undefined;
  /** The schedule's slots from `since` on. */
  slots: readonly ScheduleSlot[];
  now: Date;
  /** How far back missed slots are looked for. */
  since: Date;
}

/** The first whole minute at or after `at`. */
function ceilMinute(at: Date): Date {
  return new Date(Math.ceil(at.getTime() / MINUTE) * MINUTE);
}

/** The next minute after `now` the schedule fires, looking at most a year and a day ahead. */
export function nextSlot(matches: SlotMatcher, now: Date): Date | null {
  const start = ceilMinute(new Date(now.getTime() + 1));
  for (let t = start.getTime(), end = t + 366 * 1440 * MINUTE; t <= end; t += MINUTE)
    if (matches(digestOf(new Date(t)))) return new Date(t);
  return null;
}

/** Every minute in [from, to] the schedule fires. */
export function slotsBetween(matches: SlotMatcher, from: Date, to: Date): Date[] {
  const out: Date[] = [];
  for (let t = ceilMinute(from).getTime(); t <= to.getTime(); t += MINUTE)
    if (matches(digestOf(new Date(t)))) out.push(new Date(t));
  return out;
}

function lastOf(slot: ScheduleSlot): LastSlot {
  const status =
    slot.outcome === undefined
      ? slot.abandoned
        ? 'abandoned'
        : 'running'
      : slot.outcome === 'ran'
        ? (slot.runStatus ?? 'running')
        : slot.outcome;
  return {
    slot: slot.slot.toISOString(),
    backfilled: slot.backfilled,
    status,
    ...(slot.runId ? { runId: slot.runId } : {}),
    ...(slot.code ? { code: slot.code } : {}),
    ...(slot.message ? { message: slot.message } : {}),
    ...(slot.abandoned ? { message: ABANDONED } : {}),
  };
}

/**
 * A schedule's status, pure: the slots its cron expected since it was known (and since
 * `since`), each either taken by a scheduler or missed; a taken slot whose run was refused or
 * could not start, or whose scheduler died before its end, is missed too. A slot younger than
 * SLOT_GRACE_MS is not missed yet.
 */
export function scheduleStatus(input: StatusInput): ScheduleStatus {
  const { schedule, matches, known, now, since } = input;
  const taken = new Map(input.slots.map((s) => [s.slot.getTime(), s]));
  const missed: MissedSlot[] = [];
  if (known) {
    const from = new Date(Math.max(known.knownSince.getTime(), since.getTime()));
    for (const slot of slotsBetween(matches, from, new Date(now.getTime() - SLOT_GRACE_MS)))
      if (!taken.has(slot.getTime())) missed.push({ slot: slot.toISOString(), reason: 'no-run' });
  }
  for (const s of input.slots)
    if (s.outcome === 'refused' || s.outcome === 'error')
      missed.push({
        slot: s.slot.toISOString(),
        reason: s.outcome,
        ...(s.code ? { code: s.code } : {}),
        ...(s.message ? { message: s.message } : {}),
      });
    else if (s.outcome === undefined && s.abandoned)
      missed.push({ slot: s.slot.toISOString(), reason: 'abandoned', message: ABANDONED });
  missed.sort((a, b) => b.slot.localeCompare(a.slot));
  const last = input.slots.reduce<ScheduleSlot | undefined>(
    (a, b) => (a && a.slot >= b.slot ? a : b),
    undefined,
  );
  const next = nextSlot(matches, now);
  return {
    name: schedule.name,
    runbook: schedule.runbook,
    cron: schedule.cron,
    ...(schedule.target !== undefined ? { target: schedule.target } : {}),
    knownSince: known ? known.knownSince.toISOString() : null,
    next: next ? next.toISOString() : null,
    last: last ? lastOf(last) : null,
    missed: { count: missed.length, slots: missed.slice(0, MISSED_LISTED) },
    state: !known ? 'unscheduled' : missed.length ? 'missed' : 'ok',
  };
}
