import {
  escalateTicket,
  isUnusedRun,
  searchBugs,
  showTicket,
  type TicketRunRecord,
} from '@opsbook/runner';
import { UsageError } from '@opsbook/schema';
import { type CommandSpec, defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { formatTable } from '../output.js';
import { ticketReportText } from '../run-view.js';
import { showControlsIn } from '../terminal-safe.js';
import { trackerFor } from '../tracker-services.js';
import { executorSignerFor, ownKeyOptions } from './ticket-signer.js';

export const bugs: CommandSpec = defineCommand({
  args: '<text>',
  positionals: { min: 1, max: 1 },
  options: {
    label: {
      type: 'string',
      value: 'LABEL',
      description: 'label of known bugs (default bug; "" for every ticket)',
    },
    limit: { type: 'string', value: 'N', description: 'at most this many (default 20)' },
  },
  async run(ctx) {
    const config = await configFor(ctx);
    const limitText = stringOption(ctx, 'limit');
    const limit = limitText === undefined ? 20 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1)
      throw new UsageError(`--limit must be a whole number ≥ 1, not '${limitText}'`);
    const label = stringOption(ctx, 'label');
    const found = await searchBugs(trackerFor(config), ctx.positionals[0]!, {
      limit,
      ...(label !== undefined ? { label } : {}),
    });
    if (ctx.out.json) {
      ctx.out.printJson(found);
      return exitCodes.ok;
    }
    ctx.out.note(`JQL: ${found.jql}`);
    if (!found.tickets.length) ctx.out.print('no known bug matches');
    else
      ctx.out.print(
        formatTable(
          ['KEY', 'STATUS', 'SUMMARY'],
          showControlsIn(found.tickets).map((t) => [t.key, t.status, t.summary]),
          ctx.out.style,
        ),
      );
    return exitCodes.ok;
  },
});

export const escalate: CommandSpec = defineCommand({
  args: '<KEY>',
  positionals: { min: 1, max: 1 },
  options: {
    ...ownKeyOptions('the escalation'),
    to: {
      type: 'string',
      value: 'LEAD',
      description:
        'the lead: their approvers.yaml id, or Cloud accountId / DC user name / local name',
    },
    note: { type: 'string', value: 'TEXT', description: 'what you need from them' },
  },
  async run(ctx) {
    const to = stringOption(ctx, 'to');
    if (!to) throw new UsageError('name the lead with --to LEAD');
    const config = await configFor(ctx);
    const key = ctx.positionals[0]!;
    const note = stringOption(ctx, 'note');
    const report = await escalateTicket(trackerFor(config), {
      key,
      to,
      signer: await executorSignerFor(ctx, 'ticket'),
      config,
      ...(note ? { note } : {}),
    });
    if (ctx.out.json) ctx.out.printJson({ key, to, report });
    else ctx.out.print(`escalated ${key} to ${to}; ${ticketReportText(report)}`);
    return exitCodes.ok;
  },
});

export const show: CommandSpec = defineCommand({
  args: '<KEY>',
  positionals: { min: 1, max: 1 },
  options: {
    comments: {
      type: 'boolean',
      description:
        "print every comment as plain text (the proposal's commands, decisions, data added)",
    },
  },
  details: `The description (grade and why, alerts, evidence) is printed too, as text.
--json prints the view as one document; with --comments it has "comments": [{id, author,
created, text}] as well.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const withComments = Boolean(ctx.options.comments);
    const ticketView = await showTicket(trackerFor(config), ctx.positionals[0]!, {
      comments: withComments,
    });
    if (ctx.out.json) {
      ctx.out.printJson(ticketView);
      return exitCodes.ok;
    }
    // Summary, names, history values: whoever can write to the tracker wrote them.
    const view = showControlsIn(ticketView);
    const { out } = ctx;
    const t = view.ticket;
    out.print(
      `${out.style.bold(t.key)} ${t.summary}\nstatus: ${t.status}; assignee: ${t.assignee?.displayName ?? t.assignee?.id ?? 'nobody'}${t.reporter ? `; reporter: ${t.reporter.displayName ?? t.reporter.id}` : ''}`,
    );
    if (view.description) out.print(`description:\n${indented(view.description)}`);
    if (view.proposal)
      out.print(
        `proposal: ${view.proposal.runbook} by ${view.proposal.proposer} (plan ${view.proposal.planDigest})${proposalDecision(view.proposal.approvalId, view.history)}`,
      );
    if (view.approval)
      out.print(
        `approval: ${view.approval.statement?.id ?? '?'}${view.approval.statement?.plan ? ` (plan ${view.approval.statement.plan.digest})` : ''} signed by ${view.approval.signers.join(', ')}${approvalState(view.approval)}`,
      );
    const endsWaiting = new Set(view.waiting?.runEnds ?? []);
    for (const r of view.runs)
      out.print(
        `run ${r.runId} by ${r.by}: ${r.status ?? notReportedText(r.runId, t.key, endsWaiting)}${runEndText(r)}${r.journalHead ? `, journal head ${r.journalHead}` : ''}`,
      );
    if (view.waiting)
      out.print(
        `${view.waiting.writes} write(s) to ${t.key} wait in this machine's outbox: opsbook outbox flush sends them (opsbook ticket report ${t.key} does too)`,
      );
    if (view.acceptance)
      out.print(`accepted by ${view.acceptance.verifier} (${view.acceptance.id})`);
    for (const h of view.history)
      out.print(
        `${h.at} ${h.step} by ${h.by.name} (${h.by.id})${h.planDigest ? ` plan ${h.planDigest}` : ''}${h.reason ? `: ${h.reason}` : ''}`,
      );
    if (view.local) {
      out.print('\nhistory:');
      out.print(
        formatTable(
          ['WHEN', 'WHO', 'WHAT', 'FROM', 'TO'],
          view.local.history.map((h) => [h.at, h.by, h.field, brief(h.from), brief(h.to)]),
          out.style,
        ),
      );
      out.print(
        `\nattachments: ${view.local.attachments.map((a) => a.filename).join(', ') || 'none'}; comments: ${view.local.comments.length}${withComments || !view.local.comments.length ? '' : ` (opsbook ticket show ${t.key} --comments prints them)`}`,
      );
    }
    if (view.comments) {
      const older = view.olderCommentsLeftOut;
      const limit =
        older === undefined
          ? ''
          : older === 'unknown'
            ? ', the newest read: the ticket holds more than opsbook reads, and Jira did not say how many'
            : `, the newest: ${older} older comment(s) not shown (opsbook reads at most 5,000)`;
      out.print(`\ncomments (${view.comments.length}${limit}):`);
      for (const c of view.comments)
        out.print(
          `\n${out.style.bold(`— ${c.created}`)}${c.author ? out.style.dim(` (posted by the tracker account ${c.author})`) : ''}\n${indented(c.text)}`,
        );
    }
    return exitCodes.ok;
  },
});

/**
 * What `ticket show` says of a run the ticket has no end of: its end waits in this machine's
 * outbox (delivering it is all there is to do; reporting it again would write it twice), or the
 * run is still going or its runner stopped before telling the ticket.
 */
function notReportedText(runId: string, key: string, endsWaiting: ReadonlySet<string>): string {
  return endsWaiting.has(runId)
    ? `not reported yet: its end waits in this machine's outbox (the tracker did not take it); opsbook outbox flush delivers it, or opsbook ticket report ${key}`
    : `not reported yet (still running, or its runner stopped: opsbook ticket report ${key} on the machine that ran it)`;
}

/** A text of the tracker's under a heading line: each of its lines indented. */
function indented(text: string): string {
  return text
    .split('\n')
    .map((line) => (line ? `  ${line}` : ''))
    .join('\n');
}

/** A history value in a table cell: text as is, anything else as short JSON; long values cut. */
function brief(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 48 ? `${text.slice(0, 47)}…` : text;
}

/**
 * What `ticket show` adds after a reported run's status: a run its runner reported unreached,
 * and an end its runner did not report (`ticket report` wrote it later, from a journal the
 * runner machine's user can edit), which `ticket accept` refuses without --accept-late-report.
 */
function runEndText(r: TicketRunRecord): string {
  if (r.status === undefined) return '';
  if (isUnusedRun(r)) return ' (no host reached: it did not use the approval)';
  if (r.endReportedBy === 'runner') return '';
  const who =
    r.endReportedBy === 'ticket report'
      ? "reported late by opsbook ticket report, from the runner machine's journal, which its user can edit"
      : 'not said to be reported by its runner (an earlier opsbook)';
  return ` (${who}: it counts against the approval; ticket accept needs --accept-late-report after checking the hosts)`;
}

/**
 * What a senior decided of the current proposal, when they sent it back: the proposal property
 * stays until the next proposal replaces it, so without this it reads as still pending.
 */
function proposalDecision(
  approvalId: string,
  history: readonly { step: string; approvalId?: string; at: string; by: { name: string } }[],
): string {
  const last = history.findLast(
    (h) =>
      h.approvalId === approvalId &&
      ['rejected', 'need-data', 'signed', 'approved'].includes(h.step),
  );
  if (last?.step === 'rejected') return ` — REJECTED by ${last.by.name} at ${last.at}`;
  if (last?.step === 'need-data')
    return ` — SENT BACK for more data by ${last.by.name} at ${last.at}`;
  return '';
}

/** What `ticket show` adds after an approval's signers: rejected, or still lacking signatures. */
function approvalState(approval: { complete: boolean; rejected?: string | boolean }): string {
  if (approval.rejected)
    return ` (rejected${typeof approval.rejected === 'string' ? ` ${approval.rejected}` : ''}: it no longer runs)`;
  return approval.complete ? '' : ' (more signatures needed)';
}
