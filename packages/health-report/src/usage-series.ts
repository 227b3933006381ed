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
 * report's charts draw all three. `sorted` are the inspection samples oldest first
 * (`sortSamples`), so that a day's last value wins.
 */
export function collectUsageSeries(
  sorted: readonly InspectionSample[],
  facts: readonly FactsSample[],
): UsageByHost {
  const series: UsageByHost = new Map();
  // Samples come host by host: look the host's map up when the host changes, not per finding.
  let host: string | undefined;
  let ofHost!: Map<string, UsageSeries>;
  const put = (
    resource: string,
    metric: UsageMetric,
    day: string,
    value: number,
    threshold: number | null,
  ) => {
    let s = ofHost.get(resource);
    if (s === undefined) {
      s = { host: host!, resource, metric, threshold: null, byDay: new Map() };
      ofHost.set(resource, s);
    }
    s.byDay.set(day, value);
    if (threshold !== null) s.threshold = threshold;
  };
  const enter = (name: string) => {
    if (name === host) return;
    host = name;
    ofHost = getOrSet(series, name, () => new Map<string, UsageSeries>());
  };
  // Facts first, findings after: a finding of the same day replaces the facts' value.
  for (const sample of [...facts].sort(byTime)) {
    enter(sample.host);
    const day = utcDay(sample.at);
    for (const [resource, metric, pct] of usageFromFacts(sample.facts))
      put(resource, metric, day, pct, null);
  }
  const filesystems = new Map<string, string>();
  for (const sample of sorted) {
    const day = utcDay(sample.at);
    for (const f of sample.findings) {
      if (typeof f.value !== 'number' || !Number.isFinite(f.value)) continue;
      const threshold = typeof f.threshold === 'number' ? f.threshold : null;
      if (f.check === 'inspection.load') {
        enter(sample.host);
        put(f.subject ?? 'load', 'load', day, f.value, threshold);
        continue;
      }
      const isDisk = f.check === 'inspection.disk';
      if (f.unit !== '%' || (!isDisk && f.check !== 'inspection.memory')) continue;
      enter(sample.host);
      if (isDisk) {
        const resource = getOrSet(filesystems, f.subject ?? '?', (mount) => `filesystem ${mount}`);
        put(resource, 'disk', day, f.value, threshold);
      } else put('memory', 'memory', day, f.value, threshold);
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
