import { getOrSet } from './finding-snapshot.js';
import type { FactsSample, InspectionSample } from './history.js';
import type { HeadroomEntry } from './report-schema.js';
import { round1 } from './score-formula.js';
import { dayNumber, utcDay } from './utc-day.js';

/** Below this many daily points a straight line says nothing worth acting on. */
export const MIN_FIT_POINTS = 3;

export interface LinearFit {
  slope: number;
  intercept: number;
}

/** Ordinary least squares y = intercept + slope·x; null when x does not vary. */
export function fitLine(points: ReadonlyArray<readonly [number, number]>): LinearFit | null {
  const n = points.length;
  if (n < 2) return null;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/**
 * Usage (percent) per host and resource, one point per UTC day (the day's last value), from
 * `inspection.disk` / `inspection.memory` findings, and from `inventory.collect` facts for the
 * days without such a finding. Then a least-squares line through the points tells the growth
 * per day and, when it grows, the days until 100 %.
 */
export function computeHeadroom(
  inspections: readonly InspectionSample[],
  facts: readonly FactsSample[],
): HeadroomEntry[] {
  const series = new Map<string, Map<string, Series>>();
  // Later values of a day replace earlier ones: the day's point is its last value.
  const put = (host: string, resource: string, day: string, pct: number) => {
    const ofHost = getOrSet(series, host, () => new Map<string, Series>());
    getOrSet(ofHost, resource, () => ({ host, resource, byDay: new Map() })).byDay.set(day, pct);
  };
  // Facts first, findings after: a finding of the same day replaces the facts' value.
  for (const sample of [...facts].sort(byTime)) {
    const day = utcDay(sample.at);
    for (const [resource, pct] of usageFromFacts(sample.facts))
      put(sample.host, resource, day, pct);
  }
  const filesystems = new Map<string, string>();
  for (const sample of [...inspections].sort(byTime)) {
    const day = utcDay(sample.at);
    for (const f of sample.findings) {
      if (typeof f.value !== 'number' || f.unit !== '%' || !Number.isFinite(f.value)) continue;
      const resource =
        f.check === 'inspection.disk'
          ? getOrSet(filesystems, f.subject ?? '?', (mount) => `filesystem ${mount}`)
          : f.check === 'inspection.memory'
            ? 'memory'
            : undefined;
      if (!resource) continue;
      put(sample.host, resource, day, f.value);
    }
  }
  // A thousand hosts' series share the same thirty days: parse each day once.
  const dayNumbers = new Map<string, number>();
  const dayX = (day: string) => getOrSet(dayNumbers, day, () => dayNumber(day));
  return [...series.values()]
    .flatMap((ofHost) => [...ofHost.values()])
    .map((s) => headroomOf(s.host, s.resource, s.byDay, dayX))
    .sort(byUrgency);
}

interface Series {
  host: string;
  resource: string;
  /** UTC day → usage percent. */
  byDay: Map<string, number>;
}

function usageFromFacts(facts: FactsSample['facts']): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const m = facts.memory;
  if (m && isPositive(m.totalBytes) && typeof m.availableBytes === 'number') {
    out.push(['memory', (100 * (m.totalBytes - m.availableBytes)) / m.totalBytes]);
  }
  for (const fs of Array.isArray(facts.filesystems) ? facts.filesystems : []) {
    if (
      typeof fs?.mount === 'string' &&
      isPositive(fs.sizeBytes) &&
      typeof fs.usedBytes === 'number'
    ) {
      out.push([`filesystem ${fs.mount}`, (100 * fs.usedBytes) / fs.sizeBytes]);
    }
  }
  return out;
}

export function headroomOf(
  host: string,
  resource: string,
  byDay: Map<string, number>,
  dayX: (day: string) => number = dayNumber,
): HeadroomEntry {
  const points = [...byDay.entries()]
    .map(([day, pct]) => [dayX(day), pct] as const)
    .sort((a, b) => a[0] - b[0]);
  const last = points.at(-1)?.[1] ?? 0;
  const base = { host, resource, points: points.length, lastPercent: round1(last) };
  if (points.length < MIN_FIT_POINTS) {
    return { ...base, growthPerDay: null, daysUntilFull: null, status: 'not-enough-data' };
  }
  const fit = fitLine(points);
  // Float noise on a flat series must not read as growth measured in centuries.
  if (!fit || fit.slope <= 1e-9) {
    return {
      ...base,
      growthPerDay: fit ? round2(fit.slope) : 0,
      daysUntilFull: null,
      status: 'not-growing',
    };
  }
  const lastX = points.at(-1)![0];
  const fittedNow = fit.intercept + fit.slope * lastX;
  const days = Math.max(0, (100 - fittedNow) / fit.slope);
  return {
    ...base,
    growthPerDay: round2(fit.slope),
    daysUntilFull: round1(days),
    status: 'projected',
  };
}

function byTime(a: { at: string }, b: { at: string }): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : 0;
}

const statusOrder: Record<HeadroomEntry['status'], number> = {
  projected: 0,
  'not-growing': 1,
  'not-enough-data': 2,
};

function byUrgency(a: HeadroomEntry, b: HeadroomEntry): number {
  return (
    statusOrder[a.status] - statusOrder[b.status] ||
    (a.daysUntilFull ?? 0) - (b.daysUntilFull ?? 0) ||
    b.lastPercent - a.lastPercent ||
    a.host.localeCompare(b.host) ||
    a.resource.localeCompare(b.resource)
  );
}

function isPositive(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
