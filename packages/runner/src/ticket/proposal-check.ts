import type { ApprovalStatement } from '@opsbook/approval';
import { UsageError } from '@opsbook/schema';
import type { Tracker } from '@opsbook/tracker';
import { runnerErrors } from '../error-codes.js';
import type { TicketProposal } from './ticket-record.js';

/** What opsbook's proposal comment names: the plan the senior reads and reviews. */
export interface ProposalCommentFacts {
  approvalId: string;
  planDigest: string;
}

/** The heading `ticket propose` gives its comment (planComment). */
const PROPOSAL_HEADING = 'Proposed plan: ';
const DIGEST = /plan digest\s*(sha256:[0-9a-f]{64})/;
const APPROVAL_ID = /approval id\s*([\w-]+)/;

/**
 * The plan named by the newest proposal comment on the ticket, when one can be read: the
 * comment is what the senior reviewed, and unlike the issue property, a user who may only edit
 * the issue cannot rewrite it.
 */
export async function readProposalComment(
  tracker: Pick<Tracker, 'comments'>,
  key: string,
): Promise<ProposalCommentFacts | undefined> {
  const comments = await tracker.comments(key);
  for (const c of [...comments].reverse()) {
    if (!c.text.includes(PROPOSAL_HEADING)) continue;
    const digest = DIGEST.exec(c.text)?.[1];
    const id = APPROVAL_ID.exec(c.text)?.[1];
    if (digest && id) return { approvalId: id, planDigest: digest };
  }
  return undefined;
}

/**
 * Refuse to sign an envelope that is not the plan proposed: its statement must carry the
 * proposal record's approval id and plan digest, and the record must name the plan of the
 * proposal comment the senior reviewed. Anyone who may edit the issue can write its properties.
 */
export function refuseSwappedProposal(
  key: string,
  proposal: Pick<TicketProposal, 'approvalId' | 'planDigest' | 'proposer'>,
  statement: Pick<ApprovalStatement, 'id' | 'plan' | 'proposer'>,
  comment: ProposalCommentFacts | undefined,
): void {
  const envelopeDigest = statement.plan?.digest ?? 'none';
  const fail = (what: string) =>
    new runnerErrors.RefusalError(
      'PROPOSAL_TAMPERED',
      `${key}: ${what}; nothing was signed. Someone changed the ticket's opsbook.proposal property after it was proposed: check the issue's history, and ask the engineer to propose again (opsbook ticket propose ${key} …)`,
      { ticket: key },
    );
  if (statement.id !== proposal.approvalId || envelopeDigest !== proposal.planDigest)
    throw fail(
      `the envelope to sign is approval ${statement.id} with plan ${envelopeDigest}, but the proposal is approval ${proposal.approvalId} with plan ${proposal.planDigest}`,
    );
  if (statement.proposer !== undefined && statement.proposer !== proposal.proposer)
    throw fail(
      `the envelope to sign was proposed by ${statement.proposer}, but the proposal is ${proposal.proposer}'s`,
    );
  // `ticket propose` posts the comment before it moves the ticket to awaiting approval, and every
  // comment is read: none on a ticket awaiting approval was deleted, or the status was set by hand.
  if (!comment)
    throw fail(
      `the ticket holds no proposal comment ("Proposed plan: …" naming plan ${proposal.planDigest}), which opsbook ticket propose posts before it asks for approval, so there is nothing a senior reviewed to check the envelope against`,
    );
  if (comment.approvalId !== proposal.approvalId || comment.planDigest !== proposal.planDigest)
    throw fail(
      `the proposal comment names approval ${comment.approvalId} with plan ${comment.planDigest}, but the proposal property holds approval ${proposal.approvalId} with plan ${proposal.planDigest}`,
    );
}

/** Shortest pin of a plan digest accepted (hex digits): enough not to match another plan by chance. */
const MIN_PIN = 12;

/** `--plan-digest`: `sha256:` and at least 12 hex digits, or the hex digits alone; lower-cased. */
export function parsePlanDigestPin(pin: string): string {
  const hex = pin
    .trim()
    .toLowerCase()
    .replace(/^sha256:/, '');
  if (!new RegExp(`^[0-9a-f]{${MIN_PIN},64}$`).test(hex))
    throw new UsageError(
      `--plan-digest ${pin}: give the plan digest of the proposal comment you reviewed, sha256: and at least ${MIN_PIN} of its hex digits`,
    );
  return `sha256:${hex}`;
}

/** Refuse to sign a plan other than the one the senior pinned (`--plan-digest`). */
export function refuseUnpinnedPlan(key: string, pin: string, planDigest: string): void {
  if (planDigest.startsWith(parsePlanDigestPin(pin))) return;
  throw new runnerErrors.RefusalError(
    'PLAN_NOT_REVIEWED',
    `${key}: the plan to sign is ${planDigest}, not the ${pin} you pinned with --plan-digest; nothing was signed. Read the proposal comment again (opsbook ticket show ${key} --comments); if it names another plan, the ticket was changed after the proposal: ask the engineer to propose again`,
    { ticket: key },
  );
}

/** The senior said no when asked to sign the plan shown (`ticket approve` on a terminal). */
export function signingDeclined(key: string): Error {
  return new runnerErrors.RefusalError(
    'APPROVAL_DECLINED',
    `you did not say yes: nothing was signed and ${key} is unchanged. Approve again when the plan is the one you reviewed (opsbook ticket show ${key} --comments), or send it back: opsbook ticket reject ${key} --reason …`,
    { ticket: key },
  );
}
