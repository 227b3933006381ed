import { loadRunInventory } from '@opsbook/runner';
import { UsageError } from '@opsbook/schema';
import { type CommandContext, listOption, type OptionSpec } from './command.js';
import type { configFor } from './context.js';

/** --host and --group, as `report` and `runs list` take them. */
export const hostSelectionOptions = {
  host: {
    type: 'string',
    multiple: true,
    value: 'NAME',
    description: 'only this host (repeat, or a comma-separated list)',
  },
  group: {
    type: 'string',
    multiple: true,
    value: 'GROUP',
    description: "only the inventory group's hosts (repeat, or a comma-separated list)",
  },
} as const satisfies Record<string, OptionSpec>;

/** host → groups from the configured inventory. */
export async function inventoryGroups(
  config: Awaited<ReturnType<typeof configFor>>,
): Promise<Record<string, string[]>> {
  const inventory = await loadRunInventory(config);
  return Object.fromEntries(
    inventory.hosts.map((h) => [h.name, h.groups.filter((g) => g !== 'ungrouped')]),
  );
}

/** The hosts --host and --group ask for; undefined when neither is given (every host). */
export function hostsAsked(
  ctx: CommandContext,
  inventory: Record<string, string[]> | undefined,
): string[] | undefined {
  const split = (name: string) =>
    listOption(ctx, name)
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter((v) => v !== '');
  const hosts = split('host');
  const groups = split('group');
  if (hosts.length === 0 && groups.length === 0) return undefined;
  if (groups.length > 0) {
    if (!inventory) {
      throw new UsageError(
        '--group needs an inventory: set inventory in opsbook.yaml, or name hosts with --host',
      );
    }
    const known = new Set(Object.values(inventory).flat());
    const unknown = groups.filter((g) => !known.has(g));
    if (unknown.length > 0) {
      throw new UsageError(
        `no group ${unknown.map((g) => JSON.stringify(g)).join(', ')} in the inventory; its groups: ${[...known].sort().join(', ') || 'none'}`,
      );
    }
    for (const [host, of] of Object.entries(inventory))
      if (of.some((g) => groups.includes(g))) hosts.push(host);
  }
  return [...new Set(hosts)];
}
