// `opsbook approve` and `opsbook approval attach-signature`: a signature made or attached only
// when `run` would count it, on a plan this checkout still renders to the signed digest.
import { readFile } from 'node:fs/promises';
import {
  type ApprovalStatement,
  attachSignature,
  checkAttachable,
  checkSigning,
  createEnvelope,
  type Envelope,
  parseTrustStore,
  reviseStatement,
  type SshSigner,
  serializeEnvelope,
  signEnvelope,
  type TrackerBinding,
} from '@opsbook/approval';
import { type Config, RefusalError, ValidationError, writeFileAtomic } from '@opsbook/schema';
import { sameVisibility, visibilityText } from '@opsbook/tracker';
import { runnerErrors } from '../error-codes.js';
import type { Plan } from '../plan/plan.js';
import { trackerText } from '../ticket/ticket-tracker.js';
import { APPROVAL_FILE, readApprovalFile } from './approval-file.js';
import { rederivePlan, type SigningView, scriptsOf } from './plan-approval.js';
import { planDifferences } from './plan-difference.js';
import { readTrustStoreBytes } from './trust.js';

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
