import { loadTrustedStore } from '@opsbook/approval';
import type { OpsbookError } from '@opsbook/schema';
import { checkStateStore, holdWorkerLeases, type WorkerLeaseNotice } from '@opsbook/state';
import type { Task } from 'graphile-worker';
import type { HostResult } from '../execute/execute.js';
import type { RunEvent } from '../execute/run-events.js';
import { loadRunInventory } from '../plan/targets.js';
import { workerClockWarning } from '../schedule/clock-skew.js';
import { isJobStillTaken, startQueueWorker } from './queue.js';
import { databaseUrlOf, runShard, type ShardRequest } from './shard-run.js';
import { checkZone, shardTask, zoneOf } from './shards.js';

/** What a worker tells its command about the shards it takes. */
export type WorkerNotice =
  | {
      type: 'ready';
      zones: string[];
      tasks: string[];
      /** The job queue pool of this worker: the `locked_by` of its jobs, named by a submitter. */
      poolId: string;
    }
  | { type: 'shard-start'; jobId: string; runId?: string; shard?: number; hosts?: string[] }
  | {
      type: 'shard-end';
      jobId: string;
      runId: string;
      shard: number;
      executor: string;
      hosts: HostResult[];
    }
  | { type: 'shard-refused'; jobId: string; error: unknown }
  /** A host key a shard took as new (`--accept-new-host-keys`), as its run's journal records it. */
  | {
      type: 'host-key-accepted';
      jobId: string;
      accepted: Extract<RunEvent, { type: 'host-key-accepted' }>;
    }
  /**
   * The route a shard's host was reached on (`~/.ssh/config` of this machine may have chosen its
   * port or user, `fromSshConfig`), as its run's journal records it.
   */
  | { type: 'host-route'; jobId: string; route: Extract<RunEvent, { type: 'host-route' }> }
  /**
   * A shard's job ended while the database could not be reached (STATE_DB_UNREACHABLE): its end
   * waits for the server; stopped meanwhile, the worker gives it up and fails with that error.
   */
  | { type: 'end-waiting'; jobId: string; error: OpsbookError }
  /** The database answers again: the job's end said waiting is recorded now. */
  | { type: 'end-recording'; jobId: string }
  /** A zone's lease another session of the database keeps it from, and its taking after. */
  | WorkerLeaseNotice;

export interface WorkerRequest extends Omit<ShardRequest, 'onEvent' | 'isJobStillTaken'> {
  /** The zones whose shards this worker takes (`opsbook_zone` of the hosts, or `default`). */
  zones: readonly string[];
  /** Shards run at the same time by this worker (default 1; each fans out to its hosts). */
  concurrency?: number;
  onNotice?(notice: WorkerNotice): void;
  /** graphile-worker's own log lines. */
  onLog?(level: string, message: string): void;
}

/**
 * `opsbook worker`: takes the shards of distributed runs for its zones from the job queue and
 * runs each (runShard), until `signal` is aborted; then no new shard or step starts, running
 * commands finish, and it resolves. A refused shard fails its job (never retried) and the worker
 * goes on with the next. A shard that ends while the database is down waits for it to record its
 * job's end (`end-waiting`); aborted meanwhile, it rejects with STATE_DB_UNREACHABLE.
 */
export async function runWorker(req: WorkerRequest): Promise<void> {
  const url = databaseUrlOf(req.config, 'opsbook worker');
  const zones = req.zones.map((z) => checkZone(z, '--zone'));
  const task: Task = async (payload, helpers) => {
    const jobId = helpers.job.id;
    const p = (payload ?? {}) as { runId?: unknown; shard?: unknown; hosts?: unknown };
    req.onNotice?.({
      type: 'shard-start',
      jobId,
      ...(typeof p.runId === 'string' ? { runId: p.runId } : {}),
      ...(typeof p.shard === 'number' ? { shard: p.shard } : {}),
      ...(Array.isArray(p.hosts) ? { hosts: p.hosts.map(String) } : {}),
    });
    try {
      const outcome = await runShard(payload, {
        ...req,
        isJobStillTaken: () => isJobStillTaken(helpers),
        onEvent: (event) => {
          if (event.type === 'host-key-accepted')
            req.onNotice?.({ type: 'host-key-accepted', jobId, accepted: event });
          else if (event.type === 'host-route')
            req.onNotice?.({ type: 'host-route', jobId, route: event });
        },
      });
      req.onNotice?.({
        type: 'shard-end',
        jobId,
        runId: outcome.job.runId,
        shard: outcome.job.shard,
        executor: outcome.executor,
        hosts: outcome.result.hosts,
      });
    } catch (error) {
      req.onNotice?.({ type: 'shard-refused', jobId, error });
      throw error;
    }
  };
  // Refused here as every other command refuses it, not at its first shard after saying ready.
  await checkStateStore(url);
  const runner = await startQueueWorker({
    url,
    taskList: Object.fromEntries(zones.map((z) => [shardTask(z), task])),
    concurrency: req.concurrency ?? 1,
    ...(req.onLog ? { log: req.onLog } : {}),
    onEndWaiting: (jobId, error) => req.onNotice?.({ type: 'end-waiting', jobId, error }),
    onEndRecording: (jobId) => req.onNotice?.({ type: 'end-recording', jobId }),
  });
  // Seen on this database by a submitter whose shard waits (follow.ts), for as long as it runs.
  const leases = await holdWorkerLeases(url, zones, {
    ...(req.onNotice ? { onNotice: req.onNotice } : {}),
  }).catch(async (e) => {
    await runner.stop().catch(() => undefined);
    throw e;
  });
  req.onNotice?.({
    type: 'ready',
    zones,
    tasks: zones.map(shardTask),
    poolId: runner.poolId,
  });
  const stop = () => void runner.stop().catch(() => undefined);
  if (req.signal.aborted) stop();
  else req.signal.addEventListener('abort', stop, { once: true });
  try {
    await runner.promise;
  } finally {
    req.signal.removeEventListener('abort', stop);
    await leases.close();
  }
}

/**
 * What `opsbook worker` checks of its machine before it takes shards: the trust pin, without which
 * every shard would be refused (TRUST_NOT_INITIALISED, thrown here), the inventory's zones
 * (zonesWithoutHosts) and this machine's clock against the database's (the warnings to say).
 */
export async function checkWorkerMachine(
  req: Pick<WorkerRequest, 'config' | 'inventoryFile' | 'zones'>,
): Promise<string[]> {
  await loadTrustedStore(req.config.trustPinDir, req.config.trustStore);
  const skew = await workerClockWarning(req.config);
  return [...(await zonesWithoutHosts(req)), ...(skew ? [skew] : [])];
}

/**
 * The zones of --zone that no host of this worker's inventory is in (a typo, or an inventory
 * without `opsbook_zone`), each as a sentence: the submitter queues no shard for them, so the
 * worker would wait for ever. For `opsbook worker` to say at start; not refused, since the
 * inventory is read again for every shard.
 */
export async function zonesWithoutHosts(
  req: Pick<WorkerRequest, 'config' | 'inventoryFile' | 'zones'>,
): Promise<string[]> {
  const zones = req.zones.map((z) => checkZone(z, '--zone'));
  const inventory = await loadRunInventory(req.config, req.inventoryFile);
  const present = [...new Set(inventory.hosts.map((h) => zoneOf(h)))].sort();
  const file =
    req.inventoryFile ??
    req.config.inventory ??
    'none: opsbook.yaml names no inventory, so only localhost; give -i FILE';
  return zones
    .filter((z) => !present.includes(z))
    .map(
      (z) =>
        `no host of the inventory (${file}) is in zone ${z} (its zones: ${present.join(', ') || 'none'}): no shard will come for this worker; check --zone, or the hosts' opsbook_zone`,
    );
}
