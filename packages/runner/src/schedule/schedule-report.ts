import type { Config } from '@opsbook/schema';
import type { LockHolder, ScheduleLog } from '@opsbook/state';
import { measureClockSkew } from './clock-skew.js';
import { checkScheduleApproval, type ScheduleApproval } from './schedule-approval.js';
import { type ScheduleStatus, scheduleStatus } from './schedule-status.js';
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
   * verify, or has its lock held while no slot of it goes on (every slot of it would be
   * refused): what an alert watches.
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
    schedules.push({ ...status, approval, ...(lockHeldBy.length ? { lockHeldBy } : {}) });
  }
  return {
    schedules,
    clockSkewMs: await measureClockSkew(log, () => new Date()),
    hasMissed: schedules.some(
      (s) => s.state !== 'ok' || !s.approval.ok || s.lockHeldBy !== undefined,
    ),
  };
}

/** The sessions that hold a schedule's lock (granted); none when that cannot be read. */
async function strayHolders(log: ScheduleLog, schedule: string): Promise<LockHolder[]> {
  const { holders } = await log.scheduleHolders(schedule);
  return holders.filter((h) => h.isGranted);
}
