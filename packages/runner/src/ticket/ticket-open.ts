import path from 'node:path';
import type { SshSigner } from '@opsbook/approval';
import { type Config, UsageError } from '@opsbook/schema';
import { stateStoreOf, verifyStoredJournal } from '@opsbook/state';
import type { Block, Doc, Grade } from '@opsbook/tracker';
import { readApprovalFile } from '../approval/approval-flow.js';
import { runnerErrors } from '../error-codes.js';
import { type RunOutcome, type RunRequest, runApproved } from '../execute/run.js';
import { digestJournal, evidenceBundle, type RunDigest } from './run-summary.js';
import { TicketGate, type TicketReport } from './run-ticket.js';
import type { TicketServices } from './ticket-tracker.js';
import { deliverWrites, type QueuedWrite } from './ticket-writes.js';

export interface OpenTicketRequest
  extends Omit<RunRequest, 'approvalFile' | 'ticket' | 'executorSigner'> {
  services: TicketServices;
  /** Needed with `evidence` only: collecting evidence is a run, signed by its executor. */
  executorSigner?: SshSigner;
  summary: string;
  description?: string;
  grade?: Grade;
  labels?: string[];
  /** Tracker id the new ticket is assigned to (usually the engineer opening it). */
  assignee?: string;
  /** Collect symptoms with this read-only runbook under its standing approval (config `standing:`). */
  evidence?: { runbook: string; target?: string };
}

export interface OpenedTicket {
  /** The new key, or `outbox:<id>` while the tracker has not answered yet. */
  key: string;
  evidence?: { outcome: RunOutcome; digest: RunDigest };
  report: TicketReport;
}

/** The standing approval file configured for a routine runbook (opsbook.yaml `standing:`, README _Inventory and configuration_). */
export function standingApprovalFile(config: Config, runbook: string): string {
  const file = config.raw.standing?.[runbook];
  if (!file)
    throw new UsageError(
      `opsbook.yaml has no standing approval for ${runbook}: add "standing: {${runbook}: approvals/${runbook}.approval.json}" with a senior-signed selector approval, or open the ticket without --evidence`,
    );
  return path.resolve(config.root, file);
}

async function collectEvidence(req: OpenTicketRequest, runbook: string, target?: string) {
  const file = standingApprovalFile(req.config, runbook);
  const { statement } = await readApprovalFile(file);
  if (!('selector' in statement.targets))
    throw new runnerErrors.RefusalError(
      'NOT_STANDING',
      `${file} approves an explicit host list, not a standing selector: evidence is collected under a routine standing approval`,
    );
  if (target !== undefined && target !== statement.targets.selector)
    throw new runnerErrors.RefusalError(
      'TARGETS_OUTSIDE_SCOPE',
      `the standing approval for ${runbook} covers "${statement.targets.selector}", not "${target}": omit --target, or ask a senior for a standing approval with that selector`,
    );
  const {
    services,
    summary: _s,
    description: _d,
    grade: _g,
    labels: _l,
    assignee: _a,
    evidence: _e,
    ...run
  } = req;
  const { executorSigner, ...rest } = run;
  if (!executorSigner)
    throw new runnerErrors.RefusalError(
      'EXECUTOR_UNPROVEN',
      'collecting evidence is a run, signed by the person who runs it: pass --key PATH or --agent',
    );
  const store = stateStoreOf(req.config);
  const gate = new TicketGate({ services, store, signal: req.signal });
  const outcome = await runApproved({
    ...rest,
    executorSigner,
    approvalFile: file,
    ticket: gate,
  });
  const digest = digestJournal((await verifyStoredJournal(store, outcome.runId)).events);
  return { outcome, digest };
}

function description(req: OpenTicketRequest, digest?: RunDigest): Doc {
  const blocks: Block[] = [];
  if (req.description)
    blocks.push({ type: 'paragraph', content: [{ type: 'text', text: req.description }] });
  if (digest) {
    blocks.push(
      {
        type: 'heading',
        level: 3,
        text: `Evidence: ${digest.runbook}, run ${digest.runId} (${digest.status})`,
      },
      {
        type: 'table',
        header: ['host', 'step', 'result', 'first line of output'],
        rows: digest.steps.map((s) => [
          s.host,
          s.name,
          s.status,
          (s.stdout ?? s.stderr ?? '').trim().split('\n')[0] ?? '',
        ]),
      },
      {
        type: 'paragraph',
        content: [
          {
            type: 'text',
            text: `Full output attached as ${digest.runId}.evidence.txt; journal head ${digest.journal.head}.`,
          },
        ],
      },
    );
  }
  if (blocks.length === 0)
    blocks.push({ type: 'paragraph', content: [{ type: 'text', text: req.summary }] });
  return { blocks };
}

/**
 * `opsbook ticket open`: collect the symptoms (current state, logs, tool output) with a
 * read-only runbook under its standing approval, then create the ticket with them summarised in
 * the description and attached in full. Through the outbox: with the tracker down, the ticket
 * and its attachments are created later, in order, exactly once.
 */
export async function openTicket(req: OpenTicketRequest): Promise<OpenedTicket> {
  const { services } = req;
  const evidence = req.evidence
    ? await collectEvidence(req, req.evidence.runbook, req.evidence.target)
    : undefined;
  const created = await services.outbox.enqueue('', {
    kind: 'create',
    ticket: {
      summary: req.summary,
      description: description(req, evidence?.digest),
      ...(req.grade ? { grade: req.grade } : {}),
      labels: [...(req.labels ?? []), ...(evidence ? ['opsbook-evidence'] : [])],
    },
  });
  const writes: QueuedWrite[] = [];
  const bundle = evidence
    ? evidenceBundle(evidence.digest, ['steps', 'evidence', 'prechecks'])
    : undefined;
  if (evidence && bundle)
    writes.push({
      write: {
        kind: 'attach',
        filename: `${evidence.digest.runId}.evidence.txt`,
        contentType: 'text/plain',
      },
      bytes: bundle,
    });
  if (req.assignee) writes.push({ write: { kind: 'assign', assignee: req.assignee } });
  const report = await deliverWrites(services, created.ticket, writes);
  const key = (await services.outbox.resolve(created.ticket)) ?? created.ticket;
  return { key, ...(evidence ? { evidence } : {}), report: { ...report, ticket: key } };
}
