import { MAX_LINE_LENGTH } from '@opsbook/exec';
import type { RunEvent, RunOutcome, TicketReport } from '@opsbook/runner';
import { exitCodes } from './exit-code.js';
import { formatTable, type Output } from './output.js';
import { showControls, showControlsIn } from './terminal-safe.js';

/** Live progress of a run on stderr: one line per step, hosts that did not end well. */
export function runProgress(out: Output): (e: RunEvent) => void {
  return (event) => {
    const e = showControlsIn(event);
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

/**
 * The live output of a run on stderr, one line per output line with its host in front: control
 * characters made visible (as-is with `raw`), a line cut at MAX_LINE_LENGTH marked so.
 */
export function hostOutputPrinter(
  out: Output,
  options: { raw: boolean },
): (host: string, stream: 'stdout' | 'stderr', line: string, cut: boolean) => void {
  const cutMark = out.style.dim(` … [line cut: longer than ${MAX_LINE_LENGTH} characters]`);
  return (host, _stream, line, cut) => {
    const text = `${out.style.dim(`${showControls(host)} | `)}${options.raw ? line : showControls(line)}${cut ? cutMark : ''}`;
    if (options.raw) out.noteRaw(text);
    else out.note(text);
  };
}

/** One line on what the tracker got: delivered, or waiting in the outbox. */
export function ticketReportText(report: TicketReport): string {
  // The tracker's error text is not ours.
  const { ticket, delivered, pending, failed, error } = showControlsIn(report);
  const waiting = pending.length + failed.length;
  if (waiting === 0 && !error) return `${ticket} updated (${delivered} write(s))`;
  return `${ticket}: ${delivered} write(s) delivered, ${waiting} kept in the outbox${error ? ` (${error})` : ''}; they are sent by opsbook outbox flush`;
}

/** The result table of a run, and the journal line. */
export function printRunOutcome(out: Output, outcome: RunOutcome, seconds: number): void {
  const hosts = showControlsIn(outcome.result.hosts);
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
    `\nrun ${outcome.runId} ${outcome.status} in ${seconds.toFixed(1)}s; journal ${outcome.journal.location} (${outcome.journal.count} events, head ${outcome.journal.head})`,
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
