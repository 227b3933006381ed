import type { LockHolders } from './postgres/lock-holders.js';
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
  /**
   * No end recorded and no scheduler holds the slot (see `holdSlot`): its scheduler died in the
   * middle of it (killed, or its machine lost), and its end will never come.
   */
  abandoned?: boolean;
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
 * A scheduler's hold on the slot it works on: session advisory locks on connections of their
 * own, which end with the scheduler's process however it ends (SIGKILL included) instead of
 * waiting for a timeout, and are taken again after the database restarts.
 */
export interface SlotHold {
  /**
   * Takes the slot's schedule: false when a live scheduler holds it (another slot of the
   * schedule is still going), so that one schedule's slots never overlap.
   */
  takeSchedule(): Promise<boolean>;
  /** Ends the hold; the slot's end is recorded before. */
  release(): Promise<void>;
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
  /**
   * Holds a slot while a scheduler works on it, before `beginSlot`; undefined when a live
   * scheduler already holds it. A slot begun and not ended is going on while held, abandoned
   * once no one holds it.
   */
  holdSlot(at: { schedule: string; slot: Date }): Promise<SlotHold | undefined>;
  /** Takes a slot; false when it was already taken (by this or another scheduler). */
  beginSlot(slot: { schedule: string; slot: Date; backfilled: boolean }): Promise<boolean>;
  endSlot(end: SlotEnd): Promise<void>;
  knownSchedules(): Promise<KnownSchedule[]>;
  /**
   * The sessions that hold (or wait for) a schedule's lock (`opsbook-schedule:<name>`): a
   * scheduler while a slot of it goes on, or any session of the database's roles, which keeps
   * every slot of it refused (SCHEDULE_BUSY) for as long as it holds it. Never throws.
   */
  scheduleHolders(schedule: string): Promise<LockHolders>;
  /**
   * The sessions that hold (or wait for) a slot's lock (`opsbook-schedule-slot:<name>:<ms>`):
   * the scheduler that took the slot, or any session of the database's roles, which keeps the
   * slot from running while it holds it (a lock taken ahead of the slot). Never throws.
   */
  slotHolders(at: { schedule: string; slot: Date }): Promise<LockHolders>;
  /**
   * The database server's clock (`clock_timestamp()`): the job queue dates and runs slots by it,
   * while a scheduler judges a slot's lateness by its own machine's clock.
   */
  databaseNow(): Promise<Date>;
  /** Every slot from `since` on, oldest first. */
  slotsSince(since: Date): Promise<ScheduleSlot[]>;
}
