import type { StatusNames, Ticket, Tracker } from '@opsbook/tracker';
import { runnerErrors } from '../error-codes.js';

/** Issue properties opsbook keeps on a ticket: the machine-readable half of every step. */
export const PROPOSAL_PROPERTY = 'opsbook.proposal';
export const APPROVAL_PROPERTY = 'opsbook.approval';
export const ACCEPTANCE_PROPERTY = 'opsbook.acceptance';

/** What `ticket propose` left on the ticket for the senior. */
export interface TicketProposal {
  approvalId: string;
  runbook: string;
  /** The unsigned approval envelope (JSON text): the plan the senior signs. */
  envelope: string;
  planDigest: string;
  proposer: string;
  /** Who held the ticket before it went to the senior: it goes back to them. */
  returnTo: string | null;
  senior: string;
  proposedAt: string;
}

/** What `ticket approve` left: the signed envelope `ticket run` fetches. */
export interface TicketApproval {
  approvalId: string;
  /** The digest of the plan signed (absent from approvals of an opsbook before it was recorded). */
  planDigest?: string;
  envelope: string;
  signers: string[];
  complete: boolean;
  /** The senior who reviews the run's result (`ticket approve --reviewer`); else the approver. */
  reviewer?: string;
  /**
   * Set by `ticket reject` (when, ISO time): the approval no longer counts, whatever its
   * signatures, window and run limit say. `true` from a hand-written property counts too.
   */
  rejected?: string | boolean;
}

/**
 * Why the approval record a ticket carries keeps approval `id` from running on it, or undefined
 * when it does not: a ticket that carries an approval runs that one and no other, and none that
 * a senior rejected. `what` says which (no verb of its own), `next` what to do instead; `run`
 * refuses with them (APPROVAL_NOT_CURRENT), `approve` warns with them after signing.
 */
export function approvalNotCurrent(
  key: string,
  id: string,
  approval: TicketApproval | undefined,
): { what: string; next: string } | undefined {
  if (!approval || typeof approval.approvalId !== 'string') return undefined;
  if (approval.approvalId !== id)
    return {
      what: `${key} carries approval ${approval.approvalId}, not this one (${id})`,
      // propose takes an Open ticket only, and this is said while the ticket is Approved or In
      // Progress: the ticket's approval is rejected first (which sends it back to Open).
      next: `a plan approved on the ticket replaces any approved before it. Run the ticket's approval (opsbook ticket run ${key}), or propose this plan on ${key} again once a senior rejected the ticket's approval (opsbook ticket reject ${key} --reason …, then opsbook ticket propose ${key} …)`,
    };
  if (approval.rejected)
    return {
      what: `a senior rejected approval ${id} on ${key}${typeof approval.rejected === 'string' ? ` (${approval.rejected})` : ''}`,
      next: `propose a new plan (opsbook ticket propose ${key})`,
    };
  return undefined;
}

export async function readProposal(tracker: Tracker, key: string): Promise<TicketProposal> {
  const value = (await tracker.getProperty(key, PROPOSAL_PROPERTY)) as TicketProposal | undefined;
  if (!value || typeof value.envelope !== 'string')
    throw new runnerErrors.RefusalError(
      'PROPOSAL_MISSING',
      `${key} carries no opsbook proposal: the engineer proposes a plan first (opsbook ticket propose ${key} --runbook …)`,
      { ticket: key },
    );
  return value;
}

export async function readTicketApproval(tracker: Tracker, key: string): Promise<TicketApproval> {
  const value = (await tracker.getProperty(key, APPROVAL_PROPERTY)) as TicketApproval | undefined;
  if (!value || typeof value.envelope !== 'string')
    throw new runnerErrors.RefusalError(
      'APPROVAL_MISSING',
      `${key} carries no signed approval: a senior approves the proposed plan first (opsbook ticket approve ${key} --key …)`,
      { ticket: key },
    );
  return value;
}

/** On a Done ticket: what `accept` says there too. No step of the flow moves a Done ticket back. */
export function doneHint(key: string): string {
  return `its work is done and closed (opsbook ticket show ${key} shows its history); further work needs a new ticket (opsbook ticket open --summary …)`;
}

/**
 * What to do instead of `step` (propose, approve, reject) on a ticket at `status`, which that
 * step refused: every command named there takes the ticket at that status. Undefined for a
 * status the step's own words cover.
 */
export function ticketStepHint(
  step: 'propose' | 'approve' | 'reject',
  key: string,
  status: string,
  names: StatusNames,
): string | undefined {
  const is = (name: string) => name.trim().toLowerCase() === status.trim().toLowerCase();
  const reject = `opsbook ticket reject ${key} --reason …`;
  if (is(names.done)) return doneHint(key);
  if (is(names.open))
    return step === 'reject'
      ? `nothing on it waits for a senior: the engineer proposes a plan on it (opsbook ticket propose ${key} --runbook … --senior …)`
      : undefined;
  if (is(names.awaitingApproval))
    return step === 'propose'
      ? `a plan is already proposed on it: a senior approves it (opsbook ticket approve ${key}), or rejects it (${reject}), which sends ${key} back to "${names.open}" for a new proposal`
      : undefined;
  if (is(names.approved))
    return step === 'approve'
      ? `its plan is approved already: the engineer runs it (opsbook ticket run ${key}). For another plan, a senior rejects this one (${reject}) and the engineer proposes again on the "${names.open}" ticket`
      : `its plan is approved: the engineer runs it (opsbook ticket run ${key}); for another plan, a senior rejects this one first (${reject}), which sends ${key} back to "${names.open}"`;
  if (is(names.inProgress))
    return `its approved plan is being run (opsbook ticket show ${key}); once the run is handed over ("${names.review}"), a senior accepts it (opsbook ticket accept ${key}) or rejects it (${reject}), which sends ${key} back to "${names.open}" for a new plan`;
  if (is(names.review))
    return `its run is handed over for review: a senior accepts it (opsbook ticket accept ${key}), or rejects it (${reject}), which sends ${key} back to "${names.open}" for a new plan`;
  return undefined;
}

/** Refuse unless the ticket is in one of the given statuses (exit 3, the workflow's order). */
export async function requireStatus(
  tracker: Tracker,
  key: string,
  allowed: readonly string[],
  /** What to do instead; a function of the status when that depends on where the ticket is. */
  next: string | ((status: string) => string),
): Promise<Ticket> {
  const ticket = await tracker.get(key);
  const same = (s: string) => s.trim().toLowerCase() === ticket.status.trim().toLowerCase();
  if (!allowed.some(same))
    throw new runnerErrors.RefusalError(
      'TICKET_WRONG_STATUS',
      `${key} is "${ticket.status}"; this step needs "${allowed.join('" or "')}": ${typeof next === 'string' ? next : next(ticket.status)}${unknownStatusHint(tracker, ticket.status, same)}`,
      { ticket: key },
    );
  return ticket;
}

/**
 * A status that is none of the names opsbook knows the workflow by (a project whose new tickets
 * are "To Do", a Jira answering in another language): the fix is the config, not the ticket.
 */
function unknownStatusHint(
  tracker: Tracker,
  status: string,
  same: (name: string) => boolean,
): string {
  if (tracker.kind !== 'jira' || Object.values(tracker.statuses).some(same)) return '';
  const names = Object.entries(tracker.statuses)
    .map(([role, name]) => `${role} "${name}"`)
    .join(', ');
  return `. "${status}" is none of the statuses opsbook knows this workflow by (${names}): if your workflow names a step "${status}", set it in opsbook.yaml under tracker.jira.statuses (docs/working-with-jira.md)`;
}
