import { UsageError } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { parseSince } from './report-since.js';

describe('parseSince', () => {
  const now = new Date('2025-03-31T12:00:00Z');
  it('turns 30d into the instant 30 days earlier', () => {
    expect(parseSince('30d', now).toISOString()).toBe('2025-03-01T12:00:00.000Z');
  });
  it('refuses anything but a day count, with the fix in the message', () => {
    for (const bad of ['30', '0d', '2w', '-1d', '999d', '30d; rm -rf /', '']) {
      expect(() => parseSince(bad, now)).toThrow(UsageError);
    }
    expect(() => parseSince('2w', now)).toThrow(/write e\.g\. 30d/);
  });
});
