import type { FixtureRun, HostDay } from './journal-fixture.js';

/**
 * Three days, four hosts, answers worked out by hand in known-history.test.ts:
 * web-01 fills its disk by 5 pp a day, db-01 goes critical then recovers its disk while its load
 * goes critical, web-02's TLS check never measures anything, db-02 never answers.
 */
type F = NonNullable<HostDay['findings']>[number];
const disk = (status: F['status'], value: number): F => ({
  check: 'inspection.disk',
  subject: '/',
  status,
  value,
  threshold: 80,
  unit: '%',
  message: `disk / ${value}% used`,
});
const memory = (status: F['status'], value: number): F => ({
  check: 'inspection.memory',
  subject: 'memory',
  status,
  value,
  threshold: 85,
  unit: '%',
  message: `memory ${value}% in use`,
});
const load = (status: F['status']): F => ({
  check: 'inspection.load',
  subject: 'load15',
  status,
  value: status === 'ok' ? 0.4 : 3.2,
  threshold: 1.5,
  unit: 'per-core',
  message: `load ${status}`,
});
const tls: F = {
  check: 'inspection.tls-cert',
  subject: 'api.example:443',
  status: 'unknown',
  value: null,
  threshold: null,
  message: 'could not connect to api.example:443',
};

export const inventoryGroups = {
  'web-01': ['web'],
  'web-02': ['web'],
  'db-01': ['db'],
  'db-02': ['db'],
};

export const knownRuns: FixtureRun[] = [
  {
    runId: 'run-day1',
    at: '2025-03-01T06:00:00.000Z',
    hosts: [
      { host: 'web-01', findings: [disk('ok', 50), memory('ok', 40), load('ok')] },
      { host: 'web-02', findings: [disk('ok', 60), memory('ok', 30), load('ok'), tls] },
      {
        host: 'db-01',
        findings: [disk('warn', 85), memory('ok', 70), load('ok')],
        facts: { filesystems: [{ mount: '/data', sizeBytes: 1000, usedBytes: 500 }] },
      },
      { host: 'db-02' },
    ],
  },
  {
    runId: 'run-day2',
    at: '2025-03-02T06:00:00.000Z',
    hosts: [
      { host: 'web-01', findings: [disk('ok', 55), memory('ok', 42), load('ok')] },
      { host: 'web-02', findings: [disk('ok', 60), memory('ok', 30), load('ok'), tls] },
      {
        host: 'db-01',
        findings: [disk('crit', 92), memory('warn', 88), load('ok')],
        facts: { filesystems: [{ mount: '/data', sizeBytes: 1000, usedBytes: 600 }] },
      },
      { host: 'db-02' },
    ],
  },
  {
    runId: 'run-day3',
    at: '2025-03-03T06:00:00.000Z',
    hosts: [
      { host: 'web-01', findings: [disk('ok', 60), memory('ok', 44), load('warn')] },
      { host: 'web-02', findings: [disk('ok', 60), memory('ok', 30), load('ok'), tls] },
      { host: 'db-01', findings: [disk('ok', 70), memory('warn', 88), load('crit')] },
      { host: 'db-02' },
    ],
  },
];

export const knownRange = {
  since: new Date('2025-02-20T00:00:00Z'),
  until: new Date('2025-03-04T00:00:00Z'),
};
export const knownNow = new Date('2025-03-04T00:00:00Z');
