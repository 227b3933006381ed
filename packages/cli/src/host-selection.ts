import path from 'node:path';
import { type Inventory, selectHosts } from '@opsbook/inventory';
import { loadRunInventory } from '@opsbook/runner';
import { UsageError } from '@opsbook/schema';
import { type CommandContext, listOption, type OptionSpec, stringOption } from './command.js';
import type { configFor } from './context.js';

type Config = Awaited<ReturnType<typeof configFor>>;

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
export async function inventoryGroups(config: Config): Promise<Record<string, string[]>> {
  return groupsOf(await loadRunInventory(config));
}

/** host → its groups (but `ungrouped`) in `inventory`. */
export function groupsOf(inventory: Inventory): Record<string, string[]> {
  return Object.fromEntries(
    inventory.hosts.map((h) => [h.name, h.groups.filter((g) => g !== 'ungrouped')]),
  );
}

/** -i, --limit and --all-hosts, as `report` takes them beside --host and --group. */
export const inventoryScopeOptions = {
  inventory: {
    type: 'string',
    short: 'i',
    value: 'FILE',
    description: 'report only the hosts of this inventory (default: the inventory of opsbook.yaml)',
  },
  limit: {
    type: 'string',
    value: 'PATTERN',
    description:
      "only the inventory's hosts this Ansible pattern selects (web:&prod, db-*, all:!old)",
  },
  'all-hosts': {
    type: 'boolean',
    description:
      'every host in the history, also those not in the inventory (removed hosts, test runs)',
  },
} as const satisfies Record<string, OptionSpec>;

/** The hosts a command covers, and how they were chosen (said in its output). */
export interface HostScope {
  /** host → its inventory groups; undefined without an inventory. */
  groups?: Record<string, string[]>;
  /** Only these hosts; undefined: every host in the history. */
  selection?: { description: string; hosts: string[] };
}

/**
 * The hosts of the inventory (-i FILE, else opsbook.yaml's, as `run` and `inspect` choose it;
 * without either, every host in the history), narrowed by --limit (an Ansible pattern, chosen
 * by the same selectHosts as a plan's --target), then by --host and --group (either of them).
 * --all-hosts drops the inventory's bound, keeping its groups.
 */
export async function inventoryScope(ctx: CommandContext, config: Config): Promise<HostScope> {
  const file = stringOption(ctx, 'inventory');
  const limit = stringOption(ctx, 'limit');
  const allHosts = ctx.options['all-hosts'] === true;
  if (limit !== undefined && allHosts) {
    throw new UsageError(
      '--limit selects hosts of the inventory and --all-hosts takes every host in the history: give one of them',
    );
  }
  const source = file ?? config.inventory;
  if (source === undefined) {
    if (limit !== undefined) {
      throw new UsageError(
        '--limit needs an inventory: give -i FILE, or set inventory in opsbook.yaml',
      );
    }
    const hosts = hostsAsked(ctx, undefined);
    return hosts ? { selection: { description: askedWords(ctx), hosts } } : {};
  }
  const inventory = await loadRunInventory(config, file);
  const groups = groupsOf(inventory);
  const asked = hostsAsked(ctx, groups);
  if (allHosts) {
    return {
      groups,
      ...(asked ? { selection: { description: askedWords(ctx), hosts: asked } } : {}),
    };
  }
  const bound = (limit === undefined ? inventory.hosts : selectHosts(inventory, limit)).map(
    (h) => h.name,
  );
  const words = [
    `inventory ${shownPath(source)}`,
    ...(limit === undefined ? [] : [`--limit ${limit}`]),
  ];
  if (!asked) return { groups, selection: { description: words.join(' '), hosts: bound } };
  const missing = asked.filter((h) => !(h in groups));
  if (missing.length > 0) {
    throw new UsageError(
      `--host ${missing.join(', ')}: not in ${words[0]}; to report hosts outside it add --all-hosts`,
    );
  }
  const inBound = new Set(bound);
  const hosts = asked.filter((h) => inBound.has(h));
  if (hosts.length === 0) {
    throw new UsageError(
      `no host of ${askedWords(ctx)} is among the hosts of ${words.join(' ')}: nothing to report`,
    );
  }
  return { groups, selection: { description: [...words, askedWords(ctx)].join(' '), hosts } };
}

/** "--host web-1 --group db", as given. */
function askedWords(ctx: CommandContext): string {
  return (['host', 'group'] as const)
    .flatMap((name) => listOption(ctx, name).map((v) => `--${name} ${v}`))
    .join(' ');
}

function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
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
        '--group needs an inventory: give -i FILE, set inventory in opsbook.yaml, or name hosts with --host',
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
