import { type Config, isOpsbookError } from '@opsbook/schema';
import { type LockHolder, type ScheduleLog, stateViewOf } from '@opsbook/state';
import { measureClockSkew } from './clock-skew.js';
import { checkScheduleApproval, type ScheduleApproval } from './schedule-approval.js';
import { type LastSlot, type ScheduleStatus, scheduleStatus } from './schedule-status.js';
import type { Schedule } from './schedules.js';
import { parseScheduleCron, scheduleLogOf } from './schedules.js';

export interface ScheduleReport {
  schedules: (ScheduleStatus & {
    approval: ScheduleApproval;
    /**
     * The sessions holding the schedule's lock while no slot of it goes on: not a scheduler at
     * work, and every slot is refused (SCHEDULE_BUSY) while they hold it. Absent when none does.
     */
    lockHeldBy?: LockHolder[];
  })[];
  /**
   * True when a schedule missed a slot, has no scheduler, has a standing approval that does not
   * verify, has its lock held while no slot of it goes on (every slot of it would be refused), or
   * has a last slot whose run is not in the store as its row says (`last.unverified`): what an
   * alert watches.
   */
  hasMissed: boolean;
  /**
   * How far the database's clock is ahead of this machine's (negative: behind), in ms: the job
   * queue runs slots by the database's clock, a scheduler judges lateness by its own.
   */
  clockSkewMs: number;
}

/**
 * `opsbook schedule list`: each schedule of opsbook.yaml with its next slot, its last run and
 * the slots since `since` that ran nothing, read from the store every scheduler records in, and
 * whether its standing approval verifies now (checked here, not taken from the store).
 */
export async function readScheduleReport(
  config: Config,
  options: { now: Date; since: Date },
): Promise<ScheduleReport> {
  const log = scheduleLogOf(config, 'opsbook schedule list');
  const parsed = await parseScheduleCron(config);
  const [known, slots] = await Promise.all([log.knownSchedules(), log.slotsSince(options.since)]);
  const schedules: ScheduleReport['schedules'] = [];
  for (const { schedule, matches } of parsed) {
    // A cron no scheduler runs yet (changed in opsbook.yaml since) is not known under it.
    const registered = known.find((k) => k.name === schedule.name && k.cron === schedule.cron);
    const own = slots.filter((s) => s.schedule === schedule.name);
    const status = scheduleStatus({
      schedule,
      matches,
      known: registered,
      slots: own,
      now: options.now,
      since: options.since,
    });
    // The rows say what schedulers recorded; only the approval checked here says what may run.
    const approval = await checkScheduleApproval(config, schedule, options.now);
    // A scheduler holds the schedule's lock only while a slot of it goes on (a row without end
    // whose slot lock is held): any other holder is a session keeping every slot from running.
    const isGoingOn = own.some((s) => s.outcome === undefined && !s.abandoned);
    const lockHeldBy = isGoingOn ? [] : await strayHolders(log, schedule.name);
    // A session holding a slot's lock keeps every scheduler from it: the newest slot no
    // scheduler took is looked at (one query), as the one an alert is about.
    const noRun = status.missed.slots.find((m) => m.reason === 'no-run');
    if (noRun) {
      const { holders } = await log.slotHolders({
        schedule: schedule.name,
        slot: new Date(noRun.slot),
      });
      const held = holders.filter((h) => h.isGranted);
      if (held.length) noRun.heldBy = held;
    }
    // Only the last slot's run is read (one journal per schedule): the column users look at.
    const unverified = status.last
      ? await lastRunProblem(config, schedule, status.last)
      : undefined;
    if (status.last && unverified !== undefined) status.last.unverified = unverified;
    schedules.push({ ...status, approval, ...(lockHeldBy.length ? { lockHeldBy } : {}) });
  }
  return {
    schedules,
    clockSkewMs: await measureClockSkew(log, () => new Date()),
    hasMissed: schedules.some(
      (s) =>
        s.state !== 'ok' ||
        !s.approval.ok ||
        s.lockHeldBy !== undefined ||
        s.last?.unverified !== undefined,
    ),
  };
}

/** The sessions that hold a schedule's lock (granted); none when that cannot be read. */
async function strayHolders(log: ScheduleLog, schedule: string): Promise<LockHolder[]> {
  const { holders } = await log.scheduleHolders(schedule);
  return holders.filter((h) => h.isGranted);
}

/**
 * Why the run a slot's row names is not taken for what the row says, or undefined when it is:
 * the run must be in the state store under that exact id, its journal must verify against the
 * ledger (as `opsbook runs show` verifies it), and it must be a run of the schedule's runbook
 * that ended as the row says. A row only a database writer made (anyone with its credentials)
 * names no such run.
 */
async function lastRunProblem(
  config: Config,
  schedule: Schedule,
  last: LastSlot,
): Promise<string | undefined> {
  if (last.runId === undefined) return undefined;
  const runId = last.runId;
  const store = stateViewOf(config);
  let run: Awaited<ReturnType<typeof store.readRun>>;
  try {
    // Only that run is looked up (its row and journal): the cost stays that of one run, however
    // long the history.
    run = await store.readRun(runId, { exact: true });
  } catch (e) {
    // No run by that id (a usage error), or its journal missing: the row names no run.
    if (isOpsbookError(e) && e.kind === 'invalid')
      return `the state store has no run ${runId} with its journal (${firstLine(e.message)}), though the slot's row names it: a scheduler records a slot's run only once the run is in the store, so the row was written by other means`;
    throw e;
  }
  if (!run.verification.ok)
    return `the journal of run ${runId} does not verify: ${run.verification.problems[0]?.message ?? 'see opsbook journal verify'}; see opsbook runs show ${runId}`;
  if (run.summary.runbook !== schedule.runbook)
    return `run ${runId} is a run of ${run.summary.runbook ?? 'no runbook'}, not of ${schedule.runbook}, the schedule's runbook: the row was written by other means`;
  const ended = ['running', 'refused', 'error', 'abandoned'].includes(last.status);
  if (!ended && run.summary.status !== last.status)
    return `the row says run ${runId} ended ${last.status}, its journal says ${run.summary.status}: the row was written by other means; see opsbook runs show ${runId}`;
  return undefined;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}
