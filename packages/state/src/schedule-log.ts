import type { RunStatus } from './run-status.js';

/** A schedule of opsbook.yaml as a scheduler registers it. */
export interface ScheduleEntry {
  name: string;
  runbook: string;
  cron: string;
}

/** A registered schedule: slots are expected from `knownSince` on. */
export interface KnownSchedule extends ScheduleEntry {
  knownSince: Date;
}

/** How a slot ended: a run started, the run was refused, or something else kept it from starting. */
export type SlotOutcome = 'ran' | 'refused' | 'error';

/** One tick a scheduler took. `outcome` is absent while the slot's run is still going. */
export interface ScheduleSlot {
  schedule: string;
  slot: Date;
  /** Run late, by a scheduler that started after the slot (graphile-worker's backfill). */
  backfilled: boolean;
  startedAt: Date;
  endedAt?: Date;
  outcome?: SlotOutcome;
  runId?: string;
  runStatus?: RunStatus;
  /** The error code of a refusal or error, e.g. EXPIRED. */
  code?: string;
  message?: string;
}

export interface SlotEnd {
  schedule: string;
  slot: Date;
  outcome: SlotOutcome;
  runId?: string;
  runStatus?: RunStatus;
  code?: string;
  message?: string;
}

/**
 * What the scheduler records of its schedules and ticks (PostgreSQL store only: a scheduler
 * serves a team, and its slots must be taken once across machines).
 */
export interface ScheduleLog {
  /**
   * Records the schedules a scheduler runs; a new schedule, or one whose cron changed, is known
   * from now on.
   */
  register(entries: readonly ScheduleEntry[]): Promise<void>;
  /** Takes a slot; false when it was already taken (by this or another scheduler). */
  beginSlot(slot: { schedule: string; slot: Date; backfilled: boolean }): Promise<boolean>;
  endSlot(end: SlotEnd): Promise<void>;
  knownSchedules(): Promise<KnownSchedule[]>;
  /** Every slot from `since` on, oldest first. */
  slotsSince(since: Date): Promise<ScheduleSlot[]>;
}
