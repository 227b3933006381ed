// `opsbook plan`: a run rendered from this checkout and bound in an unsigned approval, and the
// same run rendered again from an approval (what `approve` and `run` compare with what was signed).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type ApprovalStatement,
  type ComposedRunbook,
  createEnvelope,
  createStatement,
  DEFAULT_EXPIRY,
  type Envelope,
  identifyExecutor,
  parseTrustStore,
  resolvePolicy,
  type SshSigner,
  signProposal,
  type TrackerBinding,
  type TrustStore,
} from '@opsbook/approval';
import type { Inventory } from '@opsbook/inventory';
import {
  type BundleDigest,
  type Config,
  didYouMean,
  digestRunbook,
  RefusalError,
  type RunbookBundle,
  UsageError,
  ValidationError,
} from '@opsbook/schema';
import { backupsForPlan } from '../actions/backup-action.js';
import { runnerErrors } from '../error-codes.js';
import { compositionsOf, loadOneRunbook } from '../plan/catalog.js';
import type { Composition } from '../plan/compose.js';
import { parseParamArgs, resolveApprovedParams, resolveParams } from '../plan/params.js';
import { type Plan, type PlanInput, planDigest, planScripts, renderPlan } from '../plan/plan.js';
import { hostsByName, loadRunInventory, selectTargets } from '../plan/targets.js';
import { readTrustStoreBytes } from './trust.js';

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
        texts.set(f.sha256, await readDigestedText(bundle.dir, f));
  return texts;
}

/**
 * A digested file's text, read again: refused when its bytes are no longer those digested, so a
 * script swapped after the digest is never what a reviewer reads while another is signed.
 */
async function readDigestedText(dir: string, f: { path: string; sha256: string }) {
  const file = path.join(dir, ...f.path.split('/'));
  const bytes = await readFile(file);
  if (createHash('sha256').update(bytes).digest('hex') === f.sha256) return bytes.toString('utf8');
  throw new ValidationError([
    {
      file,
      line: 0,
      col: 0,
      rule: 'changed-while-read',
      message: `${f.path} changed while opsbook read the runbook folder (its bytes are not those the plan binds), so it is not shown for signing: keep the runbook folder unchanged while opsbook reads it, then try again`,
    },
  ]);
}
