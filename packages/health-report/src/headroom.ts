import { getOrSet, sortSamples } from './finding-snapshot.js';
import type { FactsSample, InspectionSample } from './history.js';
import type { HeadroomEntry } from './report-schema.js';
import { round1 } from './score-formula.js';
import { collectUsageSeries, type UsageByHost } from './usage-series.js';
import { dayNumber, dayOfNumber } from './utc-day.js';

/**
 * When a straight line through daily usage is worth acting on. A projection from three noisy
 * days, or from a line that explains almost none of the variation, would send people to
 * fix disks that are not filling up; so below these a series gets a reason instead of a date.
 */
export interface FitRule {
  /** Fewest daily points. */
  minPoints: number;
  /** Fewest days between the first and the last point. */
  minSpanDays: number;
  /** Lowest R² (share of the variation the line explains, 0–1). */
  minR2: number;
}

export const defaultFitRule: Readonly<FitRule> = { minPoints: 5, minSpanDays: 7, minR2: 0.5 };

/** Below this many daily points a straight line says nothing worth acting on. */
export const MIN_FIT_POINTS = defaultFitRule.minPoints;

export interface LinearFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination: 1 when every point is on the line (also a flat series). */
  r2: number;
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
  let syy = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  // Float noise on a flat series must not read as a poor fit: a constant is a perfect line.
  const r2 = syy <= 1e-12 ? 1 : Math.min(1, (sxy * sxy) / (sxx * syy));
  return { slope, intercept: my - slope * mx, r2 };
}

/**
 * Headroom of every disk and memory series (see `collectUsageSeries`): a least-squares line
 * through the daily points tells the growth per day and, when the fit is meaningful (`rule`)
 * and it grows, the days until 100 %.
 */
export function computeHeadroom(
  inspections: readonly InspectionSample[],
  facts: readonly FactsSample[],
  rule: FitRule = defaultFitRule,
): HeadroomEntry[] {
  return headroomOfSeries(collectUsageSeries(sortSamples(inspections), facts), rule);
}

export function headroomOfSeries(
  usage: UsageByHost,
  rule: FitRule = defaultFitRule,
): HeadroomEntry[] {
  // A thousand hosts' series share the same thirty days: parse each day once.
  const dayNumbers = new Map<string, number>();
  const dayX = (day: string) => getOrSet(dayNumbers, day, dayNumber);
  const entries: HeadroomEntry[] = [];
  for (const ofHost of usage.values())
    for (const s of ofHost.values())
      if (s.metric !== 'load') entries.push(headroomOf(s.host, s.resource, s.byDay, dayX, rule));
  return entries.sort(byUrgency);
}

/** The headroom of one series: a projection, or the reason there is none. */
export function headroomOf(
  host: string,
  resource: string,
  byDay: Map<string, number>,
  dayX: (day: string) => number = dayNumber,
  rule: FitRule = defaultFitRule,
): HeadroomEntry {
  const points = [...byDay.entries()]
    .map(([day, pct]) => [dayX(day), pct] as const)
    .sort((a, b) => a[0] - b[0]);
  const n = points.length;
  const spanDays = n > 0 ? points[n - 1]![0] - points[0]![0] : 0;
  const base = {
    host,
    resource,
    points: n,
    spanDays,
    lastPercent: round1(points.at(-1)?.[1] ?? 0),
    daysUntilFull: null,
    fullOn: null,
  };
  const without = (status: Exclude<HeadroomEntry['status'], 'projected'>, reason: string) => ({
    ...base,
    growthPerDay: null,
    r2: null,
    status,
    reason,
  });
  if (n < rule.minPoints)
    return without('not-enough-data', `too few points (${n} < ${rule.minPoints})`);
  if (spanDays < rule.minSpanDays)
    return without('not-enough-data', `too short a span (${spanDays} days < ${rule.minSpanDays})`);
  const fit = fitLine(points);
  if (!fit) return without('not-enough-data', 'every point is on the same day');
  const fitted = { ...base, growthPerDay: round2(fit.slope), r2: round2(fit.r2) };
  if (Math.abs(fit.slope) <= 1e-9)
    return { ...fitted, status: 'not-growing', reason: 'usage flat' };
  if (fit.r2 < rule.minR2) {
    return {
      ...fitted,
      status: 'no-trend',
      reason: `no trend (R² ${fitted.r2} < ${rule.minR2})`,
    };
  }
  if (fit.slope < 0) {
    return {
      ...fitted,
      status: 'not-growing',
      reason: `usage falling (${fitted.growthPerDay} pp/day)`,
    };
  }
  const lastX = points[n - 1]![0];
  const fittedNow = fit.intercept + fit.slope * lastX;
  const days = Math.max(0, (100 - fittedNow) / fit.slope);
  return {
    ...fitted,
    daysUntilFull: round1(days),
    fullOn: dayOfNumber(lastX + days),
    status: 'projected',
    reason: null,
  };
}

/** The rule in words: "at least 5 daily points over 7 days, R² at least 0.5, and growth". */
export function describeFitRule(rule: FitRule): string {
  return `at least ${rule.minPoints} daily points over ${rule.minSpanDays} days, R² at least ${rule.minR2}, and growth`;
}

/** "3 too little data, 2 no trend": the series without a projection, counted by status. */
export function countUnprojected(entries: readonly HeadroomEntry[]): string {
  const words = [
    ['not-enough-data', 'too little data'],
    ['no-trend', 'no trend'],
    ['not-growing', 'flat or falling'],
  ] as const;
  return words
    .map(([status, word]) => [entries.filter((e) => e.status === status).length, word] as const)
    .filter(([n]) => n > 0)
    .map(([n, word]) => `${n} ${word}`)
    .join(', ');
}

const statusOrder: Record<HeadroomEntry['status'], number> = {
  projected: 0,
  'no-trend': 1,
  'not-growing': 2,
  'not-enough-data': 3,
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

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
