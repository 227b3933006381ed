import type { WorkerEvents } from 'graphile-worker';
import type { Pool } from 'pg';

/*
 * graphile-worker takes a job in one statement (get_job's update, committed at once). When the
 * connection breaks after the server committed it and before its answer came (a restart, or the
 * backend ended, at that instant), the job is locked by this worker's pool with its one attempt
 * counted, and no task of this process ever got it: the shard would never run, and its run would
 * give its hosts up as not-started. Such a claim is returned to the queue, as graphile-worker
 * returns the jobs of its local queue (returnJobs: attempt uncounted, lock cleared, only while
 * this pool still holds it), and a worker of its zone takes it again. Only a claim no task of this
 * process was given is returned: one given to a task (heard) may have run, and stays as it is.
 *
 * A claim being made while the locks are read may be committed and not yet heard: the locks read
 * then are not used, and read again at the next claim's answer.
 */
export class UnheardClaims {
  private readonly heard = new Set<string>();
  private poolId: string | undefined;
  /** Claims asked for and not yet answered. */
  private asking = 0;
  /** Claims asked for so far, and claims that failed so far (each may have committed). */
  private asked = 0;
  private failed = 0;
  /** `failed` when the locks were last found all heard. */
  private cleared = 0;
  private returning: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly options: {
      /** Claims of this worker returned to the queue, by job id. */
      onReturned?(jobIds: string[]): void;
      /** Why the locks could not be read or returned now (they are tried again later). */
      onError?(error: unknown): void;
    } = {},
  ) {}

  /** Follows the claims of the runner that emits `events` (given to run() before it starts). */
  listen(events: WorkerEvents): void {
    events.on('worker:getJob:start', ({ worker }) => {
      this.poolId = worker.workerPool.id;
      this.asking++;
      this.asked++;
    });
    events.on('job:start', ({ job }) => {
      this.heard.add(String(job.id));
      this.answered();
    });
    events.on('worker:getJob:empty', () => this.answered());
    events.on('worker:getJob:error', () => {
      this.asking--;
      this.failed++;
    });
  }

  /**
   * Returns the claims of this pool no task was given, when a claim failed since it last looked;
   * errors are said (onError) and leave them for the next time. For a runner that stopped too.
   */
  returnUnheard(): Promise<void> {
    if (this.failed === this.cleared || this.poolId === undefined) return Promise.resolve();
    this.returning ??= this.tryReturn(this.poolId)
      .catch((e: unknown) => this.options.onError?.(e))
      .finally(() => {
        this.returning = undefined;
      });
    return this.returning;
  }

  private answered(): void {
    this.asking--;
    // The database answered a claim: it may answer the lock of one that was lost too.
    void this.returnUnheard();
  }

  private async tryReturn(poolId: string): Promise<void> {
    if (this.asking > 0) return;
    const asked = this.asked;
    const failed = this.failed;
    const locked = await this.pool.query<{ id: string }>(
      'select id::text from graphile_worker._private_jobs where locked_by = $1',
      [poolId],
    );
    // A claim asked for meanwhile may be in what was read, committed and not yet heard.
    if (this.asked !== asked || this.asking > 0) return;
    const unheard = locked.rows.map((r) => r.id).filter((id) => !this.heard.has(id));
    if (unheard.length > 0) {
      const returned = await this.pool.query<{ id: string }>(
        `update graphile_worker._private_jobs
         set attempts = greatest(0, attempts - 1), locked_by = null, locked_at = null
         where id = any($2::bigint[]) and locked_by = $1
         returning id::text`,
        [poolId, unheard],
      );
      if (returned.rows.length > 0) this.options.onReturned?.(returned.rows.map((r) => r.id));
    }
    this.cleared = failed;
  }
}
