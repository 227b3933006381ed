import {
  type ApprovalStatement,
  type ExecutorIdentity,
  type ExpectedRun,
  identifyExecutor,
  loadTrustedStore,
  type TrustStore,
  type Verified,
  verifyApproval,
} from '@opsbook/approval';
import {
  type Config,
  formatProblem,
  isOpsbookError,
  type OpsbookError,
  RefusalError,
  ValidationError,
} from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import { runnerErrors } from '../error-codes.js';
import type { Plan } from '../plan/plan.js';
import { proposedPlanHere } from '../ticket/proposed-plan.js';
import { type ApprovalFile, readApprovalFile } from './approval-file.js';
import { composedOf, type PlannedRun, rederivePlan } from './plan-approval.js';
import { planDifferences } from './plan-difference.js';

export interface VerifyOptions {
  config: Config;
  inventoryFile?: string;
  now?: Date;
  /**
   * The fingerprint of the key the executor runs with: the trust store must list it, and its
   * person is who runs (never a name from the environment). Absent for `opsbook verify`.
   */
  executorKey?: string;
  /** The approval's bytes, when they do not come from `file` (a worker gets them in its job). */
  approvalBytes?: Uint8Array;
  /**
   * The runs made under the approval before this one, for a run the store has already claimed
   * (a worker of a distributed run); absent, every run the store records counts.
   */
  runsBefore?: number;
}

export interface VerifiedRun extends PlannedRun {
  approval: ApprovalFile;
  verified: Verified;
  /** The pinned trust store it was verified against (who the signers are). */
  trust: TrustStore;
  /** Who runs, proven by their key; set when `executorKey` was given. */
  executor?: ExecutorIdentity;
}

/**
 * A verified run as `opsbook run` keeps it while its hosts run: without the inventory it was
 * rendered from. The plan holds all that runs; a fleet's inventory (every host's variables and
 * where they were set) would otherwise stay in memory until the run ends.
 */
export type VerifiedPlan = Omit<VerifiedRun, 'inventory'>;

/** The verified run without its inventory (`VerifiedPlan`). */
export function withoutInventory({ inventory: _inventory, ...run }: VerifiedRun): VerifiedPlan {
  return run;
}

/**
 * The gate of `opsbook verify` and `opsbook run`: re-render the run, then let verifyApproval
 * decide. Anything wrong is a RefusalError with a stable code (exit 3), never a usage error, and
 * signatures are always checked before anything else in the file is believed.
 */
export async function verifyApprovalFile(
  file: string,
  options: VerifyOptions,
): Promise<VerifiedRun> {
  let approval: ApprovalFile;
  try {
    approval = await readApprovalFile(file, options.approvalBytes);
  } catch (e) {
    if (e instanceof ValidationError && e.code !== 'INVALID_INPUT') {
      // Keep the approval library's code: a well-formed envelope around a bad statement is
      // STATEMENT_INVALID, as `verifyApproval` itself reports it.
      throw new runnerErrors.RefusalError(
        e.code === 'STATEMENT_INVALID' || e.code === 'PAYLOAD_NOT_CANONICAL'
          ? e.code
          : 'ENVELOPE_INVALID',
        `${e.problems.map(formatProblem).join('; ')}: use the approval file written by opsbook plan/approve, unedited`,
      );
    }
    throw e;
  }
  const { config } = options;
  const { store } = await loadTrustedStore(config.trustPinDir, config.trustStore);
  let executor: ExecutorIdentity | undefined;
  if (options.executorKey !== undefined) {
    const who = identifyExecutor(store, options.executorKey);
    if (!who.ok) throw new RefusalError(who.code, who.message, { file });
    executor = who.executor;
  }
  let derived: PlannedRun | undefined;
  let failure: unknown;
  try {
    derived = await rederivePlan(approval.statement, config, options.inventoryFile);
  } catch (e) {
    failure = e;
  }
  const s = approval.statement;
  const expected: ExpectedRun = derived
    ? {
        ticket: s.ticket,
        runbook: derived.plan.runbook,
        composed: composedOf(derived.plan),
        params: derived.plan.params,
        secretParams: derived.plan.secretParams,
        targets: {
          hosts: derived.plan.hosts.map((h) => h.name),
          ...('selector' in s.targets ? { selector: s.targets.selector } : {}),
        },
        planDigest: derived.planDigest,
        category: derived.plan.category,
        grade: derived.plan.grade,
      }
    : {
        // The run cannot be rendered any more. This expectation mirrors the statement, so the
        // refusal below reports only signature, trust and policy problems; when there are none,
        // the rendering failure itself is thrown after it (a binding refusal here would blame
        // the wrong thing, e.g. "the runbook changed" for a host missing from the inventory).
        ticket: s.ticket,
        runbook: s.runbook,
        ...(s.composed ? { composed: s.composed } : {}),
        params: s.params,
        secretParams: s.secretParams,
        targets:
          'hosts' in s.targets
            ? { hosts: s.targets.hosts }
            : { hosts: [], selector: s.targets.selector },
        planDigest: s.plan?.digest ?? 'sha256:unavailable',
        category: s.category,
        grade: s.grade,
      };
  const result = verifyApproval(approval.bytes, {
    store,
    now: options.now ?? new Date(),
    expected,
    ...(executor ? { executor } : {}),
    runsUsed: options.runsBefore ?? (await stateStoreOf(config).runsUsed(s.id)),
    file,
  });
  if (!result.ok)
    throw new RefusalError(
      result.code,
      result.code === 'RUNS_EXHAUSTED' && options.runsBefore === undefined
        ? await withRunsThatUsedIt(result.message, config, s.id)
        : result.code === 'PLAN_MISMATCH' && derived
          ? await withPlanDifferences(result.message, config, s, derived.plan)
          : result.message,
      { file },
    );
  if (!derived) {
    // A malformed inventory, vars file or runbook is the file's problem (exit 2, file:line:col):
    // fix it; calling it a mismatch would send the engineer to a senior for a new signature.
    if (isOpsbookError(failure) && (failure.kind === 'refused' || isMalformedFile(failure)))
      throw failure;
    const why = failure instanceof Error ? failure.message : String(failure);
    throw new runnerErrors.RefusalError(
      'PLAN_MISMATCH',
      `the approved run cannot be rendered from this checkout (${why}): check out the approved runbook version, or ask for a new approval`,
    );
  }
  return {
    ...derived,
    approval,
    verified: result,
    trust: store,
    ...(executor ? { executor } : {}),
  };
}

/**
 * RUNS_EXHAUSTED naming the runs that used the approval and how each stands: after a runner was
 * killed, the engineer learns which run took it (incomplete: its runner stopped before its end)
 * and where to look, not only that the count is reached. Best effort: the refusal stands as it
 * is when the store cannot say.
 */
async function withRunsThatUsedIt(
  message: string,
  config: Config,
  approvalId: string,
): Promise<string> {
  const store = stateStoreOf(config);
  const used = (await store.approvalRuns(approvalId).catch(() => [])).filter((r) => r.used);
  if (used.length === 0) return message;
  const described = await Promise.all(
    used.map(async ({ runId }) => {
      const status = await store
        .readRun(runId)
        .then((v) => v.summary.status)
        .catch(() => undefined);
      if (status === 'incomplete')
        return `run ${runId}: incomplete, its runner stopped before its end (opsbook runs show ${runId} says where)`;
      return `run ${runId}${status ? `: ${status}` : ''}`;
    }),
  );
  const [refusal, advice] = splitAtAdvice(message);
  return `${refusal} (${described.join('; ')})${advice}`;
}

/**
 * PLAN_MISMATCH naming what differs where this machine can tell — a host's connection or
 * commands, hosts added or missing (from the plan proposed on the embedded tracker) — not only
 * two digests: an engineer who changed the
 * inventory (a key file, a host var) learns what to put back instead of asking for a new
 * signature. Only an explanation: the refusal stands whatever it finds.
 */
async function withPlanDifferences(
  message: string,
  config: Config,
  statement: ApprovalStatement,
  here: Plan,
): Promise<string> {
  const proposed = await proposedPlanHere(config, statement);
  const differences = planDifferences(statement, here, proposed);
  if (differences.length === 0) return message;
  // Inside the parenthesis that names the two digests; the advice after it stays as it is.
  const [refusal, advice] = splitAtAdvice(message);
  const what = `what differs: ${differences.join('; ')}`;
  return refusal.endsWith(')')
    ? `${refusal.slice(0, -1)}; ${what})${advice}`
    : `${refusal} (${what})${advice}`;
}

/** "…have been made: ask a senior…" as its facts and its advice (": ask a senior…"). */
function splitAtAdvice(message: string): [string, string] {
  const at = message.lastIndexOf(': ');
  return at < 0 ? [message, ''] : [message.slice(0, at), message.slice(at)];
}

/**
 * A file that cannot be read as what it should be (YAML, INI, schema, a vars file): fix it
 * (exit 2, file:line:col), no new signature needed. Not a composed runbook's range that no
 * longer resolves here: the checkout no longer holds what was signed (PLAN_MISMATCH).
 */
function isMalformedFile(e: OpsbookError): boolean {
  if (e.code === 'INVENTORY_INVALID') return true;
  if (e.code !== 'INVALID_INPUT' || !(e instanceof ValidationError)) return false;
  return !e.problems.some((p) => p.rule?.startsWith('compose') || p.rule === 'unknown-runbook');
}
