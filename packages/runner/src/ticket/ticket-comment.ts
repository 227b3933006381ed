import path from 'node:path';
import { UsageError } from '@opsbook/schema';
import type { Block } from '@opsbook/tracker';
import type { RunOutcome } from '../execute/run.js';
import type { RunDigest } from './run-summary.js';
import type { TicketReport } from './run-ticket.js';
import { historyWrite, reasonOf, type TicketStep } from './ticket-history.js';
import {
  collectEvidence,
  type EvidenceRunRequest,
  evidenceAttachment,
  evidenceBlocks,
} from './ticket-open.js';
import { engineerOf, personText, signStep } from './ticket-people.js';
import type { TicketServices } from './ticket-tracker.js';
import { deliverWrites, type QueuedWrite } from './ticket-writes.js';

/** A file the person adds to the ticket with their comment (a command's output they saved). */
export interface CommentFile {
  filename: string;
  bytes: Uint8Array;
}

/** `executorSigner` is the person's own key: it names them and signs the step (and an evidence run's claim). */
export interface CommentTicketRequest extends EvidenceRunRequest {
  services: TicketServices;
  key: string;
  /** Their words; blank lines separate paragraphs. */
  text?: string;
  files?: CommentFile[];
  /** Collect more symptoms with this read-only runbook under its standing approval (as `ticket open --evidence`). */
  evidence?: { runbook: string; target?: string };
}

export interface CommentedTicket {
  evidence?: { outcome: RunOutcome; digest: RunDigest };
  /** The names the files were attached under, the evidence run's output included. */
  attachments: string[];
  report: TicketReport;
}

function paragraphs(text: string): Block[] {
  return text
    .trim()
    .split(/\n\s*\n/)
    .map((p) => ({ type: 'paragraph', content: [{ type: 'text', text: p }] }));
}

/**
 * `opsbook ticket comment`: add data to an existing ticket (what a senior asked for with
 * `ticket reject --need-data`, or anything the engineer learns): their words, files, and the
 * output of a read-only runbook run under its standing approval. The comment names them by their
 * key and `opsbook.history` keeps the step signed by it; the status does not change. Through the
 * outbox, as every write: with the tracker down it is delivered later, in order, exactly once.
 */
export async function commentTicket(req: CommentTicketRequest): Promise<CommentedTicket> {
  const { services, key, text, files = [], evidence: asked, ...run } = req;
  const hasText = text !== undefined && text.trim() !== '';
  if (!hasText && files.length === 0 && !asked)
    throw new UsageError(
      `nothing to add to ${key}: give the text (--text, --file FILE, or --file - for stdin), --attach FILE or --evidence RUNBOOK`,
    );
  const by = await engineerOf(req.config, req.executorSigner, 'comment on a ticket');
  // A missing ticket is said before any evidence is collected for it.
  await services.tracker.get(key);
  const evidence = asked
    ? await collectEvidence(services, run, asked.runbook, asked.target)
    : undefined;
  const attachment = evidence && evidenceAttachment(evidence.digest);
  const names = [
    ...files.map((f) => path.basename(f.filename)),
    ...(attachment ? [`${evidence.digest.runId}.evidence.txt`] : []),
  ];
  const step: TicketStep = {
    step: 'commented',
    at: (req.now ?? new Date()).toISOString(),
    by,
    ...(hasText ? { reason: reasonOf(text.trim()) } : {}),
    ...(evidence ? { evidenceRun: evidence.outcome.runId } : {}),
    ...(names.length ? { attachments: names } : {}),
  };
  const proof = await signStep(req.executorSigner, step);
  const blocks: Block[] = [
    {
      type: 'paragraph',
      content: [
        { type: 'text', text: 'Data added by ' },
        { type: 'text', text: personText(by), bold: true },
      ],
    },
    ...(hasText ? paragraphs(text) : []),
    ...(evidence ? evidenceBlocks(evidence.digest) : []),
    ...(names.length
      ? [
          {
            type: 'paragraph' as const,
            content: [{ type: 'text' as const, text: `attached: ${names.join(', ')}` }],
          },
        ]
      : []),
  ];
  const writes: QueuedWrite[] = [
    ...files.map(
      (f): QueuedWrite => ({
        write: { kind: 'attach', filename: path.basename(f.filename) },
        bytes: f.bytes,
      }),
    ),
    ...(attachment ? [attachment] : []),
    { write: { kind: 'comment', body: { blocks } } },
    await historyWrite(services.tracker, key, { ...step, proof }),
  ];
  const report = await deliverWrites(services, key, writes);
  return { ...(evidence ? { evidence } : {}), attachments: names, report };
}
