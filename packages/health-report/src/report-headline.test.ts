import { describe, expect, it } from 'vitest';
import { computeReport } from './compute-report.js';
import type { History, InspectionSample, ReportedFinding } from './history.js';

const range = { since: new Date('2025-01-01T00:00:00Z'), until: new Date('2025-01-11T00:00:00Z') };
const at = (d: number) => `2025-01-${String(d).padStart(2, '0')}T06:00:00.000Z`;

function finding(
  host: string,
  check: string,
  value: number,
  status: ReportedFinding['status'] = 'ok',
): ReportedFinding {
  return {
    host,
    check,
    subject: check === 'inspection.disk' ? '/' : check.slice('inspection.'.length),
    status,
    value,
    threshold: 80,
    unit: check === 'inspection.load' ? 'per-core' : '%',
    message: `${check} ${value}`,
  };
}

/** Ten days of `hosts` hosts with a steady disk and memory; `extra` adds findings by day. */
function history(
  hosts: number,
  extra: (d: number) => InspectionSample[] = () => [],
  outcomes: History['outcomes'] = [],
): History {
  const inspections: InspectionSample[] = [];
  for (let d = 1; d <= 10; d++) {
    for (let i = 1; i <= hosts; i++) {
      const host = `web-${i}`;
      inspections.push({
        at: at(d),
        runId: `r${d}`,
        host,
        action: 'inspection.disk',
        findings: [finding(host, 'inspection.disk', 40), finding(host, 'inspection.memory', 50)],
      });
    }
    inspections.push(...extra(d));
  }
  return { runs: [], inspections, facts: [], outcomes, problems: [] };
}

const report = (h: History, urgentDays?: number) =>
  computeReport(h, {
    range,
    now: range.until,
    ...(urgentDays === undefined ? {} : { urgentDays }),
  });

const gradeOf = (pct: number) => (pct >= 90 ? 'crit' : pct >= 80 ? 'warn' : 'ok');

/** db-1's disk: +2 pp a day up to `last` % on day 10 (warn from 80 %). */
const filling = (last: number) => (d: number) => [
  {
    at: at(d),
    runId: `r${d}`,
    host: 'db-1',
    action: 'inspection.disk',
    findings: [
      finding('db-1', 'inspection.disk', last - 2 * (10 - d), gradeOf(last - 2 * (10 - d))),
    ],
  },
];

describe('the headline', () => {
  it('is healthy when the score is high, nothing is crit and nothing fills up', () => {
    const r = report(history(3));
    expect(r.headline).toEqual({
      status: 'healthy',
      text: 'Healthy: score 100/100, nothing critical, nothing full within 14 days.',
      urgentDays: 14,
      urgent: [],
    });
  });

  it('is urgent for one crit finding among many good hosts, whatever the average', () => {
    const r = report(
      history(40, (d) =>
        d === 10
          ? [
              {
                at: at(10),
                runId: 'r10',
                host: 'web-7',
                action: 'inspection.load',
                findings: [finding('web-7', 'inspection.load', 3.1, 'crit')],
              },
            ]
          : [],
      ),
    );
    expect(r.environment.score).toBeGreaterThan(95);
    expect(r.headline.status).toBe('urgent');
    expect(r.headline.urgent).toEqual([
      {
        host: 'web-7',
        reason: 'crit',
        what: 'inspection.load load',
        days: null,
        message: 'inspection.load 3.1',
      },
    ]);
    expect(r.headline.text).toBe(
      `URGENT: web-7 inspection.load load is critical: inspection.load 3.1. The average score ${r.environment.score}/100 does not show this.`,
    );
  });

  it('is urgent when a disk is predicted full in fewer than urgentDays days, and names it', () => {
    // 68 … 86 %: +2 pp/day, (100 − 86) / 2 = 7 days.
    const r = report(history(20, filling(86)));
    expect(r.headline.status).toBe('urgent');
    expect(r.headline.urgent).toEqual([
      {
        host: 'db-1',
        reason: 'full-soon',
        what: 'filesystem /',
        days: 7,
        message: '86% used, +2 pp/day (R² 1): full on ~2025-01-17',
      },
    ]);
    expect(r.headline.text).toMatch(/^URGENT: db-1 filesystem \/ full in 7 days\. The average/);
  });

  it('is not urgent at exactly urgentDays days: "under N days"', () => {
    // web-1…3 score 100, db-1 60 (its disk is warn): the mean is 90, healthy but for urgency.
    expect(report(history(3, filling(86)), 7).headline.status).toBe('healthy');
    expect(report(history(3, filling(86)), 8).headline.status).toBe('urgent');
  });

  it('needs attention below a score of 90, or when a host did not answer the latest run', () => {
    const low = report(history(1, filling(86)), 7);
    // web-1 100, db-1 with a warn disk: (3·0.6) / 3 = 60 → mean 80.
    expect(low.environment.score).toBe(80);
    expect(low.headline.text).toBe(
      'Needs attention: score 80/100 is below 90; nothing critical, nothing full within 7 days.',
    );
    const silent = report(
      history(3, () => [], [{ at: at(10), runId: 'r10', host: 'web-2', status: 'unreachable' }]),
    );
    expect(silent.headline).toMatchObject({
      status: 'attention',
      text: 'Needs attention: 1 host did not answer the latest run; nothing critical, nothing full within 14 days.',
    });
  });

  it('names three urgent items and counts the rest, crit ones first', () => {
    const r = report(
      history(2, (d) => [
        ...filling(86)(d),
        ...['a', 'b', 'c'].map((x) => ({
          at: at(d),
          runId: `r${d}`,
          host: `crit-${x}`,
          action: 'inspection.disk',
          findings: [finding(`crit-${x}`, 'inspection.disk', 99, 'crit')],
        })),
      ]),
    );
    expect(r.headline.urgent.map((u) => `${u.host} ${u.reason}`)).toEqual([
      'crit-a crit',
      'crit-b crit',
      'crit-c crit',
      'db-1 full-soon',
    ]);
    expect(r.headline.text).toMatch(
      /crit-c inspection\.disk \/ is critical: inspection\.disk 99; and 1 more\./,
    );
  });

  it('says there is no data when nothing was scored', () => {
    expect(report(history(0)).headline).toMatchObject({
      status: 'no-data',
      text: 'No data: no host has inspection results in this range.',
    });
  });
});
