import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { computeReport } from './compute-report.js';
import type { History, InspectionSample, ReportedFinding } from './history.js';
import { renderJson } from './render-json.js';
import { healthReportSchema } from './report-schema.js';
import { CHART_HOSTS, CHART_URGENT_HOSTS } from './resource-charts.js';

const range = { since: new Date('2025-01-01T00:00:00Z'), until: new Date('2025-01-11T00:00:00Z') };
const at = (d: number) => `2025-01-${String(d).padStart(2, '0')}T06:00:00.000Z`;
const gradeOf = (pct: number) => (pct >= 90 ? 'crit' : pct >= 80 ? 'warn' : 'ok');

function disk(host: string, pct: number): ReportedFinding {
  return {
    host,
    check: 'inspection.disk',
    subject: '/',
    status: gradeOf(pct),
    value: pct,
    threshold: 80,
    unit: '%',
    message: `/ ${pct}%`,
  };
}

/** Ten days; `diskOf(host index, day)` gives each host's disk (null: no result that day). */
function history(hosts: number, diskOf: (i: number, d: number) => number | null): History {
  const inspections: InspectionSample[] = [];
  for (let d = 1; d <= 10; d++) {
    for (let i = 0; i < hosts; i++) {
      const pct = diskOf(i, d);
      if (pct === null) continue;
      const host = `h-${String(i).padStart(2, '0')}`;
      inspections.push({
        at: at(d),
        runId: `r${d}`,
        host,
        action: 'inspection.disk',
        findings: [
          disk(host, pct),
          {
            host,
            check: 'inspection.load',
            subject: 'load5',
            status: 'ok',
            value: 0.5,
            threshold: 1.5,
            unit: 'per-core',
            message: 'load',
          },
        ],
      });
    }
  }
  return { runs: [], inspections, facts: [], outcomes: [], problems: [] };
}

const report = (h: History) => computeReport(h, { range, now: range.until });

describe('the resource charts', () => {
  it(`draw at most ${CHART_URGENT_HOSTS} urgent hosts, most urgent first, then the lowest scores up to ${CHART_HOSTS}`, () => {
    // h-00…h-09 fill up (the higher the index, the sooner), h-10…h-19 sit at 60–79 % (ok,
    // score 100), h-20…h-29 sit at 80–84 % (warn: the lowest scores), h-30… are empty disks.
    const r = report(
      history(40, (i, d) =>
        i < 10 ? 40 + i * 3 + d * (2 + i * 0.4) : i < 20 ? 60 + i : i < 30 ? 60 + i - 5 : 10,
      ),
    );
    const urgent = r.headline.urgent.map((u) => u.host);
    expect(urgent.length).toBeGreaterThan(CHART_URGENT_HOSTS);
    const drawn = r.charts.hosts.map((c) => c.host);
    expect(drawn).toHaveLength(CHART_HOSTS);
    expect(drawn.slice(0, CHART_URGENT_HOSTS)).toEqual(
      [...new Set(urgent)].slice(0, CHART_URGENT_HOSTS),
    );
    const rest = drawn.slice(CHART_URGENT_HOSTS);
    for (const host of rest)
      expect(r.charts.hosts.find((c) => c.host === host)!.why).toMatch(/^score /);
    expect(r.charts.candidates).toBe(40);
    // Headline, charts with projections, headroom with reasons: all as the schema says.
    const validate = new Ajv2020({ strict: false }).compile(healthReportSchema);
    expect(validate(JSON.parse(renderJson(r))), JSON.stringify(validate.errors)).toBe(true);
    expect(r.charts.rule).toBe(
      `Showing ${CHART_HOSTS} of 40 hosts with disk, memory or load values: ${CHART_URGENT_HOSTS} of the ${new Set(urgent).size} urgent hosts, most urgent first, then the ${CHART_HOSTS - CHART_URGENT_HOSTS} lowest-scoring; at most ${CHART_HOSTS}. The JSON report lists the headroom of every disk and memory.`,
    );
  });

  it('give each series one value per report day and continue a projected one to 100 %', () => {
    // h-00: 62, 64, … 80 % (day 7 missing): +2 pp/day, full (100 − 80) / 2 = 10 days after 01-10.
    const r = report(history(1, (_, d) => (d === 7 ? null : 60 + 2 * d)));
    const [chart] = r.charts.hosts;
    expect(chart!.why).toBe('filesystem / full in 10 days');
    const [diskSeries, loadSeries] = chart!.series;
    expect(diskSeries).toEqual({
      metric: 'disk',
      resource: 'filesystem /',
      threshold: 80,
      values: [62, 64, 66, 68, 70, 72, 76, 78, 80],
      projection: {
        from: { day: '2025-01-01', value: 62 },
        to: { day: '2025-01-20', value: 100 },
        fullOn: '2025-01-20',
        daysUntilFull: 10,
      },
    });
    expect(r.days).not.toContain('2025-01-07');
    expect(loadSeries).toMatchObject({
      metric: 'load',
      resource: 'load5',
      threshold: 1.5,
      projection: null,
    });
  });

  it('stop a far projection at the horizon: the last day plus the longer of urgentDays and the range', () => {
    // 80.5 … 85 % (warn: drawn for its low score): +0.5 pp/day, full in 30 days, on 02-09; the
    // horizon is 01-10 + 14 days.
    const r = report(history(1, (_, d) => 80 + d / 2));
    expect(r.charts.hosts[0]!.why).toBe('score 70'); // disk warn (3 × 0.6) and load ok (1): 2.8 / 4
    expect(r.charts.hosts[0]!.series[0]!.projection).toEqual({
      from: { day: '2025-01-01', value: 80.5 },
      to: { day: '2025-01-24', value: 92 },
      fullOn: '2025-02-09',
      daysUntilFull: 30,
    });
  });

  it('say so when there is nothing worth drawing', () => {
    expect(report(history(3, () => 10)).charts).toEqual({
      rule: 'No host is urgent or scores below 100: nothing to chart.',
      candidates: 3,
      hosts: [],
    });
    expect(report(history(0, () => 10)).charts.rule).toBe(
      'No host has disk, memory or load values in this range.',
    );
  });
});
