import path from 'node:path';
import {
  type Config,
  isOpsbookError,
  RefusalError,
  UnreachableError,
  UsageError,
} from '@opsbook/schema';
import { stateStoreOf, verifyStoredJournal } from '@opsbook/state';
import type { Block, Doc, Grade, OutboxEntry } from '@opsbook/tracker';
import { readStandingApproval, refuseUnlessStandingFor } from '../execute/routine-run.js';
import { type RunOutcome, type RunRequest, runApproved } from '../execute/run.js';
import {
  digestJournal,
  evidenceBundle,
  hostsWithoutSteps,
  oneLine,
  type RunDigest,
} from './run-summary.js';
import { TicketGate, type TicketReport } from './run-ticket.js';
import { historyWrite, type TicketStep } from './ticket-history.js';
import { accountOf, engineerOf, personText, signStep, type TicketPerson } from './ticket-people.js';
import type { TicketServices } from './ticket-tracker.js';
import { deliverWrites, type QueuedWrite } from './ticket-writes.js';

/**
 * `executorSigner` is the engineer's own key: it names them on the ticket (reporter, first
 * comment, `opsbook.history`) and signs the run claim of the evidence run.
 */
export interface OpenTicketRequest extends Omit<RunRequest, 'approvalFile' | 'ticket'> {
  services: TicketServices;
  summary: string;
  description?: string;
  grade?: Grade;
  labels?: string[];
  /** Tracker id the new ticket is assigned to; default the engineer opening it. */
  assignee?: string;
  /** Collect symptoms with this read-only runbook under its standing approval (config `standing:`). */
  evidence?: { runbook: string; target?: string };
}

export interface OpenedTicket {
  /** The new key, or `outbox:<id>` while the tracker has not answered yet. */
  key: string;
  evidence?: { outcome: RunOutcome; digest: RunDigest };
  /**
   * The evidence run was refused before it touched a host (its standing approval does not
   * verify here: PLAN_MISMATCH, expired, another inventory…): the ticket is opened without it,
   * saying so, rather than losing the engineer's summary in the middle of an incident.
   */
  evidenceRefused?: { runbook: string; code: string; message: string };
  report: TicketReport;
}

/** The read-only runbook `ticket open` collects the symptoms with unless told otherwise. */
export const DEFAULT_EVIDENCE_RUNBOOK = 'collect-diagnostics';

/**
 * What `ticket open` collects by default: the symptoms, with collect-diagnostics, when
 * opsbook.yaml gives it a standing approval; otherwise nothing (the ticket says so).
 */
export function defaultEvidenceRunbook(config: Config): string | undefined {
  return config.raw.standing?.[DEFAULT_EVIDENCE_RUNBOOK] ? DEFAULT_EVIDENCE_RUNBOOK : undefined;
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

/** What an evidence run needs: the run request of `ticket open` or `ticket comment`, less the ticket bits. */
export type EvidenceRunRequest = Omit<RunRequest, 'approvalFile' | 'approvalBytes' | 'ticket'>;

/**
 * Collect symptoms with a read-only routine runbook under its standing approval: an ordinary run
 * (verified, journaled, recorded on the standing approval's ticket), its journal digested.
 */
export async function collectEvidence(
  services: TicketServices,
  run: EvidenceRunRequest,
  runbook: string,
  target?: string,
): Promise<{ outcome: RunOutcome; digest: RunDigest }> {
  const file = standingApprovalFile(run.config, runbook);
  // Read once: the run is of the bytes checked here (the file could give others when read again).
  const { statement, bytes } = await readStandingApproval(run.config, runbook, file);
  refuseUnlessStandingFor(file, statement, runbook, target);
  const store = stateStoreOf(run.config);
  const gate = new TicketGate({ services, store, signal: run.signal });
  const outcome = await runApproved({
    ...run,
    approvalFile: file,
    approvalBytes: bytes,
    ticket: gate,
  });
  const digest = digestJournal((await verifyStoredJournal(store, outcome.runId)).events);
  return { outcome, digest };
}

/** An evidence run as a ticket shows it: a table of each step's first line; the output attached. */
export function evidenceBlocks(digest: RunDigest): Block[] {
  return [
    {
      type: 'heading',
      level: 3,
      text: `Evidence: ${digest.runbook}, run ${digest.runId} (${digest.status})`,
    },
    {
      type: 'table',
      header: ['host', 'step', 'result', 'first line of output'],
      rows: [
        // A host the run got nothing from is named too, with why: it may be the one that is down.
        ...hostsWithoutSteps(digest).map((h) => [h.host, '—', h.status, oneLine(h.error ?? '')]),
        ...digest.steps.map((s) => [
          s.host,
          s.name,
          s.status,
          (s.stdout ?? s.stderr ?? '').trim().split('\n')[0] ?? '',
        ]),
      ],
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
  ];
}

/** The evidence run's full output, as the file attached beside its summary. */
export function evidenceAttachment(digest: RunDigest): QueuedWrite | undefined {
  const bytes = evidenceBundle(digest, ['steps', 'evidence', 'prechecks']);
  if (!bytes) return undefined;
  return {
    write: { kind: 'attach', filename: `${digest.runId}.evidence.txt`, contentType: 'text/plain' },
    bytes,
  };
}

function description(req: OpenTicketRequest, digest?: RunDigest): Doc {
  const blocks: Block[] = [];
  if (req.description)
    blocks.push({ type: 'paragraph', content: [{ type: 'text', text: req.description }] });
  if (digest) blocks.push(...evidenceBlocks(digest));
  if (blocks.length === 0)
    blocks.push({ type: 'paragraph', content: [{ type: 'text', text: req.summary }] });
  return { blocks };
}

/** The first comment: who opened the ticket, proven by their key, and where the symptoms are. */
function openedComment(
  by: TicketPerson,
  digest: RunDigest | undefined,
  refused?: OpenedTicket['evidenceRefused'],
): Doc {
  const symptoms = digest
    ? `Symptoms: run ${digest.runId} of ${digest.runbook} (${digest.status}) on ${digest.hosts.length} host(s), summarised in the description, full output attached as ${digest.runId}.evidence.txt.`
    : refused
      ? `No symptoms were collected: the evidence run of ${refused.runbook} was refused before it touched a host (${refused.code}: ${refused.message}).`
      : 'No symptoms were collected with it (opsbook ticket open --evidence RUNBOOK collects them).';
  return {
    blocks: [
      {
        type: 'paragraph',
        content: [
          { type: 'text', text: 'Opened by ' },
          { type: 'text', text: personText(by), bold: true },
          { type: 'text', text: `. ${symptoms}` },
        ],
      },
    ],
  };
}

/**
 * A create the tracker refused for good (credentials, permission, project): not an outage, so
 * nothing stays queued for it and the caller fails now (exit 4, or 3 for a refusal).
 */
async function refusedCreate(
  services: TicketServices,
  created: OutboxEntry,
  report: TicketReport,
): Promise<Error | undefined> {
  const failed = report.failed.find((e) => e.id === created.id);
  if (!failed?.lastError) return undefined;
  for (const e of await services.outbox.list())
    if (e.ticket === created.ticket) await services.outbox.discard(e.id);
  const { code, message, kind } = failed.lastError;
  const text = `${message} Nothing was created or queued: fix that and open the ticket again.`;
  return kind === 'refused' ? new RefusalError(code, text) : new UnreachableError(code, text);
}

/**
 * `opsbook ticket open`: collect the symptoms (current state, logs, tool output) with a
 * read-only runbook under its standing approval, then create the ticket with them summarised in
 * the description and attached in full, reported by the engineer whose key opens it (named in
 * the first comment too, and recorded in `opsbook.history`). Through the outbox: with the tracker
 * down, the ticket and its attachments are created later, in order, exactly once; a tracker that
 * refuses the create (401, 403, an unknown project) fails at once and leaves nothing queued.
 */
export async function openTicket(req: OpenTicketRequest): Promise<OpenedTicket> {
  const { services } = req;
  const opener = await engineerOf(req.config, req.executorSigner, 'open a ticket');
  const {
    services: _services,
    summary: _s,
    description: _d,
    grade: _g,
    labels: _l,
    assignee: _a,
    evidence: asked,
    ...run
  } = req;
  let evidenceRefused: OpenedTicket['evidenceRefused'];
  const evidence = asked
    ? await collectEvidence(services, run, asked.runbook, asked.target).catch((e: unknown) => {
        if (!isOpsbookError(e) || e.kind !== 'refused') throw e;
        evidenceRefused = { runbook: asked.runbook, code: e.code, message: e.message };
        return undefined;
      })
    : undefined;
  const step: TicketStep = {
    step: 'opened',
    at: (req.now ?? new Date()).toISOString(),
    by: opener,
    ...(evidence ? { evidenceRun: evidence.outcome.runId } : {}),
  };
  const proof = await signStep(req.executorSigner, step);
  const reporter = accountOf(opener, services.tracker);
  const created = await services.outbox.enqueue('', {
    kind: 'create',
    ticket: {
      summary: req.summary,
      description: description(req, evidence?.digest),
      ...(req.grade ? { grade: req.grade } : {}),
      labels: [...(req.labels ?? []), ...(evidence ? ['opsbook-evidence'] : [])],
      ...(reporter ? { reporter } : {}),
    },
  });
  const writes: QueuedWrite[] = [];
  const attachment = evidence && evidenceAttachment(evidence.digest);
  if (attachment) writes.push(attachment);
  writes.push(
    { write: { kind: 'comment', body: openedComment(opener, evidence?.digest, evidenceRefused) } },
    await historyWrite(services.tracker, undefined, { ...step, proof }),
  );
  const assignee = req.assignee ?? reporter;
  if (assignee) writes.push({ write: { kind: 'assign', assignee } });
  const report = await deliverWrites(services, created.ticket, writes);
  const refused = await refusedCreate(services, created, report);
  if (refused) throw refused;
  const key = (await services.outbox.resolve(created.ticket)) ?? created.ticket;
  return {
    key,
    ...(evidence ? { evidence } : {}),
    ...(evidenceRefused ? { evidenceRefused } : {}),
    report: { ...report, ticket: key },
  };
}
