import { parseReportTime } from '@opsbook/health-report';
import { UsageError } from '@opsbook/schema';
import type { RunFilter, RunState } from '@opsbook/state';
import { type CommandContext, listOption, type OptionSpec, stringOption } from './command.js';
import type { configFor } from './context.js';
import { hostsAsked, inventoryGroups } from './host-selection.js';

/** The states a run can be in, as `runs list --status` takes them. */
export const RUN_STATES: readonly RunState[] = [
  'ok',
  'failed',
  'unreachable',
  'interrupted',
  'incomplete',
  'unreadable',
  'missing',
];

/** --since and --until, as `runs list` and `backup list --history` take them. */
export const runTimeOptions = {
  since: {
    type: 'string',
    value: 'WHEN',
    description: 'only runs started since: days back (7d), a UTC day or an ISO time',
  },
  until: {
    type: 'string',
    value: 'WHEN',
    description: 'only runs started before: days back, a UTC day (its end) or an ISO time',
  },
} as const satisfies Record<string, OptionSpec>;

/**
 * The run filter of the command's options: --ticket, --runbook, --status (where the command
 * has them), --since, --until, and the hosts of --host/--group.
 */
export async function runFilterOf(
  ctx: CommandContext,
  config: Awaited<ReturnType<typeof configFor>>,
  now: Date,
): Promise<RunFilter> {
  const status = stringOption(ctx, 'status');
  if (status !== undefined && !RUN_STATES.includes(status as RunState))
    throw new UsageError(
      `--status ${JSON.stringify(status)} is not one of ${RUN_STATES.join(', ')}`,
    );
  const sinceOption = stringOption(ctx, 'since');
  const untilOption = stringOption(ctx, 'until');
  const since = sinceOption ? parseReportTime(sinceOption, now, '--since') : undefined;
  const until = untilOption ? parseReportTime(untilOption, now, '--until') : undefined;
  if (since && until && until < since)
    throw new UsageError(
      `--until ${until.toISOString()} is before --since ${since.toISOString()}: no run can match`,
    );
  const hosts =
    listOption(ctx, 'host').length + listOption(ctx, 'group').length > 0
      ? hostsAsked(ctx, config.inventory ? await inventoryGroups(config) : undefined)
      : undefined;
  return {
    ticket: stringOption(ctx, 'ticket'),
    runbook: stringOption(ctx, 'runbook'),
    status: status as RunState | undefined,
    since,
    until,
    ...(hosts ? { hosts } : {}),
  };
}
