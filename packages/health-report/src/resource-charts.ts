import { fitLine } from './headroom.js';
import type { ChartSeries, HeadroomEntry, HealthReport, ResourceCharts } from './report-schema.js';
import { round1 } from './score-formula.js';
import type { UsageByHost, UsageSeries } from './usage-series.js';
import { dayNumber, dayOfNumber } from './utc-day.js';

/** At most this many hosts are drawn, so a report of a thousand hosts stays small. */
export const CHART_HOSTS = 12;
/** Of which at most this many urgent ones, so the lowest scores get a place too. */
export const CHART_URGENT_HOSTS = 8;

const METRIC_ORDER = { disk: 0, memory: 1, load: 2 } as const;

/**
 * Disk, memory and load over time of the hosts that matter most: the urgent ones (most urgent
 * first), then the lowest scores. A projected disk or memory series carries its fitted line up
 * to 100 %, or to the horizon (the last day plus the longer of `urgentDays` and the range's
 * days) when 100 % is further.
 */
export function describeCharts(
  report: Pick<HealthReport, 'days' | 'hosts' | 'headline' | 'headroom'>,
  usage: UsageByHost,
): ResourceCharts {
  const has = (host: string) => (usage.get(host)?.size ?? 0) > 0;
  const why = new Map<string, string>();
  const urgentHosts = new Set<string>();
  for (const u of report.headline.urgent) {
    urgentHosts.add(u.host);
    if (has(u.host) && !why.has(u.host) && why.size < CHART_URGENT_HOSTS)
      why.set(
        u.host,
        u.reason === 'crit' ? `${u.what} critical` : `${u.what} full in ${u.days} days`,
      );
  }
  const urgentShown = why.size;
  const lowest = report.hosts
    .filter((h): h is typeof h & { score: number } => h.score !== null && h.score < 100)
    .sort((a, b) => a.score - b.score || a.host.localeCompare(b.host));
  for (const h of lowest) {
    if (why.size >= CHART_HOSTS) break;
    if (has(h.host) && !why.has(h.host)) why.set(h.host, `score ${h.score}`);
  }
  const candidates = [...usage.values()].filter((m) => m.size > 0).length;
  const headroom = new Map<string, HeadroomEntry>();
  for (const e of report.headroom)
    if (why.has(e.host)) headroom.set(`${e.host}\u0000${e.resource}`, e);
  const horizon = report.days.length
    ? dayNumber(report.days.at(-1)!) + Math.max(report.headline.urgentDays, report.days.length)
    : 0;
  return {
    rule: describeRule(why.size, candidates, urgentShown, urgentHosts.size),
    candidates,
    hosts: [...why].map(([host, reason]) => ({
      host,
      why: reason,
      series: [...usage.get(host)!.values()]
        .sort(
          (a, b) =>
            METRIC_ORDER[a.metric] - METRIC_ORDER[b.metric] || a.resource.localeCompare(b.resource),
        )
        .map((s) =>
          chartSeries(s, report.days, headroom.get(`${host}\u0000${s.resource}`), horizon),
        ),
    })),
  };
}

function chartSeries(
  s: UsageSeries,
  days: readonly string[],
  entry: HeadroomEntry | undefined,
  horizon: number,
): ChartSeries {
  return {
    metric: s.metric,
    resource: s.resource,
    threshold: s.threshold,
    values: days.map((d) => s.byDay.get(d) ?? null),
    projection: entry?.status === 'projected' ? projectionOf(s, entry, horizon) : null,
  };
}

function projectionOf(
  s: UsageSeries,
  entry: HeadroomEntry,
  horizon: number,
): ChartSeries['projection'] {
  const points = [...s.byDay].map(([d, v]) => [dayNumber(d), v] as const);
  const fit = fitLine(points);
  if (!fit || entry.daysUntilFull === null || entry.fullOn === null) return null;
  const at = (x: number) => round1(fit.intercept + fit.slope * x);
  const first = Math.min(...points.map(([x]) => x));
  const last = Math.max(...points.map(([x]) => x));
  const to = Math.min(Math.ceil(last + entry.daysUntilFull), Math.max(horizon, last + 1));
  return {
    from: { day: dayOfNumber(first), value: at(first) },
    to: { day: dayOfNumber(to), value: at(to) },
    fullOn: entry.fullOn,
    daysUntilFull: entry.daysUntilFull,
  };
}

function describeRule(
  shown: number,
  candidates: number,
  urgentShown: number,
  urgentAll: number,
): string {
  const tail = `at most ${CHART_HOSTS}. The JSON report lists the headroom of every disk and memory.`;
  if (shown === 0) {
    return candidates === 0
      ? 'No host has disk, memory or load values in this range.'
      : 'No host is urgent or scores below 100: nothing to chart.';
  }
  const of = `${candidates} hosts with disk, memory or load values`;
  if (urgentShown === 0) {
    return `Showing the ${shown} lowest-scoring of ${of} (${urgentAll ? 'the urgent hosts have none' : 'no host is urgent'}); ${tail}`;
  }
  const urgent = `${urgentShown === urgentAll ? 'the' : `${urgentShown} of the`} ${urgentAll} urgent host${urgentAll === 1 ? '' : 's'}, most urgent first`;
  const rest = shown - urgentShown;
  return `Showing ${shown} of ${of}: ${urgent}${rest > 0 ? `, then the ${rest} lowest-scoring` : ''}; ${tail}`;
}
