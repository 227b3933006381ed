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
 *
 * A long-lived worker hears many claims: past `maxHeard` those kept are cut down to the claims
 * this pool still holds. A claim heard before the locks were read and not among them ended (its
 * job completed, failed, or given back): it is no longer this pool's, and needs no keeping; were
 * this pool to hold that job again unheard, that would be a new claim whose answer was lost.
 */
/** Claims heard kept before they are cut down to those this pool still holds. */
const MAX_HEARD = 1000;

export class UnheardClaims {
  /** Claims heard, by job id, each with the count of claims heard when it was. */
  private readonly heard = new Map<string, number>();
  private heardSoFar = 0;
  private pruning: Promise<void> | undefined;
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
      /** Claims heard kept before they are cut down (default MAX_HEARD). */
      maxHeard?: number;
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
      this.heard.set(String(job.id), ++this.heardSoFar);
      this.answered();
      if (this.heard.size > (this.options.maxHeard ?? MAX_HEARD)) void this.pruneHeard();
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

  /** Claims heard so far and kept. */
  get heardCount(): number {
    return this.heard.size;
  }

  /** Whether the claim of job `jobId` is kept as heard. */
  hasHeard(jobId: string): boolean {
    return this.heard.has(jobId);
  }

  /**
   * `use` of the jobs this pool holds now, called at once after they are read (no claim heard in
   * between); not called when a claim was asked for while they were read (committed, maybe, and
   * not heard yet: what was read is not the whole of it).
   */
  private async withLockedNow<T>(
    poolId: string,
    use: (locked: Set<string>) => T,
  ): Promise<T | undefined> {
    if (this.asking > 0) return undefined;
    const asked = this.asked;
    const locked = await this.pool.query<{ id: string }>(
      'select id::text from graphile_worker._private_jobs where locked_by = $1',
      [poolId],
    );
    // A claim asked for meanwhile may be in what was read, committed and not yet heard.
    if (this.asked !== asked || this.asking > 0) return undefined;
    return use(new Set(locked.rows.map((r) => r.id)));
  }

  /**
   * Forgets the claims heard before the locks are read that this pool no longer holds; one heard
   * meanwhile may not be in what is read, and is kept. Errors are said, and it is tried again at
   * the next claim heard.
   */
  private pruneHeard(): Promise<void> {
    const { poolId } = this;
    if (poolId === undefined) return Promise.resolve();
    const before = this.heardSoFar;
    this.pruning ??= this.pool
      .query<{ id: string }>(
        'select id::text from graphile_worker._private_jobs where locked_by = $1',
        [poolId],
      )
      .then(({ rows }) => {
        const locked = new Set(rows.map((r) => r.id));
        for (const [id, when] of this.heard)
          if (when <= before && !locked.has(id)) this.heard.delete(id);
      })
      .catch((e: unknown) => this.options.onError?.(e))
      .finally(() => {
        this.pruning = undefined;
      });
    return this.pruning;
  }

  private async tryReturn(poolId: string): Promise<void> {
    const failed = this.failed;
    const unheard = await this.withLockedNow(poolId, (locked) =>
      [...locked].filter((id) => !this.heard.has(id)),
    );
    if (!unheard) return;
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
