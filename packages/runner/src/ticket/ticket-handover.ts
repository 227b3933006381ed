import { hostname } from 'node:os';
import { type ApprovalStatement, isSenior, type TrustStore } from '@opsbook/approval';
import { didYouMean, UsageError } from '@opsbook/schema';
import type { Block, Doc, Inline, Tracker } from '@opsbook/tracker';
import type { VerifiedPlan } from '../approval/approval-flow.js';
import { accountOf, mentionOf, personOf, personText, type TicketPerson } from './ticket-people.js';

/** What a run's start tells its ticket: passed by runApproved once the run is claimed. */
export interface RunStart {
  verified: VerifiedPlan;
  /** The hosts this run goes to (a retry's are fewer than the approval's). */
  hosts: string[];
  retryOf?: string | undefined;
}

/** Who signed the approval, as the pinned trust store lists them. */
export function approversOf(start: RunStart): TicketPerson[] {
  const { trust, verified } = start.verified;
  return verified.signers.map((s) => {
    const approver = trust.data.approvers.find((a) => a.id === s.approverId);
    return personOf(approver ?? { id: s.approverId, name: s.name }, s.fingerprint);
  });
}

/**
 * The senior the ticket goes to at In Review: the one the approving senior named
 * (`ticket approve --reviewer ID`), else the first approver.
 */
export function reviewerOf(
  trust: TrustStore,
  approvers: readonly TicketPerson[],
  named: string | undefined,
): TicketPerson | undefined {
  const listed = named ? trust.data.approvers.find((a) => a.id === named) : undefined;
  return listed ? personOf(listed, '') : approvers[0];
}

const SHOWN_HOSTS = 50;

function hostList(hosts: readonly string[]): string {
  const shown = hosts.slice(0, SHOWN_HOSTS).join(', ');
  return hosts.length > SHOWN_HOSTS ? `${shown} and ${hosts.length - SHOWN_HOSTS} more` : shown;
}

/**
 * The comment a run posts on its ticket before it touches a host: who runs it (their run claim's
 * key), under which approval and who signed it, on which hosts, and where its journal is, so a
 * run that dies midway still leaves a ticket that says who was running what.
 */
export function runStartComment(
  s: ApprovalStatement,
  run: { runId: string; executor: TicketPerson; journal: string },
  start: RunStart,
): Doc {
  const signedBy = approversOf(start)
    .map((a) => `${a.name} (${a.id})`)
    .join(', ');
  const items: Inline[][] = [
    [
      { type: 'text', text: 'approval ' },
      { type: 'text', text: s.id, code: true },
      { type: 'text', text: ` of ${s.runbook.name} ${s.runbook.version}, plan ` },
      { type: 'text', text: start.verified.planDigest, code: true },
      { type: 'text', text: `, signed by ${signedBy}; at most ${s.maxRuns} run(s)` },
    ],
    [{ type: 'text', text: `${start.hosts.length} host(s): ${hostList(start.hosts)}` }],
    [
      { type: 'text', text: 'journal ' },
      { type: 'text', text: run.journal, code: true },
      { type: 'text', text: ` on ${hostname()} (opsbook journal verify, opsbook runs show)` },
    ],
  ];
  if (start.retryOf)
    items.push([
      { type: 'text', text: `a retry of run ${start.retryOf}: only its hosts that did not end ok` },
    ]);
  return {
    blocks: [
      {
        type: 'paragraph',
        content: [
          { type: 'text', text: `Run ${run.runId} started by ` },
          { type: 'text', text: personText(run.executor), bold: true },
        ],
      },
      { type: 'list', items },
    ],
  };
}

/** The hand-over paragraph at In Review: who reviews, and how they accept. */
export function handoverBlocks(
  key: string,
  reviewer: TicketPerson,
  approvers: readonly TicketPerson[],
  tracker: Pick<Tracker, 'kind'>,
): Block[] {
  const content: Inline[] = [
    { type: 'text', text: 'Ready for review: ', bold: true },
    mentionOf(reviewer, tracker),
    {
      type: 'text',
      text: ` verifies the journal and post-checks, then accepts with opsbook ticket accept ${key}.`,
    },
  ];
  if (approvers.some((a) => a.id === reviewer.id))
    content.push({
      type: 'text',
      text: ' As an approver they cannot accept it themselves: a senior who neither proposed, approved nor ran it does.',
    });
  if (!accountOf(reviewer, tracker))
    content.push({
      type: 'text',
      text: ` The trust store gives ${reviewer.id} no tracker account (jira:), so the ticket was not assigned to them.`,
    });
  return [{ type: 'paragraph', content }];
}

/**
 * The proposal comment with who proposed it (their key signed the proposal) and the senior asked
 * to review it (mentioned, so Jira notifies them) right under its heading.
 */
export function proposedBy(
  comment: Doc,
  proposer: TicketPerson,
  senior: { id: string; name: string; jira?: string },
  tracker: Pick<Tracker, 'kind'>,
): Doc {
  const [heading, ...rest] = comment.blocks;
  const line: Block = {
    type: 'paragraph',
    content: [
      { type: 'text', text: 'Proposed by ' },
      { type: 'text', text: personText(proposer), bold: true },
      {
        type: 'text',
        text: ' (the attached approval carries their proposal signature) for review by ',
      },
      mentionOf(senior, tracker),
      { type: 'text', text: '.' },
    ],
  };
  return { blocks: heading ? [heading, line, ...rest] : [line] };
}

/**
 * The ids of approvers.yaml's seniors, as the choice for `--senior`: never an engineer or expert
 * (a valid store always lists a senior: its rotation needs their signatures).
 */
export function seniorChoices(trust: TrustStore): string {
  const ids = trust.data.approvers.filter(isSenior).map((a) => a.id);
  return `the seniors in ${trust.file}: ${ids.join(', ')}`;
}

/**
 * The senior asked to review: `--senior` may name them by approvers.yaml id or by their tracker
 * account; the account is what the ticket is assigned to. Only a senior can approve, so the
 * choices offered for a wrong name are the seniors.
 */
export function seniorNamed(
  trust: TrustStore,
  senior: string,
  tracker: Pick<Tracker, 'kind'>,
): { id: string; name: string; jira: string } {
  const listed = trust.data.approvers.find((a) => a.id === senior || a.jira === senior);
  if (listed && !isSenior(listed))
    throw new UsageError(
      `--senior ${senior}: ${listed.name} (${listed.id}) is not a senior in ${trust.file}; name the senior who reviews the plan (${seniorChoices(trust)})`,
    );
  // On Jira an unlisted name may be the senior's account; the embedded tracker knows only ids.
  if (!listed && tracker.kind === 'local') {
    const near = didYouMean(
      senior,
      trust.data.approvers.filter(isSenior).map((a) => a.id),
    );
    throw new UsageError(
      `--senior ${senior} is not in ${trust.file}${near ? `: did you mean ${near}?` : '.'} Name the senior who reviews the plan by their approvers.yaml id (${seniorChoices(trust)})`,
    );
  }
  const account = (listed && accountOf(listed, tracker)) ?? senior;
  return { id: listed?.id ?? senior, name: listed?.name ?? senior, jira: account };
}
