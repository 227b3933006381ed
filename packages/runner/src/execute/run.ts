import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { type Envelope, type SshSigner, signRunClaim } from '@opsbook/approval';
import {
  connectSsh,
  createLocalTransport,
  createSshFileCache,
  createTransportPool,
  loadSshConfig,
  type SshConfigSource,
  type SshFileCache,
  type SshTarget,
  type SshTransportOptions,
  type Transport,
  type TransportPool,
} from '@opsbook/exec';
import { type Config, isOpsbookError, OpsbookError, storageErrorOf } from '@opsbook/schema';
import { type Journal, newRunId, type StateStore, stateStoreOf } from '@opsbook/state';
import {
  composedOf,
  type VerifiedPlan,
  verifyApprovalFile,
  withoutInventory,
} from '../approval/approval-flow.js';
import { composedDirsOf } from '../plan/compose.js';
import { askMissingSecrets, readSecretParams } from '../plan/params.js';
import type { Plan, PlannedHost } from '../plan/plan.js';
import type { TicketGate, TicketReport } from '../ticket/run-ticket.js';
import type { QueuedWrites } from '../ticket/ticket-writes.js';
import { type ExecuteResult, executePlan, type HostResult } from './execute.js';
import { retryPlanOf } from './retry.js';
import type { RunEvent, RunStatus } from './run-events.js';
import { createSecretMask, type Masker } from './secret-mask.js';
import { allVaultValues, vaultValuesOf } from './vault-env.js';

export interface RunRequest {
  config: Config;
  approvalFile: string;
  /**
   * The approval file's bytes, when the caller has read and checked them already (a routine run
   * checks that they are a standing approval of its runbook): the run is of these bytes, never of
   * what the file gives when read again.
   */
  approvalBytes?: Uint8Array;
  /**
   * The executor's own key (file or agent): it identifies who runs against the trust store and
   * signs the run claim (approval, run id, hosts) recorded in the journal and on the ticket.
   */
  executorSigner: SshSigner;
  inventoryFile?: string;
  env: NodeJS.ProcessEnv;
  /**
   * Asks a person for a secret param that `env` does not set (a terminal, not echoed); undefined
   * when nobody can answer. Absent: such a param is refused, naming its variable.
   */
  askSecret?(name: string, variable: string): Promise<string | undefined>;
  /** Like StrictHostKeyChecking=accept-new: unknown host keys are added; changed ones still refused. */
  acceptNewHostKeys?: boolean;
  signal: AbortSignal;
  /**
   * Stop now (a second Ctrl-C): the commands still running are killed, their steps journaled
   * with the abort's reason (a string), and the run ends interrupted.
   */
  stopSignal?: AbortSignal;
  /** Every durable event, for live progress. */
  onEvent?(event: RunEvent): void;
  /** Command output lines, secrets masked; `cut`: a line longer than 64 Ki characters, cut. */
  onOutput?(host: string, stream: 'stdout' | 'stderr', line: string, cut: boolean): void;
  now?: Date;
  /** The run's ticket (issue 5): checked before anything runs, told how the run went at the end. */
  ticket?: TicketGate;
  /**
   * `--retry-failed RUN_ID`: run only the hosts that did not end ok in that run of the same
   * approval (retry.ts); a run like any other, journaled with `retryOf`.
   */
  retryOf?: string;
}

export interface RunOutcome {
  runId: string;
  status: RunStatus;
  verified: VerifiedPlan;
  result: ExecuteResult;
  /**
   * `location`: the journal's file, or the database and run, for messages; `path`: its file,
   * with the files store only.
   */
  journal: { location: string; path?: string; head: string; count: number };
  /** What the ticket was told, and what waits in the outbox. */
  ticket?: { start: TicketReport; end: TicketReport };
  /** The run this one retried (`--retry-failed`). */
  retryOf?: string;
  /**
   * Whether this run used one of the approval's runs (a run that reached no host did not), and
   * how many the store leaves.
   */
  approvalUse: ApprovalUse;
}

export interface ApprovalUse {
  used: boolean;
  runsLeft: number;
}

/**
 * What the store says of a run's use of its approval once its end is recorded; `stepStarted`:
 * the runner saw a step start, so the run used it whatever the state store now says (an edited
 * journal and ledger would tell the engineer a run was free that the ticket counts).
 */
export async function approvalUseOf(
  store: StateStore,
  approval: { id: string; maxRuns: number },
  runId: string,
  stepStarted = false,
): Promise<ApprovalUse> {
  const runs = await store.approvalRuns(approval.id);
  const used = new Set(runs.filter((r) => r.used).map((r) => r.runId));
  if (stepStarted) used.add(runId);
  return {
    used: used.has(runId) || !runs.some((r) => r.runId === runId),
    runsLeft: Math.max(0, approval.maxRuns - used.size),
  };
}

/**
 * How a run ends: interrupted beats failed beats unreachable beats ok. Any failed step (or host
 * cut short) makes it failed; a run whose only failures are unreachable hosts is unreachable,
 * whether or not maxFailures then kept the other hosts from starting.
 */
export function runStatusOf(result: ExecuteResult): RunStatus {
  if (result.interrupted) return 'interrupted';
  const statuses = result.hosts.map((h) => h.status);
  if (statuses.some((s) => s === 'failed' || s === 'cancelled')) return 'failed';
  if (statuses.some((s) => s === 'unreachable')) return 'unreachable';
  // Hosts not started without any failure to stop them: nothing explains it, so not a success.
  if (statuses.some((s) => s === 'not-started')) return 'failed';
  return 'ok';
}

/**
 * Work on the state store before any host is touched: a refusing store means nothing ran.
 * `claimed`: the run had already claimed one of the approval's runs (ledger and ticket) when the
 * store refused, and keeps it, so the message says so rather than let "nothing was run" suggest
 * that the approval is untouched.
 */
async function beforeAnyHost<T>(
  store: StateStore,
  work: Promise<T>,
  claimed?: { runId: string },
): Promise<T> {
  try {
    return await work;
  } catch (e) {
    const outcome = claimed
      ? `Nothing was run, but run ${claimed.runId} had already claimed one of the approval's runs and keeps it (without its journal nothing shows that it touched nothing, so it counts: opsbook runs list lists it); once there is room, run the approval again if runs are left, or ask a senior for a new one`
      : 'Nothing was run';
    throw (
      storageErrorOf(e, {
        place: `the state dir ${store.location}`,
        outcome,
        alternative: 'or set stateDir in opsbook.yaml to another place',
      }) ?? e
    );
  }
}

/** OpenSSH's GlobalKnownHostsFile: a host listed there presents one of its keys, or is refused. */
const GLOBAL_KNOWN_HOSTS = '/etc/ssh/ssh_known_hosts';

/** The runner's ~/.ssh/config with the files it Includes, as ssh reads them; none without HOME. */
export type RunnerSshConfig = SshConfigSource | undefined;

export async function runnerSshConfig(env: NodeJS.ProcessEnv): Promise<RunnerSshConfig> {
  if (!env.HOME) return undefined;
  // An unreadable config is as none: ssh_config only fills what the inventory leaves unset.
  return loadSshConfig(`${env.HOME}/.ssh/config`, { homeDir: env.HOME }).catch(() => undefined);
}

/** Opens a host's transport for a run: one file cache, the host's own connect timeout. */
export function openTransportFor(
  req: Pick<RunRequest, 'config' | 'acceptNewHostKeys' | 'env' | 'signal'>,
  sshConfig: RunnerSshConfig,
) {
  // Identity files and known_hosts are read once for the whole run, not once per host.
  const options = sshOptionsOf(req, sshConfig, createSshFileCache());
  // Each host listens for the run's abort while it connects: as many listeners on that one
  // signal as hosts connect at once (up to the concurrency), which Node warns about past 10.
  setMaxListeners(0, req.signal);
  return async (host: PlannedHost): Promise<Transport> => {
    const c = host.connection;
    // Local commands get the allow-listed part of the runner's environment, never all of it.
    if (c.transport === 'local') return createLocalTransport({ host: host.name, env: req.env });
    return connectSsh(
      {
        name: host.name,
        host: c.address,
        // Unset in the inventory: ~/.ssh/config's Port for the host, then 22, as ssh does.
        ...(c.port !== undefined ? { port: c.port } : {}),
        ...(c.user ? { user: c.user } : {}),
        ...(c.privateKeyFile ? { identityFile: c.privateKeyFile } : {}),
        // The inventory's ProxyJump (ansible_ssh_common_args): never connect around the bastion.
        ...(c.proxyJump ? { proxyJump: c.proxyJump } : {}),
      },
      c.connectTimeoutMs !== undefined
        ? { ...options, connectTimeoutMs: c.connectTimeoutMs }
        : options,
    );
  };
}

/**
 * One transport per host of the plan, opened on first use; hosts are found by name in a map (a
 * search of the host list for each host was quadratic: 12.5 million comparisons for 5,000 hosts).
 */
export function hostTransportPool(
  hosts: readonly PlannedHost[],
  open: (host: PlannedHost) => Promise<Transport>,
): TransportPool {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  return createTransportPool(async (name) => open(byName.get(name)!));
}

/**
 * Opens SSH connections to machines that are not hosts of the plan (an off-host backup copy's
 * destination, named in the approved params), with the same known_hosts, keys and ~/.ssh/config
 * as the run's hosts: host keys are checked as strictly.
 */
export function connectorFor(
  req: Pick<RunRequest, 'config' | 'acceptNewHostKeys' | 'env' | 'signal'>,
  sshConfig: RunnerSshConfig,
): (target: SshTarget) => Promise<Transport> {
  const options = sshOptionsOf(req, sshConfig, createSshFileCache());
  setMaxListeners(0, req.signal); // as openTransportFor
  return (target) => connectSsh(target, options);
}

function sshOptionsOf(
  req: Pick<RunRequest, 'config' | 'acceptNewHostKeys' | 'env' | 'signal'>,
  sshConfig: RunnerSshConfig,
  fileCache: SshFileCache,
): SshTransportOptions {
  return {
    knownHostsFile: req.config.knownHosts,
    // Root's pin of host keys, which no opsbook.yaml, --config or environment can move.
    globalKnownHostsFile: GLOBAL_KNOWN_HOSTS,
    acceptNewHostKeys: req.acceptNewHostKeys ?? false,
    // The plan's address, never one the runner machine's ~/.ssh/config swaps in (SSH_ROUTE_REFUSED).
    addressIsFinal: true,
    fileCache,
    ...(sshConfig !== undefined ? { sshConfigText: sshConfig } : {}),
    ...(req.env.SSH_AUTH_SOCK ? { agentSocket: req.env.SSH_AUTH_SOCK } : {}),
    ...(req.env.OPSBOOK_KEY_PASSPHRASE ? { passphrase: req.env.OPSBOOK_KEY_PASSPHRASE } : {}),
    signal: req.signal,
  };
}

/**
 * Delivers the ticket's start writes (queued on disk) while the run goes on. Never rejects: a
 * delivery that fails or is interrupted leaves them in the outbox, where the ticket's end writes
 * (which flush the ticket's whole queue, in order) or `opsbook outbox flush` send them.
 */
async function deliverStart(ticket: TicketGate, queued: QueuedWrites): Promise<TicketReport> {
  try {
    return await queued.deliver();
  } catch (e) {
    return ticket.pendingAfter(e);
  }
}

/**
 * `opsbook run`: the only way anything touches a host. Verifies the approval against the plan
 * re-rendered from this checkout, consumes one of its runs in the ledger, then executes exactly
 * that plan, journaling every event durably before the next step starts.
 */
export async function runApproved(req: RunRequest): Promise<RunOutcome> {
  const masking: { mask?: Masker } = {};
  try {
    return await runApprovedMasking(req, masking);
  } catch (e) {
    throw withSecretsMasked(e, masking.mask);
  }
}

/**
 * An error leaving a run, its message and stack masked with the run's secrets: whatever shows
 * it (an unexpected error's exit 70 prints its message, and with --debug its stack) shows no
 * secret, even from a fault in opsbook itself. A masker that fails on it withholds the text.
 */
export function withSecretsMasked(e: unknown, mask: Masker | undefined): unknown {
  if (!mask || !(e instanceof Error)) return e;
  const masked = (text: string): string => {
    try {
      return mask(text);
    } catch {
      return 'the message was withheld: it may hold a secret, and masking it failed';
    }
  };
  const message = masked(e.message);
  const stack = e.stack === undefined ? undefined : masked(e.stack);
  // Written only when masking changed them (an abort's DOMException has no setter for either).
  try {
    if (message !== e.message) e.message = message;
    if (stack !== undefined && stack !== e.stack) e.stack = stack;
  } catch {
    const plain = new Error(message);
    plain.stack = stack ?? `Error: ${message}`;
    return plain;
  }
  return e;
}

async function runApprovedMasking(
  req: RunRequest,
  masking: { mask?: Masker },
): Promise<RunOutcome> {
  const verifiedRun = await verifyApprovalFile(req.approvalFile, {
    config: req.config,
    ...(req.inventoryFile ? { inventoryFile: req.inventoryFile } : {}),
    ...(req.now ? { now: req.now } : {}),
    ...(req.approvalBytes ? { approvalBytes: req.approvalBytes } : {}),
    executorKey: req.executorSigner.publicKey.fingerprint,
  });
  // The vaulted host vars its commands name are all it keeps of the inventory while hosts run.
  const vaultValues = vaultValuesOf(verifiedRun.plan, verifiedRun.inventory);
  const verified = withoutInventory(verifiedRun);
  const { verified: approval } = verified;
  const executor = verified.executor!;
  const store = stateStoreOf(req.config);
  const retry = req.retryOf
    ? await retryPlanOf(store, verified.plan, approval.statement.id, req.retryOf)
    : undefined;
  const plan = retry?.plan ?? verified.plan;
  const secretEnv = await askMissingSecrets(
    verified.bundle.runbook,
    plan.secretParams,
    req.env,
    req.askSecret,
  );
  const secrets = readSecretParams(verified.bundle.runbook, plan.secretParams, secretEnv);
  const masked = [...Object.values(secrets), ...allVaultValues(vaultValues)];
  const secretMask = createSecretMask(masked);
  const { mask } = secretMask;
  masking.mask = mask;
  await req.ticket?.check(approval.statement);
  const runId = newRunId(req.now ?? new Date());
  // Signed before any run is consumed or host touched: a key that cannot sign costs nothing.
  const runClaim = await signRunClaim(
    {
      approvalId: approval.statement.id,
      approvalPayload: Buffer.from(verified.approval.envelope.payload, 'base64'),
      ticket: plan.ticket,
      runId,
      hosts: plan.hosts.map((h) => h.name),
      executor: executor.id,
      ...(req.now ? { now: req.now } : {}),
    },
    req.executorSigner,
  );
  // The ticket's claim first: it is what holds maxRuns across machines that share no store.
  await beforeAnyHost(store, Promise.resolve(req.ticket?.claim(runId, executor.id)));
  const { runsUsed } = await beforeAnyHost(
    store,
    store.claimRun({
      approvalId: approval.statement.id,
      maxRuns: approval.statement.maxRuns,
      runId,
      ticket: plan.ticket,
    }),
  ).catch(async (e: unknown) => {
    await req.ticket?.withdraw();
    throw e;
  });
  // Without a secret there is nothing to mask: the journal need not copy each event to mask it.
  const hasSecrets = masked.some((s) => s !== '');
  // The ticket's start writes and the journal's creation do not wait for each other, only
  // run-start waits for both: made at once, one wait for the disk less before the first host.
  // run-start waits for the writes to be on disk in the outbox, not for the tracker to take
  // them: they are delivered while the hosts run (a tracker's round trips, not the hosts'
  // time), and the ticket's end writes wait for them (below).
  const [started, created] = await Promise.allSettled([
    beforeAnyHost(
      store,
      Promise.resolve(
        req.ticket?.queueStart(runId, executor.id, {
          verified,
          hosts: plan.hosts.map((h) => h.name),
          retryOf: req.retryOf,
        }),
      ),
      { runId },
    ),
    beforeAnyHost(store, store.createJournal(runId, hasSecrets ? { mask } : {}), { runId }),
  ]);
  if (started.status === 'rejected') {
    if (created.status === 'fulfilled') await created.value.close().catch(() => undefined);
    throw started.reason;
  }
  if (created.status === 'rejected') throw created.reason;
  const startDelivery =
    started.value && req.ticket ? deliverStart(req.ticket, started.value) : undefined;
  const journal = created.value;
  // A journal the disk refuses stops the run like Ctrl-C: no step may run unrecorded.
  const stop = new AbortController();
  const signal = AbortSignal.any([req.signal, stop.signal]);
  let journalRefused: unknown;
  // Counted here, as the steps start, not read back from the state store at the end: the
  // ticket's record must not take from an edited journal or ledger that no host was reached.
  let stepStarted = false;
  const record = async (event: RunEvent) => {
    if (event.type === 'step-start') stepStarted = true;
    try {
      await journal.append(event);
    } catch (e) {
      // Any store refusal (a full disk, a database gone for longer than its retries) stops it.
      if (journalRefused === undefined) {
        journalRefused = e;
        stop.abort();
      }
      throw e;
    }
    req.onEvent?.(event);
  };
  // The journal holds a connection with the PostgreSQL store: closed on every path out.
  const sshConfig = await runnerSshConfig(req.env).catch(async (e: unknown) => {
    await journal.close().catch(() => undefined);
    throw e;
  });
  const pool = hostTransportPool(plan.hosts, openTransportFor(req, sshConfig));
  const local = createLocalTransport({ env: req.env });
  let result: ExecuteResult | undefined;
  let ticketStart: TicketReport | undefined;
  let ticketEnd: TicketReport | undefined;
  let refused: Error | undefined;
  let approvalUse: ApprovalUse = { used: true, runsLeft: 0 };
  try {
    await record(runStartOf(verified, { runId, runClaim, runsUsed, plan, retry }));
    result = await executePlan({
      plan,
      runId,
      stateDir: req.config.stateDir,
      store,
      bundleDir: verified.bundle.dir,
      composedDirs: composedDirsOf(verified.compositions),
      secrets,
      vaultValues,
      transportFor: (h) => pool.get(h.name),
      releaseTransport: (h) => pool.release(h.name),
      local,
      record,
      mask,
      secretMask,
      signal,
      ...(req.stopSignal ? { stopSignal: req.stopSignal } : {}),
      ...(req.onOutput ? { onOutput: req.onOutput } : {}),
      connect: connectorFor(req, sshConfig),
    });
  } catch (e) {
    // Once the disk refused the journal, that is what the run's end reports (below).
    if (journalRefused === undefined) throw e;
  } finally {
    await pool.closeAll();
    const final = result ?? {
      hosts: [] as HostResult[],
      interrupted: signal.aborted,
      stoppedByFailures: false,
    };
    const status = result ? runStatusOf(result) : signal.aborted ? 'interrupted' : 'failed';
    await record({
      type: 'run-end',
      status,
      hosts: Object.fromEntries(final.hosts.map((h) => [h.host, h.status])),
      interrupted: final.interrupted,
      stoppedByFailures: final.stoppedByFailures,
    }).catch(() => {});
    await journal.close();
    const ledgerRefused = await store
      .recordRunEnd({
        runId,
        head: journal.head,
        count: journal.count,
        status,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    // The journal read and verified once (against the ledger's end) for the findings and the
    // ticket: three readings of a 5,000-host journal cost 1.2 s and ~100 MB (BENCHMARKS.md).
    const stored =
      ledgerRefused === undefined
        ? await store.readRun(runId, { exact: true }).catch(() => undefined)
        : undefined;
    // Findings for reports, derived from the verified journal. Derived data: if this fails, a
    // report reads the run from its journal instead, so the run's outcome does not depend on it.
    if (ledgerRefused === undefined)
      await store.recordFindings(runId, stored).catch(() => undefined);
    if (ledgerRefused === undefined)
      approvalUse = await approvalUseOf(store, approval.statement, runId, stepStarted).catch(
        () => approvalUse,
      );
    ticketStart = await startDelivery;
    ticketEnd = await req.ticket?.finish(store, runId, { stored, live: { stepStarted } });
    refused = storageRefusal({
      journalRefused,
      ledgerRefused,
      ticketRefused: req.ticket?.endError,
      outboxDir: path.join(req.config.stateDir, 'outbox'),
      journal,
      store,
      status,
      ...(ticketEnd ? { ticket: ticketEnd } : {}),
      ...(ticketStart ? { ticketStart } : {}),
    });
  }
  if (refused) throw refused;
  return {
    runId,
    status: runStatusOf(result!),
    verified,
    result: result!,
    journal: {
      location: journal.location,
      ...(store.kind === 'files' ? { path: journal.location } : {}),
      head: journal.head,
      count: journal.count,
    },
    ...(ticketStart && ticketEnd ? { ticket: { start: ticketStart, end: ticketEnd } } : {}),
    ...(retry ? { retryOf: retry.retryOf } : {}),
    approvalUse,
  };
}

/**
 * The error for a run whose journal or ledger the disk refused (ENOSPC, EROFS…), saying how far
 * the run got and what was recorded; undefined when both were written.
 */
function storageRefusal(facts: StorageFacts): Error | undefined {
  const { journal, store, status } = facts;
  const told = facts.ticket ? `; ${ticketFateOf(facts.ticket, facts.ticketStart)}` : '';
  const verify = `opsbook journal verify ${journal.runId} shows the ${journal.count} event(s) written${told}`;
  const alternative =
    store.kind === 'files' ? 'or set stateDir in opsbook.yaml to another place' : undefined;
  const described = (error: unknown, place: string, outcome: string): Error =>
    storageErrorOf(error, { place, outcome, ...(alternative ? { alternative } : {}) }) ??
    withOutcome(error, outcome);
  if (facts.journalRefused !== undefined) {
    const ledger = facts.ledgerRefused
      ? `the store ${store.location} could not record its end either`
      : `the store records it as ${status}`;
    return described(
      facts.journalRefused,
      `the journal ${journal.location}`,
      `The run stopped there: no step started after it, and ${ledger}; ${verify}`,
    );
  }
  if (facts.ledgerRefused === undefined) return ticketRefusal(facts, alternative);
  return described(
    facts.ledgerRefused,
    `the run ledger in ${store.location}`,
    `The run ended ${status} and its journal ${journal.location} is complete, but the store does not pin it; ${verify}`,
  );
}

/**
 * The error for a run whose journal and ledger were written, but whose ticket's end writes the
 * disk kept from the outbox (the journal, attached to the ticket, is copied there): the work is
 * done and recorded, but nothing will tell the ticket until there is room. Another failure of
 * the ticket's end (a tracker refusal) is not the disk's, and is only reported (undefined).
 */
function ticketRefusal(facts: StorageFacts, alternative: string | undefined): Error | undefined {
  const { journal, status, ticket } = facts;
  if (facts.ticketRefused === undefined || !ticket) return undefined;
  return storageErrorOf(facts.ticketRefused, {
    place: `the outbox ${facts.outboxDir}`,
    outcome: `The run ended ${status} and its journal ${journal.location} is complete (opsbook journal verify ${journal.runId} checks it), but its ticket ${ticket.ticket} was not told how the run ended: once the outbox takes writes again, opsbook ticket report ${ticket.ticket} reports it`,
    ...(alternative ? { alternative } : {}),
  });
}

/** What a run's end knows of the writes the disk refused (storageRefusal). */
interface StorageFacts {
  journalRefused: unknown;
  ledgerRefused: unknown;
  /** What kept the ticket's end writes from the outbox (TicketGate.endError). */
  ticketRefused?: unknown;
  outboxDir: string;
  journal: Journal;
  store: StateStore;
  status: RunStatus;
  ticket?: TicketReport;
  ticketStart?: TicketReport;
}

/**
 * What became of the ticket's end writes when the store refused the run's files: the same full
 * disk often refuses the outbox too, and the engineer must learn that the ticket was not told
 * rather than wait for a flush that has nothing to send.
 */
function ticketFateOf(report: TicketReport, start?: TicketReport): string {
  const { ticket, pending, failed, error } = report;
  const waiting = pending.length + failed.length;
  if (waiting > 0)
    return `${waiting} write(s) to its ticket ${ticket} wait in the outbox: opsbook outbox flush sends them`;
  if (error === undefined) return `its ticket ${ticket} was told how it ended`;
  // The same disk can have kept the start's delivery too (queued, then no room to apply it):
  // the ticket then still shows the status it had before the run.
  const started = start ? start.pending.length + start.failed.length : 0;
  return started > 0
    ? `its ticket ${ticket} was not told how the run ended (${error}), and ${started} write(s) of its start (its move to In Progress) still wait in the outbox, so it does not show In Progress yet: once the store takes writes again, opsbook ticket report ${ticket} delivers them first, then reports the run or says what to do`
    : `its ticket ${ticket} was not told how the run ended (${error}): once the store takes writes again, opsbook ticket report ${ticket} reports it or says what to do`;
}

/**
 * A store that refused for another reason than its disk (the PostgreSQL store gone for longer
 * than its retries: STATE_DB_UNREACHABLE) keeps its code and kind, and says as well how far the
 * run got and what was recorded: the engineer must not be left to guess whether steps ran.
 */
function withOutcome(error: unknown, outcome: string): Error {
  if (!isOpsbookError(error)) return error instanceof Error ? error : new Error(String(error));
  return new OpsbookError(
    error.kind,
    error.code,
    `${error.message.replace(/[.\s]+$/, '')}. ${outcome}.`,
    error.details,
    { cause: error },
  );
}

/**
 * The run-start event of a verified, claimed run (`runApproved` and a distributed run's
 * submitter). `plan`: the hosts it runs, when a retry runs fewer than the approved plan.
 */
export function runStartOf(
  verified: VerifiedPlan,
  run: {
    runId: string;
    runClaim: Envelope;
    runsUsed: number;
    plan?: Plan;
    retry?: { retryOf: string } | undefined;
  },
): RunEvent {
  const { planDigest, verified: approval } = verified;
  const plan = run.plan ?? verified.plan;
  const executor = verified.executor!;
  return {
    type: 'run-start',
    runId: run.runId,
    ticket: plan.ticket,
    runbook: plan.runbook,
    ...(plan.composed ? { composed: composedOf(plan) } : {}),
    planDigest,
    approval: {
      id: approval.statement.id,
      sha256: `sha256:${createHash('sha256').update(verified.approval.bytes).digest('hex')}`,
      signers: approval.signers.map((s) => ({
        approverId: s.approverId,
        fingerprint: s.fingerprint,
      })),
      runsUsed: run.runsUsed,
      maxRuns: approval.statement.maxRuns,
    },
    executor: executor.id,
    executorKey: executor.fingerprint!,
    runClaim: run.runClaim,
    params: plan.params,
    secretParams: plan.secretParams,
    hosts: plan.hosts.map((h) => h.name),
    ...(run.retry ? { retryOf: run.retry.retryOf } : {}),
  } as RunEvent;
}
