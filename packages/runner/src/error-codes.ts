import { type ErrorCodeOf, type ErrorKind, errorCodeList, errorsFor } from '@opsbook/schema';

/**
 * The stable codes the runner throws itself (tools match on them). verifyApproval's refusals
 * pass through as RefusalErrors under @opsbook/approval's codes and are listed there; a code of
 * approval verification the runner also decides on its own (a key, a person, a ticket) is here.
 */
export const runnerErrorCodes = errorCodeList({
  failed: {
    ACTION_UNAVAILABLE: 'a step `uses:` an action this opsbook does not have',
    SCRIPT_CHANGED: 'a script changed between verification and its step: nothing ran from it',
    SCRIPT_STAGING: "no temporary folder could be made on the host for the step's script",
  },
  invalid: {
    ENVELOPE_INVALID: 'an approval file given to read (show, sign) is not a well-formed envelope',
    STATEMENT_INVALID: "an approval file's payload given to read is not a valid statement",
    PAYLOAD_NOT_CANONICAL: "an approval file's payload given to read is not in canonical form",
    NOTHING_TO_RETRY: '`run --retry-failed`: every host of the run named ended ok',
  },
  refused: {
    ENVELOPE_INVALID: 'the approval file given to verify or run is not a well-formed envelope',
    STATEMENT_INVALID:
      "the approval file's payload given to verify or run is not a valid statement",
    PAYLOAD_NOT_CANONICAL:
      "the approval file's payload given to verify or run is not in canonical form",
    PLAN_MISMATCH: 'this checkout no longer renders the plan that was signed',
    ALREADY_SIGNED: '`--expires` or `--max-runs` on an approval that already carries signatures',
    TARGETS_OUTSIDE_SCOPE:
      'approved hosts missing from the inventory, or hosts outside a standing approval',
    SHARD_REFUSED:
      "a worker's shard job does not match its approval, run or journal: the worker touched no host",
    RUNBOOK_MISMATCH: 'the standing approval is for another runbook',
    RUNS_EXHAUSTED: 'the ledger or the ticket already records the approved number of runs',
    VALIDITY_TOO_LONG:
      '`plan`/`ticket propose`: an `--expires` window longer than the policy allows for the runbook',
    RETRY_REFUSED:
      '`run --retry-failed`: the run named is of another approval, has not ended, or its journal does not verify',
    PROPOSER_UNPROVEN: 'the person planning cannot be identified by their key in the trust store',
    PERSON_UNPROVEN:
      'the person opening or escalating a ticket cannot be identified by their key in the trust store',
    EXECUTOR_UNPROVEN: 'no key to sign the run claim or proposal, or acceptance of an unproven run',
    SIGNER_UNTRUSTED: 'the approving key is not in the trust store',
    SIGNER_NOT_SENIOR: "the approving key is not a senior's",
    KEY_REVOKED: 'the approving key is revoked',
    SELF_APPROVAL: 'the senior approving proposed the plan',
    REVIEWER_NOT_SENIOR: '`ticket approve --reviewer`: the reviewer named is not a senior',
    SEPARATION_OF_DUTIES: 'the person accepting proposed, approved or ran the work',
    RUN_REPORTED_LATE:
      "`ticket accept`: the run's end was not reported by its runner (`ticket report` wrote it later from the runner machine's journal); check the hosts, then --accept-late-report",
    SELECTOR_NOT_ROUTINE: 'a standing approval planned for a runbook that is not routine',
    NOT_STANDING: 'an approval of an explicit host list where a standing selector is needed',
    STANDING_APPROVAL_MISSING: 'no standing approval for the routine runbook',
    SCHEDULE_UNKNOWN: "a scheduled slot's schedule is no longer in opsbook.yaml: nothing ran",
    SCHEDULE_BUSY:
      'a scheduled slot came up while a live scheduler still ran an earlier slot of its schedule: nothing ran',
    SCHEDULE_SLOT_LATE:
      "a scheduled slot came up later than its grace (or its schedule's backfill) allows: nothing ran",
    SCHEDULE_SLOT_RAN:
      'a scheduled slot whose run the ticket records already (its row deleted, the slot queued again): nothing ran',
    TICKET_MISMATCH: 'the approval is for another ticket',
    EXPIRED: "the validity window has ended by the tracker's clock (Jira's answers' Date)",
    NOT_YET_VALID:
      "the validity window has not begun by the tracker's clock (Jira's answers' Date)",
    TRACKER_CLOCK_UNKNOWN:
      "Jira answered without a Date header, so the approval's window cannot be checked against its clock: nothing was run",
    APPROVAL_NOT_CURRENT:
      'the ticket carries another approval (a later plan approved on it), or a senior rejected this one: nothing was run',
    TRACKER_MISMATCH:
      'the approval ties its runs to another tracker than the one this configuration names: nothing was run',
    TRACKER_UNBOUND:
      'the approval names no tracker (made by an older opsbook, before approvals named their tracker): nothing was run; plan it again',
    TICKET_NOT_APPROVED: 'the ticket is not in the approved (or in progress) status',
    RUN_NOT_ON_TICKET:
      "a worker's shard of a run that its ticket does not record (queued without the submitter's claim on the ticket): the worker touched no host",
    TICKET_WRONG_STATUS: 'the ticket is not in the status this step needs',
    TRACKER_TICKET_NOT_FOUND: 'the ticket the approval is for does not exist: nothing was run',
    PROPOSAL_MISSING: 'the ticket carries no opsbook proposal',
    PROPOSAL_TAMPERED:
      '`ticket approve`: the envelope to sign is not the plan proposed (the proposal record or its comment names another): nothing was signed',
    PLAN_NOT_REVIEWED:
      '`ticket approve --plan-digest`: the plan to sign is not the one the senior pinned: nothing was signed',
    APPROVAL_DECLINED:
      '`ticket approve`: the senior answered no when asked to sign: nothing was signed',
    APPROVAL_MISSING: 'the ticket carries no signed approval',
    APPROVAL_INCOMPLETE:
      "`ticket approval`: the ticket's approval lacks signatures its policy needs",
    APPROVAL_INVALID: "`ticket accept`: the ticket's approval is malformed, unsigned or unverified",
    RUN_MISSING:
      '`ticket accept`: the ticket records no run; `ticket report`: no such unreported run',
    RUN_NOT_OK: '`ticket accept`: the run did not succeed',
    POSTCHECKS_FAILED: "`ticket accept`: the run's postchecks did not all pass",
    JOURNAL_INVALID: "`ticket accept`: the run's journal does not verify",
    JOURNAL_MISMATCH: '`ticket accept`: the journal is not the one the ticket recorded',
  },
});

export type RunnerErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof runnerErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const runnerErrors = errorsFor(runnerErrorCodes);
