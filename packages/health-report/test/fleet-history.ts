import type { FixtureRun, HostDay } from './journal-fixture.js';

/**
 * A small fleet over two weeks for the browser test: disks filling at different speeds, a
 * database that goes critical, one host that never answers, and one message that tries to
 * inject markup into the page.
 */
export const fleetGroups: Record<string, string[]> = {};
export const INJECTION =
  '</script><script>window.__pwned=1;alert(1)</script><img src=x onerror="window.__pwned=2">';

export function fleetRuns(days = 14, start = '2025-03-01'): FixtureRun[] {
  const hosts = [
    ...Array.from({ length: 6 }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`),
    ...Array.from({ length: 3 }, (_, i) => `db-${String(i + 1).padStart(2, '0')}`),
    'cache-01',
    'batch-01',
  ];
  for (const h of hosts) fleetGroups[h] = [h.split('-')[0]!, 'prod'];
  const runs: FixtureRun[] = [];
  for (let d = 0; d < days; d++) {
    const at = new Date(Date.parse(`${start}T06:00:00Z`) + d * 86_400_000).toISOString();
    runs.push({
      runId: `daily-${d}`,
      at,
      hosts: [...hosts.map((h, i) => hostDay(h, i, d, days)), { host: 'ghost-01' }],
    });
  }
  return runs;
}

function hostDay(host: string, i: number, d: number, days: number): HostDay {
  const diskPct = Math.min(99, 40 + i * 3 + d * (i % 3));
  const grade = (v: number, warn: number, crit: number) =>
    v >= crit ? 'crit' : v >= warn ? 'warn' : 'ok';
  const memPct = 50 + ((i * 7 + d * 2) % 40);
  const findings: NonNullable<HostDay['findings']> = [
    {
      check: 'inspection.disk',
      subject: '/',
      status: grade(diskPct, 80, 90),
      value: diskPct,
      threshold: 80,
      unit: '%',
      message: `/ is ${diskPct}% full`,
    },
    {
      check: 'inspection.memory',
      subject: 'memory',
      status: grade(memPct, 85, 95),
      value: memPct,
      threshold: 85,
      unit: '%',
      message: `memory ${memPct}% in use`,
    },
    {
      check: 'inspection.load',
      subject: 'load15',
      status: host === 'batch-01' && d % 4 === 0 ? 'warn' : 'ok',
      value: 0.5,
      threshold: 1.5,
      unit: 'per-core',
      message: 'load per core 0.5',
    },
    {
      check: 'inspection.failed-units',
      status: host === 'db-02' && d >= days - 3 ? 'crit' : 'ok',
      value: host === 'db-02' && d >= days - 3 ? 1 : 0,
      threshold: 1,
      unit: 'count',
      message:
        host === 'db-02' && d >= days - 3 ? 'postgresql@15-main.service failed' : 'no failed units',
    },
  ];
  if (host === 'cache-01') {
    findings.push({
      check: 'inspection.tls-cert',
      subject: 'cache.internal:6380',
      status: 'unknown',
      value: null,
      threshold: null,
      message: `could not read the certificate ${INJECTION}`,
    });
  }
  return { host, findings };
}
