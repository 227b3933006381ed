import { type ErrorCodeEntry, type ErrorCodeOf, type ErrorKind, errorsFor } from '@opsbook/schema';

/**
 * The stable codes the runner throws itself (tools match on them). verifyApproval's refusals
 * pass through as RefusalErrors under @opsbook/approval's codes and are listed there; a code of
 * approval verification the runner also decides on its own (a key, a person, a ticket) is here.
 */
export const runnerErrorCodes = [
  {
    code: 'ACTION_UNAVAILABLE',
    kind: 'failed',
    meaning: 'a step `uses:` an action this opsbook does not have',
  },
  {
    code: 'SCRIPT_CHANGED',
    kind: 'failed',
    meaning: 'a script changed between verification and its step: nothing ran from it',
  },
  {
    code: 'SCRIPT_STAGING',
    kind: 'failed',
    meaning: "no temporary folder could be made on the host for the step's script",
  },
  {
    code: 'ENVELOPE_INVALID',
    kind: 'invalid',
    meaning: 'an approval file given to read (show, sign) is not a well-formed envelope',
  },
  {
    code: 'STATEMENT_INVALID',
    kind: 'invalid',
    meaning: "an approval file's payload given to read is not a valid statement",
  },
  {
    code: 'PAYLOAD_NOT_CANONICAL',
    kind: 'invalid',
    meaning: "an approval file's payload given to read is not in canonical form",
  },
  {
    code: 'ENVELOPE_INVALID',
    kind: 'refused',
    meaning: 'the approval file given to verify or run is not a well-formed envelope',
  },
  {
    code: 'STATEMENT_INVALID',
    kind: 'refused',
    meaning: "the approval file's payload given to verify or run is not a valid statement",
  },
  {
    code: 'PAYLOAD_NOT_CANONICAL',
    kind: 'refused',
    meaning: "the approval file's payload given to verify or run is not in canonical form",
  },
  {
    code: 'PLAN_MISMATCH',
    kind: 'refused',
    meaning: 'this checkout no longer renders the plan that was signed',
  },
  {
    code: 'ALREADY_SIGNED',
    kind: 'refused',
    meaning: '`--expires` or `--max-runs` on an approval that already carries signatures',
  },
  {
    code: 'TARGETS_OUTSIDE_SCOPE',
    kind: 'refused',
    meaning: 'approved hosts missing from the inventory, or hosts outside a standing approval',
  },
  {
    code: 'SHARD_REFUSED',
    kind: 'refused',
    meaning:
      "a worker's shard job does not match its approval, run or journal: the worker touched no host",
  },
  {
    code: 'RUNBOOK_MISMATCH',
    kind: 'refused',
    meaning: 'the standing approval is for another runbook',
  },
  {
    code: 'RUNS_EXHAUSTED',
    kind: 'refused',
    meaning: 'the ledger or the ticket already records the approved number of runs',
  },
  {
    code: 'PROPOSER_UNPROVEN',
    kind: 'refused',
    meaning: 'the person planning cannot be identified by their key in the trust store',
  },
  {
    code: 'EXECUTOR_UNPROVEN',
    kind: 'refused',
    meaning: 'no key to sign the run claim or proposal, or acceptance of an unproven run',
  },
  {
    code: 'SIGNER_UNTRUSTED',
    kind: 'refused',
    meaning: 'the approving key is not in the trust store',
  },
  { code: 'SIGNER_NOT_SENIOR', kind: 'refused', meaning: "the approving key is not a senior's" },
  { code: 'KEY_REVOKED', kind: 'refused', meaning: 'the approving key is revoked' },
  {
    code: 'SELF_APPROVAL',
    kind: 'refused',
    meaning: 'the senior approving proposed the plan',
  },
  {
    code: 'SEPARATION_OF_DUTIES',
    kind: 'refused',
    meaning: 'the person accepting proposed, approved or ran the work',
  },
  {
    code: 'SELECTOR_NOT_ROUTINE',
    kind: 'refused',
    meaning: 'a standing approval planned for a runbook that is not routine',
  },
  {
    code: 'NOT_STANDING',
    kind: 'refused',
    meaning: 'an approval of an explicit host list where a standing selector is needed',
  },
  {
    code: 'STANDING_APPROVAL_MISSING',
    kind: 'refused',
    meaning: 'no standing approval for the routine runbook',
  },
  {
    code: 'SCHEDULE_UNKNOWN',
    kind: 'refused',
    meaning: "a scheduled slot's schedule is no longer in opsbook.yaml: nothing ran",
  },
  { code: 'TICKET_MISMATCH', kind: 'refused', meaning: 'the approval is for another ticket' },
  {
    code: 'TICKET_NOT_APPROVED',
    kind: 'refused',
    meaning: 'the ticket is not in the approved (or in progress) status',
  },
  {
    code: 'TICKET_WRONG_STATUS',
    kind: 'refused',
    meaning: 'the ticket is not in the status this step needs',
  },
  {
    code: 'TRACKER_TICKET_NOT_FOUND',
    kind: 'refused',
    meaning: 'the ticket the approval is for does not exist: nothing was run',
  },
  { code: 'PROPOSAL_MISSING', kind: 'refused', meaning: 'the ticket carries no opsbook proposal' },
  { code: 'APPROVAL_MISSING', kind: 'refused', meaning: 'the ticket carries no signed approval' },
  {
    code: 'APPROVAL_INVALID',
    kind: 'refused',
    meaning: "`ticket accept`: the ticket's approval is malformed, unsigned or unverified",
  },
  { code: 'RUN_MISSING', kind: 'refused', meaning: '`ticket accept`: the ticket records no run' },
  { code: 'RUN_NOT_OK', kind: 'refused', meaning: '`ticket accept`: the run did not succeed' },
  {
    code: 'POSTCHECKS_FAILED',
    kind: 'refused',
    meaning: "`ticket accept`: the run's postchecks did not all pass",
  },
  {
    code: 'JOURNAL_INVALID',
    kind: 'refused',
    meaning: "`ticket accept`: the run's journal does not verify",
  },
  {
    code: 'JOURNAL_MISMATCH',
    kind: 'refused',
    meaning: '`ticket accept`: the journal is not the one the ticket recorded',
  },
] as const satisfies readonly ErrorCodeEntry[];

export type RunnerErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof runnerErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const runnerErrors = errorsFor(runnerErrorCodes);
