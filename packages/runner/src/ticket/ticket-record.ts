import type { Ticket, Tracker } from '@opsbook/tracker';
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
