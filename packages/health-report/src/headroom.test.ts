import { describe, expect, it } from 'vitest';
import { fitLine, headroomOf } from './headroom.js';

describe('fitLine', () => {
  it('fits y = 2x + 1 exactly and refuses a vertical set', () => {
    expect(
      fitLine([
        [0, 1],
        [1, 3],
        [2, 5],
        [3, 7],
      ]),
    ).toEqual({ slope: 2, intercept: 1 });
    expect(
      fitLine([
        [1, 1],
        [1, 2],
      ]),
    ).toBeNull();
  });

  it('fits noisy points by least squares', () => {
    // x 0..3, y 1, 2, 2, 5: slope = Σ(dx·dy)/Σdx² = (−1.5·−1.5 + −0.5·−0.5 + 0.5·−0.5 + 1.5·2.5) / 5 = 1.2
    const fit = fitLine([
      [0, 1],
      [1, 2],
      [2, 2],
      [3, 5],
    ])!;
    expect(fit.slope).toBeCloseTo(1.2, 10);
    expect(fit.intercept).toBeCloseTo(0.7, 10);
  });
});

describe('headroomOf', () => {
  const days = (values: number[]) =>
    new Map(values.map((v, i) => [`2025-01-${String(i + 1).padStart(2, '0')}`, v]));

  it('says not enough data below three points', () => {
    expect(headroomOf('h', 'memory', days([10, 20]))).toMatchObject({
      status: 'not-enough-data',
      growthPerDay: null,
      daysUntilFull: null,
    });
  });

  it('says not growing for a flat or shrinking series', () => {
    expect(headroomOf('h', 'memory', days([40, 40, 40]))).toMatchObject({
      status: 'not-growing',
      growthPerDay: 0,
      daysUntilFull: null,
    });
    expect(headroomOf('h', 'memory', days([50, 45, 40]))).toMatchObject({
      status: 'not-growing',
      growthPerDay: -5,
    });
  });

  it('projects from the fitted line, and says 0 days when it is already past full', () => {
    expect(headroomOf('h', 'filesystem /', days([70, 80, 90]))).toMatchObject({
      growthPerDay: 10,
      daysUntilFull: 1,
      status: 'projected',
    });
    expect(headroomOf('h', 'filesystem /', days([90, 100, 110]))).toMatchObject({
      daysUntilFull: 0,
    });
  });

  it('uses calendar days as x, so a missing day does not distort the growth', () => {
    const gap = new Map([
      ['2025-01-01', 10],
      ['2025-01-02', 12],
      ['2025-01-05', 18],
    ]);
    expect(headroomOf('h', 'memory', gap)).toMatchObject({ growthPerDay: 2, daysUntilFull: 41 });
  });
});
