import type { Config } from '@opsbook/schema';
import type { ScheduleLog } from '@opsbook/state';
import { SLOT_GRACE_MS } from './schedule-status.js';
import { scheduleLogOf } from './schedules.js';

/**
 * From how far apart this machine's clock and the database's are said: a quarter of the grace
 * a slot has to start, so that the warning comes well before slots are lost.
 */
export const CLOCK_SKEW_WARN_MS = SLOT_GRACE_MS / 4;

/**
 * How far the database's clock is ahead of this machine's (negative: behind), in milliseconds,
 * against the middle of the round trip that read it.
 */
export async function measureClockSkew(
  log: Pick<ScheduleLog, 'databaseNow'>,
  clock: () => Date = () => new Date(),
): Promise<number> {
  const before = clock().getTime();
  const database = (await log.databaseNow()).getTime();
  const after = clock().getTime();
  return Math.round(database - (before + after) / 2);
}

/**
 * What to tell of a skew of `skewMs`, or undefined when it is small enough to ignore. graphile-
 * worker's cron queues a slot by the scheduler's clock and hands the job over by the database's,
 * while the slot's lateness is judged by the scheduler's clock: a skew eats the 2 minutes a slot
 * has to start, and past them slots are refused as late (SCHEDULE_SLOT_LATE) or reported missed.
 */
export function clockSkewWarning(skewMs: number): string | undefined {
  if (Math.abs(skewMs) < CLOCK_SKEW_WARN_MS) return undefined;
  const seconds = Math.round(Math.abs(skewMs) / 1000);
  const way = skewMs > 0 ? 'behind' : 'ahead of';
  const effect =
    Math.abs(skewMs) >= SLOT_GRACE_MS
      ? 'more than the 2 minutes a slot has to start: slots are refused as late (SCHEDULE_SLOT_LATE) or reported missed'
      : 'a slot has 2 minutes to start, and the skew takes that much of them';
  return `this machine's clock is ${seconds} s ${way} the database's (PostgreSQL clock_timestamp()): ${effect}; synchronise both with NTP (timedatectl status, chronyc tracking)`;
}

/**
 * What to tell a worker of a skew of `skewMs`, or undefined when it is small enough to ignore. A
 * worker judges each shard's approval window by its own clock (and the tracker's), where its
 * submitter judged it by another machine's, and dates its hosts' journal events with it, among
 * the submitter's: minutes apart, a shard is refused or run at the edge of the window where the
 * submitter expected otherwise, and the run's journal reads out of order.
 */
export function workerClockSkewWarning(skewMs: number): string | undefined {
  if (Math.abs(skewMs) < CLOCK_SKEW_WARN_MS) return undefined;
  const seconds = Math.round(Math.abs(skewMs) / 1000);
  const way = skewMs > 0 ? 'behind' : 'ahead of';
  return `this machine's clock is ${seconds} s ${way} the database's (PostgreSQL clock_timestamp()): this worker judges each shard's approval validity window by it (and by the tracker's), and dates the journal events of its hosts with it, among the submitter's; synchronise both with NTP (timedatectl status, chronyc tracking)`;
}

/** The warning for a worker's clock against the state store's database, if it is needed. */
export async function workerClockWarning(config: Config): Promise<string | undefined> {
  return workerClockSkewWarning(await measureClockSkew(scheduleLogOf(config, 'opsbook worker')));
}

/** The warning for this machine's clock against the state store's database, if it is needed. */
export async function scheduleClockWarning(config: Config, command: string) {
  return clockSkewWarning(await measureClockSkew(scheduleLogOf(config, command)));
}
