import { formatProblem } from '@opsbook/schema';
import { checkBindings, checkWindow, type ExpectedRun } from './approval-bindings.js';
import { APPROVAL_PAYLOAD_TYPE, type EnvelopeSignature, readEnvelope } from './envelope.js';
import { checkProposal, type ProvenPerson } from './proposal.js';
import { type Refusal, refuse } from './refusal.js';
import type { ExecutorIdentity } from './run-claim.js';
import { APPROVAL_NAMESPACE, type SshsigCheck, verifySshsig } from './sshsig.js';
import { type ApprovalStatement, NOT_CANONICAL, parseStatement } from './statement.js';
import {
  type Approver,
  isSenior,
  type ResolvedPolicy,
  resolvePolicy,
  type TrustStore,
} from './trust-store.js';

export type { ExecutorIdentity, ExpectedRun };

export interface VerifyContext {
  /** The trust store accepted by loadTrustedStore (never a file read on the side). */
  store: TrustStore;
  now: Date;
  expected: ExpectedRun;
  /**
   * Who is about to run, as proven by their key (identifyExecutor). Absent for a plain check
   * (`opsbook verify`), where only the approval itself is judged.
   */
  executor?: ExecutorIdentity;
  /** Runs already recorded against this approval id in the run ledger. */
  runsUsed: number;
  /** Name of the approval file, for messages. */
  file?: string;
  /** Tolerated clock difference for notBefore, in ms (default 0). */
  clockSkewMs?: number;
}

export interface VerifiedSigner {
  approverId: string;
  name: string;
  fingerprint: string;
  keyType: string;
  /** Security-key flags (user presence/verification), for the journal. */
  flags?: number;
}

export interface Verified {
  ok: true;
  statement: ApprovalStatement;
  signers: VerifiedSigner[];
  policy: ResolvedPolicy;
  /** Who proposed it, proven by their proposal signature. */
  proposer: ProvenPerson;
}

export type VerifyResult = Verified | Refusal;

/**
 * The one gate between a signed approval and a run. Pure: everything it needs is passed in.
 * Signatures are checked before anything in the payload is believed; then the statement must
 * match the exact run the runner re-derived, fit the trust store's policy, and carry enough
 * distinct senior signatures. Returns the verified statement, or a refusal with a stable code.
 */
export function verifyApproval(
  input: Uint8Array | string | undefined,
  context: VerifyContext,
): VerifyResult {
  const file = context.file ?? 'approval';
  if (input === undefined || input.length === 0) {
    return refuse(
      'APPROVAL_MISSING',
      `no approval for this run: create one with opsbook plan, then ask a senior to sign it with opsbook approve`,
    );
  }
  const { parsed, problems } = readEnvelope(input, { file, payloadType: APPROVAL_PAYLOAD_TYPE });
  if (!parsed) {
    return refuse(
      'ENVELOPE_INVALID',
      `${problems.map(formatProblem).join('; ')} (the approval file is malformed: use the file written by opsbook plan/approve, unedited)`,
    );
  }
  const checked = checkSignatures(parsed.envelope.signatures, parsed.payload, context.store);
  if (!checked.ok) return checked;
  const { statement, problems: statementProblems } = parseStatement(
    parsed.payload,
    `${file} payload`,
  );
  if (!statement) {
    if (statementProblems[0]?.rule === NOT_CANONICAL)
      return refuse('PAYLOAD_NOT_CANONICAL', statementProblems[0].message);
    return refuse(
      'STATEMENT_INVALID',
      `the signed statement is not a valid approval (${statementProblems.map(formatProblem).join('; ')}): create it again with opsbook plan`,
    );
  }
  const policy = resolvePolicy(context.store, statement.category, statement.grade);
  const early =
    checkBindings(statement, context.expected, policy) ??
    checkExecutor(statement, context.executor) ??
    checkWindow(statement, policy, context.now, context.clockSkewMs ?? 0) ??
    checkRuns(statement, context.runsUsed);
  if (early) return early;
  const proposal = checkProposal(parsed.envelope, statement, context.store);
  if (!proposal.ok) return proposal;
  const refusal =
    checkSelfApproval(checked.signers, proposal.proposer, statement, context.executor) ??
    checkThreshold(checked.signers, policy, statement, context.store);
  if (refusal) return refusal;
  return {
    ok: true,
    statement,
    signers: distinctSigners(checked.signers),
    policy,
    proposer: proposal.proposer,
  };
}

interface SignerOf extends VerifiedSigner {
  approver: Approver;
}

/** Every signature must be valid, by a known, unrevoked senior key; one bad signature refuses all. */
function checkSignatures(
  signatures: readonly EnvelopeSignature[],
  payload: Buffer,
  store: TrustStore,
): { ok: true; signers: SignerOf[] } | Refusal {
  const signers: SignerOf[] = [];
  for (const [i, entry] of signatures.entries()) {
    const which = `signature ${i + 1} (${entry.keyid})`;
    const check = verifySshsig(entry.sshsig, payload, APPROVAL_NAMESPACE);
    if (!check.ok) return refuse('SIGNATURE_INVALID', signatureMessage(which, check));
    const fingerprint = check.sig.publicKey.fingerprint;
    if (fingerprint !== entry.keyid) {
      return refuse(
        'SIGNATURE_INVALID',
        `${which} was made by key ${fingerprint}, not the keyid it claims: attach the signature again with opsbook approval attach-signature`,
      );
    }
    const reason = store.revoked.get(fingerprint);
    if (reason !== undefined) {
      return refuse(
        'KEY_REVOKED',
        `${which} is by a revoked key (${reason}): ask a senior to approve again with a current key`,
      );
    }
    const trusted = store.keys.get(fingerprint);
    if (!trusted) {
      return refuse(
        'SIGNER_UNTRUSTED',
        `${which} is by a key that is not in the trust store (${store.file} version ${store.version}): ask a listed senior to approve, or add the key with a signed trust store change`,
      );
    }
    if (!isSenior(trusted.approver)) {
      return refuse(
        'SIGNER_NOT_SENIOR',
        `${which} is by ${trusted.approver.name} (${trusted.approver.id}), who is not a senior: ask a senior to approve`,
      );
    }
    const { approver } = trusted;
    signers.push({
      approver,
      approverId: approver.id,
      name: approver.name,
      fingerprint,
      keyType: check.sig.publicKey.type,
      ...(check.flags === undefined ? {} : { flags: check.flags }),
    });
  }
  return { ok: true, signers };
}

function signatureMessage(which: string, check: Extract<SshsigCheck, { ok: false }>): string {
  switch (check.failure) {
    case 'armor':
      return `${which} is damaged (${check.detail}): attach the .sig file again, unchanged`;
    case 'namespace':
      return `${which} was ${check.detail}: sign again with ssh-keygen -Y sign -n ${APPROVAL_NAMESPACE} (or opsbook approve)`;
    case 'user-presence-missing':
      return `${which} was made without touching the security key: sign again and touch the key when it blinks`;
    case 'sha1-refused':
      return `${which} uses ssh-rsa (SHA-1), which is refused: sign again with a current ssh-keygen (rsa-sha2-512) or an ed25519 key`;
    case 'bad-signature':
      return `${which} does not match this approval's payload: it was changed after signing, or the signature is for another file; ask a senior to re-approve`;
    default:
      return `${which} is invalid (${check.detail}): ask a senior to sign again with opsbook approve`;
  }
}

function matches(approver: Approver, who: string | undefined, jira?: string): boolean {
  if (!who && !jira) return false;
  return (
    approver.id === who ||
    (approver.jira !== undefined && (approver.jira === who || approver.jira === jira))
  );
}

function checkExecutor(
  s: ApprovalStatement,
  executor: ExecutorIdentity | undefined,
): Refusal | undefined {
  if (
    s.executor === undefined ||
    executor === undefined ||
    s.executor === executor.id ||
    (executor.jira !== undefined && s.executor === executor.jira)
  )
    return undefined;
  return refuse(
    'EXECUTOR_MISMATCH',
    `this approval names ${s.executor} as the executor, not ${executor.id}: let ${s.executor} run it, or ask a senior to re-approve for you`,
  );
}

function checkRuns(s: ApprovalStatement, runsUsed: number): Refusal | undefined {
  if (runsUsed < s.maxRuns) return undefined;
  return refuse(
    'RUNS_EXHAUSTED',
    `this approval allowed ${s.maxRuns} run(s) and ${runsUsed} have been made: ask a senior for a new approval`,
  );
}

/**
 * Nobody approves their own work: not the executor, not the proposer, not the named executor.
 * The proposer and the executor are people proven by their keys; each is compared with every
 * signer by key and by person (a second key of the same person is the same person).
 */
function checkSelfApproval(
  signers: SignerOf[],
  proposer: ProvenPerson,
  s: ApprovalStatement,
  executor: ExecutorIdentity | undefined,
): Refusal | undefined {
  const is = (signer: SignerOf, who: ProvenPerson | undefined) =>
    who !== undefined &&
    (signer.fingerprint === who.fingerprint || matches(signer.approver, who.id, who.jira));
  for (const signer of signers) {
    const role = is(signer, executor)
      ? 'is running it'
      : is(signer, proposer)
        ? 'proposed it'
        : matches(signer.approver, s.executor)
          ? 'is named as its executor'
          : undefined;
    if (role) {
      // Running what one signed is fixed by another runner; the signature itself is fine.
      const advice =
        role === 'is running it'
          ? 'a senior does not run what they signed: have the engineer run it with their own key (--key or --agent), or ask another senior to approve it if you must run it yourself'
          : 'self-approval is forbidden; ask another senior to approve';
      return refuse(
        'SELF_APPROVAL',
        `${signer.name} (${signer.approverId}) signed this approval and ${role}: ${advice}`,
      );
    }
  }
  return undefined;
}

function distinctSigners(signers: SignerOf[]): VerifiedSigner[] {
  const byApprover = new Map<string, VerifiedSigner>();
  for (const { approver: _a, ...s } of signers)
    if (!byApprover.has(s.approverId)) byApprover.set(s.approverId, s);
  return [...byApprover.values()];
}

/** Count people, not signatures: a key signing twice, or two keys of one person, count once. */
function checkThreshold(
  signers: SignerOf[],
  policy: ResolvedPolicy,
  s: ApprovalStatement,
  store: TrustStore,
): Refusal | undefined {
  const people = distinctSigners(signers);
  if (people.length >= policy.signatures) return undefined;
  const have = people.map((p) => p.approverId).join(', ') || 'nobody';
  const more = policy.signatures - people.length;
  return refuse(
    'THRESHOLD_NOT_MET',
    `${s.category} ${s.grade} needs ${policy.signatures} distinct senior signature(s) (trust store version ${store.version}); signed by ${have}: ask ${more} more senior(s) to run opsbook approve on this file`,
  );
}

/**
 * What `opsbook run` would refuse about a signature before it is made: the signing key revoked,
 * not in the trust store, or not a senior's; the statement's window longer than the policy allows
 * for its category and grade, or already over. `approve` asks this first, so that a senior never
 * signs (exit 0) with a key that can never count, or a window no run will accept. `signatures` is
 * how many the approval already carries: the window can be changed only before the first, so a
 * window too long is the signer's to shorten (`--expires`) until then, and needs a new plan after.
 */
export function checkSigning(
  store: TrustStore,
  statement: ApprovalStatement,
  fingerprint: string,
  now: Date,
  signatures = 0,
): Refusal | undefined {
  const reason = store.revoked.get(fingerprint);
  if (reason !== undefined)
    return refuse(
      'KEY_REVOKED',
      `the key ${fingerprint} is revoked (${reason}): sign with a current key`,
    );
  const trusted = store.keys.get(fingerprint);
  if (!trusted)
    return refuse(
      'SIGNER_UNTRUSTED',
      `the key ${fingerprint} is not in the trust store (${store.file} version ${store.version}), so its signature would never count: sign with your listed key, or add it with a signed trust store change`,
    );
  if (!isSenior(trusted.approver))
    return refuse(
      'SIGNER_NOT_SENIOR',
      `${trusted.approver.name} (${trusted.approver.id}) is not a senior, so the signature would never count: ask a senior to approve`,
    );
  const policy = resolvePolicy(store, statement.category, statement.grade);
  const max = policy.maxValidity;
  return checkWindow(
    statement,
    policy,
    now,
    0,
    signatures === 0
      ? `sign with --expires ${max} or less`
      : `its window is signed already (${signatures} signature(s)) and cannot change: ask the engineer for a new plan with --expires ${max} or less`,
  );
}
