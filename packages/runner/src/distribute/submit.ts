import { signRunClaim } from '@opsbook/approval';
import { isOpsbookError, OpsbookError } from '@opsbook/schema';
import { newRunId, SharedJournal, stateStoreOf } from '@opsbook/state';
import { type VerifiedRun, verifyApprovalFile } from '../approval/approval-flow.js';
import { retryPlanOf } from '../execute/retry.js';
import {
  approvalUseOf,
  type RunOutcome,
  type RunRequest,
  runStartOf,
  runStatusOf,
} from '../execute/run.js';
import type { Plan } from '../plan/plan.js';
import type { TicketReport } from '../ticket/run-ticket.js';
import { enqueueShards } from './enqueue-shards.js';
import { followShards, type ShardNotice } from './follow.js';
import { openQueue, type QueueLog } from './queue.js';
import type { ShardJob } from './shard-job.js';
import { databaseUrlOf } from './shard-run.js';
import {
  DEFAULT_SHARD_SIZE,
  DEFAULT_ZONE,
  type Shard,
  splitIntoShards,
  submitterLease,
  zoneOf,
} from './shards.js';

export interface DistributedRunRequest extends RunRequest {
  /** Hosts per shard at most (default DEFAULT_SHARD_SIZE). */
  shardSize?: number;
  /** How long a taken shard's lease may stay free before its worker is presumed dead (10 s). */
  deadAfterMs?: number;
  /** How often the journal is read for progress (250 ms). */
  pollMs?: number;
  onShard?(notice: ShardNotice): void;
  onQueueLog?: QueueLog;
}

/**
 * `opsbook run --distribute`: the approval is verified and the run claimed, signed and started
 * exactly as by `opsbook run`; then, instead of running the hosts, the plan's hosts are cut into
 * shards by zone (`opsbook_zone`) and size and queued for the workers of each zone, which verify
 * everything again themselves and append to this run's journal. This follows the journal until
 * every host has ended (a dead worker's hosts are taken over: see followShards), then journals
 * run-end and records the run's end. Needs the PostgreSQL state store (USAGE otherwise).
 */
export async function runDistributed(req: DistributedRunRequest): Promise<RunOutcome> {
  const url = databaseUrlOf(req.config, 'opsbook run --distribute');
  const verified = await verifyApprovalFile(req.approvalFile, {
    config: req.config,
    ...(req.inventoryFile ? { inventoryFile: req.inventoryFile } : {}),
    ...(req.now ? { now: req.now } : {}),
    executorKey: req.executorSigner.publicKey.fingerprint,
  });
  const { verified: approval } = verified;
  const store = stateStoreOf(req.config);
  const retry = req.retryOf
    ? await retryPlanOf(store, verified.plan, approval.statement.id, req.retryOf)
    : undefined;
  const plan = retry?.plan ?? verified.plan;
  const shards = shardsOf(verified, plan, req.shardSize ?? DEFAULT_SHARD_SIZE);
  await req.ticket?.check(approval.statement);
  const runId = newRunId(req.now ?? new Date());
  const hosts = plan.hosts.map((h) => h.name);
  const runClaim = await signRunClaim(
    {
      approvalId: approval.statement.id,
      approvalPayload: Buffer.from(verified.approval.envelope.payload, 'base64'),
      ticket: plan.ticket,
      runId,
      hosts,
      executor: verified.executor!.id,
      ...(req.now ? { now: req.now } : {}),
    },
    req.executorSigner,
  );
  // The queue is reachable and migrated before the run is claimed: a run is not used up for nothing.
  const queue = await openQueue(url, req.onQueueLog);
  let journal: SharedJournal | undefined;
  const takenOver: SharedJournal[] = [];
  try {
    // The ticket's claim first, as opsbook run makes it: it holds maxRuns across machines, and
    // each worker finds the run recorded there before it runs a shard (checkShardTicket).
    await req.ticket?.claim(runId, verified.executor!.id);
    const { runsUsed } = await store
      .claimRun({
        approvalId: approval.statement.id,
        maxRuns: approval.statement.maxRuns,
        runId,
        ticket: plan.ticket,
      })
      .catch(async (e: unknown) => {
        await req.ticket?.withdraw();
        throw e;
      });
    const ticketStart = await req.ticket?.start(runId, verified.executor!.id, {
      verified,
      hosts: plan.hosts.map((h) => h.name),
      retryOf: req.retryOf,
    });
    // Held while the run is followed, by the session recorded as the submitter's: workers refuse
    // the shards of a run nobody follows.
    journal = await SharedJournal.create({
      url,
      runId,
      lease: submitterLease(runId),
      isSubmitter: true,
    });
    const start = runStartOf(verified, { runId, runClaim, runsUsed, plan, retry });
    await journal.append(start);
    req.onEvent?.(start);
    const approvalBytes = verified.approval.bytes.toString('base64');
    const jobs = shards.map(
      (s): ShardJob => ({
        version: 1,
        runId,
        shard: s.index,
        zone: s.zone,
        hosts: s.hosts,
        approval: approvalBytes,
      }),
    );
    await enqueueShards(
      {
        journal,
        store,
        queue,
        runId,
        ticket: plan.ticket,
        approvalFile: req.approvalFile,
        shards: shards.map((s) => s.index),
        hosts,
        ...(req.ticket
          ? {
              finishTicket: () =>
                req.ticket!.finish(store, runId, { live: { stepStarted: false } }),
            }
          : {}),
      },
      () => queue.add(jobs),
    );
    const shared = journal;
    // The workers' step-starts as this runner followed them: the ticket's count of the run.
    let stepStarted = false;
    const followed = await afterHandOver(runId, plan.ticket, () =>
      followShards({
        url,
        runId,
        journal: shared,
        queue,
        shards,
        signal: req.signal,
        deadAfterMs: req.deadAfterMs ?? 10_000,
        pollMs: req.pollMs ?? 250,
        onEvent: (event) => {
          if (event.type === 'step-start') stepStarted = true;
          req.onEvent?.(event);
        },
        ...(req.onShard ? { onShard: req.onShard } : {}),
      }),
    );
    takenOver.push(...followed.takenOver);
    const result = {
      hosts: followed.results.inOrder(hosts),
      interrupted: followed.interrupted,
      stoppedByFailures: false,
    };
    const status = runStatusOf(result);
    const end = {
      type: 'run-end' as const,
      status,
      hosts: Object.fromEntries(result.hosts.map((h) => [h.host, h.status])),
      interrupted: result.interrupted,
      stoppedByFailures: false,
    };
    const last = await afterHandOver(runId, plan.ticket, () => shared.append(end));
    req.onEvent?.(end);
    await afterHandOver(runId, plan.ticket, () =>
      store.recordRunEnd({ runId, head: last.hash, count: last.seq, status }),
    );
    const approvalUse = await approvalUseOf(store, approval.statement, runId, stepStarted);
    const ticketEnd: TicketReport | undefined = await req.ticket?.finish(store, runId, {
      live: { stepStarted },
    });
    return {
      runId,
      status,
      verified,
      result,
      journal: { location: journal.location, head: last.hash, count: last.seq },
      ...(ticketStart && ticketEnd ? { ticket: { start: ticketStart, end: ticketEnd } } : {}),
      ...(retry ? { retryOf: retry.retryOf } : {}),
      approvalUse,
    };
  } finally {
    // A dead worker's lease is held until the run has ended: no late worker appends to it.
    for (const lease of takenOver) await lease.close();
    await journal?.close();
    await queue.close();
  }
}

/**
 * Work on the store once the shards were queued: a store that is unreachable now (PostgreSQL
 * down past its retries) leaves the workers' hosts in an unknown state, so its error keeps its
 * code and says what became of the run and how to find out, rather than only naming the server.
 */
async function afterHandOver<T>(runId: string, ticket: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (!isOpsbookError(e) || e.kind !== 'unreachable') throw e;
    throw new OpsbookError(
      e.kind,
      e.code,
      `${e.message.replace(/[.\s]+$/, '')}. Run ${runId} was handed to the workers of its zones, who may have started steps on its hosts, and stays incomplete: its end could not be recorded, nor its ticket ${ticket} told. Once the server is back, opsbook runs show ${runId} says what ran on each host, and opsbook ticket report ${ticket} names the way out.`,
      e.details,
      { cause: e },
    );
  }
}

/** The plan's hosts cut into shards by their inventory zone and `size`. */
function shardsOf(verified: VerifiedRun, plan: Plan, size: number): Shard[] {
  const zones = new Map(verified.inventory.hosts.map((h) => [h.name, zoneOf(h)]));
  return splitIntoShards(
    plan.hosts.map((h) => ({ name: h.name, zone: zones.get(h.name) ?? DEFAULT_ZONE })),
    size,
  );
}
