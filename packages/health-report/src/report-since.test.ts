import { describe, expect, it } from 'vitest';
import { parseReportTime, parseSince } from './report-since.js';

describe('parseSince', () => {
  const now = new Date('2025-03-31T12:00:00Z');
  it('turns 30d into the instant 30 days earlier', () => {
    expect(parseSince('30d', now).toISOString()).toBe('2025-03-01T12:00:00.000Z');
  });
  it('refuses anything but a day count, with the fix in the message', () => {
    for (const bad of ['30', '0d', '2w', '-1d', '999d', '30d; rm -rf /', '']) {
      expect(() => parseSince(bad, now)).toThrow(
        expect.objectContaining({ kind: 'invalid', code: 'REPORT_TIME_INVALID' }),
      );
    }
    expect(() => parseSince('2w', now)).toThrow(/write e\.g\. 30d/);
  });
});

describe('parseReportTime', () => {
  const now = new Date('2025-03-31T12:00:00Z');
  it('reads days back, a UTC day (its start, or its end for --until) and an ISO time', () => {
    expect(parseReportTime('7d', now, '--since').toISOString()).toBe('2025-03-24T12:00:00.000Z');
    expect(parseReportTime('2025-03-01', now, '--since').toISOString()).toBe(
      '2025-03-01T00:00:00.000Z',
    );
    expect(parseReportTime('2025-03-01', now, '--until').toISOString()).toBe(
      '2025-03-01T23:59:59.999Z',
    );
    expect(parseReportTime('2025-03-01T08:00:00+02:00', now, '--until').toISOString()).toBe(
      '2025-03-01T06:00:00.000Z',
    );
  });
  it('refuses a time without its zone, saying what to write', () => {
    expect(() => parseReportTime('2025-03-01T08:00', now, '--until')).toThrow(
      /--until "2025-03-01T08:00" is not a time: write a number of days/,
    );
  });
});
