import type { Config } from '@opsbook/schema';
import { checkScheduleApproval, type ScheduleApproval } from './schedule-approval.js';
import { type ScheduleStatus, scheduleStatus } from './schedule-status.js';
import { parseScheduleCron, scheduleLogOf } from './schedules.js';

export interface ScheduleReport {
  schedules: (ScheduleStatus & { approval: ScheduleApproval })[];
  /**
   * True when a schedule missed a slot, has no scheduler, or has a standing approval that does
   * not verify (every slot of it would be refused): what an alert watches.
   */
  hasMissed: boolean;
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
  const schedules = [];
  for (const { schedule, matches } of parsed) {
    // A cron no scheduler runs yet (changed in opsbook.yaml since) is not known under it.
    const registered = known.find((k) => k.name === schedule.name && k.cron === schedule.cron);
    const status = scheduleStatus({
      schedule,
      matches,
      known: registered,
      slots: slots.filter((s) => s.schedule === schedule.name),
      now: options.now,
      since: options.since,
    });
    // The rows say what schedulers recorded; only the approval checked here says what may run.
    schedules.push({
      ...status,
      approval: await checkScheduleApproval(config, schedule, options.now),
    });
  }
  return {
    schedules,
    hasMissed: schedules.some((s) => s.state !== 'ok' || !s.approval.ok),
  };
}
