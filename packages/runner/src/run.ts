import { createHash } from 'node:crypto';
import {
  connectSsh,
  createLocalTransport,
  createSshFileCache,
  createTransportPool,
  readSshConfigFile,
  type Transport,
} from '@opsbook/exec';
import type { Config } from '@opsbook/schema';
import { currentUser, type VerifiedRun, verifyApprovalFile } from './approval-flow.js';
import { type ExecuteResult, executePlan, type HostResult } from './execute.js';
import { createMasker, Journal } from './journal.js';
import { consumeRun, recordRunEnd } from './ledger.js';
import { readSecretParams } from './params.js';
import type { PlannedHost } from './plan.js';
import type { RunEvent, RunStatus } from './run-events.js';
import { newRunId } from './run-store.js';
import type { TicketGate, TicketReport } from './run-ticket.js';

export interface RunRequest {
  config: Config;
  approvalFile: string;
  inventoryFile?: string;
  env: NodeJS.ProcessEnv;
  /** Like StrictHostKeyChecking=accept-new: unknown host keys are added; changed ones still refused. */
  acceptNewHostKeys?: boolean;
  signal: AbortSignal;
  /** Every durable event, for live progress. */
  onEvent?(event: RunEvent): void;
  /** Command output lines, secrets masked; `cut`: a line longer than 64 Ki characters, cut. */
  onOutput?(host: string, stream: 'stdout' | 'stderr', line: string, cut: boolean): void;
  now?: Date;
  /** The run's ticket (issue 5): checked before anything runs, told how the run went at the end. */
  ticket?: TicketGate;
}

export interface RunOutcome {
  runId: string;
  status: RunStatus;
  verified: VerifiedRun;
  result: ExecuteResult;
  journal: { path: string; head: string; count: number };
  /** What the ticket was told, and what waits in the outbox. */
  ticket?: { start: TicketReport; end: TicketReport };
}

/** How a run ends: interrupted beats failed beats unreachable beats ok. */
export function runStatusOf(result: ExecuteResult): RunStatus {
  if (result.interrupted) return 'interrupted';
  const statuses = result.hosts.map((h) => h.status);
  if (statuses.some((s) => s === 'failed' || s === 'not-started' || s === 'cancelled'))
    return 'failed';
  if (statuses.some((s) => s === 'unreachable')) return 'unreachable';
  return 'ok';
}

/** Opens a host's transport for a run: one file cache, the host's own connect timeout. */
export function openTransportFor(
  req: Pick<RunRequest, 'config' | 'acceptNewHostKeys' | 'env' | 'signal'>,
  sshConfigText: string | undefined,
) {
  // Identity files and known_hosts are read once for the whole run, not once per host.
  const fileCache = createSshFileCache();
  return async (host: PlannedHost): Promise<Transport> => {
    const c = host.connection;
    // Local commands get the allow-listed part of the runner's environment, never all of it.
    if (c.transport === 'local') return createLocalTransport({ host: host.name, env: req.env });
    return connectSsh(
      {
        name: host.name,
        host: c.address,
        port: c.port,
        ...(c.user ? { user: c.user } : {}),
        ...(c.privateKeyFile ? { identityFile: c.privateKeyFile } : {}),
      },
      {
        knownHostsFile: req.config.knownHosts,
        acceptNewHostKeys: req.acceptNewHostKeys ?? false,
        fileCache,
        ...(c.connectTimeoutMs !== undefined ? { connectTimeoutMs: c.connectTimeoutMs } : {}),
        ...(sshConfigText !== undefined ? { sshConfigText } : {}),
        ...(req.env.SSH_AUTH_SOCK ? { agentSocket: req.env.SSH_AUTH_SOCK } : {}),
        ...(req.env.OPSBOOK_KEY_PASSPHRASE ? { passphrase: req.env.OPSBOOK_KEY_PASSPHRASE } : {}),
        signal: req.signal,
      },
    );
  };
}

/**
 * `opsbook run`: the only way anything touches a host. Verifies the approval against the plan
 * re-rendered from this checkout, consumes one of its runs in the ledger, then executes exactly
 * that plan, journaling every event durably before the next step starts.
 */
export async function runApproved(req: RunRequest): Promise<RunOutcome> {
  const verified = await verifyApprovalFile(req.approvalFile, {
    config: req.config,
    ...(req.inventoryFile ? { inventoryFile: req.inventoryFile } : {}),
    ...(req.now ? { now: req.now } : {}),
    executor: currentUser(req.env),
  });
  const { plan, planDigest, verified: approval } = verified;
  const secrets = readSecretParams(verified.bundle.runbook, plan.secretParams, req.env);
  const mask = createMasker(Object.values(secrets));
  await req.ticket?.check(approval.statement);
  const runId = newRunId(req.now ?? new Date());
  const { runsUsed } = await consumeRun(req.config.stateDir, {
    approvalId: approval.statement.id,
    maxRuns: approval.statement.maxRuns,
    runId,
    ticket: plan.ticket,
  });
  const ticketStart = await req.ticket?.start(runId, currentUser(req.env));
  const journal = await Journal.create(req.config.stateDir, runId, { mask });
  const record = async (event: RunEvent) => {
    await journal.append(event);
    req.onEvent?.(event);
  };
  const sshConfigText = req.env.HOME
    ? await readSshConfigFile(`${req.env.HOME}/.ssh/config`).catch(() => undefined)
    : undefined;
  const pool = createTransportPool(async (name) =>
    openTransport(plan.hosts.find((h) => h.name === name)!),
  );
  const openTransport = openTransportFor(req, sshConfigText);
  const local = createLocalTransport({ env: req.env });
  let result: ExecuteResult | undefined;
  let ticketEnd: TicketReport | undefined;
  try {
    await record({
      type: 'run-start',
      runId,
      ticket: plan.ticket,
      runbook: plan.runbook,
      planDigest,
      approval: {
        id: approval.statement.id,
        sha256: `sha256:${createHash('sha256').update(verified.approval.bytes).digest('hex')}`,
        signers: approval.signers.map((s) => ({
          approverId: s.approverId,
          fingerprint: s.fingerprint,
        })),
        runsUsed,
        maxRuns: approval.statement.maxRuns,
      },
      executor: currentUser(req.env),
      params: plan.params,
      secretParams: plan.secretParams,
      hosts: plan.hosts.map((h) => h.name),
    });
    result = await executePlan({
      plan,
      runId,
      stateDir: req.config.stateDir,
      bundleDir: verified.bundle.dir,
      secrets,
      transportFor: (h) => pool.get(h.name),
      releaseTransport: (h) => pool.release(h.name),
      local,
      record,
      mask,
      signal: req.signal,
      ...(req.onOutput ? { onOutput: req.onOutput } : {}),
    });
  } finally {
    await pool.closeAll();
    const final = result ?? {
      hosts: [] as HostResult[],
      interrupted: req.signal.aborted,
      stoppedByFailures: false,
    };
    const status = result ? runStatusOf(result) : req.signal.aborted ? 'interrupted' : 'failed';
    await record({
      type: 'run-end',
      status,
      hosts: Object.fromEntries(final.hosts.map((h) => [h.host, h.status])),
      interrupted: final.interrupted,
      stoppedByFailures: final.stoppedByFailures,
    }).catch(() => {});
    await journal.close();
    await recordRunEnd(req.config.stateDir, {
      runId,
      head: journal.head,
      count: journal.count,
      status,
    });
    ticketEnd = await req.ticket?.finish(journal.path, runId);
  }
  return {
    runId,
    status: runStatusOf(result!),
    verified,
    result: result!,
    journal: { path: journal.path, head: journal.head, count: journal.count },
    ...(ticketStart && ticketEnd ? { ticket: { start: ticketStart, end: ticketEnd } } : {}),
  };
}
