import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import {
  type ApprovalStatement,
  attachSignature,
  type ComposedRunbook,
  checkAttachable,
  checkSigning,
  createEnvelope,
  createStatement,
  DEFAULT_EXPIRY,
  type Envelope,
  type ExecutorIdentity,
  type ExpectedRun,
  identifyExecutor,
  loadTrustedStore,
  NOT_CANONICAL,
  parseStatement,
  parseTrustStore,
  readEnvelope,
  resolvePolicy,
  reviseStatement,
  type SshSigner,
  serializeEnvelope,
  signEnvelope,
  signProposal,
  type TrackerBinding,
  type TrustStore,
  type Verified,
  verifyApproval,
} from '@opsbook/approval';
import type { Inventory } from '@opsbook/inventory';
import {
  type BundleDigest,
  type Config,
  didYouMean,
  digestRunbook,
  formatProblem,
  isOpsbookError,
  type OpsbookError,
  RefusalError,
  type RunbookBundle,
  UsageError,
  ValidationError,
  writeFileAtomic,
} from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import { sameVisibility, visibilityText } from '@opsbook/tracker';
import { backupsForPlan } from '../actions/backup-action.js';
import { runnerErrors } from '../error-codes.js';
import { compositionsOf, loadOneRunbook } from '../plan/catalog.js';
import type { Composition } from '../plan/compose.js';
import { parseParamArgs, resolveApprovedParams, resolveParams } from '../plan/params.js';
import { type Plan, type PlanInput, planDigest, planScripts, renderPlan } from '../plan/plan.js';
import { hostsByName, loadRunInventory, selectTargets } from '../plan/targets.js';
import { proposedPlanHere } from '../ticket/proposed-plan.js';
import { trackerText } from '../ticket/ticket-tracker.js';
import { planDifferences } from './plan-difference.js';
import { readTrustStoreBytes } from './trust.js';

/**
 * Approval files are written whole (an interrupted write never leaves half an approval) and
 * readable by all: the senior who signs and the engineer who runs are different users.
 */
export const APPROVAL_FILE = { mode: 0o644 } as const;

/** Who is acting: OPSBOOK_USER, else the OS user. Matched against approver ids. */
export function currentUser(env: NodeJS.ProcessEnv = process.env): string {
  return env.OPSBOOK_USER || userInfo().username;
}

export interface PlanRequest {
  config: Config;
  runbook: string;
  ticket: string;
  params: readonly string[];
  target?: string | undefined;
  inventoryFile?: string | undefined;
  expires?: string | undefined;
  maxRuns?: number | undefined;
  executor?: string | undefined;
  /** A standing approval of a routine runbook: targets are the selector, re-resolved at each run. */
  standing?: boolean;
  /**
   * The tracker its runs will be checked and claimed on (`trackerBinding` of this config, or
   * `bindingOf` the open tracker): signed with the rest, compared by every run.
   */
  tracker: TrackerBinding;
  /**
   * The proposer's own key: approvers.yaml must list it, its person is the statement's proposer,
   * and it signs the proposal (never a name from the environment). Or how to get it: asked for
   * once the plan renders, so that a mistake in the runbook, params or hosts is reported first.
   */
  proposerSigner: SshSigner | (() => Promise<SshSigner>);
  now?: Date;
}

/** This checkout's approvers.yaml, which names the proposer of a plan (and its executor). */
async function checkoutStore(config: Config): Promise<TrustStore> {
  const bytes = await readTrustStoreBytes(config);
  if (!bytes)
    throw new runnerErrors.RefusalError(
      'PROPOSER_UNPROVEN',
      `${config.trustStore} is missing: a plan names as proposer the person the trust store lists for the key that signs it`,
    );
  return parseTrustStore(bytes, config.trustStore);
}

/**
 * Who proposes: the person this checkout's approvers.yaml lists for the key. (Verification checks
 * the proposal signature again against the pinned trust store.)
 */
function proposerOf(store: TrustStore, signer: SshSigner): string {
  const who = identifyExecutor(store, signer.publicKey.fingerprint);
  if (who.ok) return who.executor.id;
  throw new RefusalError(
    who.code === 'EXECUTOR_UNTRUSTED' ? 'PROPOSER_UNPROVEN' : who.code,
    `${who.message.replace('you run with', 'you plan with')}`,
  );
}

/**
 * `--executor`: run accepts the named executor only from a run claim signed by a key the trust
 * store lists for them (by id, or by their tracker account), so a name approvers.yaml does not
 * list (a typo) would make an approval nobody can run. Refused with the closest id, as
 * `--senior` is, before any key is asked for.
 */
function checkExecutorListed(store: TrustStore, name: string): void {
  const approvers = store.data.approvers;
  if (approvers.some((a) => a.id === name || a.jira === name)) return;
  const ids = approvers.map((a) => a.id);
  const near = didYouMean(name, ids);
  throw new UsageError(
    `--executor ${name} is not in ${store.file}${near ? `: did you mean ${near}?` : '.'} Only a person it lists can run the approval (run checks who runs by their key): name them by their approvers.yaml id (${ids.join(', ')}), or leave --executor out to let anyone it lists run it`,
  );
}

export interface PlannedRun {
  bundle: RunbookBundle;
  digest: BundleDigest;
  /** The runbooks it composes, as they resolve in this checkout (none: it composes none). */
  compositions: Composition[];
  plan: Plan;
  planDigest: string;
  inventory: Inventory;
}

/** `opsbook plan`: resolve params and hosts, render every command, and bind them in an unsigned approval. */
export async function createPlan(
  req: PlanRequest,
): Promise<PlannedRun & { statement: ApprovalStatement; envelope: Envelope }> {
  if (!/^[A-Z][A-Z0-9_]*-\d+$/.test(req.ticket)) {
    throw new ValidationError([
      {
        file: '--ticket',
        line: 0,
        col: 0,
        rule: 'bad-ticket',
        message: /^[A-Z][A-Z0-9_]*-\d+$/.test(req.ticket.toUpperCase())
          ? `'${req.ticket}' is not a ticket key: did you mean ${req.ticket.toUpperCase()}? Keys are upper case`
          : `'${req.ticket}' is not a ticket key: use the Jira form PROJECT-123`,
      },
    ]);
  }
  const bundle = await loadOneRunbook(req.runbook, req.config);
  const { values, secretParams } = resolveParams(bundle.runbook, parseParamArgs(req.params));
  const inventory = await loadRunInventory(req.config, req.inventoryFile);
  const hosts = selectTargets(inventory, req.target, bundle.runbook.spec.targets?.default);
  const selector = req.target ?? bundle.runbook.spec.targets?.default ?? 'all';
  if (req.standing && bundle.runbook.metadata.category !== 'routine')
    throw new runnerErrors.RefusalError(
      'SELECTOR_NOT_ROUTINE',
      `${bundle.name} is ${/^[aeiou]/.test(bundle.runbook.metadata.category) ? 'an' : 'a'} ${bundle.runbook.metadata.category} runbook: only routine runbooks get a standing approval; plan it for explicit hosts (drop --standing)`,
    );
  const [digest, compositions] = await Promise.all([
    digestRunbook(bundle.dir, bundle),
    compositionsOf(bundle),
  ]);
  const plan = renderPlan({
    bundle,
    digest,
    ticket: req.ticket,
    params: values,
    secretParams,
    hosts,
    compositions,
    ...vaultBinding(inventory),
    ...(await backupBinding(req.config, bundle, compositions)),
  });
  const pd = planDigest(plan);
  const store = await checkoutStore(req.config);
  if (req.executor !== undefined) checkExecutorListed(store, req.executor);
  const signer =
    typeof req.proposerSigner === 'function' ? await req.proposerSigner() : req.proposerSigner;
  const proposer = proposerOf(store, signer);
  const statement = createStatement({
    ticket: req.ticket,
    runbook: plan.runbook,
    composed: composedOf(plan),
    params: values,
    secretParams,
    targets: req.standing ? { selector } : { hosts: plan.hosts.map((h) => h.name) },
    category: plan.category,
    grade: plan.grade,
    // Every approval binds every rendered command, a standing one too: its thresholds (params,
    // host vars) and the hosts its selector matches today. A changed fleet or threshold is
    // refused until a senior signs the new plan (docs/routine-work.md).
    planDigest: pd,
    tracker: req.tracker,
    ...(req.expires ? { expires: req.expires } : {}),
    ...(req.maxRuns ? { maxRuns: req.maxRuns } : {}),
    ...(req.executor ? { executor: req.executor } : {}),
    proposer,
    ...(req.now ? { now: req.now } : {}),
  });
  refuseLongWindow(statement, store, req.expires);
  return {
    bundle,
    digest,
    compositions,
    plan,
    planDigest: pd,
    inventory,
    statement,
    envelope: await signProposal(createEnvelope(statement), statement, signer),
  };
}

/**
 * A window longer than the checkout's policy allows for the runbook's category and grade is
 * refused when planning, as `approve` and `run` would refuse it (VALIDITY_TOO_LONG, exit 3).
 */
function refuseLongWindow(
  statement: ApprovalStatement,
  store: TrustStore,
  expires: string | undefined,
): void {
  const policy = resolvePolicy(store, statement.category, statement.grade);
  const ms = Date.parse(statement.expiresAt) - Date.parse(statement.notBefore);
  if (ms <= policy.maxValidityMs) return;
  throw new RefusalError(
    'VALIDITY_TOO_LONG',
    `--expires ${expires ?? DEFAULT_EXPIRY} makes the approval valid longer than ${store.file}'s policy allows for ${statement.category} ${statement.grade} (at most ${policy.maxValidity}): plan with --expires ${policy.maxValidity} or less`,
  );
}

/** What an approval binds of the runbooks a plan composes: each bundle at its step. */
export function composedOf(plan: Plan): ComposedRunbook[] {
  return (plan.composed ?? []).map((c) => ({ step: c.step, ...c.runbook }));
}

export interface ApprovalFile {
  file: string;
  bytes: Buffer;
  envelope: Envelope;
  /** Parsed from the payload but NOT verified: only for deciding what to re-render and show. */
  statement: ApprovalStatement;
}

/**
 * Read an approval file (or its `bytes`, already read); a malformed one is invalid input (exit 2),
 * with file:line:col.
 */
export async function readApprovalFile(file: string, given?: Uint8Array): Promise<ApprovalFile> {
  let bytes: Buffer;
  try {
    bytes = given ? Buffer.from(given) : await readFile(file);
  } catch (e) {
    throw ValidationError.single(
      file,
      `cannot read the approval file (${(e as NodeJS.ErrnoException).code}): check the path`,
      'missing-file',
    );
  }
  const { parsed, problems } = readEnvelope(bytes, { file });
  if (!parsed) throw new runnerErrors.ValidationError(problems, 'ENVELOPE_INVALID');
  const { statement, problems: sp } = parseStatement(parsed.payload, `${file} payload`);
  if (!statement)
    throw new runnerErrors.ValidationError(
      sp,
      sp[0]?.rule === NOT_CANONICAL ? 'PAYLOAD_NOT_CANONICAL' : 'STATEMENT_INVALID',
    );
  return { file, bytes, envelope: parsed.envelope, statement };
}

/**
 * Render again, from this checkout, the run an approval describes: its runbook as it is now, its
 * params, its hosts as the inventory describes them now. What runs is always this re-rendered
 * plan, and it must have the digest the senior signed.
 */
export async function rederivePlan(
  statement: ApprovalStatement,
  config: Config,
  inventoryFile?: string,
): Promise<PlannedRun> {
  const bundle = await loadOneRunbook(statement.runbook.name, config);
  const { values, secretParams } = resolveApprovedParams(bundle.runbook, statement.params);
  const inventory = await loadRunInventory(config, inventoryFile);
  let hosts: ReturnType<typeof hostsByName>['hosts'];
  if ('hosts' in statement.targets) {
    const found = hostsByName(inventory, statement.targets.hosts);
    if (found.missing.length) {
      throw new runnerErrors.RefusalError(
        'TARGETS_OUTSIDE_SCOPE',
        `the approved hosts ${found.missing.join(', ')} are not in the inventory: run with the inventory the plan was made with (-i)`,
      );
    }
    hosts = found.hosts;
  } else {
    hosts = selectTargets(inventory, statement.targets.selector, undefined);
  }
  const [digest, compositions] = await Promise.all([
    digestRunbook(bundle.dir, bundle),
    compositionsOf(bundle),
  ]);
  const plan = renderPlan({
    bundle,
    digest,
    ticket: statement.ticket,
    params: values,
    secretParams,
    hosts,
    compositions,
    ...vaultBinding(inventory),
    ...(await backupBinding(config, bundle, compositions)),
  });
  return { bundle, digest, compositions, plan, planDigest: planDigest(plan), inventory };
}

/** The runner's backups, when a step of the runbook or one it composes selects one. */
async function backupBinding(
  config: Config,
  bundle: RunbookBundle,
  compositions: readonly Composition[],
): Promise<Pick<PlanInput, 'backups'>> {
  const backups = await backupsForPlan(config, [bundle, ...compositions.map((c) => c.bundle)]);
  return backups ? { backups } : {};
}

/** How the plan binds vaulted host vars: the inventory's fingerprint, when it has a vault password. */
function vaultBinding({ vaultFingerprint }: Inventory): Pick<PlanInput, 'vaultFingerprint'> {
  return vaultFingerprint ? { vaultFingerprint } : {};
}

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

/** What a signature is about to be made on: the statement as it will be signed, and its plan. */
export interface SigningView {
  /** With the window and run limit that are signed: the senior's --expires/--max-runs applied. */
  statement: ApprovalStatement;
  /** The plan as this checkout re-renders it, whose digest the statement binds. */
  plan: Plan;
  planDigest: string;
  /** The text of each script the plan runs, by sha256 (scriptsOf). */
  scripts: ReadonlyMap<string, string>;
}

/**
 * The text of every script the plan's steps run, by its sha256 (the plan binds that hash; the
 * files are the runbook's and its composed runbooks', as digested): what a reviewer reads before
 * signing, since a plan names a script step only by its path and hash.
 */
export async function scriptsOf(
  run: Pick<PlannedRun, 'bundle' | 'digest' | 'compositions' | 'plan'>,
): Promise<Map<string, string>> {
  const wanted = planScripts(run.plan);
  const texts = new Map<string, string>();
  for (const { bundle, digest } of [run, ...run.compositions])
    for (const f of digest.files)
      if (wanted.has(f.sha256) && !texts.has(f.sha256))
        texts.set(f.sha256, await readFile(path.join(bundle.dir, ...f.path.split('/')), 'utf8'));
  return texts;
}

export interface ApproveOptions {
  config: Config;
  inventoryFile?: string | undefined;
  expires?: string | undefined;
  maxRuns?: number | undefined;
  now?: Date | undefined;
  /**
   * Called once, when every check has passed and just before the signature is made: what the
   * signer sees there (the commands, the validity window, the run limit) is what they sign, shown
   * before a hardware key asks for a touch, not only after the signature exists.
   */
  onBeforeSign?(view: SigningView): void | Promise<void>;
  /**
   * The plan as the engineer rendered it (the plan file proposed beside the approval), when at
   * hand: only to say what differs if this checkout renders another, never trusted for more.
   */
  proposedPlan?: Plan | undefined;
  /**
   * The tracker the signer's own configuration names (`bindingOf` the tracker it opened): the
   * statement must bind the same one, with the same run statuses and comment visibility.
   */
  tracker?: TrackerBinding | undefined;
}

/**
 * The tracker binding is made by whoever plans, from their own opsbook.yaml, and the run gate
 * then goes by what is signed: the statuses a ticket must be in to run (a plan binding "Done" as
 * its in-progress status would run on a ticket the senior closed to revoke it) and who may read
 * its run output (a plan without the team's commentVisibility would post it for everyone). So a
 * senior signs only a binding their own configuration agrees with.
 */
function refuseOtherTracker(
  file: string,
  statement: ApprovalStatement,
  mine: TrackerBinding | undefined,
): void {
  const bound = statement.tracker;
  if (!bound || !mine) return; // no binding: run refuses it (TRACKER_UNBOUND)
  const differences: string[] = [];
  if (bound.kind !== mine.kind || bound.site !== mine.site)
    differences.push(
      `it counts its runs on ${trackerText(bound)}, yours names ${trackerText(mine)}`,
    );
  const s = bound.statuses;
  const m = mine.statuses;
  if (s.approved !== m.approved || s.inProgress !== m.inProgress)
    differences.push(
      `it runs on tickets in "${s.approved}" or "${s.inProgress}", yours names "${m.approved}" and "${m.inProgress}" (tracker.jira.statuses)`,
    );
  if (!sameVisibility(bound.commentVisibility, mine.commentVisibility))
    differences.push(
      `its runs post ${visibilityText(bound.commentVisibility)}, yours ${visibilityText(mine.commentVisibility)} (tracker.jira.commentVisibility)`,
    );
  if (differences.length)
    throw new runnerErrors.RefusalError(
      'TRACKER_MISMATCH',
      `the plan in ${file} was made with another tracker configuration than yours: ${differences.join('; ')}. Nothing was signed; ask the engineer to plan again with the team's opsbook.yaml (or approve with it)`,
      { ticket: statement.ticket },
    );
}

/**
 * `opsbook approve`: check that the plan still renders to the digest in the file (so the senior
 * signs what they reviewed), apply --expires/--max-runs before the first signature, then sign.
 */
export async function approveFile(
  file: string,
  signer: SshSigner,
  options: ApproveOptions,
): Promise<{ envelope: Envelope; statement: ApprovalStatement; plan: Plan; planDigest: string }> {
  const approval = await readApprovalFile(file);
  refuseSelfApproval(file, approval.envelope, signer.publicKey.fingerprint, 'nothing was signed');
  refuseOtherTracker(file, approval.statement, options.tracker);
  const derived = await rederivePlan(approval.statement, options.config, options.inventoryFile);
  const signed = approval.statement.plan?.digest;
  if (signed && signed !== derived.planDigest) {
    const differences = planDifferences(approval.statement, derived.plan, options.proposedPlan);
    const inventory = options.inventoryFile
      ? `-i ${options.inventoryFile}`
      : `inventory (${options.config.inventory ?? 'the embedded localhost one'})`;
    throw new runnerErrors.RefusalError(
      'PLAN_MISMATCH',
      `the plan in ${file} (${signed}) is not what this checkout renders (${derived.planDigest}): ${differences.length ? differences.join('; ') : 'a host var, a connection or a script differs'}. Your ${inventory} or checkout (runbook versions) may differ from the engineer's: approve with the inventory and checkout the plan was made with, or ask the engineer to plan again`,
    );
  }
  let envelope = approval.envelope;
  let statement = approval.statement;
  if (options.expires !== undefined || options.maxRuns !== undefined) {
    if (envelope.signatures.length > 0) {
      throw new runnerErrors.RefusalError(
        'ALREADY_SIGNED',
        `${file} already carries ${envelope.signatures.length} signature(s); --expires and --max-runs would change the signed bytes: sign without them`,
      );
    }
    statement = reviseStatement(statement, {
      ...(options.expires !== undefined
        ? { expires: options.expires, notBefore: options.now ?? new Date() }
        : {}),
      ...(options.maxRuns !== undefined ? { maxRuns: options.maxRuns } : {}),
    });
    // The proposal signature leaves the window and run count out: it still holds.
    envelope = {
      ...createEnvelope(statement),
      ...(envelope.proposal ? { proposal: envelope.proposal } : {}),
    };
  }
  await refuseUncountedSignature(
    file,
    { statement, envelope },
    signer.publicKey.fingerprint,
    options,
    'nothing was signed',
  );
  if (options.onBeforeSign)
    await options.onBeforeSign({
      statement,
      plan: derived.plan,
      planDigest: derived.planDigest,
      scripts: await scriptsOf(derived),
    });
  envelope = await signEnvelope(envelope, signer);
  await writeFileAtomic(file, serializeEnvelope(envelope), APPROVAL_FILE);
  return { envelope, statement, plan: derived.plan, planDigest: derived.planDigest };
}

/** Said before a signature is made or attached, not at run time: nobody approves their own plan. */
function refuseSelfApproval(
  file: string,
  envelope: Envelope,
  fingerprint: string,
  nothing: string,
): void {
  if (envelope.proposal?.keyid === fingerprint)
    throw new runnerErrors.RefusalError(
      'SELF_APPROVAL',
      `${file} was proposed with the key ${fingerprint}: ${nothing}; self-approval is forbidden, ask another senior to approve`,
    );
}

/**
 * What run would refuse about a signature by `fingerprint`, said before it is made or attached.
 * Early feedback from this checkout's approvers.yaml, so that a senior can sign on a machine with
 * no trust pin; `run` checks again against the pinned store, and that check is the one that counts.
 */
async function refuseUncountedSignature(
  file: string,
  approval: { statement: ApprovalStatement; envelope: Envelope },
  fingerprint: string,
  options: { config: Config; now?: Date | undefined },
  nothing: string,
): Promise<void> {
  const trustBytes = await readTrustStoreBytes(options.config);
  if (!trustBytes) return;
  const store = parseTrustStore(trustBytes, options.config.trustStore);
  const cannot = checkSigning(
    store,
    approval.statement,
    fingerprint,
    options.now ?? new Date(),
    approval.envelope.signatures.length,
  );
  if (cannot)
    throw new RefusalError(cannot.code, `${file}: ${nothing}: ${cannot.message}`, { file });
}

/**
 * `opsbook approval attach-signature`: add an `ssh-keygen -Y sign` signature to the file, once it
 * is known to count. A signature that does not verify over the file's payload in the approval
 * namespace is refused before the file is touched (it would otherwise replace a good signature
 * of the same key), and so is one `run` would never count: a key revoked, unknown or not a
 * senior's in this checkout's approvers.yaml (as `approve` asks; `run` checks the pinned store).
 */
export async function attachSignatureFile(
  file: string,
  signatureFile: string,
  options: { config?: Config; now?: Date; tracker?: TrackerBinding | undefined } = {},
): Promise<Envelope> {
  const approval = await readApprovalFile(file);
  // As approve: a signature made with ssh-keygen counts the same, so it is attached only to a
  // binding this configuration agrees with.
  refuseOtherTracker(file, approval.statement, options.tracker);
  let armored: string;
  try {
    armored = await readFile(signatureFile, 'utf8');
  } catch (e) {
    throw ValidationError.single(
      signatureFile,
      `cannot read the signature (${(e as NodeJS.ErrnoException).code}): give the .sig file written by ssh-keygen -Y sign`,
      'missing-file',
    );
  }
  const fingerprint = checkAttachable(approval.envelope, armored, signatureFile);
  refuseSelfApproval(file, approval.envelope, fingerprint, 'nothing was attached');
  if (options.config)
    await refuseUncountedSignature(
      file,
      approval,
      fingerprint,
      { config: options.config, ...(options.now ? { now: options.now } : {}) },
      'nothing was attached',
    );
  const envelope = attachSignature(approval.envelope, armored, signatureFile);
  await writeFileAtomic(file, serializeEnvelope(envelope), APPROVAL_FILE);
  return envelope;
}

/** The bytes of an approval file as opsbook writes them. */
export function serializeApproval(envelope: Envelope): string {
  return serializeEnvelope(envelope);
}

/** `opsbook approval payload`: the exact statement bytes every signature covers. */
export async function readApprovalPayload(file: string): Promise<Buffer> {
  const approval = await readApprovalFile(file);
  return Buffer.from(approval.envelope.payload, 'base64');
}
