import type { RunEvent, RunOutcome } from '@opsbook/runner';
import { UsageError } from '@opsbook/schema';
import { type CommandContext, type OptionSpec, stringOption } from '../command.js';
import { exitCodes } from '../exit-code.js';
import type { Output } from '../output.js';
import { hostOutputPrinter, interruptible, runProgress } from '../run-view.js';
import { runningStepsOf } from '../running-steps.js';

/**
 * -i, --target and -q of an evidence run (a routine runbook under its standing approval), as
 * `ticket open` and `ticket comment` take them beside their own --evidence.
 */
export const evidenceRunOptions = {
  inventory: {
    type: 'string',
    short: 'i',
    value: 'FILE',
    description: 'inventory for the evidence run',
  },
  target: {
    type: 'string',
    value: 'PATTERN',
    description: "must equal the standing approval's selector",
  },
  quiet: { type: 'boolean', short: 'q', description: 'no command output while collecting' },
} as const satisfies Record<string, OptionSpec>;

/**
 * What an evidence run of `runbook` (if any) takes from those options, and its progress; -i and
 * --target without a runbook are a usage mistake.
 */
export function evidenceRunInput(
  ctx: CommandContext,
  runbook: string | undefined,
  /** Why there is no evidence run, when the command would otherwise have made one. */
  whyNone?: string,
) {
  const inventoryFile = stringOption(ctx, 'inventory');
  const target = stringOption(ctx, 'target');
  if (!runbook && (target || inventoryFile))
    throw new UsageError(
      whyNone
        ? `${target ? '--target' : '-i/--inventory'} chooses the hosts of an evidence run, and there is none: ${whyNone}`
        : '--target and --inventory go with --evidence RUNBOOK',
    );
  return {
    ...(inventoryFile ? { inventoryFile } : {}),
    ...(runbook ? { evidence: { runbook, ...(target ? { target } : {}) } } : {}),
    onEvent: runProgress(ctx.out),
    ...(ctx.options.quiet ? {} : { onOutput: hostOutputPrinter(ctx.out, { raw: false }) }),
  };
}

/**
 * Ctrl-C during an evidence run, as during `opsbook run`: the first stops new work and lets
 * running commands end, a second kills them and the run is recorded as interrupted (a third, or
 * 15 s, exits at once). Returns the signals and the event handler for the run, and `done` to call
 * at the end.
 */
export function interruptibleEvidence(
  out: Output,
  onEvent: (event: RunEvent) => void,
): {
  signal: AbortSignal;
  stopSignal: AbortSignal;
  onEvent: (event: RunEvent) => void;
  done(): void;
} {
  const runningSteps = runningStepsOf();
  const stop = interruptible(out, { stopsCommands: true, runningSteps: runningSteps.list });
  let started: { runId: string; ticket?: string } | undefined;
  return {
    signal: stop.signal,
    stopSignal: stop.stopSignal,
    onEvent: (event) => {
      runningSteps.onEvent(event);
      if (event.type === 'run-start') started = { runId: event.runId, ticket: event.ticket };
      // Journaled: from here a second Ctrl-C leaves a run that has ended, not an incomplete one.
      if (event.type === 'run-end' && started) stop.ended(started);
      onEvent(event);
    },
    done: stop.done,
  };
}

/** 130 when Ctrl-C stopped the evidence run (the ticket still got what it had collected), else 0. */
export function exitForEvidence(outcome: Pick<RunOutcome, 'status'> | undefined): number {
  return outcome?.status === 'interrupted' ? exitCodes.interrupted : exitCodes.ok;
}

/** What the engineer is told of an evidence run Ctrl-C stopped; undefined for any other. */
export function interruptedEvidenceText(
  outcome: Pick<RunOutcome, 'status' | 'runId'> | undefined,
): string | undefined {
  if (outcome?.status !== 'interrupted') return undefined;
  return `the evidence run ${outcome.runId} was interrupted: the ticket holds what it collected before (opsbook runs show ${outcome.runId} lists each step); add more with opsbook ticket comment KEY --evidence RUNBOOK`;
}
