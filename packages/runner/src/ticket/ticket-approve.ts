import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type ApprovalStatement,
  type Approver,
  isSenior,
  loadTrustedStore,
  resolvePolicy,
  type SshSigner,
  type TrustStore,
} from '@opsbook/approval';
import { type Config, makeDirectory, writeFileAtomic } from '@opsbook/schema';
import type { Block, Inline } from '@opsbook/tracker';
import {
  APPROVAL_FILE,
  type ApproveOptions,
  approveFile,
  readApprovalFile,
  serializeApproval,
} from '../approval/approval-flow.js';
import { runnerErrors } from '../error-codes.js';
import {
  readProposalComment,
  refuseSwappedProposal,
  refuseUnpinnedPlan,
} from './proposal-check.js';
import { proposedPlanOf } from './proposed-plan.js';
import { readTicketRuns, type TicketReport } from './run-ticket.js';
import { historyWrite, reasonOf, type TicketStep } from './ticket-history.js';
import { personOf, personText, signStep } from './ticket-people.js';
import {
  APPROVAL_PROPERTY,
  readProposal,
  requireStatus,
  type TicketApproval,
  type TicketProposal,
  ticketStepHint,
} from './ticket-record.js';
import { bindingOf, type TicketServices } from './ticket-tracker.js';
import { deliverWrites, type QueuedWrite } from './ticket-writes.js';

export interface ApproveTicketRequest {
  services: TicketServices;
  config: Config;
  key: string;
  signer: SshSigner;
  inventoryFile?: string;
  expires?: string;
  maxRuns?: number;
  /** The senior who reviews the run's result at In Review (an approvers.yaml id); default the approver. */
  reviewer?: string;
  now?: Date;
  /**
   * The plan digest the senior reviewed in the proposal comment (`--plan-digest`: sha256: and at
   * least 12 hex digits): any other plan is refused before it is signed.
   */
  planDigest?: string;
  /** What is about to be signed, once every check has passed (as `approveFile` gives it). */
  onBeforeSign?: ApproveOptions['onBeforeSign'];
}

/** The trust-store approver behind a key, refusing anyone who may not sign for the team. */
export function seniorOf(store: TrustStore, signer: SshSigner): Approver {
  const fp = signer.publicKey.fingerprint;
  const approver = store.keys.get(fp)?.approver;
  if (store.revoked.has(fp))
    throw new runnerErrors.RefusalError(
      'KEY_REVOKED',
      `your key ${fp} is revoked: sign with a current key`,
    );
  if (!approver)
    throw new runnerErrors.RefusalError(
      'SIGNER_UNTRUSTED',
      `your key ${fp} is not in the trust store (${store.file}): a listed senior must sign`,
    );
  if (!isSenior(approver))
    throw new runnerErrors.RefusalError(
      'SIGNER_NOT_SENIOR',
      `${approver.name} (${approver.id}) is not a senior: a senior must sign`,
    );
  return approver;
}

/** The senior named to review a run's result, who must be a listed senior. */
function reviewerNamed(store: TrustStore, id: string): string {
  const approver = store.data.approvers.find((a) => a.id === id);
  if (!approver || !isSenior(approver))
    throw new runnerErrors.RefusalError(
      'REVIEWER_NOT_SENIOR',
      `--reviewer ${id} is not a senior in the trust store (${store.file}): name a senior's approvers.yaml id`,
    );
  return approver.id;
}

function withReviewer(reviewer: string | undefined): { reviewer?: string } {
  return reviewer ? { reviewer } : {};
}

/** The plan a decision is about: what was signed, or (reject) what was proposed. */
type DecidedPlan = Pick<TicketProposal, 'approvalId' | 'planDigest' | 'runbook' | 'proposer'>;

/** The line every decision comment carries: which plan, whose proposal, and who reviews. */
function decisionLine(proposal: DecidedPlan, reviewer?: string): Block {
  return {
    type: 'paragraph',
    content: [
      { type: 'text', text: 'Plan ' },
      { type: 'text', text: proposal.planDigest, code: true },
      { type: 'text', text: ' (approval ' },
      { type: 'text', text: proposal.approvalId, code: true },
      {
        type: 'text',
        text: `, ${proposal.runbook}), proposed by ${proposal.proposer}${reviewer ? `; the run's result goes to ${reviewer} for review` : ''}.`,
      },
    ],
  };
}

export function isPerson(approver: Approver, who: string | null | undefined): boolean {
  return who != null && (approver.id === who || approver.jira === who);
}

/** Where a ticket's approval is kept on this machine while it is being signed or run. */
export async function ticketFile(config: Config, key: string, name: string): Promise<string> {
  const dir = path.join(config.stateDir, 'tickets', key);
  await makeDirectory(dir, { mode: 0o700 });
  return path.join(dir, name);
}

/** What the engineer does with a complete approval: run it, or save a standing one for the routine runs. */
function nextStep(s: ApprovalStatement): string {
  if (!('selector' in s.targets)) return `Run it with: opsbook ticket run ${s.ticket}`;
  return `A standing approval of ${s.runbook.name} for the selector "${s.targets.selector}": save it where opsbook.yaml's standing: names it with opsbook ticket approval ${s.ticket}; routine runs (opsbook inspect, opsbook inventory, schedules) then run under it and keep ${s.ticket} In Progress.`;
}

/**
 * `opsbook ticket approve`: a senior signs the plan proposed on the ticket after it is
 * re-rendered from their checkout (approveFile refuses a plan that changed), attaches the
 * approval, and — once the policy's signatures are all there — moves the ticket to Approved and
 * hands it back to the engineer. The proposer can never approve their own plan.
 */
export async function approveTicket(req: ApproveTicketRequest): Promise<{
  approval: TicketApproval;
  statement: ApprovalStatement;
  signer: Approver;
  report: TicketReport;
}> {
  const { services, key, config } = req;
  const { tracker } = services;
  await requireStatus(
    tracker,
    key,
    [tracker.statuses.awaitingApproval],
    (status) =>
      ticketStepHint('approve', key, status, tracker.statuses) ??
      `ask the engineer to propose a plan (opsbook ticket propose ${key})`,
  );
  const proposal = await readProposal(tracker, key);
  const { store } = await loadTrustedStore(config.trustPinDir, config.trustStore);
  const approver = seniorOf(store, req.signer);
  const reviewer = req.reviewer === undefined ? undefined : reviewerNamed(store, req.reviewer);
  if (isPerson(approver, proposal.proposer))
    throw new runnerErrors.RefusalError(
      'SELF_APPROVAL',
      `${approver.name} (${approver.id}) proposed the plan on ${key}: self-approval is forbidden; ask another senior to approve`,
      { ticket: key },
    );
  const earlier = (await tracker.getProperty(key, APPROVAL_PROPERTY)) as TicketApproval | undefined;
  const start =
    earlier?.approvalId === proposal.approvalId && !earlier.complete ? earlier : undefined;
  const file = await ticketFile(config, key, `${proposal.approvalId}.approval.json`);
  const envelope = start?.envelope ?? proposal.envelope;
  // What is signed is this envelope, not the record beside it: both must be the plan proposed.
  const toSign = await readApprovalFile(file, new TextEncoder().encode(envelope));
  refuseSwappedProposal(key, proposal, toSign.statement, await readProposalComment(tracker, key));
  if (req.planDigest !== undefined)
    refuseUnpinnedPlan(key, req.planDigest, toSign.statement.plan?.digest ?? 'none');
  await writeFileAtomic(file, envelope, APPROVAL_FILE);
  const signed = await approveFile(file, req.signer, {
    config,
    ...(req.inventoryFile ? { inventoryFile: req.inventoryFile } : {}),
    ...(req.expires ? { expires: req.expires } : {}),
    ...(req.maxRuns ? { maxRuns: req.maxRuns } : {}),
    ...(req.now ? { now: req.now } : {}),
    ...(req.onBeforeSign ? { onBeforeSign: req.onBeforeSign } : {}),
    proposedPlan: await proposedPlanOf(tracker, key, proposal.approvalId),
    tracker: bindingOf(tracker),
  });
  const signers = [...new Set([...(start?.signers ?? []), approver.id])];
  const needed = resolvePolicy(store, signed.statement.category, signed.statement.grade).signatures;
  const s = signed.statement;
  const decided: DecidedPlan = {
    approvalId: s.id,
    planDigest: signed.planDigest,
    runbook: s.runbook.name,
    proposer: s.proposer ?? proposal.proposer,
  };
  const approval: TicketApproval = {
    approvalId: s.id,
    planDigest: signed.planDigest,
    envelope: serializeApproval(signed.envelope),
    signers,
    complete: signers.length >= needed,
    ...withReviewer(reviewer ?? start?.reviewer),
  };
  const text = approval.complete
    ? `Approved by ${approver.name} (${req.signer.publicKey.fingerprint}): valid ${s.notBefore} to ${s.expiresAt}, at most ${s.maxRuns} run(s). ${nextStep(s)}`
    : `Signed by ${approver.name} (${req.signer.publicKey.fingerprint}): ${signers.length} of ${needed} signatures; another senior signs with opsbook ticket approve ${key}.`;
  const writes: QueuedWrite[] = [
    {
      write: {
        kind: 'attach',
        filename: `${key}.${s.id}.approval.json`,
        contentType: 'application/json',
      },
      bytes: await readFile(file),
    },
    { write: { kind: 'setProperty', property: APPROVAL_PROPERTY, value: approval } },
    {
      write: {
        kind: 'comment',
        body: {
          blocks: [
            { type: 'paragraph', content: [{ type: 'text', text }] },
            decisionLine(decided, approval.reviewer),
          ],
        },
      },
    },
    await historyWrite(tracker, key, {
      step: approval.complete ? 'approved' : 'signed',
      at: (req.now ?? new Date()).toISOString(),
      by: personOf(approver, req.signer.publicKey.fingerprint),
      approvalId: decided.approvalId,
      planDigest: decided.planDigest,
      runbook: decided.runbook,
    }),
  ];
  if (approval.complete) {
    writes.push({ write: { kind: 'transition', status: tracker.statuses.approved } });
    if (proposal.returnTo) writes.push({ write: { kind: 'assign', assignee: proposal.returnTo } });
  }
  const report = await deliverWrites(services, key, writes);
  return { approval, statement: s, signer: approver, report };
}

export interface RejectTicketRequest {
  services: TicketServices;
  config: Config;
  key: string;
  /** The senior's own key: it names them on the ticket and signs the decision's record. */
  signer: SshSigner;
  /** Why the plan is refused, or (`needData`) what evidence is missing. URLs become links. */
  text: string;
  needData?: boolean;
  now?: Date;
}

const URL_IN_TEXT = /https?:\/\/[^\s<>"')]+/g;

/** The distinct URLs a senior wrote, in order (at most 20). */
function linksIn(text: string): string[] {
  return [...new Set(text.match(URL_IN_TEXT) ?? [])].slice(0, 20);
}

function withLinks(text: string): Inline[] {
  const parts: Inline[] = [];
  const re = new RegExp(URL_IN_TEXT);
  let at = 0;
  for (let m = re.exec(text); m && parts.length < 1000; m = re.exec(text)) {
    if (m.index > at) parts.push({ type: 'text', text: text.slice(at, m.index) });
    parts.push({ type: 'link', text: m[0], href: m[0] });
    at = m.index + m[0].length;
  }
  if (at < text.length) parts.push({ type: 'text', text: text.slice(at) });
  return parts;
}

/**
 * `opsbook ticket reject --reason` / `--need-data`: back to Open with the senior's guidance,
 * assigned to the engineer. The old plan's approval stops counting: a new proposal is a new plan.
 * The decision is its own comment naming the plan, the senior (by their key) and why, is kept in
 * `opsbook.history` signed by the senior, and the links they gave are added to the ticket.
 */
export async function rejectTicket(req: RejectTicketRequest): Promise<TicketReport> {
  const { services, key, config } = req;
  const { tracker } = services;
  const { status } = await requireStatus(
    tracker,
    key,
    [
      tracker.statuses.awaitingApproval,
      tracker.statuses.approved,
      tracker.statuses.inProgress,
      tracker.statuses.review,
    ],
    (status) => {
      const hint = ticketStepHint('reject', key, status, tracker.statuses);
      return `only a proposed or approved plan, a ticket in progress, or a run handed over for review, can be rejected${hint ? `; ${hint}` : ''}`;
    },
  );
  const is = (s: string) => status.toLowerCase() === s.toLowerCase();
  // At In Review it is the run's result that goes back: the engineer plans anew. At In Progress
  // too: a run that died before its end (killed, the machine lost) left the ticket there with
  // no run of the approval left, and nothing else moves it.
  const result = is(tracker.statuses.review) || is(tracker.statuses.inProgress);
  const unended = is(tracker.statuses.inProgress)
    ? (await readTicketRuns(tracker, key)).filter((r) => r.status === undefined)
    : [];
  const proposal = await readProposal(tracker, key);
  const { store } = await loadTrustedStore(config.trustPinDir, config.trustStore);
  const by = personOf(seniorOf(store, req.signer), req.signer.publicKey.fingerprint);
  const approval = (await tracker.getProperty(key, APPROVAL_PROPERTY)) as
    | TicketApproval
    | undefined;
  const links = linksIn(req.text);
  const step: TicketStep = {
    step: req.needData ? 'need-data' : 'rejected',
    at: (req.now ?? new Date()).toISOString(),
    by,
    approvalId: proposal.approvalId,
    planDigest: proposal.planDigest,
    runbook: proposal.runbook,
    reason: reasonOf(req.text),
    ...(links.length ? { links } : {}),
  };
  const proof = await signStep(req.signer, step);
  const heading = req.needData
    ? 'More data needed before a decision'
    : result
      ? "Run's result rejected, with guidance"
      : 'Plan rejected, with guidance';
  const blocks: Block[] = [
    { type: 'heading', level: 3, text: heading },
    {
      type: 'paragraph',
      content: [
        { type: 'text', text: req.needData ? 'Asked by ' : 'Rejected by ' },
        { type: 'text', text: personText(by), bold: true },
      ],
    },
    decisionLine(proposal),
    { type: 'paragraph', content: withLinks(req.text) },
    ...unended.map(
      (r): Block => ({
        type: 'paragraph',
        content: [
          {
            type: 'text',
            text: `Run ${r.runId} (by ${r.by}, started ${r.startedAt}) has no reported end: its hosts' state is unknown (opsbook runs show ${r.runId} on its runner). If it is still running it goes on, and its end is written here without moving the ticket.`,
          },
        ],
      }),
    ),
    {
      type: 'paragraph',
      content: [
        {
          type: 'text',
          text: `${approval && !approval.rejected ? `Approval ${approval.approvalId} no longer counts: a run of it is refused. ` : ''}${
            req.needData
              ? `Add it to this ticket (opsbook ticket comment ${key} --text … --attach FILE, or --evidence RUNBOOK), then propose again: opsbook ticket propose ${key} …`
              : `Propose a new plan when ready: opsbook ticket propose ${key} …`
          }`,
        },
      ],
    },
  ];
  const writes: QueuedWrite[] = [
    // First: once it is on the ticket, no run of the old approval starts, whatever comes after.
    ...(approval && !approval.rejected
      ? [
          {
            write: {
              kind: 'setProperty' as const,
              property: APPROVAL_PROPERTY,
              value: { ...approval, rejected: step.at },
            },
          },
        ]
      : []),
    { write: { kind: 'comment', body: { blocks } } },
    await historyWrite(tracker, key, { ...step, proof }),
    ...links.map((url) => ({
      write: {
        kind: 'remoteLink' as const,
        link: {
          globalId: `opsbook:guidance:${createHash('sha256').update(url).digest('hex').slice(0, 32)}`,
          url,
          title: `Guidance from ${by.name}: ${url}`,
          summary: `${req.needData ? 'more data needed' : 'plan rejected'} for plan ${proposal.planDigest}`,
        },
      },
    })),
    { write: { kind: 'transition', status: tracker.statuses.open } },
  ];
  if (proposal.returnTo) writes.push({ write: { kind: 'assign', assignee: proposal.returnTo } });
  return deliverWrites(services, key, writes);
}
