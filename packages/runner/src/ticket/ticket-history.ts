import type { Tracker } from '@opsbook/tracker';
import type { StepProof, TicketPerson } from './ticket-people.js';
import type { QueuedWrite } from './ticket-writes.js';

/**
 * The issue property keeping every proposal and decision on a ticket, oldest first: a new
 * proposal replaces `opsbook.proposal`, but not the record of the one a senior sent back.
 */
export const HISTORY_PROPERTY = 'opsbook.history';

export type TicketStepKind =
  | 'opened'
  | 'proposed'
  | 'signed'
  | 'approved'
  | 'rejected'
  | 'need-data'
  | 'commented'
  | 'escalated';

/** One step as recorded in `opsbook.history`. */
export interface TicketStep {
  step: TicketStepKind;
  at: string;
  by: TicketPerson;
  /** The plan the step is about (proposed, signed, approved, rejected, need-data). */
  approvalId?: string;
  planDigest?: string;
  runbook?: string;
  /** The tracker account it went to: the senior asked to review, the lead escalated to. */
  to?: string;
  /** The person's words (rejected, need-data, escalated), cut to 500 characters: the comment has them all. */
  reason?: string;
  /** Links the senior gave with the decision (also on the ticket as links). */
  links?: string[];
  /** The run that collected the symptoms (opened, commented). */
  evidenceRun?: string;
  /** The files added with the step (commented). */
  attachments?: string[];
  /** The person's signature over this record (steps no other signature proves). */
  proof?: StepProof;
}

const MAX_REASON = 500;
// Jira keeps at most 32 KB in one issue property: past that, the oldest steps give way.
const MAX_BYTES = 30_000;

/** The person's words as the record keeps them. */
export function reasonOf(text: string): string {
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

export async function readHistory(
  tracker: Pick<Tracker, 'getProperty'>,
  key: string,
): Promise<TicketStep[]> {
  const value = await tracker.getProperty(key, HISTORY_PROPERTY);
  return Array.isArray(value) ? (value as TicketStep[]) : [];
}

/** The history with `step` appended, within what one issue property holds. */
export function withStep(history: readonly TicketStep[], step: TicketStep): TicketStep[] {
  const next = [...history, step];
  while (next.length > 1 && Buffer.byteLength(JSON.stringify(next)) > MAX_BYTES) next.shift();
  return next;
}

/** The write that records `step` after what the ticket holds (steps are serialised by its status). */
export async function historyWrite(
  tracker: Pick<Tracker, 'getProperty'>,
  key: string | undefined,
  step: TicketStep,
): Promise<QueuedWrite> {
  const history = key === undefined ? [] : await readHistory(tracker, key);
  return {
    write: { kind: 'setProperty', property: HISTORY_PROPERTY, value: withStep(history, step) },
  };
}
