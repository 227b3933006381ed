import type { ApprovalStatement, SshSigner } from '@opsbook/approval';
import { type Config, phases, UsageError } from '@opsbook/schema';
import type { Block, Doc } from '@opsbook/tracker';
import {
  createPlan,
  type PlanRequest,
  scriptsOf,
  serializeApproval,
} from '../approval/approval-flow.js';
import { type Plan, type PlannedStep, planScripts, vaultLine } from '../plan/plan.js';
import type { TicketReport } from './run-ticket.js';
import { proposedBy, seniorChoices, seniorNamed } from './ticket-handover.js';
import { historyWrite, type TicketStep } from './ticket-history.js';
import { checkoutTrust, listedPerson } from './ticket-people.js';
import {
  PROPOSAL_PROPERTY,
  requireStatus,
  type TicketProposal,
  ticketStepHint,
} from './ticket-record.js';
import { bindingOf, type TicketServices } from './ticket-tracker.js';
import { deliverWrites } from './ticket-writes.js';

export interface ProposeRequest extends Omit<PlanRequest, 'ticket' | 'tracker' | 'proposerSigner'> {
  /** The proposer's own key (see PlanRequest): here given, not asked for later. */
  proposerSigner: SshSigner;
  services: TicketServices;
  key: string;
  /**
   * The senior who reviews: an approvers.yaml id, or their tracker account (Cloud accountId, DC
   * user name, local name).
   */
  senior: string;
}

export interface Proposal {
  proposal: TicketProposal;
  /** The unsigned statement proposed: its window and run limit are what the senior is asked to sign. */
  statement: ApprovalStatement;
  plan: Plan;
  planDigest: string;
  report: TicketReport;
}

/**
 * Format characters (Unicode Cf: zero-width space and joiners, word joiner, BOM, soft hyphen,
 * bidirectional controls, tag characters): a tracker shows them as nothing, or reorders the text
 * around them, so the senior would read another value or command than runs.
 */
const FORMAT_CHAR = /\p{Cf}/gu;

/** `value` as JSON, each format character (and DEL, C1) as its `\uHHHH` escape: the same JSON. */
function visibleJson(value: unknown): string {
  // Past U+FFFF (tag characters) as JSON writes them: one escape per UTF-16 unit.
  return JSON.stringify(value).replace(/[\p{Cf}\u007f-\u009f]/gu, (c) =>
    Array.from(
      { length: c.length },
      (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`,
    ).join(''),
  );
}

/**
 * A comment line naming the format characters a command holds: the command itself stays as it
 * runs (an escape in it would be another command), and the reviewer is told what they cannot see.
 */
function hiddenCharsLine(command: string): string {
  const found = [...new Set(command.match(FORMAT_CHAR) ?? [])].map(
    (c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`,
  );
  return found.length
    ? `\n# holds invisible characters (${found.join(', ')}): what you read here is not all that runs`
    : '';
}

function stepText(s: PlannedStep): string {
  const vaulted = vaultLine(s);
  const how =
    (s.command !== undefined
      ? `${s.command}${hiddenCharsLine(s.command)}${vaulted ? `\n# ${vaulted}` : ''}`
      : undefined) ??
    (s.script
      ? `script ${s.script.path} (${s.script.sha256})`
      : `uses ${s.uses} ${JSON.stringify(s.with ?? {})}`);
  const flags = [s.where === 'local' ? 'on the runner' : '', s.sudo ? 'sudo' : ''].filter(Boolean);
  return `# ${s.id}: ${s.name}${flags.length ? ` [${flags.join(', ')}]` : ''}\n${how}`;
}

/** What a senior signs beyond the commands when the proposal is a standing approval. */
function standingText(selector: string, plan: Plan, statement: ApprovalStatement): string {
  return `standing approval of the selector "${selector}" (${plan.hosts.length} host(s) today): routine runs (opsbook inspect, opsbook inventory, schedules) reuse it until ${statement.expiresAt} or ${statement.maxRuns} run(s), keeping the ticket In Progress; it binds these hosts and thresholds, so a changed fleet or threshold needs a new signature`;
}

/**
 * The window and run limit the senior signs as proposed, said with the commands they review
 * (`ticket approve --expires/--max-runs` change them before the first signature).
 */
function validityText(statement: ApprovalStatement): string {
  return `valid ${statement.notBefore} to ${statement.expiresAt}, at most ${statement.maxRuns} run(s), as proposed; the approving senior may change both with opsbook ticket approve --expires and --max-runs`;
}

/**
 * The comment a senior reviews: every command, per host and phase, exactly as rendered, and
 * (given the statement) the validity window and run limit the approval is to carry.
 */
export function planComment(
  plan: Plan,
  planDigest: string,
  approvalId: string,
  files: string[],
  statement?: ApprovalStatement,
  scripts?: ReadonlyMap<string, string>,
): Doc {
  const params = Object.entries(plan.params).map(([k, v]) => `${k}=${visibleJson(v)}`);
  const targets = statement?.targets;
  const standing =
    statement && targets && 'selector' in targets
      ? [[{ type: 'text' as const, text: standingText(targets.selector, plan, statement) }]]
      : [];
  const blocks: Block[] = [
    {
      type: 'heading',
      level: 3,
      text: `Proposed plan: ${plan.runbook.name} ${plan.runbook.version} on ${plan.hosts.length} host(s)`,
    },
    {
      type: 'list',
      items: [
        [{ type: 'text', text: `category ${plan.category}, grade ${plan.grade}` }],
        ...(statement ? [[{ type: 'text' as const, text: validityText(statement) }]] : []),
        [
          {
            type: 'text',
            text: `params: ${params.join(', ') || 'none'}${plan.secretParams.length ? `; secret (from the environment at run time): ${plan.secretParams.join(', ')}` : ''}`,
          },
        ],
        [
          { type: 'text', text: 'plan digest ' },
          { type: 'text', text: planDigest, code: true },
        ],
        [
          { type: 'text', text: 'approval id ' },
          { type: 'text', text: approvalId, code: true },
        ],
        [{ type: 'text', text: `attached: ${files.join(', ')}` }],
        ...standing,
      ],
    },
  ];
  for (const host of plan.hosts) {
    blocks.push({
      type: 'heading',
      level: 4,
      text: `${host.name} (${host.connection.transport === 'local' ? 'this machine' : host.connection.address})`,
    });
    const text = phases
      .filter((p) => host.phases[p].length > 0)
      .map((p) => `## ${p}\n${host.phases[p].map(stepText).join('\n')}`)
      .join('\n\n');
    blocks.push({ type: 'code', text, language: 'bash' });
  }
  if (scripts) blocks.push(...scriptBlocks(plan, scripts));
  return { blocks };
}

/** A script longer than this is not written into the comment (Jira's limit is 32 KB in all). */
const MAX_SCRIPT_IN_COMMENT = 8_000;

/**
 * Each script the plan runs, whole, under its path and sha256: the reviewer reads what a script
 * step does in the comment, not only its hash. A long one is named with its size and the command
 * that prints it.
 */
function scriptBlocks(plan: Plan, scripts: ReadonlyMap<string, string>): Block[] {
  const blocks: Block[] = [];
  let room = MAX_SCRIPT_IN_COMMENT * 2;
  for (const [sha256, file] of planScripts(plan)) {
    const text = scripts.get(sha256);
    if (text === undefined) continue;
    blocks.push({ type: 'heading', level: 4, text: `Script ${file} (sha256 ${sha256})` });
    if (text.length <= MAX_SCRIPT_IN_COMMENT && text.length <= room) {
      room -= text.length;
      blocks.push({ type: 'code', text: text.replace(/\n$/, ''), language: 'bash' });
    } else
      blocks.push({
        type: 'paragraph',
        content: [
          {
            type: 'text',
            text: `${text.split('\n').length} lines, too long for a comment: opsbook plan --show on the attached approval prints it whole.`,
          },
        ],
      });
  }
  return blocks;
}

/**
 * The seniors `ticket propose` offers when `--senior` is not given: approvers.yaml's, or nothing
 * when it cannot be read (proposing then says why, with its own error).
 */
export async function seniorChoicesOf(config: Config): Promise<string | undefined> {
  try {
    return seniorChoices(await checkoutTrust(config, 'proposing a plan'));
  } catch {
    return undefined;
  }
}

/**
 * `opsbook ticket propose`: plan the run for the ticket, attach the unsigned approval (the plan
 * a senior signs) and the rendered plan, post every per-host command for review, assign the
 * senior and move the ticket to Awaiting Approval. A proposal after a rejection is a new plan.
 * With `standing`, it is a standing approval of a routine runbook for a recurring ticket, as
 * `opsbook plan --standing` makes one (docs/routine-work.md).
 */
export async function proposeTicket(req: ProposeRequest): Promise<Proposal> {
  const { services, key } = req;
  const { tracker } = services;
  const ticket = await requireStatus(
    tracker,
    key,
    [tracker.statuses.open],
    (status) =>
      `a plan is proposed on an open ticket; ${ticketStepHint('propose', key, status, tracker.statuses) ?? 'ask the senior to reject the current proposal first'}`,
  );
  const returnTo = ticket.assignee?.id ?? '';
  // Bound to the tracker the ticket is on: every run of it must check and claim there.
  const planned = await createPlan({ ...req, ticket: key, tracker: bindingOf(tracker) });
  const trust = await checkoutTrust(req.config, 'proposing a plan');
  const proposer = listedPerson(trust, req.proposerSigner, 'propose a plan');
  const senior = seniorNamed(trust, req.senior, tracker);
  // Refused at approval anyway (SELF_APPROVAL); said now, before the ticket waits on it.
  if (senior.id === proposer.id)
    throw new UsageError(
      `--senior ${req.senior} is who proposes: your key ${proposer.fingerprint} is ${proposer.name} (${proposer.id})'s in ${trust.file}, and no one approves their own proposal (SELF_APPROVAL): name another senior (${seniorChoices(trust)}), or propose with your own key (--key)`,
    );
  const envelope = serializeApproval(planned.envelope);
  const id = planned.statement.id;
  const files = [`${key}.${id}.approval.json`, `${key}.${id}.plan.json`];
  const proposal: TicketProposal = {
    approvalId: id,
    runbook: planned.plan.runbook.name,
    envelope,
    planDigest: planned.planDigest,
    proposer: planned.statement.proposer!,
    returnTo: returnTo || (tracker.kind === 'local' ? planned.statement.proposer! : null),
    senior: senior.jira,
    proposedAt: (req.now ?? new Date()).toISOString(),
  };
  const step: TicketStep = {
    step: 'proposed',
    at: proposal.proposedAt,
    by: proposer,
    approvalId: id,
    planDigest: planned.planDigest,
    runbook: proposal.runbook,
    to: senior.jira,
  };
  const enc = new TextEncoder();
  const report = await deliverWrites(services, key, [
    {
      write: { kind: 'attach', filename: files[0]!, contentType: 'application/json' },
      bytes: enc.encode(envelope),
    },
    {
      write: { kind: 'attach', filename: files[1]!, contentType: 'application/json' },
      bytes: enc.encode(`${JSON.stringify(planned.plan, null, 2)}\n`),
    },
    {
      write: {
        kind: 'comment',
        body: proposedBy(
          planComment(
            planned.plan,
            planned.planDigest,
            id,
            files,
            planned.statement,
            await scriptsOf(planned),
          ),
          proposer,
          senior,
          tracker,
        ),
      },
    },
    { write: { kind: 'setProperty', property: PROPOSAL_PROPERTY, value: proposal } },
    await historyWrite(tracker, key, step),
    { write: { kind: 'assign', assignee: senior.jira } },
    { write: { kind: 'transition', status: tracker.statuses.awaitingApproval } },
  ]);
  return {
    proposal,
    statement: planned.statement,
    plan: planned.plan,
    planDigest: planned.planDigest,
    report,
  };
}
