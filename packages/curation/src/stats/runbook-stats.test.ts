import { describe, expect, it } from 'vitest';
import { elapsed } from './render-stats-markdown.js';
import { compareVersions, percentile } from './runbook-stats.js';

describe('percentile (nearest rank)', () => {
  it('is the smallest value with at least q of the values at or below it', () => {
    expect(percentile([120, 30, 90, 60], 0.5)).toBe(60);
    expect(percentile([120, 30, 90, 60], 0.9)).toBe(120);
    expect(percentile([7], 0.9)).toBe(7);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
  });
});

describe('compareVersions', () => {
  it('orders by the numbers, a pre-release before its release', () => {
    const sorted = ['1.10.0', '1.2.0', '1.2.0-rc.1', '0.9.9', '2.0.0'].sort(compareVersions);
    expect(sorted).toEqual(['0.9.9', '1.2.0-rc.1', '1.2.0', '1.10.0', '2.0.0']);
  });
});

describe('elapsed', () => {
  it('writes a duration the way a reviewer reads it', () => {
    expect([850, 41_000, 110_000, 7_380_000].map(elapsed)).toEqual([
      '850 ms',
      '41 s',
      '1 m 50 s',
      '2 h 3 m',
    ]);
    expect(elapsed(undefined)).toBe('–');
  });
});
