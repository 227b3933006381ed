import type { ApprovalErrorCode } from './error-codes.js';

/**
 * The stable refusal codes of approval verification (README: Errors). Tools match on these; each is
 * in approvalErrorCodes as `refused`, since the runner throws it as a RefusalError.
 */
export const approvalCodes = [
  'APPROVAL_MISSING',
  'ENVELOPE_INVALID',
  'STATEMENT_INVALID',
  'PAYLOAD_NOT_CANONICAL',
  'SIGNATURE_INVALID',
  'SIGNER_UNTRUSTED',
  'SIGNER_NOT_SENIOR',
  'KEY_REVOKED',
  'RUNBOOK_MISMATCH',
  'DIGEST_MISMATCH',
  'COMPOSED_MISMATCH',
  'PARAMS_MISMATCH',
  'TARGETS_OUTSIDE_SCOPE',
  'SELECTOR_NOT_ALLOWED',
  'PLAN_MISMATCH',
  'CATEGORY_MISMATCH',
  'GRADE_MISMATCH',
  'EXECUTOR_MISMATCH',
  'EXECUTOR_UNPROVEN',
  'EXECUTOR_UNTRUSTED',
  'PROPOSER_UNPROVEN',
  'EXPIRED',
  'NOT_YET_VALID',
  'VALIDITY_TOO_LONG',
  'RUNS_EXHAUSTED',
  'SELF_APPROVAL',
  'TICKET_MISMATCH',
  'THRESHOLD_NOT_MET',
] as const satisfies readonly ApprovalErrorCode<'refused'>[];
export type ApprovalCode = (typeof approvalCodes)[number];

/** Why an approval was refused: a stable code and a sentence that says what to do next. */
export interface Refusal {
  ok: false;
  code: ApprovalCode;
  message: string;
}

export function refuse(code: ApprovalCode, message: string): Refusal {
  return { ok: false, code, message };
}

/** A digest short enough to read in a message and long enough to tell two apart. */
export function shortDigest(digest: string): string {
  const m = /^(sha256:)?([0-9a-f]+)$/.exec(digest);
  return m ? `${m[1] ?? ''}${(m[2] ?? '').slice(0, 12)}…` : digest;
}
