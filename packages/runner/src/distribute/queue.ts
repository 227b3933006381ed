import { connectionTargetOf, unreachableError } from '@opsbook/state';
import type { Logger, Runner, TaskList, WorkerUtils } from 'graphile-worker';
import type { ShardJob } from './shard-job.js';
import { shardJobKey, shardTask } from './shards.js';

/*
 * The job queue of distributed runs is graphile-worker's, in the state store's database (its own
 * schema, graphile_worker, migrated by graphile-worker itself). This file is the only one that
 * speaks to it; graphile-worker is imported lazily, by the commands that need it.
 */

/** Where a shard's job is in the queue. */
export type JobState =
  /** Waiting for a worker of its zone. */
  | { state: 'queued' }
  /** A worker took it. */
  | { state: 'taken'; lockedAt: Date; lockedBy: string | null }
  /** Its worker gave up on it (a refusal or an error), never to be tried again. */
  | { state: 'failed'; error: string }
  /** Done: graphile-worker deletes a job that completed. */
  | { state: 'done' };

/** graphile-worker's log lines, as opsbook hands them on (packages never print). */
export type QueueLog = (level: string, message: string) => void;

async function loggerOf(log: QueueLog | undefined): Promise<Logger> {
  const { Logger } = await import('graphile-worker');
  return new Logger(() => (level, message) => log?.(level, message));
}

export interface Queue {
  add(jobs: readonly ShardJob[]): Promise<void>;
  states(runId: string, shards: readonly number[]): Promise<Map<number, JobState>>;
  /** Fails the jobs no worker has taken yet (an interrupted submitter); returns their shards. */
  withdraw(runId: string, shards: readonly number[], reason: string): Promise<number[]>;
  close(): Promise<void>;
}

/** The queue in the database at `url` (absent: the PG* variables), its schema migrated. */
export async function openQueue(url: string | undefined, log?: QueueLog): Promise<Queue> {
  const { makeWorkerUtils } = await import('graphile-worker');
  const utils: WorkerUtils = await reaching(url, async () =>
    makeWorkerUtils({
      ...(url ? { connectionString: url } : {}),
      logger: await loggerOf(log),
    }),
  );
  try {
    await reaching(url, () => utils.migrate());
  } catch (e) {
    await utils.release();
    throw e;
  }
  const queue: Queue = {
    async add(jobs) {
      for (const job of jobs)
        await utils.addJob(shardTask(job.zone), job as never, {
          // Never run a host twice: a shard is tried once, whatever happens to its worker.
          maxAttempts: 1,
          jobKey: shardJobKey(job.runId, job.shard),
        });
    },
    async states(runId, shards) {
      const rows = await utils.withPgClient((client) =>
        client.query<{
          key: string;
          attempts: number;
          max_attempts: number;
          locked_at: Date | null;
          locked_by: string | null;
          last_error: string | null;
        }>(
          `select key, attempts, max_attempts, locked_at, locked_by, last_error
           from graphile_worker.jobs where key = any($1::text[])`,
          [shards.map((s) => shardJobKey(runId, s))],
        ),
      );
      const byKey = new Map(rows.rows.map((r) => [r.key, r]));
      const states = new Map<number, JobState>();
      for (const s of shards) {
        const row = byKey.get(shardJobKey(runId, s));
        if (!row) states.set(s, { state: 'done' });
        else if (row.locked_at)
          states.set(s, { state: 'taken', lockedAt: row.locked_at, lockedBy: row.locked_by });
        else if (row.attempts >= row.max_attempts)
          states.set(s, { state: 'failed', error: row.last_error ?? 'no error recorded' });
        else states.set(s, { state: 'queued' });
      }
      return states;
    },
    async withdraw(runId, shards, reason) {
      const current = await queue.states(runId, shards);
      const queued = shards.filter((s) => current.get(s)?.state === 'queued');
      if (queued.length === 0) return [];
      const ids = await utils.withPgClient((client) =>
        client.query<{ id: string; key: string }>(
          'select id::text, key from graphile_worker.jobs where key = any($1::text[])',
          [queued.map((s) => shardJobKey(runId, s))],
        ),
      );
      const failed = await utils.permanentlyFailJobs(
        ids.rows.map((r) => r.id),
        reason,
      );
      const keys = new Set(failed.map((j) => j.key));
      return queued.filter((s) => keys.has(shardJobKey(runId, s)));
    },
    close: async () => {
      await utils.release();
    },
  };
  return queue;
}

export interface QueueWorkerOptions {
  url: string | undefined;
  taskList: TaskList;
  /** Shards run at once by this process. */
  concurrency: number;
  log?: QueueLog;
}

/** A graphile-worker runner taking only the tasks of `taskList` (the worker's zones). */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<Runner> {
  const { run } = await import('graphile-worker');
  const logger = await loggerOf(options.log);
  return reaching(options.url, () =>
    run({
      ...(options.url ? { connectionString: options.url } : {}),
      taskList: options.taskList,
      concurrency: options.concurrency,
      // The CLI decides what SIGINT and SIGTERM do (finish the shard's running steps, then stop).
      noHandleSignals: true,
      pollInterval: 1000,
      logger,
    }),
  );
}

/**
 * `work` on the queue's database, a connection failure (the server down, a refused login)
 * turned into STATE_DB_UNREACHABLE naming the server, as the state store says it.
 */
async function reaching<T>(url: string | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw unreachableError(e, connectionTargetOf(url)) ?? e;
  }
}
