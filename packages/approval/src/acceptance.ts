import {
  formatProblem,
  type Problem,
  parseJsonSource,
  type RefusalError,
  schemaProblems,
  type Validator,
} from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { acceptanceStatementSchema } from './acceptance-schema.js';
import { type Envelope, envelopeOf, readEnvelope } from './envelope.js';
import { type ApprovalErrorCode, approvalErrors } from './error-codes.js';
import { validateAcceptanceStatement as generatedValidate } from './generated/validators.js';
import { verifySshsig } from './sshsig.js';
import { formatInstant, newApprovalId } from './statement.js';
import { type Approver, isSenior, type TrustStore } from './trust-store.js';

const validateAcceptanceStatement = generatedValidate as unknown as Validator<AcceptanceStatement>;

export { acceptanceStatementSchema };
export type AcceptanceStatement = FromSchema<typeof acceptanceStatementSchema>;

export const ACCEPTANCE_PAYLOAD_TYPE = 'application/vnd.opsbook.acceptance+json';
/** Its own SSHSIG namespace: an acceptance signature can never pass as an approval, or back. */
export const ACCEPTANCE_NAMESPACE = 'opsbook-acceptance';

export interface AcceptanceInput {
  ticket: string;
  approvalId: string;
  run: {
    id: string;
    journalHead: string;
    journalEvents: number;
    /** Set only when the verifier accepted a run whose end its runner did not report. */
    endReportedBy?: 'ticket report' | 'unknown';
  };
  postchecksPassed: number;
  proposer: string;
  approvers: string[];
  verifier: string;
  now?: Date;
}

/**
 * Build an unsigned acceptance. Proposer, approvers and verifier must be different people (four
 * eyes on the plan, a third pair on the result): the same id in two roles is refused here, before
 * anything is signed.
 */
export function createAcceptance(input: AcceptanceInput): AcceptanceStatement {
  const clash =
    input.approvers.find((a) => a === input.proposer) ??
    (input.approvers.includes(input.verifier) || input.verifier === input.proposer
      ? input.verifier
      : undefined);
  if (clash !== undefined) {
    throw new approvalErrors.RefusalError(
      'SEPARATION_OF_DUTIES',
      `${clash} would be more than one of proposer (${input.proposer}), approver (${input.approvers.join(', ')}) and verifier (${input.verifier}) of ${input.ticket}: ask another senior to verify and accept`,
      { ticket: input.ticket },
    );
  }
  const statement = {
    apiVersion: 'opsbook/v1' as const,
    kind: 'Acceptance' as const,
    id: newApprovalId(),
    ticket: input.ticket,
    approvalId: input.approvalId,
    run: { ...input.run, status: 'ok' as const },
    postchecks: { passed: input.postchecksPassed, failed: 0 as const },
    proposer: input.proposer,
    approvers: [...input.approvers],
    verifier: input.verifier,
    acceptedAt: formatInstant(input.now ?? new Date()),
  };
  const problems = checkAcceptance('acceptance', JSON.stringify(statement));
  if (problems.length) throw new approvalErrors.ValidationError(problems, 'STATEMENT_INVALID');
  return statement;
}

function checkAcceptance(file: string, text: string | Uint8Array): Problem[] {
  const source = parseJsonSource(file, text);
  if (source.problems.length) return source.problems;
  return validateAcceptanceStatement(source.value)
    ? []
    : schemaProblems(source, validateAcceptanceStatement.errors);
}

/** An unsigned envelope around the acceptance's exact bytes (same format as approvals). */
export function createAcceptanceEnvelope(statement: AcceptanceStatement): Envelope {
  return envelopeOf(
    ACCEPTANCE_PAYLOAD_TYPE,
    Buffer.from(`${JSON.stringify(statement, null, 2)}\n`, 'utf8'),
  );
}

export interface VerifiedAcceptance {
  statement: AcceptanceStatement;
  signers: Array<{ approverId: string; name: string; fingerprint: string }>;
}

/**
 * Check a signed acceptance against the trust store: every signature valid in the acceptance
 * namespace, by a known, unrevoked senior key, and the signer is the statement's verifier.
 * Throws RefusalError (exit 3) with the reason.
 */
export function verifyAcceptance(
  input: Uint8Array | string,
  store: TrustStore,
  file = 'acceptance',
): VerifiedAcceptance {
  const refuse = (code: ApprovalErrorCode<'refused'>, message: string) =>
    new approvalErrors.RefusalError(code, message, { file });
  const { parsed, problems } = readEnvelope(input, { file, payloadType: ACCEPTANCE_PAYLOAD_TYPE });
  if (!parsed)
    throw refuse('ENVELOPE_INVALID', `${problems.map(formatProblem).join('; ')}: sign again`);
  const statementProblems = checkAcceptance(`${file} payload`, parsed.payload);
  if (statementProblems.length)
    throw refuse(
      'STATEMENT_INVALID',
      `the signed acceptance is not valid (${statementProblems.map(formatProblem).join('; ')}): sign again with opsbook ticket accept`,
    );
  const statement = JSON.parse(parsed.payload.toString('utf8')) as AcceptanceStatement;
  if (parsed.envelope.signatures.length === 0)
    throw refuse('APPROVAL_MISSING', `${file} is not signed: sign it with opsbook ticket accept`);
  const signers: VerifiedAcceptance['signers'] = [];
  for (const entry of parsed.envelope.signatures) {
    const check = verifySshsig(entry.sshsig, parsed.payload, ACCEPTANCE_NAMESPACE);
    if (!check.ok || check.sig.publicKey.fingerprint !== entry.keyid)
      throw refuse(
        'SIGNATURE_INVALID',
        `the signature by ${entry.keyid} does not verify over this acceptance: sign again`,
      );
    const approver = signerOf(store, entry.keyid, refuse);
    if (approver.id !== statement.verifier && approver.jira !== statement.verifier)
      throw refuse(
        'SIGNER_MISMATCH',
        `the acceptance names ${statement.verifier} as verifier but was signed by ${approver.id}: the verifier signs their own acceptance`,
      );
    signers.push({ approverId: approver.id, name: approver.name, fingerprint: entry.keyid });
  }
  return { statement, signers };
}

function signerOf(
  store: TrustStore,
  fingerprint: string,
  refuse: (code: ApprovalErrorCode<'refused'>, message: string) => RefusalError,
): Approver {
  const reason = store.revoked.get(fingerprint);
  if (reason !== undefined)
    throw refuse(
      'KEY_REVOKED',
      `key ${fingerprint} is revoked (${reason}): sign with a current key`,
    );
  const trusted = store.keys.get(fingerprint);
  if (!trusted)
    throw refuse(
      'SIGNER_UNTRUSTED',
      `key ${fingerprint} is not in the trust store (${store.file} version ${store.version}): a listed senior must accept`,
    );
  if (!isSenior(trusted.approver))
    throw refuse(
      'SIGNER_NOT_SENIOR',
      `${trusted.approver.name} (${trusted.approver.id}) is not a senior: a senior must accept`,
    );
  return trusted.approver;
}

/** The approver a key belongs to, for naming the verifier before signing. */
export function approverOfKey(store: TrustStore, fingerprint: string): Approver | undefined {
  return store.keys.get(fingerprint)?.approver;
}
