import { type Config, readDuration, UsageError, ValidationError } from '@opsbook/schema';
import { type ScheduleLog, stateStoreOf } from '@opsbook/state';

/** A schedule of opsbook.yaml (`schedules:`), with its backfill in milliseconds. */
export interface Schedule {
  name: string;
  /** The routine runbook; it runs under `standing.<runbook>`, verified at every slot. */
  runbook: string;
  /** minute hour day-of-month month day-of-week, in UTC. */
  cron: string;
  target?: string;
  /** How far back a starting scheduler runs slots no scheduler took (0: none). */
  backfillMs: number;
}

/** The graphile-worker task every schedule's jobs run. */
export const SCHEDULE_TASK = 'opsbook_schedule';

/** The cron item identifier of a schedule (graphile-worker's known_crontabs key). */
export function cronIdentifier(name: string): string {
  return `opsbook-schedule:${name}`;
}

/** The schedules of a configuration, in the order opsbook.yaml lists them. */
export function schedulesOf(config: Pick<Config, 'raw'>): Schedule[] {
  return Object.entries(config.raw.schedules ?? {}).map(([name, s]) => ({
    name,
    runbook: s.runbook,
    cron: s.cron.trim().replace(/ +/g, ' '),
    ...(s.target !== undefined ? { target: s.target } : {}),
    backfillMs: s.backfill ? (readDuration(s.backfill, ['m', 'h', 'd'])?.ms ?? 0) : 0,
  }));
}

/**
 * The schedule log of the configured state store: schedules need the PostgreSQL store, where
 * every scheduler and every `opsbook schedule list` of the team meet.
 */
export function scheduleLogOf(config: Config, command: string): ScheduleLog {
  const log = stateStoreOf(config).schedules;
  if (!log)
    throw new UsageError(
      `${command} needs the PostgreSQL state store, where the team's schedulers take each slot once: set state: {kind: postgres, url: postgres://…} in opsbook.yaml or OPSBOOK_DATABASE_URL, and run opsbook db migrate (the files in ${config.stateDir} cannot be shared)`,
    );
  return log;
}

/** Minute, hour, day of month, month (1-12) and day of week (0 Sunday) of a UTC minute. */
export interface MinuteDigest {
  min: number;
  hour: number;
  date: number;
  month: number;
  dow: number;
}

export function digestOf(at: Date): MinuteDigest {
  return {
    min: at.getUTCMinutes(),
    hour: at.getUTCHours(),
    date: at.getUTCDate(),
    month: at.getUTCMonth() + 1,
    dow: at.getUTCDay(),
  };
}

/** Whether a schedule fires at a minute: graphile-worker's own matcher for its cron. */
export type SlotMatcher = (digest: MinuteDigest) => boolean;

/**
 * graphile-worker's parsed cron items for the schedules (imported only here, when a scheduler or
 * a status needs them). A cron the config's pattern let through but graphile-worker refuses
 * (a range such as 5-3) is a ValidationError naming the schedule.
 */
export async function parseScheduleCron(config: Pick<Config, 'raw' | 'file'>) {
  const { parseCronItem } = await import('graphile-worker');
  return schedulesOf(config).map((schedule) => {
    try {
      const item = parseCronItem(
        {
          task: SCHEDULE_TASK,
          identifier: cronIdentifier(schedule.name),
          match: schedule.cron,
          payload: { schedule: schedule.name },
          options: {
            backfillPeriod: schedule.backfillMs,
            // A failed slot is recorded, never retried: a retry would touch the hosts again.
            // No queueName: a killed worker's queue stays locked for 4 hours, so one schedule's
            // slots are kept apart by the slot's own hold (runScheduledSlot) instead.
            maxAttempts: 1,
          },
        },
        `schedules.${schedule.name}`,
      );
      return { schedule, item, matches: item.match as SlotMatcher };
    } catch (e) {
      throw ValidationError.single(
        config.file ?? 'opsbook.yaml',
        `schedules.${schedule.name}.cron "${schedule.cron}": ${(e as Error).message}`,
        'bad-cron',
      );
    }
  });
}
