import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildReportRequest, buildHealthReport, type HealthReport } from '../src/index.js';
import { writeRuns } from './journal-fixture.js';
import { inventoryGroups, knownNow, knownRange, knownRuns } from './known-history.js';

// Weights: disk 3, memory 2, load 1, tls-cert 2. Factors: ok 1, unknown 0.8, warn 0.6, crit 0.
let temp: { dir: string; remove: () => Promise<void> };
let report: HealthReport;

beforeAll(async () => {
  temp = await makeTempDir('opsbook-health-known-');
  await writeRuns(temp.dir, knownRuns);
  report = await build({ inventory: inventoryGroups });
});

/** The report of the known history with `options` besides the state dir, range and time. */
function build(options: Partial<BuildReportRequest> = {}): Promise<HealthReport> {
  return buildHealthReport({
    stateDir: temp.dir,
    since: knownRange.since,
    until: knownRange.until,
    now: knownNow,
    ...options,
  });
}
afterAll(() => temp?.remove());

describe('a generated three-day history with hand-computed answers', () => {
  it('scores each host from its newest findings', () => {
    const score = Object.fromEntries(report.hosts.map((h) => [h.host, h.score]));
    // web-01: (3·1 + 2·1 + 1·0.6) / 6 = 93.3; web-02: (3 + 2 + 1 + 2·0.8) / 8 = 95;
    // db-01: (3·1 + 2·0.6 + 1·0) / 6 = 70; db-02 never answered.
    expect(score).toEqual({ 'db-01': 70, 'db-02': null, 'web-01': 93.3, 'web-02': 95 });
  });

  it('scores the environment and the groups as the mean of their hosts that reported', () => {
    expect(report.environment).toEqual({
      score: 86.1, // (93.3 + 95 + 70) / 3
      hosts: 4,
      reporting: 3,
      unreachable: 1,
      noData: 0,
      counts: { ok: 6, warn: 2, crit: 1, unknown: 1 },
    });
    expect(report.groups).toEqual([
      { group: 'db', score: 70, hosts: 2, reporting: 1, daily: [80, 36.7, 70] },
      { group: 'web', score: 94.2, hosts: 2, reporting: 2, daily: [97.5, 97.5, 94.2] },
    ]);
  });

  it('gives one trend point per day', () => {
    expect(report.days).toEqual(['2025-03-01', '2025-03-02', '2025-03-03']);
    // day 1: (100 + 95 + 80) / 3; day 2: db-01 (0 + 1.2 + 1) / 6 = 36.7, (100 + 95 + 36.7) / 3.
    expect(report.trend.map((t) => t.score)).toEqual([91.7, 77.2, 86.1]);
    expect(report.trend.map((t) => t.reporting)).toEqual([3, 3, 3]);
    // day 2: db-01 disk crit, memory warn; web-02's TLS unknown; the other seven ok.
    expect(report.trend[1]!.counts).toEqual({ ok: 7, warn: 1, crit: 1, unknown: 1 });
    expect(report.hosts.find((h) => h.host === 'db-01')!.daily).toEqual([80, 36.7, 70]);
  });

  it('tells what changed since the day before: new criticals, worsened, recovered, hosts worsening', () => {
    const c = report.changes;
    expect(c.baseline).toBe('2025-03-02T23:59:59.999Z');
    expect(c.newCriticals.map((x) => [x.host, x.check, x.from, x.to])).toEqual([
      ['db-01', 'inspection.load', 'ok', 'crit'],
    ]);
    expect(c.worsened.map((x) => [x.host, x.check, x.from, x.to])).toEqual([
      ['web-01', 'inspection.load', 'ok', 'warn'],
    ]);
    expect(c.recovered.map((x) => [x.host, x.check, x.from, x.to])).toEqual([
      ['db-01', 'inspection.disk', 'crit', 'ok'],
    ]);
    expect(c.hostsWorsening).toEqual([{ host: 'web-01', from: 100, to: 93.3 }]);
  });

  it('compares with the previous report when its time is given', async () => {
    const r = await buildHealthReport({
      stateDir: temp.dir,
      since: knownRange.since,
      until: knownRange.until,
      now: knownNow,
      previousReportAt: new Date('2025-03-01T12:00:00Z'),
    });
    // Against day 1: db-01's disk was warn and is ok now; its memory went ok → warn.
    expect(r.changes.recovered.map((x) => [x.host, x.check])).toEqual([
      ['db-01', 'inspection.disk'],
    ]);
    expect(r.changes.worsened.map((x) => [x.host, x.check])).toEqual([
      ['db-01', 'inspection.memory'],
      ['web-01', 'inspection.load'],
    ]);
    expect(r.changes.hostsWorsening).toEqual([
      { host: 'db-01', from: 80, to: 70 },
      { host: 'web-01', from: 100, to: 93.3 },
    ]);
  });

  it('ranks top offenders lowest score first, with their worst findings', () => {
    expect(report.topOffenders.map((o) => [o.host, o.score])).toEqual([
      ['db-01', 70],
      ['web-01', 93.3],
      ['web-02', 95],
    ]);
    expect(report.topOffenders[0]!.worst[0]).toBe('CRIT inspection.load load15: load crit');
  });

  it('projects no headroom from three days, and says so for each series', () => {
    expect(report.fitRule).toEqual({ minPoints: 5, minSpanDays: 7, minR2: 0.5 });
    expect(report.headroom.filter((h) => h.status === 'projected')).toEqual([]);
    const web01 = report.headroom.find((h) => h.host === 'web-01' && h.resource === 'filesystem /');
    expect(web01).toMatchObject({
      points: 3,
      spanDays: 2,
      status: 'not-enough-data',
      reason: 'too few points (3 < 5)',
    });
  });

  it('projects days until full by a least-squares line, and says when it cannot', async () => {
    // A rule loose enough for three days, so the line's answers can be worked out by hand.
    const loose = await build({
      inventory: inventoryGroups,
      fitRule: { minPoints: 3, minSpanDays: 2, minR2: 0.5 },
    });
    const of = (host: string, resource: string) =>
      loose.headroom.find((h) => h.host === host && h.resource === resource);
    // 50, 55, 60 % over three days: +5 pp/day, (100 - 60) / 5 = 8 days; every point on the line.
    expect(of('web-01', 'filesystem /')).toEqual({
      host: 'web-01',
      resource: 'filesystem /',
      points: 3,
      spanDays: 2,
      lastPercent: 60,
      growthPerDay: 5,
      r2: 1,
      daysUntilFull: 8,
      fullOn: '2025-03-11',
      status: 'projected',
      reason: null,
    });
    expect(of('web-01', 'memory')).toMatchObject({
      growthPerDay: 2,
      daysUntilFull: 28,
      status: 'projected',
    });
    // 85, 92, 70: the line explains little (R² = 0.45 < 0.5), so no day is projected.
    expect(of('db-01', 'filesystem /')).toMatchObject({
      status: 'no-trend',
      r2: 0.45,
      daysUntilFull: null,
      reason: 'no trend (R² 0.45 < 0.5)',
    });
    // From inventory facts, two days only.
    expect(of('db-01', 'filesystem /data')).toMatchObject({
      points: 2,
      lastPercent: 60,
      growthPerDay: null,
      daysUntilFull: null,
      status: 'not-enough-data',
      reason: 'too few points (2 < 3)',
    });
    // 70, 88, 88: slope 9, R² 0.75, the line stands at 91 on the last day: (100 - 91) / 9 = 1 day.
    expect(of('db-01', 'memory')).toMatchObject({
      growthPerDay: 9,
      r2: 0.75,
      daysUntilFull: 1,
      status: 'projected',
    });
    expect(loose.headroom.slice(0, 3).map((h) => `${h.host} ${h.resource}`)).toEqual([
      'db-01 memory',
      'web-01 filesystem /',
      'web-01 memory',
    ]);
  });

  it('says plainly which host never answered and which check only reported unknown', () => {
    const db02 = report.hosts.find((h) => h.host === 'db-02')!;
    expect(db02).toMatchObject({
      state: 'unreachable',
      score: null,
      lastSeen: null,
      answeredLastRun: false,
    });
    expect(report.unknownOnly).toEqual([
      { host: 'web-02', check: 'inspection.tls-cert', subject: 'api.example:443' },
    ]);
    expect(report.notes).toContain('1 host never answered in this range and has no score: db-02.');
    expect(
      report.notes.some(
        (n) =>
          n.includes('reported only "unknown"') &&
          n.includes('inspection.tls-cert (api.example:443) on web-02'),
      ),
    ).toBe(true);
  });

  it('lists the newest finding of every check, worst first', () => {
    expect(report.findings.map((f) => `${f.status} ${f.host} ${f.check}`).slice(0, 4)).toEqual([
      'crit db-01 inspection.load',
      'warn db-01 inspection.memory',
      'warn web-01 inspection.load',
      'unknown web-02 inspection.tls-cert',
    ]);
    expect(report.findings).toHaveLength(10);
  });

  it('reports only the selected hosts, and names those it left out and those never run', async () => {
    const r = await build({
      selection: { description: 'inventory web.yaml', hosts: ['web-01', 'web-02', 'web-03'] },
    });
    expect(r.hosts.map((h) => h.host)).toEqual(['web-01', 'web-02']);
    expect(r.scope).toEqual({
      selection: 'inventory web.yaml',
      leftOut: ['db-01', 'db-02'],
      noRuns: ['web-03'],
    });
    // db-01's crit load is not in the selection's findings, nor in its score.
    expect(r.findings.map((f) => f.host)).not.toContain('db-01');
    expect(r.environment.score).toBe(94.2); // (93.3 + 95) / 2
    expect(r.notes).toContain(
      '2 hosts with results in this range are left out, not being in inventory web.yaml: db-01, db-02.',
    );
    expect(r.notes).toContain(
      '1 host of inventory web.yaml was in no run in this range, so it is not scored: web-03.',
    );
    expect(report.scope).toEqual({ selection: null, leftOut: [], noRuns: [] });
  });

  it('leaves out events outside the range', async () => {
    const r = await buildHealthReport({
      stateDir: temp.dir,
      since: new Date('2025-03-02T00:00:00Z'),
      until: knownRange.until,
      now: knownNow,
    });
    expect(r.days).toEqual(['2025-03-02', '2025-03-03']);
    expect(
      r.headroom.find((h) => h.host === 'web-01' && h.resource === 'filesystem /'),
    ).toMatchObject({ points: 2, status: 'not-enough-data', reason: 'too few points (2 < 5)' });
  });
});
