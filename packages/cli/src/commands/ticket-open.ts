import { DEFAULT_EVIDENCE_RUNBOOK, defaultEvidenceRunbook, openTicket } from '@opsbook/runner';
import { UsageError } from '@opsbook/schema';
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
import { executorOptions, executorSignerFor } from './ticket-signer.js';

const GRADES = ['P1', 'P2', 'P3', 'P4'] as const;

export default defineCommand({
  positionals: { min: 0, max: 0 },
  options: {
    ...executorOptions,
    summary: { type: 'string', value: 'TEXT', description: 'one line: what is wrong, where' },
    description: {
      type: 'string',
      value: 'TEXT',
      description: 'what you saw (the evidence is added below it)',
    },
    grade: { type: 'string', value: 'P1..P4', description: 'severity (sets the Jira priority)' },
    label: {
      type: 'string',
      value: 'LABEL',
      multiple: true,
      description: 'a label for the ticket',
    },
    assignee: {
      type: 'string',
      value: 'ID',
      description: 'assign to (Cloud accountId, DC user name, local name; default: you)',
    },
    evidence: {
      type: 'string',
      value: 'RUNBOOK',
      description: `collect the symptoms with this routine runbook under its standing approval (default: ${DEFAULT_EVIDENCE_RUNBOOK} when opsbook.yaml's standing: has it)`,
    },
    'no-evidence': { type: 'boolean', description: 'open it without collecting the symptoms' },
    ...evidenceRunOptions,
  },
  details: `Example:
  opsbook ticket open --summary "db-3: disk 91%" --grade P3 --evidence collect-diagnostics -i inventory/hosts.yaml

You open it with your own key (--key, --agent, or ~/.ssh/id_*), listed in approvers.yaml: the
ticket's reporter (where Jira lets the account set it) and its first comment name you, and it is
assigned to you. The symptoms are collected by default with ${DEFAULT_EVIDENCE_RUNBOOK} when
opsbook.yaml's standing: has it; the evidence run is an ordinary run of the standing approval
(verified, journaled, recorded on its recurring ticket), summarised in the new ticket's
description and attached in full. An evidence run refused before it touches a host (its
standing approval does not verify here: another inventory, PLAN_MISMATCH, expired) does not cost
the ticket: it is opened without symptoms, saying why, and a warning says how to add them. With
Jira down, the ticket waits in the outbox (opsbook outbox
flush); Jira refusing the credentials or the permission (401, 403) fails at once (exit 4) and
queues nothing.`,
  async run(ctx) {
    const summary = stringOption(ctx, 'summary');
    if (!summary) throw new UsageError('a ticket needs --summary "what is wrong, where"');
    // Jira refuses a summary with a line break: said now, not when the outbox delivers it.
    if (/[\r\n\u2028\u2029]/.test(summary))
      throw new UsageError(
        '--summary is one line (Jira refuses a summary with a line break): keep what is wrong, where, on it, and give the rest with --description',
      );
    const grade = stringOption(ctx, 'grade');
    if (grade !== undefined && !GRADES.includes(grade as (typeof GRADES)[number]))
      throw new UsageError(`--grade must be one of ${GRADES.join(', ')}, not '${grade}'`);
    const asked = stringOption(ctx, 'evidence');
    const noEvidence = Boolean(ctx.options['no-evidence']);
    if (asked && noEvidence)
      throw new UsageError('give --evidence RUNBOOK or --no-evidence, not both');
    const config = await configFor(ctx);
    const runbook = noEvidence ? undefined : (asked ?? defaultEvidenceRunbook(config));
    const evidenceRun = evidenceRunInput(
      ctx,
      runbook,
      noEvidence
        ? '--no-evidence asks for none: drop one of them'
        : `opsbook.yaml's standing: approves no ${DEFAULT_EVIDENCE_RUNBOOK}, the runbook ticket open collects the symptoms with by default; add its standing approval (docs/routine-work.md) or name another with --evidence RUNBOOK, or drop -i/--target to open the ticket without evidence`,
    );
    // Your key names you on the ticket, and signs the evidence run's claim.
    const executorSigner = await executorSignerFor(ctx, 'ticket');
    const services = trackerFor(config);
    const { out } = ctx;
    const stop = interruptibleEvidence(out, evidenceRun.onEvent);
    try {
      const description = stringOption(ctx, 'description');
      const assignee = stringOption(ctx, 'assignee');
      const opened = await openTicket({
        services,
        config,
        executorSigner,
        env: process.env,
        signal: stop.signal,
        stopSignal: stop.stopSignal,
        summary,
        labels: listOption(ctx, 'label'),
        ...(description ? { description } : {}),
        ...(grade ? { grade: grade as (typeof GRADES)[number] } : {}),
        ...(assignee ? { assignee } : {}),
        ...evidenceRun,
        onEvent: stop.onEvent,
      });
      // Ctrl-C stopped the evidence run: the ticket is opened with what it collected, exit 130.
      const code = exitForEvidence(opened.evidence?.outcome);
      if (out.json) {
        out.printJson({
          key: opened.key,
          evidence: opened.evidence
            ? { runId: opened.evidence.outcome.runId, status: opened.evidence.outcome.status }
            : opened.evidenceRefused
              ? { refused: opened.evidenceRefused }
              : null,
          report: opened.report,
        });
        return code;
      }
      const queued = opened.key.startsWith('outbox:');
      if (opened.evidenceRefused) {
        const { runbook: rb, code, message } = opened.evidenceRefused;
        out.note(
          `warning: the evidence run of ${rb} was refused (${code}: ${message}); the ticket is opened without symptoms: once that is fixed, opsbook ticket comment ${queued ? 'KEY' : opened.key} --evidence ${rb} adds them`,
        );
      }
      out.print(
        queued
          ? `the tracker did not answer: the ticket waits in the outbox as ${opened.key}; run opsbook outbox flush later`
          : `opened ${opened.key}${opened.evidence ? ` with evidence from run ${opened.evidence.outcome.runId}` : ''}; ${ticketReportText(opened.report)}`,
      );
      const interrupted = interruptedEvidenceText(opened.evidence?.outcome);
      if (interrupted) out.print(interrupted);
      out.print(
        `next: opsbook ticket propose ${queued ? 'KEY' : opened.key} --runbook RUNBOOK --param NAME=VALUE --target PATTERN --senior ID`,
      );
      return code;
    } finally {
      stop.done();
    }
  },
});
