import type { RunEvent, RunOutcome, TicketReport } from '@opsbook/runner';
import { exitCodes } from './exit-code.js';
import { formatTable, type Output } from './output.js';

export const exitForRun = {
  ok: exitCodes.ok,
  failed: exitCodes.failed,
  unreachable: exitCodes.unreachable,
  interrupted: exitCodes.interrupted,
} as const;

/** Live progress of a run on stderr: one line per step, hosts that did not end well. */
export function runProgress(out: Output): (e: RunEvent) => void {
  return (e) => {
    if (e.type === 'run-start')
      out.note(
        `run ${e.runId}: ${e.runbook.name} ${e.runbook.version} for ${e.ticket} on ${e.hosts.length} host(s), approved by ${e.approval.signers.map((s) => s.approverId).join(', ')}`,
      );
    else if (e.type === 'step-end') {
      const mark = e.status === 'ok' ? out.style.green('ok') : out.style.red(e.status);
      out.note(
        `[${e.host}] ${e.phase}/${e.step} ${mark} (${(e.durationMs / 1000).toFixed(1)}s)${e.reason ? ` — ${e.reason}` : ''}`,
      );
    } else if (e.type === 'host-end' && e.status !== 'ok')
      out.note(
        out.style.red(
          `[${e.host}] ${e.status}${e.error ? `: ${e.error}` : ''}${e.rolledBack ? ' (rolled back)' : ''}`,
        ),
      );
  };
}

/** One line on what the tracker got: delivered, or waiting in the outbox. */
export function ticketReportText(report: TicketReport): string {
  const waiting = report.pending.length + report.failed.length;
  if (waiting === 0 && !report.error)
    return `${report.ticket} updated (${report.delivered} write(s))`;
  return `${report.ticket}: ${report.delivered} write(s) delivered, ${waiting} kept in the outbox${report.error ? ` (${report.error})` : ''}; they are sent by opsbook outbox flush`;
}

/** The result table of a run, and the journal line. */
export function printRunOutcome(out: Output, outcome: RunOutcome, seconds: number): void {
  const { hosts } = outcome.result;
  out.print(
    formatTable(
      ['HOST', 'STATUS', 'FAILED STEP', 'ROLLED BACK', 'STEPS'],
      hosts.map((h) => [
        h.host,
        h.status,
        h.failedStep ? `${h.failedStep.phase}/${h.failedStep.id}` : '',
        h.rolledBack ? 'yes' : '',
        String(h.steps.length),
      ]),
      out.style,
    ),
  );
  out.print(
    `\nrun ${outcome.runId} ${outcome.status} in ${seconds.toFixed(1)}s; journal ${outcome.journal.path} (${outcome.journal.count} events, head ${outcome.journal.head})`,
  );
  if (outcome.ticket) out.print(`ticket ${ticketReportText(outcome.ticket.end)}`);
}

/** SIGINT stops new work; a second one exits at once. Returns the signal and a cleanup. */
export function interruptible(out: Output): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const onSigint = () => {
    out.note(
      '\ninterrupted: no new step or host will start; running commands finish or time out (Ctrl-C again to stop now)',
    );
    controller.abort();
    process.once('SIGINT', () => process.exit(exitCodes.interrupted));
  };
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, done: () => process.removeListener('SIGINT', onSigint) };
}
