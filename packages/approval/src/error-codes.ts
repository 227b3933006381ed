import { type ErrorCodeEntry, type ErrorCodeOf, type ErrorKind, errorsFor } from '@opsbook/schema';

/**
 * The stable codes of approvals, acceptances, the trust store and signing (DESIGN §4; tools match
 * on them). verifyApproval's refusals (`approvalCodes`) come first: the runner throws each as a
 * RefusalError. A code thrown as two kinds (a malformed file given to read is invalid, given to
 * run is refused) has a line for each.
 */
export const approvalErrorCodes = [
  { code: 'APPROVAL_MISSING', kind: 'refused', meaning: 'no approval given, or one not signed' },
  {
    code: 'ENVELOPE_INVALID',
    kind: 'refused',
    meaning: 'not a well-formed envelope (size, JSON, duplicate/unknown keys, payloadType, base64)',
  },
  {
    code: 'STATEMENT_INVALID',
    kind: 'refused',
    meaning: 'the signed payload is not a valid statement',
  },
  {
    code: 'PAYLOAD_NOT_CANONICAL',
    kind: 'refused',
    meaning: "the payload's bytes are not the canonical form of its statement",
  },
  {
    code: 'SIGNATURE_INVALID',
    kind: 'refused',
    meaning: 'a signature is damaged, for another namespace or other bytes, SHA-1, keyid mismatch',
  },
  { code: 'SIGNER_UNTRUSTED', kind: 'refused', meaning: 'the key is not in the trust store' },
  { code: 'SIGNER_NOT_SENIOR', kind: 'refused', meaning: "the key is not a senior's" },
  { code: 'KEY_REVOKED', kind: 'refused', meaning: 'the key is revoked' },
  { code: 'RUNBOOK_MISMATCH', kind: 'refused', meaning: 'the approval is for another runbook' },
  {
    code: 'DIGEST_MISMATCH',
    kind: 'refused',
    meaning: "the runbook's version or bytes differ from those approved",
  },
  { code: 'PARAMS_MISMATCH', kind: 'refused', meaning: 'other params than those approved' },
  {
    code: 'TARGETS_OUTSIDE_SCOPE',
    kind: 'refused',
    meaning: 'hosts outside the approval',
  },
  {
    code: 'SELECTOR_NOT_ALLOWED',
    kind: 'refused',
    meaning: 'a selector outside routine standing approvals',
  },
  {
    code: 'PLAN_MISMATCH',
    kind: 'refused',
    meaning: 'other rendered commands than those approved',
  },
  {
    code: 'CATEGORY_MISMATCH',
    kind: 'refused',
    meaning: 'the approval was given for another category',
  },
  { code: 'GRADE_MISMATCH', kind: 'refused', meaning: 'the approval was given for another grade' },
  {
    code: 'EXECUTOR_MISMATCH',
    kind: 'refused',
    meaning: 'someone else was named to run it',
  },
  {
    code: 'EXECUTOR_UNPROVEN',
    kind: 'refused',
    meaning: 'no valid run claim by the executor (unsigned, damaged, another key)',
  },
  {
    code: 'EXECUTOR_UNTRUSTED',
    kind: 'refused',
    meaning: "the executor's key is not in the trust store",
  },
  {
    code: 'PROPOSER_UNPROVEN',
    kind: 'refused',
    meaning: 'no valid proposal signature by the proposer the statement names',
  },
  { code: 'EXPIRED', kind: 'refused', meaning: 'the validity window has ended' },
  { code: 'NOT_YET_VALID', kind: 'refused', meaning: 'the validity window has not begun' },
  {
    code: 'VALIDITY_TOO_LONG',
    kind: 'refused',
    meaning: 'the validity window is longer than the category allows',
  },
  { code: 'RUNS_EXHAUSTED', kind: 'refused', meaning: 'the approved number of runs is used up' },
  {
    code: 'SELF_APPROVAL',
    kind: 'refused',
    meaning: 'a signer approves their own work, or runs it (same key or same person)',
  },
  { code: 'TICKET_MISMATCH', kind: 'refused', meaning: 'the approval is for another ticket' },
  {
    code: 'THRESHOLD_NOT_MET',
    kind: 'refused',
    meaning: 'too few distinct seniors (a key twice, or two keys of one person, count once)',
  },
  {
    code: 'SEPARATION_OF_DUTIES',
    kind: 'refused',
    meaning: 'one person would be two of proposer, approver and verifier of an acceptance',
  },
  {
    code: 'SIGNER_MISMATCH',
    kind: 'refused',
    meaning: 'an acceptance signed by someone else than the verifier it names',
  },
  {
    code: 'TRUST_NOT_INITIALISED',
    kind: 'refused',
    meaning: 'no trust store is pinned on this machine: root pins it (opsbook trust init)',
  },
  {
    code: 'TRUST_ALREADY_INITIALISED',
    kind: 'refused',
    meaning: 'a trust store is already pinned: a new version needs rotation signatures',
  },
  { code: 'TRUST_STORE_MISSING', kind: 'refused', meaning: 'approvers.yaml is missing' },
  {
    code: 'TRUST_STORE_UNSIGNED',
    kind: 'refused',
    meaning: 'approvers.yaml differs from the pinned version without rotation signatures',
  },
  {
    code: 'TRUST_STORE_ROLLBACK',
    kind: 'refused',
    meaning: 'approvers.yaml is older than the pinned version',
  },
  {
    code: 'TRUST_SIGNATURE_INVALID',
    kind: 'refused',
    meaning: 'a rotation signature file is malformed',
  },
  {
    code: 'TRUST_SIGNATURE_MISMATCH',
    kind: 'refused',
    meaning: 'the rotation signatures sign other bytes than the current approvers.yaml',
  },
  {
    code: 'TRUST_THRESHOLD_NOT_MET',
    kind: 'refused',
    meaning: 'too few seniors of the pinned version signed the new one',
  },
  { code: 'TRUST_PIN_INVALID', kind: 'refused', meaning: 'the pinned trust store is damaged' },
  {
    code: 'TRUST_PIN_UNPROTECTED',
    kind: 'refused',
    meaning: 'a non-root user could change the pin (`pinWeakness`) or moved it (OPSBOOK_TRUST_DIR)',
  },
  { code: 'TRUST_PIN_READONLY', kind: 'refused', meaning: 'pinning needs root' },
  { code: 'AGENT_KEY_NOT_FOUND', kind: 'refused', meaning: 'ssh-agent holds no such key' },
  {
    code: 'AGENT_SIGN_REFUSED',
    kind: 'refused',
    meaning: 'ssh-agent refused to sign (not confirmed, security key not touched)',
  },
  {
    code: 'AGENT_FAILED',
    kind: 'refused',
    meaning: 'ssh-agent answered badly, or is locked',
  },
  {
    code: 'ENVELOPE_INVALID',
    kind: 'invalid',
    meaning: 'an approval file given to read or sign is not a well-formed envelope',
  },
  {
    code: 'STATEMENT_INVALID',
    kind: 'invalid',
    meaning: 'a statement to sign is not valid against its schema',
  },
  {
    code: 'SIGNATURE_INVALID',
    kind: 'invalid',
    meaning: 'a signature file to attach is not an SSHSIG (`ssh-keygen -Y sign`)',
  },
  {
    code: 'TRUST_STORE_INVALID',
    kind: 'invalid',
    meaning: 'approvers.yaml does not match its schema (file:line:col)',
  },
  {
    code: 'KEY_PASSPHRASE_REQUIRED',
    kind: 'invalid',
    meaning: 'the `--key` is encrypted and no passphrase was given',
  },
  {
    code: 'KEY_PASSPHRASE_WRONG',
    kind: 'invalid',
    meaning: 'the passphrase does not open the `--key`',
  },
  {
    code: 'KEY_UNREADABLE',
    kind: 'invalid',
    meaning: 'the `--key` is not a private key opsbook can read (a .pub file, another format)',
  },
  {
    code: 'KEY_UNSUPPORTED',
    kind: 'invalid',
    meaning: 'the `--key` is of a type opsbook cannot use',
  },
  {
    code: 'AGENT_UNAVAILABLE',
    kind: 'invalid',
    meaning: '`--agent` with no SSH_AUTH_SOCK or no agent behind it',
  },
  {
    code: 'SIGNING_FAILED',
    kind: 'failed',
    meaning: 'a fresh signature does not verify (a broken key or agent)',
  },
] as const satisfies readonly ErrorCodeEntry[];

export type ApprovalErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof approvalErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const approvalErrors = errorsFor(approvalErrorCodes);
