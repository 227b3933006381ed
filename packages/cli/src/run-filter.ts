import { parseReportTime } from '@opsbook/health-report';
import { selectHosts } from '@opsbook/inventory';
import { loadRunInventory } from '@opsbook/runner';
import { UsageError } from '@opsbook/schema';
import type { RunFilter, RunState } from '@opsbook/state';
import { type CommandContext, listOption, type OptionSpec, stringOption } from './command.js';
import type { configFor } from './context.js';
import { groupsOf, hostsAsked, inventoryGroups } from './host-selection.js';

/** The states a run can be in, as `runs list --status` takes them. */
export const RUN_STATES: readonly RunState[] = [
  'ok',
  'failed',
  'unreachable',
  'interrupted',
  'running',
  'incomplete',
  'unreadable',
  'missing',
  'tampered',
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
 * -i and --target, as `runs list` and `backup list --history` take them beside --host/--group
 * (`--target` as `plan --target` names hosts; `runs list --limit` is a count of runs).
 */
export const runInventoryOptions = {
  inventory: {
    type: 'string',
    short: 'i',
    value: 'FILE',
    description: 'only runs that touched a host of this inventory (--group uses its groups)',
  },
  target: {
    type: 'string',
    value: 'PATTERN',
    description:
      "only runs that touched a host this Ansible pattern selects in the inventory (-i, else opsbook.yaml's)",
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
  const hosts = await hostsOf(ctx, config);
  return {
    ticket: stringOption(ctx, 'ticket'),
    runbook: stringOption(ctx, 'runbook'),
    status: status as RunState | undefined,
    since,
    until,
    ...(hosts ? { hosts } : {}),
  };
}

/**
 * The hosts a run must have touched: those of -i FILE / --target PATTERN (an Ansible pattern over
 * that inventory, else opsbook.yaml's), narrowed by --host/--group; undefined when none is given.
 */
async function hostsOf(
  ctx: CommandContext,
  config: Awaited<ReturnType<typeof configFor>>,
): Promise<string[] | undefined> {
  const file = stringOption(ctx, 'inventory');
  const pattern = stringOption(ctx, 'target');
  const asksHosts = listOption(ctx, 'host').length + listOption(ctx, 'group').length > 0;
  if (file === undefined && pattern === undefined)
    return asksHosts
      ? hostsAsked(ctx, config.inventory ? await inventoryGroups(config) : undefined)
      : undefined;
  if (file === undefined && config.inventory === undefined)
    throw new UsageError(
      '--target needs an inventory: give -i FILE, or set inventory in opsbook.yaml',
    );
  const inventory = await loadRunInventory(config, file);
  const bound = (pattern === undefined ? inventory.hosts : selectHosts(inventory, pattern)).map(
    (h) => h.name,
  );
  if (!asksHosts) return bound;
  const inBound = new Set(bound);
  return (hostsAsked(ctx, groupsOf(inventory)) ?? []).filter((h) => inBound.has(h));
}
