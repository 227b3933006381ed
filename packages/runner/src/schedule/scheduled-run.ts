import type { SshSigner } from '@opsbook/approval';
import { type Config, isOpsbookError, loadConfig, storageErrorOf } from '@opsbook/schema';
import { type ScheduleLog, type SlotEnd, sessionFacts, stateStoreOf } from '@opsbook/state';
import { runnerErrors } from '../error-codes.js';
import { runRoutine } from '../execute/routine-run.js';
import { TicketGate } from '../ticket/run-ticket.js';
import { openTracker } from '../ticket/ticket-tracker.js';
import { SLOT_GRACE_MS } from './schedule-status.js';
import { digestOf, parseScheduleCron, scheduleLogOf, schedulesOf } from './schedules.js';

/** What a scheduler tells of its slots, for the CLI to print (packages never print). */
export type ScheduleEvent =
  | { type: 'slot-start'; schedule: string; slot: string; backfilled: boolean }
  | ({ type: 'slot-end'; slot: string } & Omit<SlotEnd, 'slot'>)
  /**
   * Another scheduler sharing the database took the slot first, or another session holds the
   * slot's lock (`opsbook-schedule-slot:<name>:<ms>`), which keeps the slot from running:
   * `holders` names the sessions holding it, as pg_stat_activity tells (`pid 42, user ops, …`),
   * when the lock was refused and they could be read.
   */
  | { type: 'slot-taken'; schedule: string; slot: string; holders?: string[] }
  /**
   * A job in the queue for a minute its schedule's cron does not fire, or one still to come:
   * graphile-worker's cron queues no such job, so it was queued by hand. Nothing ran, no slot
   * was taken.
   */
  | { type: 'slot-invalid'; schedule: string; slot: string; message: string }
  /** A warning or error of the job queue itself. */
  | { type: 'queue'; level: 'warning' | 'error'; message: string };

export interface SlotRunOptions {
  /** The configuration the scheduler started with: its store records the slot. */
  config: Config;
  /** The machine's executor key: it signs every run claim, and must be listed in approvers.yaml. */
  executorSigner: SshSigner;
  env: NodeJS.ProcessEnv;
  /** Aborted when the scheduler stops: a run going on is interrupted and recorded so. */
  signal: AbortSignal;
  /** The time a slot's lateness is judged by (default the system clock). */
  clock?: () => Date;
  onEvent?(event: ScheduleEvent): void;
}

/** The payload graphile-worker's cron gives a schedule's job. */
export interface SlotPayload {
  schedule: string;
  _cron: { ts: string; backfilled?: boolean };
}

/**
 * One tick of a schedule: hold and take the slot (once across every scheduler on the database),
 * then run the routine exactly as `opsbook inspect` would (opsbook.yaml read again, the standing
 * approval verified now: signature, digest, expiry, selector, ticket, runs left), and record the
 * run, or the refusal or error that kept it from starting. A slot that comes up too late, or while
 * a live scheduler still runs an earlier slot of its schedule, is refused. The hold ends with the
 * process however it ends, so a killed scheduler's slot is seen as abandoned and holds nothing
 * back. Throws only when the slot cannot be recorded.
 */
export async function runScheduledSlot(options: SlotRunOptions, payload: SlotPayload) {
  const log = scheduleLogOf(options.config, 'a schedule');
  const schedule = payload.schedule;
  const slot = new Date(payload._cron?.ts ?? Number.NaN);
  const invalid = await slotProblem(options, schedule, slot);
  if (invalid) {
    options.onEvent?.({
      type: 'slot-invalid',
      schedule: String(schedule),
      slot: Number.isNaN(slot.getTime()) ? String(payload._cron?.ts) : slot.toISOString(),
      message: invalid,
    });
    return;
  }
  const backfilled = payload._cron.backfilled === true;
  const at = { schedule, slot: slot.toISOString() };
  const hold = await log.holdSlot({ schedule, slot });
  if (!hold) {
    const holders = await slotHolderFacts(log, schedule, slot);
    options.onEvent?.({ type: 'slot-taken', ...at, ...(holders.length ? { holders } : {}) });
    return;
  }
  try {
    if (!(await log.beginSlot({ schedule, slot, backfilled }))) {
      options.onEvent?.({ type: 'slot-taken', ...at });
      return;
    }
    options.onEvent?.({ type: 'slot-start', ...at, backfilled });
    let end: Omit<SlotEnd, 'schedule' | 'slot'>;
    try {
      refuseLate(options, schedule, slot);
      if (!(await hold.takeSchedule()))
        throw new runnerErrors.RefusalError(
          'SCHEDULE_BUSY',
          `the lock of ${schedule} is held, by a live scheduler while an earlier slot goes on, or by another session of the database${await holdersText(log, schedule)}: nothing ran for ${at.slot} (one schedule's slots never overlap); opsbook schedule list shows which`,
        );
      end = await runSlotRoutine(options, schedule, slot);
    } catch (thrown) {
      // A filesystem's refusal (a full disk, a read-only or misplaced state folder) is recorded
      // in opsbook's words and code, as a typed command reports it, not as Node's errno text.
      const e = isOpsbookError(thrown) ? thrown : (storageErrorOf(thrown) ?? thrown);
      const known = isOpsbookError(e);
      end = {
        outcome: known && e.kind === 'refused' ? 'refused' : 'error',
        code: known ? e.code : 'INTERNAL',
        message: e instanceof Error ? e.message : String(e),
      };
    }
    await log.endSlot({ schedule, slot, ...end });
    options.onEvent?.({ type: 'slot-end', ...at, ...end });
  } finally {
    await hold.release();
  }
}

/**
 * Why a queued job is no slot of its schedule, or undefined when it is one: a whole minute its
 * cron fires (as a scheduler queues it), not still to come (beyond the grace a scheduler's clock
 * may be ahead of another's). The queue is graphile-worker's tables in the team's database,
 * which anyone with its credentials can write: a job queued there by hand for another minute
 * would run the routine when the schedule does not, and one dated ahead would take the slot's row
 * before its minute, leaving nothing for the slot itself. Such a job takes no row, so the slot
 * to come still runs, and one the cron missed is still reported as missed. The cron is the one
 * this scheduler started with, or, for a schedule added to opsbook.yaml since (another scheduler,
 * started later, queues its slots), the one opsbook.yaml holds now; a schedule in neither is left
 * to the slot's own checks (SCHEDULE_UNKNOWN).
 */
async function slotProblem(
  options: SlotRunOptions,
  schedule: string,
  slot: Date,
): Promise<string | undefined> {
  if (Number.isNaN(slot.getTime())) return 'its time is not an instant: nothing ran';
  const now = (options.clock?.() ?? new Date()).getTime();
  if (slot.getTime() - now > SLOT_GRACE_MS)
    return `the slot ${slot.toISOString()} of ${schedule} is still to come (${minutesOf(slot.getTime() - now)} ahead): the scheduler queues a slot at its minute, so it was put in the queue by other means; nothing ran, and the slot runs when it comes`;
  const cron =
    (await cronOf(options.config, schedule)) ??
    (await loadConfig({ file: options.config.file, env: options.env }).then(
      (fresh) => cronOf(fresh, schedule),
      () => undefined, // the slot's own reading of opsbook.yaml records why it cannot be read
    ));
  if (!cron) return undefined;
  if (slot.getTime() % 60_000 !== 0 || !cron.matches(digestOf(slot)))
    return `${slot.toISOString()} is not a minute the cron "${cron.schedule.cron}" (UTC) of ${schedule} fires: the scheduler queues no such job, so it was put in the queue by other means; nothing ran`;
  return undefined;
}

/** The parsed cron of `schedule` in `config`, if it has that schedule (and its cron parses). */
async function cronOf(config: Config, schedule: string) {
  try {
    return (await parseScheduleCron(config)).find((p) => p.schedule.name === schedule);
  } catch {
    return undefined; // a cron that does not parse: opsbook.yaml is refused where it loads
  }
}

/**
 * Refuses a slot that comes up later than its grace, or than its schedule's backfill when that is
 * longer (a slot queued behind a stuck worker, or hours late): it would touch the hosts at a time
 * the schedule does not allow.
 */
function refuseLate(options: SlotRunOptions, schedule: string, slot: Date): void {
  const backfillMs = schedulesOf(options.config).find((s) => s.name === schedule)?.backfillMs ?? 0;
  const allowedMs = Math.max(SLOT_GRACE_MS, backfillMs);
  const lateMs = (options.clock?.() ?? new Date()).getTime() - slot.getTime();
  if (lateMs > allowedMs)
    throw new runnerErrors.RefusalError(
      'SCHEDULE_SLOT_LATE',
      `the slot ${slot.toISOString()} of ${schedule} came up ${minutesOf(lateMs)} late, past the ${minutesOf(allowedMs)} a slot may start late (${backfillMs > SLOT_GRACE_MS ? 'its backfill' : 'the grace of a slot'}): nothing ran`,
    );
}

/** Who holds a schedule's lock, as pg_stat_activity tells it: `(pid 42, user ops, …)`. */
async function holdersText(log: ScheduleLog, schedule: string): Promise<string> {
  const facts = factsOf(await log.scheduleHolders(schedule));
  return facts.length ? ` (${facts.join('; ')})` : '';
}

/** Who holds a slot's lock the scheduler was refused, as pg_stat_activity tells it. */
async function slotHolderFacts(log: ScheduleLog, schedule: string, slot: Date): Promise<string[]> {
  return factsOf(await log.slotHolders({ schedule, slot }));
}

function factsOf({ holders }: Awaited<ReturnType<ScheduleLog['scheduleHolders']>>): string[] {
  return holders.flatMap((h) =>
    h.isGranted && h.pid !== null ? [sessionFacts({ ...h, pid: h.pid })] : [],
  );
}

function minutesOf(ms: number): string {
  return `${Math.floor(ms / 60_000)} min`;
}

/** The routine of a slot, as `opsbook inspect` runs it, with the configuration read again. */
async function runSlotRoutine(
  options: SlotRunOptions,
  schedule: string,
  slot: Date,
): Promise<Omit<SlotEnd, 'schedule' | 'slot'>> {
  const config = await loadConfig({ file: options.config.file, env: options.env });
  const found = schedulesOf(config).find((s) => s.name === schedule);
  if (!found)
    throw new runnerErrors.RefusalError(
      'SCHEDULE_UNKNOWN',
      `opsbook.yaml no longer has the schedule ${schedule}: nothing ran; restart opsbook schedule run so that it stops queueing it`,
    );
  const store = stateStoreOf(config);
  const { outcome } = await runRoutine({
    config,
    runbook: found.runbook,
    ...(found.target !== undefined ? { target: found.target } : {}),
    executorSigner: options.executorSigner,
    env: options.env,
    signal: options.signal,
    ticket: new TicketGate({
      services: openTracker(config, options.env),
      store,
      signal: options.signal,
      // The slot's row is the database's: the ticket records that the slot ran.
      slot: `${schedule}@${slot.toISOString()}`,
    }),
  });
  return { outcome: 'ran', runId: outcome.runId, runStatus: outcome.status };
}
