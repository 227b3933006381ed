import { describe, expect, it } from 'vitest';
import { countUnprojected, defaultFitRule, fitLine, headroomOf } from './headroom.js';

describe('fitLine', () => {
  it('fits y = 2x + 1 exactly (R² 1) and refuses a vertical set', () => {
    expect(
      fitLine([
        [0, 1],
        [1, 3],
        [2, 5],
        [3, 7],
      ]),
    ).toEqual({ slope: 2, intercept: 1, r2: 1 });
    expect(
      fitLine([
        [1, 1],
        [1, 2],
      ]),
    ).toBeNull();
  });

  it('fits noisy points by least squares and says how much of the variation the line explains', () => {
    // x 0..3, y 1, 2, 2, 5: slope = Σ(dx·dy)/Σdx² = (−1.5·−1.5 + −0.5·−0.5 + 0.5·−0.5 + 1.5·2.5) / 5 = 1.2
    // R² = Σ(dx·dy)² / (Σdx² · Σdy²) = 6² / (5 · 9) = 0.8
    const fit = fitLine([
      [0, 1],
      [1, 2],
      [2, 2],
      [3, 5],
    ])!;
    expect(fit.slope).toBeCloseTo(1.2, 10);
    expect(fit.intercept).toBeCloseTo(0.7, 10);
    expect(fit.r2).toBeCloseTo(0.8, 10);
  });

  it('calls a flat series a perfect fit, not a poor one', () => {
    expect(
      fitLine([
        [0, 40],
        [1, 40],
        [2, 40],
      ]),
    ).toEqual({ slope: 0, intercept: 40, r2: 1 });
  });
});

/** Daily values from 2025-01-01 on, one a day (null: no value that day). */
const days = (values: Array<number | null>) =>
  new Map(
    values.flatMap((v, i) =>
      v === null ? [] : [[`2025-01-${String(i + 1).padStart(2, '0')}`, v] as const],
    ),
  );

describe('headroomOf under the default rule (5 points, 7 days, R² 0.5, growing)', () => {
  it('refuses a projection from too few points, and says how many it has', () => {
    expect(defaultFitRule).toEqual({ minPoints: 5, minSpanDays: 7, minR2: 0.5 });
    expect(headroomOf('h', 'filesystem /', days([70, 80, 90]))).toMatchObject({
      points: 3,
      status: 'not-enough-data',
      growthPerDay: null,
      r2: null,
      daysUntilFull: null,
      fullOn: null,
      reason: 'too few points (3 < 5)',
    });
  });

  it('refuses a projection from five days in a row: too short a span', () => {
    expect(headroomOf('h', 'filesystem /', days([50, 52, 54, 56, 58]))).toMatchObject({
      points: 5,
      spanDays: 4,
      status: 'not-enough-data',
      reason: 'too short a span (4 days < 7)',
    });
  });

  it('refuses a projection when the line explains little of the variation', () => {
    // Memory swinging between 40 and 90: some slope, no trend.
    const e = headroomOf('h', 'memory', days([40, 90, 45, 85, 50, 90, 42, 88]));
    expect(e.status).toBe('no-trend');
    expect(e.r2).toBeLessThan(0.5);
    expect(e.reason).toBe(`no trend (R² ${e.r2} < 0.5)`);
    expect(e.daysUntilFull).toBeNull();
    expect(e.growthPerDay).not.toBeNull();
  });

  it('says usage is falling, or flat, instead of projecting', () => {
    expect(headroomOf('h', 'memory', days([80, 78, 75, 74, 71, 69, 66, 64]))).toMatchObject({
      status: 'not-growing',
      reason: 'usage falling (-2.3 pp/day)',
      growthPerDay: -2.3,
      daysUntilFull: null,
    });
    expect(headroomOf('h', 'memory', days([40, 40, 40, 40, 40, 40, 40, 40]))).toMatchObject({
      status: 'not-growing',
      reason: 'usage flat',
      growthPerDay: 0,
      r2: 1,
    });
  });

  it('projects a steady growth: days until full from the fitted line, and the day it is reached', () => {
    // 60, 62, … 74 over 8 days: +2 pp/day, R² 1; (100 − 74) / 2 = 13 days after 2025-01-08.
    expect(headroomOf('h', 'filesystem /var', days([60, 62, 64, 66, 68, 70, 72, 74]))).toEqual({
      host: 'h',
      resource: 'filesystem /var',
      points: 8,
      spanDays: 7,
      lastPercent: 74,
      growthPerDay: 2,
      r2: 1,
      daysUntilFull: 13,
      fullOn: '2025-01-21',
      status: 'projected',
      reason: null,
    });
  });

  it('projects a noisy but clear growth, and says 0 days when the line is already past full', () => {
    const noisy = headroomOf('h', 'filesystem /', days([50, 54, 53, 58, 57, 62, 61, 66]));
    expect(noisy.status).toBe('projected');
    expect(noisy.r2).toBeGreaterThan(0.9);
    expect(
      headroomOf('h', 'filesystem /', days([86, 90, 94, 98, 102, 106, 110, 114])),
    ).toMatchObject({ daysUntilFull: 0, fullOn: '2025-01-08' });
  });

  it('uses calendar days as x, so a missing day neither distorts the growth nor counts as a point', () => {
    // 2025-01-01 … 2025-01-09 with gaps: 5 points over 8 days, +2 pp/day.
    const gap = headroomOf('h', 'memory', days([10, 12, null, 16, null, 20, null, null, 26]));
    expect(gap).toMatchObject({ points: 5, spanDays: 8, growthPerDay: 2, daysUntilFull: 37 });
  });

  it('takes a looser rule when given one', () => {
    const loose = { minPoints: 3, minSpanDays: 2, minR2: 0 };
    expect(headroomOf('h', 'filesystem /', days([70, 80, 90]), undefined, loose)).toMatchObject({
      status: 'projected',
      growthPerDay: 10,
      daysUntilFull: 1,
    });
  });
});

describe('countUnprojected', () => {
  it('counts the series without a projection by why', () => {
    const e = (values: number[]) => headroomOf('h', 'memory', days(values));
    expect(
      countUnprojected([
        e([1, 2]),
        e([1, 2, 3]),
        e([40, 90, 45, 85, 50, 90, 42, 88]),
        e([60, 62, 64, 66, 68, 70, 72, 74]),
        e([40, 40, 40, 40, 40, 40, 40, 40]),
      ]),
    ).toBe('2 too little data, 1 no trend, 1 flat or falling');
  });
});
