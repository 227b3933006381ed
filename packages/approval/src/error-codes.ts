import { type ErrorCodeOf, type ErrorKind, errorCodeList, errorsFor } from '@opsbook/schema';

/**
 * The stable codes of approvals, acceptances, the trust store and signing (tools match on them;
 * the README's Errors table is generated from this list). verifyApproval's refusals
 * (`approvalCodes`) come first: the runner throws each as a RefusalError. A code thrown as two
 * kinds (a malformed file given to read is invalid, given to run is refused) stands in both groups.
 */
export const approvalErrorCodes = errorCodeList({
  refused: {
    APPROVAL_MISSING: 'no approval given, or one not signed',
    ENVELOPE_INVALID:
      'an approval given to verify or run is not a well-formed envelope (size, JSON, duplicate/unknown keys, payloadType, base64)',
    STATEMENT_INVALID:
      'the signed payload of an approval given to verify or run is not a valid statement',
    PAYLOAD_NOT_CANONICAL: "the payload's bytes are not the canonical form of its statement",
    SIGNATURE_INVALID:
      'a signature is damaged, for another namespace or other bytes, SHA-1, keyid mismatch',
    SIGNER_UNTRUSTED: 'the key is not in the trust store',
    SIGNER_NOT_SENIOR: "the key is not a senior's",
    KEY_REVOKED: 'the key is revoked',
    RUNBOOK_MISMATCH: 'the approval is for another runbook',
    DIGEST_MISMATCH: "the runbook's version or bytes differ from those approved",
    COMPOSED_MISMATCH:
      'a composed runbook resolves to another version or bytes than approved, or is not covered',
    PARAMS_MISMATCH: 'other params than those approved',
    TARGETS_OUTSIDE_SCOPE: 'hosts outside the approval',
    SELECTOR_NOT_ALLOWED: 'a selector outside routine standing approvals',
    PLAN_MISMATCH: 'other rendered commands than those approved',
    CATEGORY_MISMATCH: 'the approval was given for another category',
    GRADE_MISMATCH: 'the approval was given for another grade',
    EXECUTOR_MISMATCH: 'someone else was named to run it',
    EXECUTOR_UNPROVEN: 'no valid run claim by the executor (unsigned, damaged, another key)',
    EXECUTOR_UNTRUSTED: "the executor's key is not in the trust store",
    PROPOSER_UNPROVEN: 'no valid proposal signature by the proposer the statement names',
    EXPIRED: 'the validity window has ended',
    NOT_YET_VALID: 'the validity window has not begun',
    VALIDITY_TOO_LONG: 'the validity window is longer than the category allows',
    RUNS_EXHAUSTED: 'the approved number of runs is used up',
    SELF_APPROVAL: 'a signer approves their own work, or runs it (same key or same person)',
    TICKET_MISMATCH: 'the approval is for another ticket',
    THRESHOLD_NOT_MET:
      'too few distinct seniors (a key twice, or two keys of one person, count once)',
    SEPARATION_OF_DUTIES:
      'one person would be two of proposer, approver and verifier of an acceptance',
    SIGNER_MISMATCH: 'an acceptance signed by someone else than the verifier it names',
    TRUST_NOT_INITIALISED:
      'no trust store is pinned on this machine: root pins it (opsbook trust init)',
    TRUST_ALREADY_INITIALISED:
      'a trust store is already pinned: a new version needs rotation signatures',
    TRUST_STORE_MISSING: 'approvers.yaml is missing',
    TRUST_STORE_UNSIGNED:
      'approvers.yaml differs from the pinned version without rotation signatures',
    TRUST_STORE_ROLLBACK: 'approvers.yaml is older than the pinned version',
    TRUST_SIGNATURE_INVALID: 'a rotation signature file is malformed',
    TRUST_SIGNATURE_MISMATCH:
      'the rotation signatures sign other bytes than the current approvers.yaml',
    TRUST_THRESHOLD_NOT_MET: 'too few seniors of the pinned version signed the new one',
    TRUST_PIN_INVALID: 'the pinned trust store is damaged',
    TRUST_PIN_UNPROTECTED:
      'a non-root user could change the pin (`pinWeakness`) or moved it (OPSBOOK_TRUST_DIR)',
    TRUST_PIN_READONLY: 'pinning needs root',
    AGENT_KEY_NOT_FOUND: 'ssh-agent holds no such key',
    AGENT_SIGN_REFUSED: 'ssh-agent refused to sign (not confirmed, security key not touched)',
    AGENT_FAILED: 'ssh-agent answered badly, or is locked',
  },
  invalid: {
    ENVELOPE_INVALID: 'an approval file given to read or sign is not a well-formed envelope',
    STATEMENT_INVALID: 'a statement to sign is not valid against its schema',
    SIGNATURE_INVALID:
      "a signature file to attach is not an SSHSIG (`ssh-keygen -Y sign`), or not one over the approval's payload in namespace opsbook-approval",
    TRUST_STORE_INVALID: 'approvers.yaml does not match its schema (file:line:col)',
    KEY_PASSPHRASE_REQUIRED: 'the `--key` is encrypted and no passphrase was given',
    KEY_PASSPHRASE_WRONG: 'the passphrase does not open the `--key`',
    KEY_UNREADABLE:
      'the `--key` is not a private key opsbook can read (a .pub file, another format)',
    KEY_UNSUPPORTED: 'the `--key` is of a type opsbook cannot use',
    PUBLIC_KEY_INVALID:
      'a `--key-file` of trust add-approver is not an OpenSSH public key line (a private key, another file)',
    AGENT_UNAVAILABLE: '`--agent` with no SSH_AUTH_SOCK or no agent behind it',
  },
  failed: {
    SIGNING_FAILED: 'a fresh signature does not verify (a broken key or agent)',
  },
});

export type ApprovalErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof approvalErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const approvalErrors = errorsFor(approvalErrorCodes);
