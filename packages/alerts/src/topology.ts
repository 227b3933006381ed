import type { Inventory, InventoryHost } from '@opsbook/inventory';

/**
 * What the inventory says about the hosts alerts name: which inventory host a label means, its
 * groups and variables, and which hosts run a service (the host variable alerts.yaml's
 * `servicesVar` names, a list or a comma-separated string). Without an inventory every host is
 * only its label's value, with no groups.
 */
export interface Topology {
  /** The inventory host a label value names (name, ansible_host, or short name), else the value. */
  hostNamed(value: string): string;
  /** Whether the inventory knows the host. */
  isKnown(host: string): boolean;
  groupsOf(host: string): readonly string[];
  varOf(host: string, name: string): string | undefined;
  /** The hosts that run `service`, sorted. */
  hostsRunning(service: string): readonly string[];
}

/** A label value without its port: `web-01:9100` → `web-01`, `[::1]:9100` → `::1`. */
export function withoutPort(value: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed) return bracketed[1]!;
  const colons = value.split(':').length - 1;
  return colons === 1 ? value.replace(/:\d+$/, '') : value;
}

function servicesOf(host: InventoryHost, servicesVar: string): string[] {
  const value = host.vars[servicesVar];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return [];
}

export function topologyOf(inventory: Inventory | undefined, servicesVar: string): Topology {
  const byName = new Map<string, InventoryHost>();
  const byAlias = new Map<string, string>();
  const running = new Map<string, string[]>();
  for (const host of inventory?.hosts ?? []) {
    byName.set(host.name, host);
    const address = host.vars.ansible_host;
    if (typeof address === 'string' && !byAlias.has(address)) byAlias.set(address, host.name);
    const short = host.name.split('.')[0]!;
    if (short !== host.name && !byAlias.has(short)) byAlias.set(short, host.name);
    for (const service of servicesOf(host, servicesVar)) {
      const list = running.get(service) ?? [];
      list.push(host.name);
      running.set(service, list);
    }
  }
  for (const list of running.values()) list.sort();
  return {
    hostNamed(value) {
      const bare = withoutPort(value);
      if (byName.has(bare)) return bare;
      return byAlias.get(bare) ?? byAlias.get(bare.split('.')[0]!) ?? bare;
    },
    isKnown: (host) => byName.has(host),
    groupsOf: (host) => byName.get(host)?.groups ?? [],
    varOf(host, name) {
      const value = byName.get(host)?.vars[name];
      return value === undefined || value === null ? undefined : String(value);
    },
    hostsRunning: (service) => running.get(service) ?? [],
  };
}
