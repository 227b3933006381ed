import { setTimeout as sleep } from 'node:timers/promises';
import {
  connectionTargetOf,
  exclusiveHoldersOf,
  type JournalLine,
  type LockHolder,
  SharedJournal,
  workerLease,
  workerPoolLease,
} from '@opsbook/state';
import type { RunEvent } from '../execute/run-events.js';
import { HostResults } from './host-results.js';
import type { JobState, Queue } from './queue.js';
import { type Shard, shardLease } from './shards.js';

/** What the submitter sees of its shards, for the person waiting. */
export type ShardNotice =
  | {
      type: 'waiting';
      shard: Shard;
      forMs: number;
      /** Whether a worker of the shard's zone holds its lease on this database (busy, then). */
      isWorkerConnected: boolean;
      /**
       * Sessions that hold the zone's lease exclusively (any role may take the lock; workers share
       * it): with one, whether a worker is connected cannot be told, and isWorkerConnected is false.
       */
      lockedBy: LockHolder[];
      /** The database, for the message (never its password). */
      database: string;
    }
  | { type: 'presumed-dead'; shard: Shard; hosts: string[] }
  /** Taken by a worker that is gone before any host of it started: queued again. */
  | { type: 'returned'; shard: Shard; worker: string }
  | { type: 'refused'; shard: Shard; error: string }
  | { type: 'withdrawn'; shard: Shard };

export interface FollowInput {
  url: string | undefined;
  runId: string;
  journal: SharedJournal;
  queue: Queue;
  shards: readonly Shard[];
  signal: AbortSignal;
  /** How long a taken shard's lease may stay free before its worker is presumed dead. */
  deadAfterMs: number;
  pollMs: number;
  onEvent?(event: RunEvent): void;
  onShard?(notice: ShardNotice): void;
}

export interface Followed {
  results: HostResults;
  interrupted: boolean;
  /** Leases taken over from dead workers: held until the run ends, so no late worker appends. */
  takenOver: SharedJournal[];
}

/**
 * Follows a distributed run's journal until every host has ended, passing each event on. A shard
 * whose worker is gone (its job taken or failed, its lease free for `deadAfterMs`) is taken over:
 * the submitter takes its lease, so that worker can append nothing more, and journals a host-end
 * for each of its hosts still open: `unreachable` (state unknown) for a host that started,
 * `not-started` for one that did not. Nothing is ever run again. Except when the worker that
 * took the job is gone for sure (its pool's lease free: its session ended) and no host of the
 * shard started: then the job is given back to the queue (`shard-returned` journaled), and a
 * worker of its zone runs the shard once.
 */
export async function followShards(input: FollowInput): Promise<Followed> {
  const follower = new ShardFollower(input);
  let failingSince: number | undefined;
  let lastCheck = 0;
  while (!follower.isDone) {
    await follower.readNew();
    if (follower.isDone) break;
    // Ctrl-C is acted on at once (queued shards withdrawn), the rest once a second.
    const now = Date.now();
    if (now - lastCheck >= Math.max(input.pollMs, 1000) || follower.isInterruptPending) {
      lastCheck = now;
      try {
        await follower.checkShards();
        failingSince = undefined;
      } catch (e) {
        // The queue's database restarting: check again on the next round, for a while.
        failingSince ??= now;
        if (now - failingSince > 60_000) throw e;
      }
    }
    await sleep(input.pollMs);
  }
  return follower.followed;
}

/** What the submitter knows of its run while it follows it. */
class ShardFollower {
  private readonly results = new HostResults();
  private readonly hostCount: number;
  private readonly takenOver: SharedJournal[] = [];
  /** Since when each taken shard's lease has been seen free. */
  private readonly freeSince = new Map<number, number>();
  private readonly warned = new Set<number>();
  /** Shards whose refusal was told (a take-over tried again tells it once). */
  private readonly told = new Set<number>();
  private readonly started = Date.now();
  private lastSeq = 0;
  private withdrawn = false;

  constructor(private readonly input: FollowInput) {
    this.hostCount = input.shards.reduce((n, s) => n + s.hosts.length, 0);
  }

  get isDone(): boolean {
    return this.results.size >= this.hostCount;
  }

  get isInterruptPending(): boolean {
    return this.input.signal.aborted && !this.withdrawn;
  }

  get followed(): Followed {
    return { results: this.results, interrupted: this.withdrawn, takenOver: this.takenOver };
  }

  /** Passes on the journal's new events and records the hosts that ended. */
  async readNew(): Promise<void> {
    for (;;) {
      const lines = await this.input.journal.linesAfter(this.lastSeq);
      for (const line of lines) {
        this.lastSeq = line.seq;
        const event = eventOf(line);
        if (event.type === 'run-start' || event.type === 'run-end') continue;
        this.results.add(event);
        this.input.onEvent?.(event);
      }
      if (lines.length < 5000) return;
    }
  }

  /** Looks at each open shard's job and lease; takes over those whose worker is gone. */
  async checkShards(): Promise<void> {
    const { input } = this;
    const open = input.shards.filter((s) => s.hosts.some((h) => !this.results.has(h)));
    if (open.length === 0) return;
    if (this.isInterruptPending) await this.withdraw(open);
    const states = await input.queue.states(
      input.runId,
      open.map((s) => s.index),
    );
    for (const shard of open) await this.checkShard(shard, states.get(shard.index) as JobState);
  }

  private async withdraw(open: readonly Shard[]): Promise<void> {
    this.withdrawn = true;
    const gone = await this.input.queue.withdraw(
      this.input.runId,
      open.map((s) => s.index),
      WITHDRAWN,
    );
    for (const s of open.filter((o) => gone.includes(o.index)))
      this.input.onShard?.({ type: 'withdrawn', shard: s });
  }

  private async checkShard(shard: Shard, state: JobState): Promise<void> {
    const { input } = this;
    if (state.state === 'queued') {
      if (!this.warned.has(shard.index) && Date.now() - this.started > 10_000) {
        this.warned.add(shard.index);
        const lease = workerLease(shard.zone);
        const { holders } = await exclusiveHoldersOf(input.url, lease);
        const lockedBy = holders.filter((h) => h.isGranted);
        input.onShard?.({
          type: 'waiting',
          shard,
          forMs: Date.now() - this.started,
          isWorkerConnected: lockedBy.length === 0 && (await input.journal.isLeaseHeld(lease)),
          lockedBy,
          database: connectionTargetOf(input.url).location,
        });
      }
      return;
    }
    if (await input.journal.isLeaseHeld(shardLease(input.runId, shard.index))) {
      this.freeSince.delete(shard.index);
      return;
    }
    const since = this.freeSince.get(shard.index) ?? Date.now();
    this.freeSince.set(shard.index, since);
    const zone = `shard ${shard.index} (zone ${shard.zone})`;
    if (state.state === 'failed') {
      const isWithdrawn = state.error.includes(WITHDRAWN);
      if (!isWithdrawn && !this.told.has(shard.index)) {
        this.told.add(shard.index);
        input.onShard?.({ type: 'refused', shard, error: state.error });
      }
      await this.takeOver(shard, () =>
        isWithdrawn
          ? `never started: the run was interrupted before a worker took ${zone}`
          : `never started: its worker refused ${zone}: ${state.error}`,
      );
    } else if (state.state === 'done' || Date.now() - since >= input.deadAfterMs) {
      if (state.state === 'taken' && (await this.giveBack(shard, state.lockedBy))) return;
      const hosts = shard.hosts.filter((h) => !this.results.has(h));
      input.onShard?.({ type: 'presumed-dead', shard, hosts });
      await this.takeOver(shard, (hostStarted) =>
        hostStarted
          ? `the worker running ${zone} stopped mid-shard: this host's state is unknown, and opsbook did not run it again`
          : `never started: the worker that took ${zone} stopped before it`,
      );
    }
  }

  /**
   * Gives the job of a shard back to the queue when the pool that took it (`lockedBy`) is gone
   * (its lease free) and, under the shard's lease, the journal shows no host of it started; a
   * worker of that pool still on its way finds the job no longer its own and refuses it
   * (runShard). True when it was given back, or the shard's lease is held again.
   */
  private async giveBack(shard: Shard, lockedBy: string | null): Promise<boolean> {
    const { input } = this;
    if (!lockedBy || (await input.journal.isLeaseHeld(workerPoolLease(lockedBy)))) return false;
    let lease: SharedJournal;
    try {
      lease = await SharedJournal.join({
        url: input.url,
        runId: input.runId,
        lease: shardLease(input.runId, shard.index),
      });
    } catch (e) {
      if ((e as { code?: string }).code === 'LEASE_LOST') return true; // a worker holds it
      throw e;
    }
    try {
      await this.readNew();
      if ((await lease.hostsSeen(shard.hosts)).length > 0) return false;
      if (!(await input.queue.giveBack(input.runId, shard.index, lockedBy))) return false;
      await lease.append({
        type: 'shard-returned',
        shard: shard.index,
        zone: shard.zone,
        hosts: shard.hosts,
        worker: lockedBy,
        reason: `the worker that took shard ${shard.index} (zone ${shard.zone}) is gone (its lease in the database ended: killed, or its machine lost) and no host of it had started: given back to the queue, for a worker of zone ${shard.zone} to run once`,
      });
      this.freeSince.delete(shard.index);
      input.onShard?.({ type: 'returned', shard, worker: lockedBy });
      return true;
    } finally {
      await lease.close().catch(() => undefined);
    }
  }

  /**
   * Takes the shard's lease (its worker can write nothing more), then journals a host-end for
   * each host of it still open. A worker that took its lease back meanwhile is left alone.
   */
  private async takeOver(shard: Shard, why: (hostStarted: boolean) => string): Promise<void> {
    let lease: SharedJournal;
    try {
      lease = await SharedJournal.join({
        url: this.input.url,
        runId: this.input.runId,
        lease: shardLease(this.input.runId, shard.index),
      });
    } catch (e) {
      if ((e as { code?: string }).code === 'LEASE_LOST') return; // its worker is back
      throw e;
    }
    try {
      await this.readNew(); // every line its worker committed is in before the lease was free
      const open = shard.hosts.filter((h) => !this.results.has(h));
      const seen = new Set(await lease.hostsSeen(open));
      for (const host of open)
        await lease.append({
          type: 'host-end',
          host,
          status: seen.has(host) ? 'unreachable' : 'not-started',
          rolledBack: false,
          error: why(seen.has(host)),
        });
      await this.readNew();
    } catch (e) {
      // Let the lease go, so that the next check sees it free and takes the shard over again.
      // Held, it would look like a live worker's, and the run would wait for it for ever.
      await lease.close().catch(() => undefined);
      throw e;
    }
    this.takenOver.push(lease);
  }
}

/** The reason a withdrawn job is failed with, so that it is told apart from a refusal. */
const WITHDRAWN = 'withdrawn: the submitting opsbook run was interrupted';

function eventOf(line: JournalLine): RunEvent {
  const { seq: _s, at: _a, prev: _p, hash: _h, ...event } = line;
  return event as unknown as RunEvent;
}
