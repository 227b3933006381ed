import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, parseRetryAfter, retryDelay } from './retry-policy.js';

const now = Date.parse('2026-03-02T10:00:00Z');

describe('retry policy', () => {
  it('reads Retry-After as seconds or as an HTTP-date', () => {
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 02 Mar 2026 10:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Mon, 02 Mar 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('backs off exponentially with full jitter under a cap', () => {
    const top = () => 0.999999;
    expect([1, 2, 3, 4, 10].map((n) => retryDelay(n, DEFAULT_RETRY_POLICY, top))).toEqual([
      499, 999, 1999, 3999, 14999,
    ]);
    expect(retryDelay(3, DEFAULT_RETRY_POLICY, () => 0)).toBe(0);
  });

  it('waits at least what the server asked for', () => {
    expect(retryDelay(1, DEFAULT_RETRY_POLICY, () => 0, 5000)).toBe(5000);
    expect(retryDelay(1, DEFAULT_RETRY_POLICY, () => 0.5, 5000)).toBe(5250);
  });
});
