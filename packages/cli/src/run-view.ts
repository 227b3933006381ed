import { MAX_LINE_LENGTH } from '@opsbook/exec';
import {
  findingCountsText,
  type RunEvent,
  type RunOutcome,
  routeText,
  type TicketReport,
} from '@opsbook/runner';
import { exitCodes } from './exit-code.js';
import { interruptedRunNextText } from './interrupted-run-next.js';
import { formatTable, type Output } from './output.js';
import type { LiveStatus } from './progress/live-status.js';
import { startTally, tallyEvent } from './progress/run-tally.js';
import { statusText } from './progress/status-text.js';
import { showControls, showControlsIn } from './terminal-safe.js';

/** How a run is shown while it runs: the event and output handlers, and the Output for notes. */
export interface RunView {
  /** Where notes go during the run (on a terminal: above the live status). */
  out: Output;
  onEvent(event: RunEvent): void;
  onOutput?: (host: string, stream: 'stdout' | 'stderr', line: string, cut: boolean) => void;
  /** Ends the live status, leaving its last state on screen: call before the outcome prints. */
  close(): void;
}

/**
 * The view of a run: on a terminal, a status block redrawn in place (hosts done, failed, running
 * and waiting, the steps they are in, elapsed, ETA) with step results and command output written
 * above it; elsewhere, with --json, or with --raw (whose escape sequences could move the cursor
 * under the block), the plain lines of `runProgress` and `hostOutputPrinter`.
 */
export async function openRunView(
  out: Output,
  options: { raw: boolean; quiet: boolean },
): Promise<RunView> {
  const isLive =
    !out.json && !options.raw && Boolean(process.stderr.isTTY) && process.env.TERM !== 'dumb';
  const printerOf = (o: Output) =>
    options.quiet ? {} : { onOutput: hostOutputPrinter(o, { raw: options.raw }) };
  if (!isLive) return { out, onEvent: runProgress(out), ...printerOf(out), close: () => {} };
  // Loaded only on a terminal: a piped or --json run never imports the terminal code.
  const { startLiveStatus } = await import('./progress/live-status.js');
  let tally = startTally(Date.now());
  // Drawn from run-start on: a run refused before it starts shows its error alone.
  let status: LiveStatus | undefined;
  const liveOut: Output = {
    ...out,
    note: (text) => (status ? status.above(() => out.note(text)) : out.note(text)),
    noteRaw: (text) => (status ? status.above(() => out.noteRaw(text)) : out.noteRaw(text)),
  };
  const printLines = runProgress(liveOut);
  return {
    out: liveOut,
    onEvent(event) {
      tally = tallyEvent(tally, event, Date.now());
      status ??= startLiveStatus(process.stderr, (columns) =>
        statusText(tally, Date.now(), out.style, columns),
      );
      printLines(event);
      status.redraw();
    },
    ...printerOf(liveOut),
    close: () => status?.stop(),
  };
}

/** Live progress of a run on stderr: one line per step, hosts that did not end well. */
export function runProgress(out: Output): (e: RunEvent) => void {
  return (event) => {
    // Only what is printed is made terminal-safe: not the 2 + 2 × steps events of every host.
    const shown =
      event.type === 'run-start' ||
      event.type === 'host-key-accepted' ||
      (event.type === 'host-route' && event.fromSshConfig.length > 0) ||
      event.type === 'step-end' ||
      event.type === 'shard-returned' ||
      (event.type === 'host-end' && event.status !== 'ok');
    if (!shown) return;
    // And of those, only the fields printed: a step-end carries up to 64 KiB of each stream.
    if (event.type === 'run-start') {
      const e = showControlsIn(event);
      out.note(
        `run ${e.runId}${e.retryOf ? ` (retry of ${e.retryOf})` : ''}: ${e.runbook.name} ${e.runbook.version} for ${e.ticket} on ${e.hosts.length} host(s), approved by ${e.approval.signers.map((s) => s.approverId).join(', ')}`,
      );
    } else if (event.type === 'host-key-accepted') {
      out.note(hostKeyAcceptedText(event));
    } else if (event.type === 'host-route') {
      out.note(hostRouteText(event));
    } else if (event.type === 'shard-returned') {
      out.note(`[${showControls(event.hosts.join(', '))}] ${showControls(event.reason)}`);
    } else if (event.type === 'step-end') {
      const e = showControlsIn({
        host: event.host,
        phase: event.phase,
        step: event.step,
        status: event.status,
        reason: event.reason,
      });
      const mark = e.status === 'ok' ? out.style.green('ok') : out.style.red(e.status);
      out.note(
        `[${e.host}] ${e.phase}/${e.step} ${mark} (${(event.durationMs / 1000).toFixed(1)}s)${e.reason ? ` — ${e.reason}` : ''}`,
      );
    } else if (event.type === 'host-end' && event.status !== 'ok') {
      const e = showControlsIn({ host: event.host, status: event.status, error: event.error });
      out.note(
        out.style.red(
          `[${e.host}] ${e.status}${e.error ? `: ${e.error}` : ''}${event.rolledBack ? ' (rolled back)' : ''}`,
        ),
      );
    }
  };
}

/** What a run and a worker say of a host key taken as new (`--accept-new-host-keys`). */
export function hostKeyAcceptedText(
  event: Extract<RunEvent, { type: 'host-key-accepted' }>,
): string {
  const e = showControlsIn(event);
  return `[${e.host}] accepted new host key ${e.fingerprint} (${e.keyType}) of ${e.address} port ${e.port}, added to ${e.knownHostsFile}`;
}

/** What a run and a worker say of a host whose port or user ~/.ssh/config chose, not the plan. */
export function hostRouteText(event: Extract<RunEvent, { type: 'host-route' }>): string {
  const e = showControlsIn(event);
  const what = e.destination ? `copy destination ${e.destination} ` : '';
  return `[${e.host}] reached ${what}as ${routeText(e)}: ${e.fromSshConfig.join(', ')} from ~/.ssh/config, not in the approved plan`;
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
  const { ticket, delivered, pending, failed, error, warnings } = showControlsIn(report);
  const waiting = pending.length + failed.length;
  const warned = (warnings ?? []).map((w) => `\nwarning: ${w}`).join('');
  if (report.blockedBy?.length) return blockedReportText(showControlsIn(report)) + warned;
  if (waiting === 0 && !error) return `${ticket} updated (${delivered} write(s))${warned}`;
  // Nothing queued: a flush would have nothing to send, so say what does report the run.
  if (waiting === 0)
    return `${ticket} was not told how the run ended (${error}): opsbook ticket report ${ticket} reports it${warned}`;
  // A write the tracker refused for good is sent again only when asked: plain flush leaves it.
  const send =
    failed.length === 0
      ? 'they are sent by opsbook outbox flush'
      : `${failed.length} of them refused by the tracker for good: fix what opsbook outbox list says, then opsbook outbox flush --retry-failed (or opsbook outbox drop one to go on without it)`;
  return `${ticket}: ${delivered} write(s) delivered, ${waiting} kept in the outbox${error ? ` (${error})` : ''}; ${send}${warned}`;
}

/**
 * Writes kept behind a damaged outbox entry, which nothing goes out past: which wait, what the
 * ticket shows meanwhile, and what to do (the entry's own message says how to deal with it).
 */
function blockedReportText(report: TicketReport): string {
  const { ticket, pending, failed, blockedBy = [], shownStatus } = report;
  const waiting = [...pending, ...failed];
  const kinds = waiting.map((e) =>
    e.write.kind === 'transition' ? `transition → ${e.write.status}` : e.write.kind,
  );
  const shows = shownStatus
    ? `still shows "${shownStatus}"`
    : 'still shows what it showed before these writes';
  const writes = waiting.length
    ? `${waiting.length} write(s) to it wait in the outbox (${kinds.join(', ')})`
    : 'its writes could not be queued';
  const entries = blockedBy.map((d) => d.message).join('; ');
  return `${ticket} was not told: it ${shows}, as ${writes} behind ${blockedBy.length} damaged outbox entry(ies) that the outbox sends nothing past: ${entries}. Once dealt with, opsbook outbox flush sends them (opsbook doctor checks the outbox)`;
}

/**
 * The result of a run: a table of the hosts that did not end ok (every host with `verbose`), a
 * line on how many did, and the journal line. Fifty hosts of which one failed show that one.
 */
export function printRunOutcome(
  out: Output,
  outcome: RunOutcome,
  seconds: number,
  options: { verbose: boolean; findings?: Record<string, number>; quiet?: boolean } = {
    verbose: false,
  },
): void {
  const all = showControlsIn(outcome.result.hosts);
  const hosts = options.verbose ? all : all.filter((h) => h.status !== 'ok');
  const okCount = all.filter((h) => h.status === 'ok').length;
  if (hosts.length)
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
    `${hosts.length ? '\n' : ''}${okCount} of ${all.length} host(s) ok${okCount && !options.verbose ? ' (--verbose lists them too)' : ''}`,
  );
  const stopped = stoppedByFailuresText(outcome);
  if (stopped) out.print(stopped);
  out.print(
    `run ${outcome.runId}${outcome.retryOf ? ` (retry of ${outcome.retryOf})` : ''} ${outcome.status} in ${seconds.toFixed(1)}s; journal ${outcome.journal.location} (${outcome.journal.count} events, head ${outcome.journal.head})`,
  );
  const counts = findingCountsText(options.findings ?? {});
  if (counts)
    out.print(
      `inspection findings: ${showControls(counts)} (${options.quiet ? "those not ok are in the ticket's comment; without --quiet they are also listed as each step ends" : "those not ok are listed above, as each step ended, and in the ticket's comment"})`,
    );
  const use = approvalUseText(outcome);
  if (use) out.print(use);
  if (outcome.ticket) out.print(`ticket ${ticketReportText(outcome.ticket.end)}`);
  const end = outcome.ticket?.end;
  const interrupted = interruptedRunNextText(outcome);
  if (interrupted) out.print(interrupted);
  // Only once the move is delivered: a write still in the outbox has not moved the ticket yet.
  else if (end?.movedTo && end.pending.length === 0 && end.failed.length === 0 && !end.error)
    out.print(
      `next: ${end.ticket} is ${end.movedTo}: a senior who did not sign it checks the run and closes it: opsbook ticket accept ${end.ticket} --key ~/.ssh/id_ed25519 (or --agent)`,
    );
}

/** Why hosts were not started, when it was maxFailures (not an interruption). */
export function stoppedByFailuresText(
  outcome: Pick<RunOutcome, 'result'> & { verified: { plan: { maxFailures: number } } },
): string | undefined {
  const { hosts, stoppedByFailures, interrupted } = outcome.result;
  const notStarted = hosts.filter((h) => h.status === 'not-started').length;
  if (!stoppedByFailures || interrupted || notStarted === 0) return undefined;
  const failed = hosts.filter((h) => h.status === 'failed' || h.status === 'unreachable').length;
  return `${notStarted} host(s) not started: ${failed} host(s) failed, more than the runbook's maxFailures (${outcome.verified.plan.maxFailures}) tolerates`;
}

/** What the run did to its approval's runs, when there is something to say. */
export function approvalUseText(outcome: RunOutcome): string | undefined {
  const { used, runsLeft } = outcome.approvalUse;
  const left = `${runsLeft} run(s) of the approval left`;
  if (!used)
    return `no host was reached (no step started): this run did not use the approval (${left}); run it again once the hosts can be reached`;
  if (outcome.status === 'ok') return undefined;
  // Interrupted after every host had ended ok (a distributed run's workers finished theirs).
  if (outcome.result.hosts.every((h) => h.status === 'ok')) return undefined;
  if (runsLeft === 0)
    return 'no run of the approval left: --retry-failed would be refused (RUNS_EXHAUSTED); ask a senior for a new approval of the hosts that did not end ok';
  return `${left}: retry the hosts that did not end ok with --retry-failed ${outcome.runId}`;
}

/**
 * What a first Ctrl-C waits for: the steps still running, and what bounds the wait. A host that
 * stops answering (a frozen machine) ends neither its command nor its timeout's kill: the wait
 * ends when its SSH keepalive gives up on it (15 s × 3 unanswered, about a minute).
 */
export function waitingText(running: readonly string[]): string {
  if (running.length === 0) return '';
  const shown = running.slice(0, 5).join(', ');
  const more = running.length > 5 ? ` and ${running.length - 5} more` : '';
  return `\nwaiting for ${shown}${more}: each ends by itself or by its step's timeout; a host that is not answering is given up after about a minute without an SSH keepalive reply, its step's outcome then unknown (check that host before running again)`;
}

/** How long a second Ctrl-C waits for the killed commands and the run's end before exiting. */
const STOP_NOW_MS = 15_000;

/**
 * Ctrl-C (SIGINT) stops new work, and so does SIGTERM (a service stop, a CI timeout): running
 * commands finish or time out, and the run ends recorded as interrupted, its ticket told. A
 * second one exits at once; with `stopsCommands`, it first aborts `stopSignal`, which the caller
 * gives the run: the commands still running are killed and journaled as stopped, and the run
 * ends interrupted, unless a third one (or STOP_NOW_MS going by) exits at once. SIGHUP (the
 * terminal or the ssh session to the runner machine gone) does not stop the run: it goes on to
 * its end and records it, as under nohup, its output going nowhere. Returns the signal and a cleanup.
 */
export function interruptible(
  out: Output,
  options: {
    /**
     * The run's hosts are run by workers (--distribute): Ctrl-C withdraws the shards no worker
     * took, the workers finish theirs, and a second one stops only this process's waiting.
     */
    distributed?: boolean;
    /** The caller passes `stopSignal` to its run (runApproved's `stopSignal`). */
    stopsCommands?: boolean;
    /** The steps running now (`host phase/step`), for the first Ctrl-C to say what it waits for. */
    runningSteps?: () => string[];
  } = {},
): {
  signal: AbortSignal;
  /** Aborted by a second Ctrl-C (with `stopsCommands`), its reason the words the journal keeps. */
  stopSignal: AbortSignal;
  done(): void;
  /**
   * The run's end is in its journal (its run-end event): from now on Ctrl-C stops only its
   * records and its ticket's end writes, and must not say that the run stays incomplete.
   */
  ended(run: { runId: string; ticket?: string | undefined }): void;
} {
  const controller = new AbortController();
  const stopController = new AbortController();
  const signals = ['SIGINT', 'SIGTERM'] as const;
  let endedRun: { runId: string; ticket?: string | undefined } | undefined;
  let deadline: NodeJS.Timeout | undefined;
  const now = () => {
    out.note(
      endedRun
        ? `stopped now: run ${endedRun.runId} had ended, its end is in its journal (opsbook runs show ${endedRun.runId})${endedRun.ticket ? `; what its ticket ${endedRun.ticket} was not told yet waits in this machine's outbox, or was not queued yet: opsbook ticket report ${endedRun.ticket} sends or reports it` : ''}`
        : options.distributed
          ? 'stopped waiting: the workers finish the shards they run on their own (their steps go on; opsbook worker stops a worker), and this run stays incomplete, with no end in its journal: opsbook runs list shows it, opsbook runs show <run> what had run; a senior sends its ticket back with opsbook ticket reject'
          : 'stopped now: commands still running on hosts are killed as this process ends (their lifeline; a host that is not answering acts on it only once it answers again: check it before running again), and this run stays incomplete, with no end in its journal: opsbook runs list shows it, opsbook runs show <run> what had started; a senior sends its ticket back with opsbook ticket reject',
    );
    process.exit(exitCodes.interrupted);
  };
  // The second signal kills what still runs and lets the run record its end, bounded in time.
  const second = (name: NodeJS.Signals) => {
    for (const s of signals) process.removeListener(s, second);
    if (endedRun || options.distributed || !options.stopsCommands) return now();
    for (const s of signals) process.once(s, now);
    out.note(
      'stopping now: the commands still running are killed and the run is recorded as interrupted (Ctrl-C again to exit at once, leaving it incomplete)',
    );
    stopController.abort(`stopped by a second ${name === 'SIGINT' ? 'Ctrl-C' : name}`);
    // A host that does not confirm the kill, or a journal that does not take the end, must not
    // keep the engineer waiting: past this, exit as a third Ctrl-C would.
    deadline = setTimeout(now, STOP_NOW_MS).unref();
  };
  const first = (name: NodeJS.Signals) => {
    for (const s of signals) process.removeListener(s, first);
    out.note(
      endedRun
        ? `\ninterrupted${name === 'SIGINT' ? '' : ` (${name})`}: run ${endedRun.runId} has ended; its records and its ticket's end writes are being finished (Ctrl-C again to stop now)`
        : options.distributed
          ? `\ninterrupted${name === 'SIGINT' ? '' : ` (${name})`}: the shards no worker has taken are withdrawn; the workers finish the shards they run, their later steps included, and the run ends when they have (Ctrl-C again to stop waiting)`
          : `\ninterrupted${name === 'SIGINT' ? '' : ` (${name})`}: no new step or host will start; running commands finish or time out (Ctrl-C again to stop now)${waitingText(options.runningSteps?.() ?? [])}`,
    );
    controller.abort();
    for (const s of signals) process.once(s, second);
  };
  const hangUp = () => {};
  for (const s of signals) process.once(s, first);
  process.on('SIGHUP', hangUp);
  return {
    signal: controller.signal,
    stopSignal: stopController.signal,
    done: () => {
      clearTimeout(deadline);
      for (const s of signals) process.removeListener(s, first);
      process.removeListener('SIGHUP', hangUp);
    },
    ended: (run) => {
      endedRun = run;
    },
  };
}
