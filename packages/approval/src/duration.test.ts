import { durationPattern, UsageError } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { approversSchema } from './approvers-schema.js';
import { formatDuration, parseDuration } from './duration.js';

describe('approval validity durations', () => {
  it('reads minutes, hours and days', () => {
    expect(parseDuration('90m')).toBe(5_400_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(formatDuration(parseDuration('48h'))).toBe('2d');
  });

  it('refuses seconds, milliseconds and numbers past six digits, saying what to write', () => {
    for (const bad of ['30s', '500ms', '1000000m', '0d', '1w'])
      expect(() => parseDuration(bad), bad).toThrow(UsageError);
    expect(() => parseDuration('30s')).toThrow(/write minutes, hours or days such as 90m/);
    expect(parseDuration('999999m')).toBe(999_999 * 60_000);
  });

  it('is the grammar the trust store policy checks', () => {
    expect(approversSchema.properties.policy.properties.maxValidity.pattern).toBe(
      durationPattern(['m', 'h', 'd']),
    );
  });
});
