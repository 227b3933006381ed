import {
  type ApprovalStatement,
  parseStatement,
  readEnvelope,
  type SshSigner,
} from '@opsbook/approval';
import { type Config, describeControl, UsageError } from '@opsbook/schema';
import {
  type Block,
  jqlString,
  type LocalTicket,
  LocalTracker,
  searchWords,
  type Ticket,
  type TicketComment,
} from '@opsbook/tracker';
import { type WaitingWrites, waitingWrites } from './outbox-waiting.js';
import { readTicketRuns, type TicketReport, type TicketRunRecord } from './run-ticket.js';
import { historyWrite, readHistory, reasonOf, type TicketStep } from './ticket-history.js';
import {
  accountOf,
  checkoutTrust,
  listedPerson,
  mentionOf,
  personNamed,
  personText,
  signStep,
} from './ticket-people.js';
import {
  ACCEPTANCE_PROPERTY,
  APPROVAL_PROPERTY,
  PROPOSAL_PROPERTY,
  type TicketApproval,
  type TicketProposal,
} from './ticket-record.js';
import type { TicketServices } from './ticket-tracker.js';
import { deliverWrites } from './ticket-writes.js';

export interface TicketView {
  ticket: Ticket;
  proposal?: Omit<TicketProposal, 'envelope'>;
  approval?: {
    statement?: ApprovalStatement;
    signers: string[];
    complete: boolean;
    /** When a senior rejected it (`ticket reject`): it no longer runs. */
    rejected?: string | boolean;
  };
  runs: TicketRunRecord[];
  /** Every proposal and decision, oldest first (`opsbook.history`). */
  history: TicketStep[];
  acceptance?: { id: string; verifier: string };
  /**
   * Writes to the ticket waiting in this machine's outbox (`opsbook outbox flush` sends them):
   * a run among `runEnds` has its end written there, though `runs` shows it not reported.
   */
  waiting?: WaitingWrites;
  /** The local tracker keeps everything: history, comments, attachments. */
  local?: LocalTicket;
  /** The comments as plain text, oldest first (asked for: `ticket show --comments`). */
  comments?: TicketComment[];
  /**
   * With `comments`: how many older comments the tracker did not read (Jira: the newest 5,000
   * are read), `unknown` where it could not tell.
   */
  olderCommentsLeftOut?: number | 'unknown';
  /** The ticket's description as text, when it has one (symptoms, alerts, evidence). */
  description?: string;
}

/** `opsbook ticket show`: the ticket and every opsbook step recorded on it. */
export async function showTicket(
  services: TicketServices,
  key: string,
  options: { comments?: boolean } = {},
): Promise<TicketView> {
  const { tracker } = services;
  const ticket = await tracker.get(key);
  const proposal = (await tracker.getProperty(key, PROPOSAL_PROPERTY)) as
    | TicketProposal
    | undefined;
  const approval = (await tracker.getProperty(key, APPROVAL_PROPERTY)) as
    | TicketApproval
    | undefined;
  const runs = await readTicketRuns(tracker, key);
  const acceptance = (await tracker.getProperty(key, ACCEPTANCE_PROPERTY)) as
    | { id: string; verifier: string }
    | undefined;
  const view: TicketView = { ticket, runs, history: await readHistory(tracker, key) };
  const description = await tracker.description(key);
  if (description) view.description = description;
  if (proposal) {
    const { envelope: _e, ...rest } = proposal;
    view.proposal = rest;
  }
  if (approval) {
    const parsed = readEnvelope(approval.envelope).parsed;
    const statement = parsed ? parseStatement(parsed.payload).statement : undefined;
    view.approval = {
      ...(statement ? { statement } : {}),
      signers: approval.signers,
      complete: approval.complete,
      ...(approval.rejected ? { rejected: approval.rejected } : {}),
    };
  }
  if (acceptance) view.acceptance = { id: acceptance.id, verifier: acceptance.verifier };
  const waiting = await waitingWrites(services, key);
  if (waiting) view.waiting = waiting;
  if (tracker instanceof LocalTracker) view.local = await tracker.read(key);
  if (options.comments) {
    let leftOut: number | 'unknown' | undefined;
    view.comments = await tracker.comments(key, {
      onLeftOut: (n) => {
        leftOut = n ?? 'unknown';
      },
    });
    if (leftOut !== undefined) view.olderCommentsLeftOut = leftOut;
  }
  return view;
}

/** The JQL `ticket bugs` sends: known bugs (by label) whose text mentions the words. */
export function bugsJql(project: string, text: string, label = 'bug'): string {
  // Every word (searchWords drops Lucene's operators, which make Jira answer 400).
  const words = searchWords(text, { minLength: 1, max: Number.POSITIVE_INFINITY });
  if (words === '')
    throw new UsageError(
      `say what to look for in words (letters or digits${text.trim() ? `; "${text}" has none` : ''}): opsbook ticket bugs "disk full on /var"`,
    );
  // A Jira label is one word: no space, no control character (Jira refuses such a label), so a
  // --label holding one is a typing mistake, said before anything is sent.
  const odd = /[\s\p{Cc}]/u.exec(label);
  if (odd)
    throw new UsageError(
      `--label is one Jira label, which cannot hold spaces or control characters; it holds ${odd[0] === ' ' ? 'a space' : describeControl(odd[0].codePointAt(0)!)}: give the label as Jira shows it (default bug; "" for every ticket)`,
    );
  const labelClause = label === '' ? '' : ` AND labels = ${jqlString(label)}`;
  return `project = ${jqlString(project)}${labelClause} AND text ~ ${jqlString(words)} ORDER BY created DESC`;
}

/** `opsbook ticket bugs "text"`: search the tracker for known bugs. */
export async function searchBugs(
  services: TicketServices,
  text: string,
  options: { label?: string; limit?: number } = {},
): Promise<{ jql: string; tickets: Ticket[] }> {
  const jql = bugsJql(services.project, text, options.label);
  return { jql, tickets: await services.tracker.search(jql, { limit: options.limit ?? 20 }) };
}

export interface EscalateRequest {
  key: string;
  /** The lead: an approvers.yaml id, or their tracker account (Cloud accountId, DC user name). */
  to: string;
  /** Whoever escalates, named by their own key (approvers.yaml). */
  signer: SshSigner;
  config: Config;
  note?: string;
  now?: Date;
}

/**
 * `opsbook ticket escalate KEY --to LEAD`: hand the ticket to the R&D lead with what was
 * collected: the runs on it (journal ids and heads, results), the plan proposed, and a note. The
 * lead is mentioned (Cloud ADF mention, Data Center `[~name]`), so Jira shows and notifies them.
 */
export async function escalateTicket(
  services: TicketServices,
  req: EscalateRequest,
): Promise<TicketReport> {
  const { tracker } = services;
  const trust = await checkoutTrust(req.config, 'escalating a ticket');
  const by = listedPerson(trust, req.signer, 'escalate a ticket');
  const listed = personNamed(trust, req.to, tracker, '--to');
  const account = listed ? accountOf(listed, tracker) : req.to;
  if (!account)
    throw new UsageError(
      `${req.to} has no tracker account in ${trust.file}: give their Jira account with --to, or add jira: to their entry`,
    );
  const lead = { id: listed?.id ?? req.to, name: listed?.name ?? req.to, jira: account };
  const view = await showTicket(services, req.key);
  const step: TicketStep = {
    step: 'escalated',
    at: (req.now ?? new Date()).toISOString(),
    by,
    to: account,
    ...(req.note ? { reason: reasonOf(req.note) } : {}),
  };
  const proof = await signStep(req.signer, step);
  const blocks: Block[] = [
    {
      type: 'paragraph',
      content: [
        { type: 'text', text: 'Escalated to ', bold: true },
        mentionOf(lead, tracker),
        { type: 'text', text: ' by ' },
        { type: 'text', text: personText(by), bold: true },
      ],
    },
  ];
  if (req.note) blocks.push({ type: 'paragraph', content: [{ type: 'text', text: req.note }] });
  if (view.proposal)
    blocks.push({
      type: 'paragraph',
      content: [
        {
          type: 'text',
          text: `Proposed: ${view.proposal.runbook} (plan ${view.proposal.planDigest}) by ${view.proposal.proposer}.`,
        },
      ],
    });
  blocks.push(
    view.runs.length
      ? {
          type: 'table',
          header: ['run', 'result', 'post-checks', 'journal head', 'by'],
          rows: view.runs.map((r) => [
            r.runId,
            r.status ?? 'running or unreported',
            r.postchecks ? `${r.postchecks.passed} ok, ${r.postchecks.failed} failed` : '',
            r.journalHead ?? '',
            r.by,
          ]),
        }
      : {
          type: 'paragraph',
          content: [
            {
              type: 'text',
              text: 'No opsbook run on this ticket yet; the evidence is in its attachments.',
            },
          ],
        },
  );
  return deliverWrites(services, req.key, [
    { write: { kind: 'comment', body: { blocks } } },
    await historyWrite(tracker, req.key, { ...step, proof }),
    { write: { kind: 'assign', assignee: account } },
  ]);
}
