import type { Config } from '@opsbook/schema';
import { type ScheduleStatus, scheduleStatus } from './schedule-status.js';
import { parseScheduleCron, scheduleLogOf } from './schedules.js';

export interface ScheduleReport {
  schedules: ScheduleStatus[];
  /** True when a schedule missed a slot or has no scheduler: what an alert watches. */
  hasMissed: boolean;
}

/**
 * `opsbook schedule list`: each schedule of opsbook.yaml with its next slot, its last run and
 * the slots since `since` that ran nothing, read from the store every scheduler records in.
 */
export async function readScheduleReport(
  config: Config,
  options: { now: Date; since: Date },
): Promise<ScheduleReport> {
  const log = scheduleLogOf(config, 'opsbook schedule list');
  const parsed = await parseScheduleCron(config);
  const [known, slots] = await Promise.all([log.knownSchedules(), log.slotsSince(options.since)]);
  const schedules = parsed.map(({ schedule, matches }) => {
    // A cron no scheduler runs yet (changed in opsbook.yaml since) is not known under it.
    const registered = known.find((k) => k.name === schedule.name && k.cron === schedule.cron);
    return scheduleStatus({
      schedule,
      matches,
      known: registered,
      slots: slots.filter((s) => s.schedule === schedule.name),
      now: options.now,
      since: options.since,
    });
  });
  return { schedules, hasMissed: schedules.some((s) => s.state !== 'ok') };
}
