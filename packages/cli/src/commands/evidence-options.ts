import { UsageError } from '@opsbook/schema';
import { type CommandContext, type OptionSpec, stringOption } from '../command.js';
import { hostOutputPrinter, runProgress } from '../run-view.js';

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
