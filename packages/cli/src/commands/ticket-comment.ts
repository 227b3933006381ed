import { readFile } from 'node:fs/promises';
import { type CommentFile, commentTicket } from '@opsbook/runner';
import { UsageError, ValidationError } from '@opsbook/schema';
import { defineCommand, listOption, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { ticketReportText } from '../run-view.js';
import { trackerFor } from '../tracker-services.js';
import {
  evidenceRunInput,
  evidenceRunOptions,
  exitForEvidence,
  interruptedEvidenceText,
  interruptibleEvidence,
} from './evidence-options.js';
import { executorSignerFor, ownKeyOptions } from './ticket-signer.js';

async function readInput(file: string, what: string): Promise<Buffer> {
  try {
    return file === '-' ? await readStdin() : await readFile(file);
  } catch (e) {
    throw ValidationError.single(
      file,
      `cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? String(e)}): check the path`,
      'missing-file',
    );
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export default defineCommand({
  args: '<KEY>',
  positionals: { min: 1, max: 1 },
  options: {
    ...ownKeyOptions('the comment (and an evidence run claim)'),
    text: { type: 'string', value: 'TEXT', description: 'what you add (blank lines: paragraphs)' },
    file: {
      type: 'string',
      value: 'FILE',
      description: 'read the text from FILE (- : from stdin)',
    },
    attach: {
      type: 'string',
      value: 'FILE',
      multiple: true,
      description: 'attach a file (a command output you saved)',
    },
    evidence: {
      type: 'string',
      value: 'RUNBOOK',
      description:
        'collect symptoms with this routine runbook under its standing approval, as ticket open --evidence',
    },
    ...evidenceRunOptions,
  },
  details: `Examples (after opsbook ticket reject OPS-1 --need-data "attach df -i for /var/log"):
  ssh db-1 df -i /var/log > df-i.txt
  opsbook ticket comment OPS-1 --text "inodes of /var/log: see df-i.txt" --attach df-i.txt
  opsbook ticket comment OPS-1 --evidence collect-diagnostics -i inventory/hosts.yaml
  df -i /var/log | opsbook ticket comment OPS-1 --file -

Adds data to an existing ticket: your words, files, and a read-only evidence run under its
standing approval (summarised in the comment, attached in full). The comment names you by your
key (--key, --agent, or ~/.ssh/id_*, listed in approvers.yaml) and opsbook.history keeps the step
signed by it. The status does not change: after a need-data, propose again
(opsbook ticket propose KEY …). A write the tracker does not take waits in the outbox (opsbook
outbox flush delivers it, once).`,
  async run(ctx) {
    const key = ctx.positionals[0]!;
    const given = stringOption(ctx, 'text');
    const file = stringOption(ctx, 'file');
    if (given !== undefined && file !== undefined)
      throw new UsageError('give the text with --text TEXT or --file FILE, not both');
    const runbook = stringOption(ctx, 'evidence');
    const evidenceRun = evidenceRunInput(ctx, runbook);
    const text = file === undefined ? given : (await readInput(file, 'the text')).toString('utf8');
    const files: CommentFile[] = [];
    for (const f of listOption(ctx, 'attach'))
      files.push({ filename: f, bytes: await readInput(f, 'the file to attach') });
    const config = await configFor(ctx);
    const executorSigner = await executorSignerFor(ctx, 'ticket');
    const { out } = ctx;
    const stop = interruptibleEvidence(out, evidenceRun.onEvent);
    try {
      const done = await commentTicket({
        services: trackerFor(config),
        config,
        executorSigner,
        env: process.env,
        signal: stop.signal,
        stopSignal: stop.stopSignal,
        key,
        ...(text !== undefined ? { text } : {}),
        files,
        ...evidenceRun,
        onEvent: stop.onEvent,
      });
      // Ctrl-C stopped the evidence run: the comment holds what it collected, exit 130.
      const code = exitForEvidence(done.evidence?.outcome);
      if (out.json) {
        out.printJson({
          key,
          attachments: done.attachments,
          evidence: done.evidence
            ? { runId: done.evidence.outcome.runId, status: done.evidence.outcome.status }
            : null,
          report: done.report,
        });
        return code;
      }
      out.print(
        `commented on ${key}${done.attachments.length ? ` (attached: ${done.attachments.join(', ')})` : ''}; ${ticketReportText(done.report)}`,
      );
      const interrupted = interruptedEvidenceText(done.evidence?.outcome);
      if (interrupted) out.print(interrupted);
      return code;
    } finally {
      stop.done();
    }
  },
});
