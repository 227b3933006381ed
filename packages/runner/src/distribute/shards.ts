import type { InventoryHost } from '@opsbook/inventory';
import { UsageError } from '@opsbook/schema';

/** Hosts per shard when `--shard-size` is not given: enough to keep a worker's fan-out busy. */
export const DEFAULT_SHARD_SIZE = 50;
/** The inventory variable that names a host's zone; a host without it is in DEFAULT_ZONE. */
export const ZONE_VAR = 'opsbook_zone';
export const DEFAULT_ZONE = 'default';
const ZONE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** A part of a run's hosts that one worker of one zone runs. */
export interface Shard {
  /** 0, 1, … in the order the shards were cut: names the shard in jobs, leases and messages. */
  index: number;
  zone: string;
  hosts: string[];
}

/** A zone name as workers and inventories give it: letters, digits, - and _. */
export function checkZone(zone: string, where: string): string {
  if (!ZONE_NAME.test(zone))
    throw new UsageError(
      `${where}: zone ${JSON.stringify(zone)} is not a zone name: use letters, digits, - and _ (e.g. dc1)`,
    );
  return zone;
}

/** The zone of an inventory host: its `opsbook_zone` variable, else `default`. */
export function zoneOf(
  host: Pick<InventoryHost, 'name' | 'vars'> & Partial<Pick<InventoryHost, 'varOrigins'>>,
): string {
  const value = host.vars[ZONE_VAR];
  if (value === undefined || value === null || value === '') return DEFAULT_ZONE;
  const zone = String(value);
  // A vaulted zone is refused like any other, without showing it (inventory README).
  if (host.varOrigins?.[ZONE_VAR]?.isVaulted && !ZONE_NAME.test(zone))
    throw new UsageError(
      `host ${host.name} (${ZONE_VAR}): zone (a vaulted value) is not a zone name: use letters, digits, - and _ (e.g. dc1)`,
    );
  return checkZone(zone, `host ${host.name} (${ZONE_VAR})`);
}

/**
 * Cuts the hosts into shards: by zone first (zones in the order their first host comes), then
 * into runs of at most `size` hosts, each host in exactly one shard, the plan's order kept.
 */
export function splitIntoShards(
  hosts: readonly { name: string; zone: string }[],
  size: number = DEFAULT_SHARD_SIZE,
): Shard[] {
  if (!Number.isInteger(size) || size < 1)
    throw new UsageError(`--shard-size ${size} is not a positive whole number of hosts`);
  const byZone = new Map<string, string[]>();
  for (const h of hosts) {
    const list = byZone.get(h.zone) ?? [];
    list.push(h.name);
    byZone.set(h.zone, list);
  }
  const shards: Shard[] = [];
  for (const [zone, names] of byZone)
    for (let i = 0; i < names.length; i += size)
      shards.push({ index: shards.length, zone, hosts: names.slice(i, i + size) });
  return shards;
}

/** The graphile-worker task a zone's workers take, and only they: routing is by task name. */
export function shardTask(zone: string): string {
  return `opsbook.shard.${zone}`;
}

/** The lease (a session lock in the database) the worker running a shard holds while it does. */
export function shardLease(runId: string, index: number): string {
  return `opsbook run ${runId} shard ${index}`;
}

// The lease the submitter holds while it follows the run: the state store names it, since
// `runs list` reads it to tell a running distributed run from one whose submitter died.
export { submitterLease } from '@opsbook/state';

/** The graphile-worker job key of a shard: one job per shard of a run. */
export function shardJobKey(runId: string, index: number): string {
  return `opsbook:${runId}:${index}`;
}
