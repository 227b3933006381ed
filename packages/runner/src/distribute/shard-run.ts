import { createLocalTransport } from '@opsbook/exec';
import { type Config, UsageError, ValidationError } from '@opsbook/schema';
import { SharedJournal, stateStoreOf } from '@opsbook/state';
import { runnerErrors } from '../error-codes.js';
import { type ExecuteResult, executePlan } from '../execute/execute.js';
import { retryAdvice, runsLeftForRetry } from '../execute/retry.js';
import {
  connectorFor,
  hostTransportPool,
  openTransportFor,
  runnerSshConfig,
  withSecretsMasked,
} from '../execute/run.js';
import type { RunEvent } from '../execute/run-events.js';
import { createSecretMask } from '../execute/secret-mask.js';
import { allVaultValues, vaultValuesOf } from '../execute/vault-env.js';
import { composedDirsOf } from '../plan/compose.js';
import { readSecretParams } from '../plan/params.js';
import { readShardJob, type ShardJob } from './shard-job.js';
import { checkShardTicket, checkSubmitter, shardRefusal, verifyShard } from './shard-verify.js';
import { shardLease } from './shards.js';
import { recordShardHosts } from './worker-record.js';

export interface ShardRequest {
  config: Config;
  inventoryFile?: string | undefined;
  env: NodeJS.ProcessEnv;
  acceptNewHostKeys?: boolean;
  /** Aborted: no new step or host starts; running commands finish (as Ctrl-C of a run). */
  signal: AbortSignal;
  now?: Date;
  /** The zones of the worker (`opsbook worker --zone`): it refuses jobs of any other. */
  zones?: readonly string[];
  onEvent?(event: RunEvent): void;
  /**
   * Whether the queue's job of this shard is still this worker's, asked once the shard's lease is
   * held: a submitter that took this worker for dead may have given the job back to the queue.
   */
  isJobStillTaken?(): Promise<boolean>;
  onOutput?(host: string, stream: 'stdout' | 'stderr', line: string, cut: boolean): void;
}

export interface ShardOutcome {
  job: ShardJob;
  executor: string;
  result: ExecuteResult;
}

/** The database of a PostgreSQL state store; a worker has no other. */
export function databaseUrlOf(config: Config, what: string): string | undefined {
  if (config.state.kind !== 'postgres')
    throw new UsageError(
      `${what} needs the team's PostgreSQL state store: set state: {kind: postgres, url: …} in opsbook.yaml or OPSBOOK_DATABASE_URL, then run opsbook db migrate`,
    );
  return config.state.url;
}

/**
 * One shard of a distributed run, as a worker runs it: hold the shard's lease, verify everything
 * itself (verifyShard), then execute the approved plan's steps on the shard's hosts only,
 * appending each event to the run's journal. A refusal throws SHARD_REFUSED before any host.
 */
export async function runShard(payload: unknown, req: ShardRequest): Promise<ShardOutcome> {
  const job = readShardJob(payload);
  const url = databaseUrlOf(req.config, 'a worker');
  // Secrets are known only once the approval is verified; the journal masks with them from then.
  let mask = (text: string) => text;
  let journal: SharedJournal;
  try {
    journal = await SharedJournal.join({
      url,
      runId: job.runId,
      lease: shardLease(job.runId, job.shard),
      mask: (text) => mask(text),
      // After a restart (or this worker stopped past the dead-after time) the lease was free: a
      // submitter may have given the job back meanwhile, and another worker be on its way to it.
      ...(req.isJobStillTaken ? { isLeaseStillOwn: req.isJobStillTaken } : {}),
    });
  } catch (e) {
    if (e instanceof ValidationError)
      throw new runnerErrors.RefusalError(
        'SHARD_REFUSED',
        `shard ${job.shard} of run ${job.runId} refused: ${e.problems.map((p) => p.message).join('; ')}; no host was touched`,
      );
    throw e;
  }
  try {
    if (req.isJobStillTaken && !(await req.isJobStillTaken()))
      throw shardRefusal(
        job,
        "its job is no longer this worker's: the run's submitter took this worker for gone (its lease in the database was lost, a restart or a dropped connection) and gave the shard back to the queue, for a worker of its zone to run once",
      );
    const shard = await verifyShard(job, journal, req);
    await checkShardTicket(job, shard.verified.verified.statement, req);
    await recordShardHosts(req.config.stateDir, job, (why) => shardRefusal(job, why));
    await checkSubmitter(job, journal);
    const { plan, verified } = shard;
    // Counted now, for what a Ctrl-C of this worker says: its message cannot wait for the store.
    const { statement } = verified.verified;
    const runsLeft = await runsLeftForRetry(stateStoreOf(req.config), statement, job.runId);
    const secrets = readSecretParams(verified.bundle.runbook, plan.secretParams, req.env);
    const vaultValues = vaultValuesOf(plan, verified.inventory);
    const secretMask = createSecretMask([
      ...Object.values(secrets),
      ...allVaultValues(vaultValues),
    ]);
    mask = secretMask.mask;
    // A journal that refuses an event (a lost lease, the database gone too long) stops the
    // shard like Ctrl-C: no step may run unrecorded.
    const stop = new AbortController();
    const signal = AbortSignal.any([req.signal, stop.signal]);
    const record = async (event: RunEvent) => {
      try {
        await journal.append(event);
      } catch (e) {
        stop.abort();
        throw e;
      }
      req.onEvent?.(event);
    };
    const sshConfig = await runnerSshConfig(req.env);
    const pool = hostTransportPool(plan.hosts, openTransportFor({ ...req, signal }, sshConfig));
    try {
      const result = await executePlan({
        plan,
        runId: job.runId,
        stateDir: req.config.stateDir,
        bundleDir: verified.bundle.dir,
        composedDirs: composedDirsOf(verified.compositions),
        secrets,
        vaultValues,
        transportFor: (h) => pool.get(h.name),
        releaseTransport: (h) => pool.release(h.name),
        local: createLocalTransport({ env: req.env }),
        record,
        mask,
        secretMask,
        signal,
        cancelledBecause: () =>
          req.signal.aborted
            ? `its worker was stopped (Ctrl-C or SIGTERM on the worker's machine) before this host's next step: ${retryAdvice(job.runId, statement.maxRuns, runsLeft)}`
            : undefined,
        ...(req.onOutput ? { onOutput: req.onOutput } : {}),
        connect: connectorFor({ ...req, signal }, sshConfig),
        // health.report reads the team's store, not this worker's state dir.
        store: stateStoreOf(req.config),
      });
      return { job, executor: shard.executor, result };
    } finally {
      await pool.closeAll();
    }
  } catch (e) {
    // Whatever shows it (the worker's log, its exit 70) shows no secret (as runApproved).
    throw withSecretsMasked(e, mask);
  } finally {
    // Ends the session, and with it the lease: the shard's hosts are all ended by now.
    await journal.close();
  }
}
