import type { Config } from '@opsbook/schema';
import { UsageError } from '@opsbook/schema';
import { connectionTargetOf } from '@opsbook/state';
import type { ParsedCronItem, Runner, TaskList, WorkerEvents } from 'graphile-worker';
import { JobEnds, pooled } from '../distribute/queue.js';
import { UnheardClaims } from '../distribute/unheard-claims.js';
import { runScheduledSlot, type SlotPayload, type SlotRunOptions } from './scheduled-run.js';
import { parseScheduleCron, SCHEDULE_TASK, scheduleLogOf, schedulesOf } from './schedules.js';

export type SchedulerOptions = SlotRunOptions;

/** What a graphile-worker runner needs to run the schedules: merge both into its own options. */
export interface ScheduleTasks {
  taskList: TaskList;
  parsedCronItems: ParsedCronItem[];
}

/**
 * The schedules of opsbook.yaml, refused when there are none: `opsbook schedule run` says so
 * before it asks for the executor key or the database, which a newcomer may not have set up yet.
 */
export function requireSchedules(config: Config) {
  const schedules = schedulesOf(config);
  if (!schedules.length)
    throw new UsageError(
      `${config.file ?? 'opsbook.yaml'} has no schedules: add e.g. schedules: {daily-inspection: {runbook: daily-inspection, cron: "0 6 * * *"}} (see docs/schedules.md)`,
    );
  return schedules;
}

/**
 * The schedules of opsbook.yaml as graphile-worker cron items, and the task their jobs run
 * (`opsbook_schedule`), with the schedules registered in the store so that from now on a slot
 * no scheduler takes is reported as missed. For `opsbook schedule run`, and for a worker that
 * runs the schedules beside its other tasks.
 */
export async function scheduleTasks(options: SchedulerOptions): Promise<ScheduleTasks> {
  const { config } = options;
  const log = scheduleLogOf(config, 'opsbook schedule run');
  const schedules = requireSchedules(config);
  const parsed = await parseScheduleCron(config);
  await log.register(schedules.map(({ name, runbook, cron }) => ({ name, runbook, cron })));
  return {
    taskList: {
      [SCHEDULE_TASK]: (payload) => runScheduledSlot(options, payload as SlotPayload),
    },
    parsedCronItems: parsed.map((p) => p.item),
  };
}

export interface Scheduler {
  /** Settles when the scheduler has stopped (after `stop`, or when the queue failed). */
  done: Promise<void>;
  /** Stops taking slots and waits for the runs going on (abort `signal` to interrupt them). */
  stop(): Promise<void>;
}

/**
 * `opsbook schedule run`: a graphile-worker runner on the state store's database that queues
 * each schedule's slots with its cron (backfilling `backfill` on start) and runs them.
 */
export async function startScheduler(options: SchedulerOptions): Promise<Scheduler> {
  const { taskList, parsedCronItems } = await scheduleTasks(options);
  const { run, Logger } = await import('graphile-worker');
  const { default: pg } = await import('pg');
  // A connection the server drops is replaced by the pool (its listeners stay for its life, and
  // say nothing: graphile-worker's logger reports what matters); graphile-worker reconnects itself.
  const { pool: pgPool, end: endPool } = pooled(
    new pg.Pool({
      ...(urlOf(options.config) ? { connectionString: urlOf(options.config) } : {}),
      max: parsedCronItems.length + 4,
    }),
  );
  const logger = new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning')
      options.onEvent?.({ type: 'queue', level, message });
  });
  // graphile-worker writes a slot job's end without awaiting it: with the server down just then,
  // the write's rejection was unhandled and ended the scheduler with a stack trace. The end
  // waits for the database, as a worker's shard end does (the slot's own row is written already).
  const ends = new JobEnds(connectionTargetOf(urlOf(options.config)), {
    onEndWaiting: (jobId, error) =>
      options.onEvent?.({
        type: 'queue',
        level: 'warning',
        message: `the end of job ${jobId} waits for the database to record it: ${error.message}`,
      }),
  });
  ends.guard(pgPool);
  // A slot's job taken with its commit answer lost goes back to the queue, as a shard's does.
  const queueNote = (level: 'warning' | 'error', message: string) =>
    options.onEvent?.({ type: 'queue', level, message });
  const claims = new UnheardClaims(pgPool, {
    onReturned: (ids) =>
      queueNote(
        'warning',
        `job(s) ${ids.join(', ')}: taken by this scheduler, but the database's answer was lost (a restart or a dropped connection): returned to the queue, to be run once`,
      ),
    onError: (e) =>
      queueNote(
        'error',
        `could not look for jobs taken with their answer lost (tried again at the next poll): ${e instanceof Error ? e.message : String(e)}`,
      ),
  });
  const { EventEmitter } = await import('node:events');
  const events: WorkerEvents = new EventEmitter();
  claims.listen(events);
  let runner: Runner;
  try {
    runner = await run({
      pgPool,
      events,
      taskList: ends.wrap(taskList),
      parsedCronItems,
      // Every schedule may run at once; a slot whose schedule is still going runs nothing.
      concurrency: parsedCronItems.length,
      noHandleSignals: true,
      logger,
    });
  } catch (e) {
    await endPool();
    throw e;
  }
  // A claim lost just before the runner stopped goes back too, before the pool ends.
  const done = runner.promise.finally(async () => {
    await claims.returnUnheard();
    await endPool();
  });
  return {
    done,
    async stop() {
      ends.giveUp();
      await runner.stop();
      await done;
    },
  };
}

function urlOf(config: Config): string | undefined {
  return config.state.kind === 'postgres' ? config.state.url : undefined;
}
