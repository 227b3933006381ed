import { setTimeout as sleep } from 'node:timers/promises';
import { type JournalLine, SharedJournal } from '@opsbook/state';
import type { RunEvent } from '../execute/run-events.js';
import { HostResults } from './host-results.js';
import type { JobState, Queue } from './queue.js';
import { type Shard, shardLease } from './shards.js';

/** What the submitter sees of its shards, for the person waiting. */
export type ShardNotice =
  | { type: 'waiting'; shard: Shard; forMs: number }
  | { type: 'presumed-dead'; shard: Shard; hosts: string[] }
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
 * `not-started` for one that did not. Nothing is ever run again.
 */
export async function followShards(input: FollowInput): Promise<Followed> {
  const results = new HostResults();
  const hostCount = input.shards.reduce((n, s) => n + s.hosts.length, 0);
  const takenOver: SharedJournal[] = [];
  const freeSince = new Map<number, number>();
  const started = Date.now();
  let lastSeq = 0;
  let interrupted = false;
  let withdrawn = false;
  let lastCheck = 0;
  const warned = new Set<number>();

  const readNew = async () => {
    for (;;) {
      const lines = await input.journal.linesAfter(lastSeq);
      for (const line of lines) {
        lastSeq = line.seq;
        const event = eventOf(line);
        if (event.type === 'run-start' || event.type === 'run-end') continue;
        results.add(event);
        input.onEvent?.(event);
      }
      if (lines.length < 5000) return;
    }
  };

  const takeOver = async (shard: Shard, why: (started: boolean) => string) => {
    let lease: SharedJournal;
    try {
      lease = await SharedJournal.join({
        url: input.url,
        runId: input.runId,
        lease: shardLease(input.runId, shard.index),
      });
    } catch (e) {
      if ((e as { code?: string }).code === 'LEASE_LOST') return; // its worker is back
      throw e;
    }
    takenOver.push(lease);
    await readNew(); // every line its worker committed is in before the lease was free
    const open = shard.hosts.filter((h) => !results.has(h));
    const seen = new Set(await lease.hostsSeen(open));
    for (const host of open)
      await lease.append({
        type: 'host-end',
        host,
        status: seen.has(host) ? 'unreachable' : 'not-started',
        rolledBack: false,
        error: why(seen.has(host)),
      });
    await readNew();
  };

  const checkShards = async () => {
    const open = input.shards.filter((s) => s.hosts.some((h) => !results.has(h)));
    if (open.length === 0) return;
    if (input.signal.aborted && !withdrawn) {
      withdrawn = true;
      interrupted = true;
      const gone = await input.queue.withdraw(
        input.runId,
        open.map((s) => s.index),
        'the submitting opsbook run was interrupted',
      );
      for (const s of open.filter((o) => gone.includes(o.index)))
        input.onShard?.({ type: 'withdrawn', shard: s });
    }
    const states = await input.queue.states(
      input.runId,
      open.map((s) => s.index),
    );
    for (const shard of open) {
      const state = states.get(shard.index) as JobState;
      if (state.state === 'queued') {
        if (!warned.has(shard.index) && Date.now() - started > 10_000) {
          warned.add(shard.index);
          input.onShard?.({ type: 'waiting', shard, forMs: Date.now() - started });
        }
        continue;
      }
      if (await input.journal.isLeaseHeld(shardLease(input.runId, shard.index))) {
        freeSince.delete(shard.index);
        continue;
      }
      const since = freeSince.get(shard.index) ?? Date.now();
      freeSince.set(shard.index, since);
      const zone = `shard ${shard.index} (zone ${shard.zone})`;
      if (state.state === 'failed') {
        const withdrawnByUs = withdrawn && state.error.includes('interrupted');
        if (!withdrawnByUs) input.onShard?.({ type: 'refused', shard, error: state.error });
        await takeOver(shard, () =>
          withdrawnByUs
            ? `never started: the run was interrupted before a worker took ${zone}`
            : `never started: its worker refused ${zone}: ${state.error}`,
        );
      } else if (state.state === 'done' || Date.now() - since >= input.deadAfterMs) {
        const open = shard.hosts.filter((h) => !results.has(h));
        input.onShard?.({ type: 'presumed-dead', shard, hosts: open });
        await takeOver(shard, (hostStarted) =>
          hostStarted
            ? `the worker running ${zone} stopped mid-shard: this host's state is unknown, and opsbook did not run it again`
            : `never started: the worker that took ${zone} stopped before it`,
        );
      }
    }
  };

  let failingSince: number | undefined;
  while (results.size < hostCount) {
    await readNew();
    if (results.size >= hostCount) break;
    // Ctrl-C is acted on at once (queued shards withdrawn), the rest once a second.
    if (
      Date.now() - lastCheck >= Math.max(input.pollMs, 1000) ||
      (input.signal.aborted && !withdrawn)
    ) {
      lastCheck = Date.now();
      try {
        await checkShards();
        failingSince = undefined;
      } catch (e) {
        // The queue's database restarting: check again on the next round, for a while.
        failingSince ??= Date.now();
        if (Date.now() - failingSince > 60_000) throw e;
      }
    }
    await sleep(input.pollMs);
  }
  return { results, interrupted, takenOver };
}

function eventOf(line: JournalLine): RunEvent {
  const { seq: _s, at: _a, prev: _p, hash: _h, ...event } = line;
  return event as unknown as RunEvent;
}
