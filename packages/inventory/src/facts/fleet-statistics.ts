import type {
  FleetStatistics,
  FullFilesystem,
  GroupStatistics,
  HostFacts,
} from './host-facts-schema.js';

export interface FleetStatisticsOptions {
  /** Group name → member host names; the fleet as a whole is always added as `all`. */
  groups?: Readonly<Record<string, readonly string[]>>;
  /** Length of each top list of fullest filesystems (default 5). */
  top?: number;
}

/** Aggregate host facts by group. Pure: the same facts always give the same statistics. */
export function computeFleetStatistics(
  facts: readonly HostFacts[],
  options: FleetStatisticsOptions = {},
): FleetStatistics {
  const top = Math.max(0, Math.trunc(options.top ?? 5));
  const byHost = new Map(facts.map((f) => [f.host, f]));
  const groups: GroupStatistics[] = [summarise('all', facts, top)];
  for (const [name, members] of Object.entries(options.groups ?? {}).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    if (name === 'all') continue;
    const present = members.flatMap((m) => byHost.get(m) ?? []);
    if (present.length > 0) groups.push(summarise(name, present, top));
  }
  return { groups, hosts: [...facts].sort((a, b) => a.host.localeCompare(b.host)) };
}

function summarise(group: string, facts: readonly HostFacts[], top: number): GroupStatistics {
  let cores = 0;
  let memT = 0;
  let memU = 0;
  let swapT = 0;
  let swapU = 0;
  let diskT = 0;
  let diskU = 0;
  let diskA = 0;
  const filesystems: FullFilesystem[] = [];
  for (const f of facts) {
    cores += f.cpu?.cores ?? 0;
    if (f.memory) {
      memT += f.memory.totalKiB;
      memU += f.memory.totalKiB - f.memory.availableKiB;
      swapT += f.memory.swapTotalKiB;
      swapU += f.memory.swapTotalKiB - f.memory.swapFreeKiB;
    }
    for (const fs of f.filesystems) {
      diskT += fs.sizeKiB;
      diskU += fs.usedKiB;
      diskA += fs.availableKiB;
      const { mount, sizeKiB, usedKiB, usedPct } = fs;
      filesystems.push({ host: f.host, mount, sizeKiB, usedKiB, usedPct });
    }
  }
  filesystems.sort(
    (a, b) =>
      b.usedPct - a.usedPct || a.host.localeCompare(b.host) || a.mount.localeCompare(b.mount),
  );
  return {
    group,
    hosts: facts.length,
    hostsWithUnknownFacts: facts.filter((f) => f.unknown.length > 0).length,
    cores,
    memoryTotalKiB: memT,
    memoryUsedKiB: memU,
    memoryUsedPct: share(memU, memT),
    swapTotalKiB: swapT,
    swapUsedKiB: swapU,
    diskTotalKiB: diskT,
    diskUsedKiB: diskU,
    // As df computes Use%: of the space users can have (used + available), so blocks reserved
    // for root count as unavailable and a group reads like the df output of its hosts.
    diskUsedPct: share(diskU, diskU + diskA),
    os: distribution(facts.map((f) => f.os?.prettyName ?? 'unknown')),
    kernels: distribution(facts.map((f) => f.kernel?.release ?? 'unknown')),
    fullestFilesystems: filesystems.slice(0, top),
  };
}

/** Percent with one decimal; null when there is nothing to divide by. */
function share(used: number, total: number): number | null {
  return total > 0 ? Math.round((used * 1000) / total) / 10 : null;
}

function distribution(names: readonly string[]): { name: string; hosts: number }[] {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts]
    .map(([name, hosts]) => ({ name, hosts }))
    .sort((a, b) => b.hosts - a.hosts || a.name.localeCompare(b.name));
}
