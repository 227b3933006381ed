import { describe, expect, it } from 'vitest';
import { computeFleetStatistics } from './fleet-statistics.js';
import type { HostFacts } from './host-facts-schema.js';
import { renderFleetStatisticsCsv, renderFleetStatisticsTable } from './render-fleet-statistics.js';

function host(name: string, os: string, kernel: string, fs: [string, number, number][]): HostFacts {
  return {
    host: name,
    os: { id: os.toLowerCase(), name: os, versionId: null, prettyName: os },
    kernel: { name: 'Linux', release: kernel, machine: 'x86_64' },
    cpu: { model: 'cpu', cores: 4 },
    memory: { totalKiB: 1000, availableKiB: 250, swapTotalKiB: 100, swapFreeKiB: 100 },
    filesystems: fs.map(([mount, size, used]) => ({
      filesystem: `/dev/${name}`,
      mount,
      sizeKiB: size,
      usedKiB: used,
      availableKiB: size - used,
      usedPct: Math.ceil((used * 100) / size),
    })),
    blockDevices: [],
    interfaces: [],
    uptimeSeconds: 1,
    services: [],
    unknown: [],
  };
}

const facts = [
  host('web-1', 'Debian 12', '6.1.0', [
    ['/', 1000, 900],
    ['/var', 1000, 100],
  ]),
  host('web-2', 'Debian 12', '6.1.0', [['/', 1000, 500]]),
  host('db-1', 'Rocky 9', '5.14.0', [['/', 2000, 1900]]),
  {
    ...host('odd', 'x', 'y', []),
    os: null,
    kernel: null,
    cpu: null,
    memory: null,
    unknown: [{ fact: 'os' as const, reason: 'r' }],
  },
];

describe('computeFleetStatistics', () => {
  const stats = computeFleetStatistics(facts, {
    groups: { web: ['web-1', 'web-2'], db: ['db-1', 'gone'] },
    top: 2,
  });

  it('computes disk used % as df does: blocks reserved for root are not available', () => {
    const reserved = host('r', 'Debian 12', '6.1.0', [['/', 1000, 500]]);
    reserved.filesystems[0]!.availableKiB = 400; // 100 KiB reserved for root, as ext4 keeps 5 %
    const [all] = computeFleetStatistics([reserved]).groups;
    expect(all).toMatchObject({ diskTotalKiB: 1000, diskUsedKiB: 500, diskUsedPct: 55.6 });
  });

  it('adds up the whole fleet as group all, then each group in name order', () => {
    expect(stats.groups.map((g) => [g.group, g.hosts])).toEqual([
      ['all', 4],
      ['db', 1],
      ['web', 2],
    ]);
    const all = stats.groups[0];
    expect(all).toMatchObject({
      cores: 12,
      memoryTotalKiB: 3000,
      memoryUsedKiB: 2250,
      memoryUsedPct: 75,
      diskTotalKiB: 5000,
      diskUsedKiB: 3400,
      diskUsedPct: 68,
      hostsWithUnknownFacts: 1,
    });
    expect(all?.os).toEqual([
      { name: 'Debian 12', hosts: 2 },
      { name: 'Rocky 9', hosts: 1 },
      { name: 'unknown', hosts: 1 },
    ]);
  });

  it('lists the top-N fullest filesystems, fullest first', () => {
    expect(stats.groups[0]?.fullestFilesystems.map((f) => `${f.host}:${f.mount}`)).toEqual([
      'db-1:/',
      'web-1:/',
    ]);
    expect(stats.groups[2]?.fullestFilesystems.map((f) => `${f.host}:${f.mount}`)).toEqual([
      'web-1:/',
      'web-2:/',
    ]);
  });

  it('gives null percentages for an empty fleet', () => {
    expect(computeFleetStatistics([]).groups[0]).toMatchObject({
      hosts: 0,
      diskUsedPct: null,
      memoryUsedPct: null,
    });
  });
});

describe('renderers', () => {
  it('writes CSV with a header and one row per group, defusing formula cells', () => {
    const hostile = [host('h', '=HYPERLINK("http://x")', '6.1', [['/', 10, 5]])];
    const csv = renderFleetStatisticsCsv(computeFleetStatistics(hostile));
    const lines = csv.trimEnd().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]?.startsWith('group,hosts,')).toBe(true);
    expect(csv).toContain(`"'=HYPERLINK(""http://x"")=1"`);
  });

  it('ends every CSV record with CRLF and writes a control character in a cell as \\xHH', () => {
    // OS and kernel names come from the hosts: one may hold a terminal escape, a carriage
    // return that hides the line before it when the file is shown, or a line break.
    const hostile = [
      host('h1', 'Evil\x1b]0;pwned\x07 OS', '6.1\r\n=cmd', [['/', 10, 5]]),
      host('h2', '\tTabbed\u009b2J', '6.1\u0085x', [['/', 10, 5]]),
    ];
    const csv = renderFleetStatisticsCsv(computeFleetStatistics(hostile));
    expect(csv.endsWith('\r\n')).toBe(true);
    const records = csv.slice(0, -2).split('\r\n');
    expect(records).toHaveLength(2);
    expect(csv.replace(/\r\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    const fleet = records[1]!;
    expect(fleet).toContain(String.raw`Evil\x1b]0;pwned\x07 OS=1`);
    expect(fleet).toContain(String.raw`\x09Tabbed\x9b2J=1`);
    expect(fleet).toContain(String.raw`6.1\x0d\x0a=cmd=1; 6.1\x85x=1`);
  });

  it('prints a table with the fleet line and the fullest filesystems, without control bytes', () => {
    const table = renderFleetStatisticsTable(
      computeFleetStatistics([host('h\x1b[31m', 'D', 'k', [['/', 2048, 1024]])]),
    );
    expect(table).toMatch(/^GROUP\s+HOSTS/);
    expect(table).toContain('Fullest filesystems');
    expect(table).not.toContain('\x1b');
  });
});
