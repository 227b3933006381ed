import { describe, expect, it } from 'vitest';
import { configSchema } from './config-schema.js';
import { durationPattern, formatDuration, readDuration } from './duration.js';
import { runbookSchema } from './runbook-schema.js';

describe('durations', () => {
  it('reads a whole positive number in every unit', () => {
    expect(readDuration('500ms')).toEqual({ amount: 500, unit: 'ms', ms: 500 });
    expect(readDuration('30s')?.ms).toBe(30_000);
    expect(readDuration('90m')?.ms).toBe(5_400_000);
    expect(readDuration('2h')?.ms).toBe(7_200_000);
    expect(readDuration('7d')?.ms).toBe(604_800_000);
  });

  it('refuses zero, leading zeros, signs, fractions, spaces and unknown units', () => {
    for (const bad of ['0s', '05m', '-1h', '+1h', '1.5h', ' 1h', '1h ', '1 h', '1w', 'h', '', '1'])
      expect(readDuration(bad), bad).toBeUndefined();
  });

  it('accepts only the units the caller allows', () => {
    expect(readDuration('7d', ['ms', 's', 'm', 'h'])).toBeUndefined();
    expect(readDuration('30s', ['m', 'h', 'd'])).toBeUndefined();
    expect(readDuration('30d', ['d'])?.amount).toBe(30);
  });

  it('is the grammar the runbook and config schemas check', () => {
    const stepTimeout = runbookSchema.$defs.step.properties.timeout.pattern;
    const jiraTimeout = configSchema.properties.tracker.properties.jira.properties.timeout.pattern;
    expect(stepTimeout).toBe(durationPattern(['ms', 's', 'm', 'h']));
    expect(jiraTimeout).toBe(durationPattern(['ms', 's', 'm', 'h']));
  });

  it('formats in the largest unit that divides evenly', () => {
    expect(formatDuration(604_800_000)).toBe('7d');
    expect(formatDuration(7_200_000)).toBe('2h');
    expect(formatDuration(5_400_000)).toBe('90m');
    expect(formatDuration(61_000)).toBe('2m');
  });
});
