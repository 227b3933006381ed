import { setTimeout as sleep } from 'node:timers/promises';
import type { ApprovalStatement } from '@opsbook/approval';
import { approvalDigestOf, loadTrustedStore, verifyRunClaim } from '@opsbook/approval';
import { type Config, isOpsbookError } from '@opsbook/schema';
import { type LockHolder, type SharedJournal, sessionFacts, stateStoreOf } from '@opsbook/state';
import { type VerifiedRun, verifyApprovalFile } from '../approval/approval-flow.js';
import { runnerErrors } from '../error-codes.js';
import type { Plan } from '../plan/plan.js';
import { checkRunOnTicket } from '../ticket/run-ticket.js';
import { openTracker } from '../ticket/ticket-tracker.js';
import type { ShardJob } from './shard-job.js';
import { submitterLease, zoneOf } from './shards.js';

export interface VerifiedShard {
  verified: VerifiedRun;
  /** The approved plan cut down to the shard's hosts: all this worker may run. */
  plan: Plan;
  /** Who claimed the run, proven by the run claim's signature. */
  executor: string;
}

/**
 * Refusals of an approval that mean the checkout renders another run than the approved one: on a
 * worker, after the submitter verified the same approval, its own runbooks or inventory differ.
 */
const CHECKOUT_MISMATCH = new Set([
  'DIGEST_MISMATCH',
  'COMPOSED_MISMATCH',
  'CATEGORY_MISMATCH',
  'GRADE_MISMATCH',
  'PLAN_MISMATCH',
  'TARGETS_OUTSIDE_SCOPE',
]);

/** SHARD_REFUSED for `job`, saying why; nothing of it was run. */
export const shardRefusal = (job: Pick<ShardJob, 'runId' | 'shard'>, why: string) =>
  new runnerErrors.RefusalError(
    'SHARD_REFUSED',
    `shard ${job.shard} of run ${job.runId} refused: ${why}; no host was touched`,
    { runId: job.runId, shard: job.shard },
  );

/**
 * A worker's own checks before it touches a host; the queue is never believed. The run's
 * journal must start with a run claim signed by a person this machine's pinned trust store
 * lists, for this run and the approval the store claimed it under; the approval is verified from
 * its bytes against this checkout and trust pin exactly as `opsbook run` verifies it (with the
 * runs made before this one); the shard's hosts must be approved hosts, named in the claim, of
 * the job's zone by this worker's inventory (and that zone one of `zones`), and not started yet
 * by anyone. (runShard then checks and records them in the worker's own record, worker-record.ts.)
 */
export async function verifyShard(
  job: ShardJob,
  journal: SharedJournal,
  options: {
    config: Config;
    inventoryFile?: string | undefined;
    now?: Date | undefined;
    /** The zones this worker serves (`--zone`): a job and its hosts must be of one of them. */
    zones?: readonly string[] | undefined;
  },
): Promise<VerifiedShard> {
  const { config } = options;
  if (options.zones && !options.zones.includes(job.zone))
    throw shardRefusal(
      job,
      `the job is for zone ${job.zone}, and this worker serves ${options.zones.join(', ')}`,
    );
  const [first] = await journal.linesAfter(0, 1);
  if (first?.type !== 'run-start' || first.runId !== job.runId)
    throw shardRefusal(job, 'the run has no run-start in its journal');
  const { store } = await loadTrustedStore(config.trustPinDir, config.trustStore);
  const claim = verifyRunClaim(first.runClaim as never, store, {
    approvalId: journal.run.approvalId,
    runId: job.runId,
  });
  if (!claim.ok) {
    if (claim.code === 'EXECUTOR_UNTRUSTED') {
      // The submitter's pin listed the key when it signed the claim: this machine's pin is
      // another version of approvers.yaml, and "run with your own listed key" would mislead.
      const detail = claim.message
        .replace(' you run with ', ' that signed it ')
        .replace(/: run with your own listed key.*$/, '');
      throw shardRefusal(
        job,
        `the run claim does not verify (EXECUTOR_UNTRUSTED: ${detail}): this worker's trust pin is not the submitter's, which lists that key; pin the team's current approvers.yaml on this worker (opsbook trust init, --force for a newer version), then ${retryRefusedHosts(job.runId)}`,
      );
    }
    throw shardRefusal(job, `the run claim does not verify (${claim.message})`);
  }
  let verified: VerifiedRun;
  try {
    verified = await verifyApprovalFile(`the approval of run ${job.runId}`, {
      config,
      ...(options.inventoryFile ? { inventoryFile: options.inventoryFile } : {}),
      ...(options.now ? { now: options.now } : {}),
      approvalBytes: Buffer.from(job.approval, 'base64'),
      executorKey: claim.executor.fingerprint!,
      runsBefore: await runsBefore(config, journal.run.approvalId, job.runId),
    });
  } catch (e) {
    if (isOpsbookError(e) && CHECKOUT_MISMATCH.has(e.code)) {
      // The submitter verified this approval moments ago: what differs is this worker's copy,
      // and a new signature would not help ("ask a senior to re-approve" is for the engineer).
      const detail = e.message
        .replace(/^ask a senior to re-approve[^:]*: /, '')
        .replace(/: render it from what it was planned with .*$/, '');
      throw shardRefusal(
        job,
        `the approval does not verify on this worker (${e.code}: ${detail}): this worker's checkout is not the one the run was approved from; bring its runbooks and inventory to the submitter's, then ${retryRefusedHosts(job.runId)} (the approval itself is fine)`,
      );
    }
    const why = isOpsbookError(e) ? `${e.code}: ${e.message}` : String(e);
    throw shardRefusal(job, `the approval does not verify on this worker (${why})`);
  }
  const payload = Buffer.from(verified.approval.envelope.payload, 'base64');
  if (verified.verified.statement.id !== journal.run.approvalId)
    throw shardRefusal(
      job,
      `the approval is ${verified.verified.statement.id}, not the run's ${journal.run.approvalId}`,
    );
  if (approvalDigestOf(payload) !== claim.claim.approvalDigest)
    throw shardRefusal(job, 'the approval is not the one the run claim names');
  const approved = new Set(verified.plan.hosts.map((h) => h.name));
  const claimed = new Set(claim.claim.hosts);
  const outside = job.hosts.filter((h) => !approved.has(h) || !claimed.has(h));
  if (outside.length > 0)
    throw shardRefusal(job, `hosts ${outside.join(', ')} are not hosts of the approved run`);
  // The zone is this worker's inventory's (`opsbook_zone`), never the job's word for it.
  const mine = new Set(job.hosts);
  for (const host of verified.inventory.hosts) {
    if (!mine.has(host.name)) continue;
    const zone = zoneOf(host);
    if (zone !== job.zone)
      throw shardRefusal(job, `host ${host.name} is in zone ${zone}, not ${job.zone}`);
  }
  await checkJournal(job, config);

  const seen = await journal.hostsSeen(job.hosts);
  if (seen.length > 0)
    throw shardRefusal(
      job,
      `hosts ${seen.join(', ')} already started in this run: a host runs once`,
    );
  return {
    verified,
    plan: { ...verified.plan, hosts: verified.plan.hosts.filter((h) => mine.has(h.name)) },
    executor: claim.executor.id,
  };
}

/**
 * The run's ticket, checked by the worker itself on the tracker the approval binds
 * (checkRunOnTicket): still Approved or In Progress, recording this run, and no more of the
 * approval's runs than it allows; and the approval's validity window by the tracker's clock,
 * which the engineer cannot set as they may the runner machine's. The submitter checks the same, but whoever submits also writes
 * the queue and could queue a run without that check; the ticket is what they cannot rewrite.
 * An approval bound to the embedded tracker is not checked here: that tracker is files in the
 * submitter's own state folder, which no worker can read and their owner can rewrite anyway (in
 * team mode only a Jira ticket holds a revocation or `maxRuns` against the submitter: README,
 * Team mode). Before the worker records the shard's hosts as its own: a refused shard leaves
 * them free for a retry.
 */
export async function checkShardTicket(
  job: ShardJob,
  statement: ApprovalStatement,
  options: {
    config: Config;
    env: NodeJS.ProcessEnv;
    signal?: AbortSignal | undefined;
    now?: Date | undefined;
  },
): Promise<void> {
  if (statement.tracker?.kind === 'local') return;
  try {
    const { tracker } = openTracker(options.config, options.env);
    await checkRunOnTicket(tracker, stateStoreOf(options.config), statement, job.runId, {
      signal: options.signal,
      now: options.now,
    });
  } catch (e) {
    const why = isOpsbookError(e) ? `${e.code}: ${e.message}` : String(e);
    const byClock = isOpsbookError(e) && (e.code === 'EXPIRED' || e.code === 'NOT_YET_VALID');
    throw shardRefusal(
      job,
      `${byClock ? "the tracker's clock" : 'its ticket'} does not allow it (${why})`,
    );
  }
}

/**
 * Which hosts started, and whether the run ended, is read from the run's journal: it must verify
 * first. A line rewritten in the database (a host renamed so that it looks unstarted, the
 * run-end renamed so that the run looks open) breaks the hash chain, and the shard is refused.
 * (A journal rebuilt with a fresh chain is not detected: @opsbook/state's README.)
 */
async function checkJournal(job: ShardJob, config: Config): Promise<void> {
  const { verification } = await stateStoreOf(config).readRun(job.runId, { exact: true });
  if (!verification.ok)
    throw shardRefusal(
      job,
      `the run's journal does not verify (${verification.problems[0]?.message ?? 'tampered'}): opsbook journal verify ${job.runId} says where`,
    );
  if (verification.events.some((e) => e.type === 'run-end'))
    throw shardRefusal(job, `run ${job.runId} has ended`);
}

/**
 * The runs of the approval that count and were claimed before this one: a run that reached no
 * host keeps its place in the order but does not count (@opsbook/state approvalRuns).
 */
async function runsBefore(config: Config, approvalId: string, runId: string): Promise<number> {
  const runs = await stateStoreOf(config).approvalRuns(approvalId);
  const mine = runs.findIndex((r) => r.runId === runId);
  return runs.slice(0, mine === -1 ? runs.length : mine).filter((r) => r.used).length;
}

/**
 * What to do with a refused shard's hosts once the worker is fixed. Whether the approval has a
 * run left for a retry is not known yet: it depends on whether the run's other shards start a
 * step (then it used a run), which the submitter says at the run's end.
 */
function retryRefusedHosts(runId: string): string {
  return `retry these hosts with --retry-failed ${runId} if the approval has a run left (opsbook run says at its end; with none left, a senior approves them again)`;
}

/** How long a worker waits for a submitter's lease to come back before it refuses the shard. */
const SUBMITTER_RECONNECT_MS = 10_000;

/**
 * A shard left in the queue by a submitter that was killed would run with nobody to follow it,
 * journal the run's end or tell its ticket: its hosts stay not-started instead (the submitter
 * holds `submitterLease` while it follows the run). Only the session the submitter recorded as
 * its own counts: any role of the database may take an advisory lock of that name.
 */
export async function checkSubmitter(
  job: ShardJob,
  journal: SharedJournal,
  waitMs = SUBMITTER_RECONNECT_MS,
): Promise<void> {
  // A submitter whose connection dropped (a database restart) takes its lease again within a
  // second or two of its next beat: it is waited for, a killed one never comes back. (It records
  // its new session just after it takes the lease: a session not recorded yet is waited for too.)
  let others: LockHolder[];
  for (const until = Date.now() + waitMs; ; ) {
    const holders = await journal.submitterLeaseHolders(submitterLease(job.runId));
    if (holders.isHeldBySubmitter) return;
    others = holders.others;
    if (Date.now() >= until) break;
    await sleep(250);
  }
  const held =
    others.length === 0
      ? ''
      : others.length === 1
        ? `: a session that is not the run's submitter holds its lease (${sessionText(others[0]!)})`
        : `: sessions that are not the run's submitter hold its lease (${others.map(sessionText).join('; ')})`;
  throw shardRefusal(
    job,
    `the run's submitter is gone (opsbook run --distribute was stopped)${held}: nobody follows or ends this run`,
  );
}

/** A session as pg_stat_activity shows it to this worker's role. */
function sessionText(h: LockHolder): string {
  if (h.pid === null) return 'a prepared transaction, see pg_prepared_xacts';
  return sessionFacts({ ...h, pid: h.pid });
}
