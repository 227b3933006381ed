import { getOrSet } from './finding-snapshot.js';
import type { FactsSample, InspectionSample } from './history.js';
import { utcDay } from './utc-day.js';

/** What a series measures: disk and memory in percent (they can fill up), load per core. */
export type UsageMetric = 'disk' | 'memory' | 'load';

/** One host's daily values of one resource: the day's last value. */
export interface UsageSeries {
  host: string;
  /** `filesystem <mount>`, `memory`, or the load window (`load5`). */
  resource: string;
  metric: UsageMetric;
  /** The newest threshold a finding gave (the warn level), null from facts alone. */
  threshold: number | null;
  /** UTC day → value. */
  byDay: Map<string, number>;
}

/** host → resource → series. */
export type UsageByHost = Map<string, Map<string, UsageSeries>>;

/**
 * The daily usage series of every host: disk and memory percent from `inspection.disk` /
 * `inspection.memory` findings, and from `inventory.collect` facts on days without such a
 * finding; load per core from `inspection.load`. Headroom fits the percent series; the
 * report's charts draw all three.
 */
export function collectUsageSeries(
  inspections: readonly InspectionSample[],
  facts: readonly FactsSample[],
): UsageByHost {
  const series: UsageByHost = new Map();
  // Later values of a day replace earlier ones: the day's point is its last value.
  const put = (
    host: string,
    resource: string,
    metric: UsageMetric,
    day: string,
    value: number,
    threshold: number | null,
  ) => {
    const ofHost = getOrSet(series, host, () => new Map<string, UsageSeries>());
    const s = getOrSet(ofHost, resource, () => ({
      host,
      resource,
      metric,
      threshold: null,
      byDay: new Map(),
    }));
    s.byDay.set(day, value);
    if (threshold !== null) s.threshold = threshold;
  };
  // Facts first, findings after: a finding of the same day replaces the facts' value.
  for (const sample of [...facts].sort(byTime)) {
    const day = utcDay(sample.at);
    for (const [resource, metric, pct] of usageFromFacts(sample.facts))
      put(sample.host, resource, metric, day, pct, null);
  }
  const filesystems = new Map<string, string>();
  for (const sample of [...inspections].sort(byTime)) {
    const day = utcDay(sample.at);
    for (const f of sample.findings) {
      if (typeof f.value !== 'number' || !Number.isFinite(f.value)) continue;
      const threshold = typeof f.threshold === 'number' ? f.threshold : null;
      if (f.check === 'inspection.load') {
        put(sample.host, f.subject ?? 'load', 'load', day, f.value, threshold);
        continue;
      }
      if (f.unit !== '%') continue;
      if (f.check === 'inspection.disk') {
        const resource = getOrSet(filesystems, f.subject ?? '?', (mount) => `filesystem ${mount}`);
        put(sample.host, resource, 'disk', day, f.value, threshold);
      } else if (f.check === 'inspection.memory') {
        put(sample.host, 'memory', 'memory', day, f.value, threshold);
      }
    }
  }
  return series;
}

function usageFromFacts(facts: FactsSample['facts']): Array<[string, UsageMetric, number]> {
  const out: Array<[string, UsageMetric, number]> = [];
  const m = facts.memory;
  if (m && isPositive(m.totalBytes) && typeof m.availableBytes === 'number') {
    out.push(['memory', 'memory', (100 * (m.totalBytes - m.availableBytes)) / m.totalBytes]);
  }
  for (const fs of Array.isArray(facts.filesystems) ? facts.filesystems : []) {
    if (
      typeof fs?.mount === 'string' &&
      isPositive(fs.sizeBytes) &&
      typeof fs.usedBytes === 'number'
    ) {
      out.push([`filesystem ${fs.mount}`, 'disk', (100 * fs.usedBytes) / fs.sizeBytes]);
    }
  }
  return out;
}

function byTime(a: { at: string }, b: { at: string }): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : 0;
}

function isPositive(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0;
}
