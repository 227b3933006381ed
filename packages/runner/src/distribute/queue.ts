import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { OpsbookError } from '@opsbook/schema';
import {
  connectionTargetOf,
  holdWorkerPoolLease,
  isConnectionLoss,
  retryWhileDown,
  unreachableError,
} from '@opsbook/state';
import type {
  JobHelpers,
  Logger,
  Runner,
  Task,
  TaskList,
  WorkerEvents,
  WorkerUtils,
} from 'graphile-worker';
import type { Pool } from 'pg';
import type { ShardJob } from './shard-job.js';
import { shardJobKey, shardTask } from './shards.js';
import { UnheardClaims } from './unheard-claims.js';

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
  /**
   * Returns a shard's job taken by the worker pool `lockedBy` to the queue (its attempt
   * uncounted), takeable again in RETURN_DELAY_MS; false when that pool no longer holds it.
   */
  giveBack(runId: string, shard: number, lockedBy: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * How long a job given back waits before a worker may take it: the submitter that gave it back
 * still holds the shard's lease for the moment it takes to journal why and let it go, and a
 * worker that found it held would refuse the shard (LEASE_LOST) instead of running it.
 */
const RETURN_DELAY_MS = 5000;

/**
 * Whether the job of `helpers` is still taken by this worker's pool: a submitter that found
 * this pool's lease free took it for dead and may have given the job back (another worker may
 * hold it now). Asked while holding the shard's lease, which the giving back holds too.
 */
export async function isJobStillTaken(helpers: JobHelpers): Promise<boolean> {
  const { id, locked_by: lockedBy } = helpers.job;
  if (!lockedBy) return false;
  const { rows } = await helpers.withPgClient((client) =>
    client.query<{ taken: boolean }>(
      `select exists (select 1 from graphile_worker._private_jobs
         where id = $1::bigint and locked_by = $2) as taken`,
      [id, lockedBy],
    ),
  );
  return rows[0]?.taken === true;
}

/** The queue in the database at `url` (absent: the PG* variables), its schema migrated. */
export async function openQueue(url: string | undefined, log?: QueueLog): Promise<Queue> {
  const [{ makeWorkerUtils }, { default: pg }] = await Promise.all([
    import('graphile-worker'),
    import('pg'),
  ]);
  // The queue's own pool, not one graphile-worker makes from the URL: graphile-worker removes
  // its error listeners on release and ends its pool without waiting, so a connection the server
  // ended just then (a restart, the server stopping) threw an uncaught 'error' from the pool.
  // These listeners stay, and close() returns once every connection is closed.
  const { pool, end: endPool } = pooled(new pg.Pool(url ? { connectionString: url } : {}), log);
  let utils: WorkerUtils;
  try {
    utils = await reaching(url, async () =>
      makeWorkerUtils({ pgPool: pool, logger: await loggerOf(log) }),
    );
  } catch (e) {
    await endPool();
    throw e;
  }
  try {
    await reaching(url, () => utils.migrate());
  } catch (e) {
    await utils.release();
    await endPool();
    throw e;
  }
  const queue: Queue = {
    async add(jobs) {
      // Retried while the server is down or restarting (up to 30 s, as the run's claim): the
      // run is claimed and started by now. A job whose commit answer was lost is in the queue,
      // and may be taken already: its key makes the retry add nothing then (unsafe_dedupe
      // leaves a job of that key as it is, even taken or failed), never a second job.
      for (const job of jobs)
        await reaching(url, () =>
          retryWhileDown(() =>
            utils.addJob(shardTask(job.zone), job as never, {
              // Never run a host twice: a shard is tried once, whatever happens to its worker.
              maxAttempts: 1,
              jobKey: shardJobKey(job.runId, job.shard),
              jobKeyMode: 'unsafe_dedupe',
            }),
          ),
        );
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
    async giveBack(runId, shard, lockedBy) {
      const returned = await utils.withPgClient((client) =>
        client.query(
          `update graphile_worker._private_jobs
           set attempts = greatest(0, attempts - 1), locked_by = null, locked_at = null,
             run_at = greatest(run_at, now() + $3 * interval '1 millisecond')
           where key = $1 and locked_by = $2`,
          [shardJobKey(runId, shard), lockedBy, RETURN_DELAY_MS],
        ),
      );
      return (returned.rowCount ?? 0) > 0;
    },
    close: async () => {
      try {
        await utils.release();
      } finally {
        await endPool();
      }
    },
  };
  return queue;
}

/**
 * Creates the queue's schema in the database at `url`, or brings it to this graphile-worker's,
 * and lets it go: what the store's administrator runs (opsbook db grant-runner) so that the
 * runners' role, which may not create a schema, finds the queue there.
 */
export async function installQueue(url: string | undefined): Promise<void> {
  const queue = await openQueue(url);
  await queue.close();
}

export interface QueueWorkerOptions {
  url: string | undefined;
  taskList: TaskList;
  /** Shards run at once by this process. */
  concurrency: number;
  log?: QueueLog;
  /**
   * A job's task ended while the database could not be reached (said once per job): its end is
   * recorded once the server answers again, or given up if the worker is stopped first.
   */
  onEndWaiting?(jobId: string, error: OpsbookError): void;
  /** The database answers again: the end of a job said waiting is recorded now. */
  onEndRecording?(jobId: string): void;
}

/** A graphile-worker runner taking only the tasks of its task list. */
export interface QueueWorker {
  /** The job queue pool of this process: the `locked_by` of the jobs it takes. */
  poolId: string;
  /**
   * Settles once it stopped: rejects with STATE_DB_UNREACHABLE when the end of a job could not be
   * recorded before the stop (the job stays taken, and is never tried again).
   */
  promise: Promise<void>;
  /** No new job starts; running tasks finish; an end still waiting for the database is given up. */
  stop(): Promise<void>;
}

/** A graphile-worker runner taking only the tasks of `taskList` (the worker's zones). */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const [{ run }, { default: pg }, { EventEmitter }] = await Promise.all([
    import('graphile-worker'),
    import('pg'),
    import('node:events'),
  ]);
  const logger = await loggerOf(options.log);
  const ends = new JobEnds(connectionTargetOf(options.url), options);
  const { pool, end: endPool } = pooled(
    new pg.Pool(options.url ? { connectionString: options.url } : {}),
    options.log,
  );
  ends.guard(pool);
  const claims = new UnheardClaims(pool, {
    onReturned: (ids) =>
      options.log?.(
        'warning',
        `job(s) ${ids.join(', ')}: taken by this worker, but the database's answer was lost (a restart or a dropped connection): returned to the queue, to be run once by a worker of its zone`,
      ),
    onError: (e) =>
      options.log?.(
        'error',
        `could not look for jobs taken with their answer lost (tried again at the next poll): ${e instanceof Error ? e.message : String(e)}`,
      ),
  });
  const events: WorkerEvents = new EventEmitter();
  claims.listen(events);
  // Held while this process runs: a submitter tells by it that a job this pool took was taken
  // by a worker that is gone, not one still on its way to the shard's lease.
  let alive: { close(): Promise<void> } | undefined;
  let poolId = '';
  events.on('pool:create', ({ workerPool }) => {
    poolId = workerPool.id;
    alive = holdWorkerPoolLease(options.url, workerPool.id, (e) =>
      options.log?.(
        'error',
        `could not take this worker's lease ${workerPool.id} (taken again once the database answers): ${e instanceof Error ? e.message : String(e)}`,
      ),
    );
  });
  const endPoolAndLease = async () => {
    await alive?.close();
    await endPool();
  };
  let runner: Runner;
  try {
    runner = await reaching(options.url, () =>
      run({
        pgPool: pool,
        events,
        taskList: ends.wrap(options.taskList),
        concurrency: options.concurrency,
        // The CLI decides what SIGINT and SIGTERM do (finish the shard's running steps, then stop).
        noHandleSignals: true,
        pollInterval: 1000,
        logger,
      }),
    );
  } catch (e) {
    await endPoolAndLease();
    throw e;
  }
  let isStopping = false;
  // A runner that ended by itself has released what it holds: its pool may end with it. One
  // stopped by stop() may still be shutting down when its promise settles: stop() ends it.
  const settled = () => (isStopping ? undefined : endPoolAndLease());
  const promise = runner.promise.then(
    async () => {
      await settled();
      ends.throwIfLost();
    },
    async (e) => {
      await settled();
      ends.throwIfLost();
      throw unreachableError(e, connectionTargetOf(options.url)) ?? e;
    },
  );
  return {
    poolId,
    promise,
    async stop() {
      isStopping = true;
      const stopped = runner.stop();
      ends.giveUp();
      try {
        await stopped;
        // A claim lost just before the stop goes back to the queue, for another worker.
        await claims.returnUnheard();
      } finally {
        await endPoolAndLease();
      }
    },
  };
}

/*
 * graphile-worker writes a job's end (completeJob, failJob) right after its task returns, and
 * does not await the write: when the server is down at that moment, the write's rejection is
 * unhandled, and Node ends the worker with a stack trace. So before a task returns, the database
 * must answer a query on the pool the write then uses (and whose idle connection it takes); while
 * it does not, the end waits, said once. A worker stopped meanwhile gives the end up: the job
 * stays taken, never tried again (maxAttempts 1), and the runner's promise rejects with
 * STATE_DB_UNREACHABLE; the write graphile-worker still tries then is kept from failing.
 */
export class JobEnds {
  private readonly stopping = new AbortController();
  private readonly lost: OpsbookError[] = [];
  /** Ends given up and being handed to graphile-worker, until its write has started. */
  private givenUp = 0;

  constructor(
    private readonly target: ReturnType<typeof connectionTargetOf>,
    private readonly options: Pick<QueueWorkerOptions, 'onEndWaiting' | 'onEndRecording'>,
  ) {}

  wrap(tasks: TaskList): TaskList {
    return Object.fromEntries(
      Object.entries(tasks).map(([name, task]) => [name, task && this.waitingTask(task)]),
    );
  }

  /** The end of a job given up before the stop, if any, as the error the worker ends with. */
  throwIfLost(): void {
    if (this.lost[0]) throw this.lost[0];
  }

  giveUp(): void {
    this.stopping.abort();
  }

  /**
   * While an end given up is handed over, a new connection that fails because the server is down
   * never settles, instead of rejecting where nothing handles it: graphile-worker's write of that
   * end, which nothing awaits.
   */
  guard(pool: Pool): void {
    const connect = pool.connect.bind(pool) as () => Promise<unknown>;
    const guarded = () => {
      if (this.givenUp === 0) return connect();
      return connect().catch((e: unknown) => {
        if (isConnectionLoss(e)) return new Promise<never>(() => undefined);
        throw e;
      });
    };
    pool.connect = ((callback?: unknown) =>
      callback === undefined
        ? guarded()
        : (connect as (cb: unknown) => void).call(pool, callback)) as Pool['connect'];
  }

  private waitingTask(task: Task): Task {
    return async (payload, helpers) => {
      let failure: { error: unknown } | undefined;
      try {
        await task(payload, helpers);
      } catch (error) {
        failure = { error };
      }
      if (await this.untilRecordable(helpers)) {
        this.givenUp++;
        // graphile-worker starts its write in the microtasks after this task returns.
        void setImmediate().then(() => this.givenUp--);
      }
      if (failure) throw failure.error;
    };
  }

  /**
   * Waits until the database answers a query (or does not for another reason than being
   * down: graphile-worker's write then says why). True when the worker was stopped first: the
   * job's end is given up.
   */
  private async untilRecordable(helpers: JobHelpers): Promise<boolean> {
    const jobId = helpers.job.id;
    let waiting: OpsbookError | undefined;
    for (let pause = 500; ; pause = Math.min(pause * 2, 5000)) {
      const down = await helpers
        .withPgClient((client) => client.query('select 1'))
        .then(
          () => undefined,
          (e: unknown) => (isConnectionLoss(e) ? unreachableError(e, this.target) : undefined),
        );
      if (!down) {
        if (waiting) this.options.onEndRecording?.(jobId);
        return false;
      }
      if (!waiting) this.options.onEndWaiting?.(jobId, down);
      waiting = down;
      if (this.stopping.signal.aborted) {
        this.lost.push(endLost(jobId, down));
        return true;
      }
      await sleep(pause, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }
}

function endLost(jobId: string, error: OpsbookError): OpsbookError {
  return new OpsbookError(
    error.kind,
    error.code,
    `${error.message.replace(/[.\s]+$/, '')}. Job ${jobId} ended, but this worker was stopped before the database answered again: the queue keeps the job taken, and never runs it again`,
    { ...error.details, jobId },
    { cause: error },
  );
}

/** A pool of the queue's, and the end of it: every connection closed (at most 10 s). */
export interface QueuePool {
  pool: Pool;
  end(): Promise<void>;
}

/**
 * `pool` with the listeners graphile-worker installs on a pool of its own, kept for the pool's
 * life: a connection the server ends (a restart, pg_terminate_backend, the server stopping) is
 * dropped by the pool, or fails its next query; without listeners its 'error' would end the
 * process. pg's `pool.end()` resolves before its connections are closed: end() waits for them,
 * so that nothing of the queue's is still open when it returns.
 */
export function pooled(pool: Pool, log?: QueueLog): QueuePool {
  const open = new Set<Promise<void>>();
  pool.on('error', (e) => log?.('error', `PostgreSQL idle client generated error: ${e.message}`));
  pool.on('connect', (client) => {
    client.on('error', (e) =>
      log?.('error', `PostgreSQL active client generated error: ${e.message}`),
    );
    const closed = new Promise<void>((resolve) => client.once('end', () => resolve()));
    open.add(closed);
    void closed.then(() => open.delete(closed));
  });
  let ended: Promise<void> | undefined;
  return {
    pool,
    end() {
      ended ??= (async () => {
        await pool.end().catch(() => undefined);
        const bound = new AbortController();
        await Promise.race([
          Promise.all(open),
          sleep(10_000, undefined, { signal: bound.signal }).catch(() => undefined),
        ]);
        bound.abort();
      })();
      return ended;
    },
  };
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
