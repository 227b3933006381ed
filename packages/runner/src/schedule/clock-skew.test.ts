import { describe, expect, it } from 'vitest';
import { clockSkewWarning, measureClockSkew, workerClockSkewWarning } from './clock-skew.js';

describe('measureClockSkew', () => {
  it("measures the database's clock against the middle of the round trip that read it", async () => {
    const times = [1_000_000, 1_000_400];
    const clock = () => new Date(times.shift()!);
    const skew = await measureClockSkew(
      { databaseNow: async () => new Date(1_000_200 + 180_000) },
      clock,
    );
    expect(skew).toBe(180_000);
  });
});

describe('clockSkewWarning', () => {
  it('says nothing of a skew under 30 s', () => {
    expect(clockSkewWarning(29_000)).toBeUndefined();
    expect(clockSkewWarning(-29_000)).toBeUndefined();
  });

  it('warns of a skew that eats into the 2 minutes a slot has to start, and says which clock is ahead', () => {
    expect(clockSkewWarning(45_000)).toBe(
      "this machine's clock is 45 s behind the database's (PostgreSQL clock_timestamp()): a slot has 2 minutes to start, and the skew takes that much of them; synchronise both with NTP (timedatectl status, chronyc tracking)",
    );
    expect(clockSkewWarning(-45_000)).toMatch(
      /^this machine's clock is 45 s ahead of the database's/,
    );
  });

  it('says that slots are lost past the 2 minutes', () => {
    expect(clockSkewWarning(-180_000)).toMatch(
      /180 s ahead of the database's .*more than the 2 minutes a slot has to start: slots are refused as late \(SCHEDULE_SLOT_LATE\) or reported missed; synchronise/,
    );
  });
});

describe('workerClockSkewWarning', () => {
  it('says nothing of a skew under 30 s', () => {
    expect(workerClockSkewWarning(29_000)).toBeUndefined();
    expect(workerClockSkewWarning(-29_000)).toBeUndefined();
  });

  it('warns of a skew from 30 s, saying which clock is ahead and that approval windows are judged by it (not slots)', () => {
    const ahead = workerClockSkewWarning(-45_000);
    expect(ahead).toMatch(/^this machine's clock is 45 s ahead of the database's /);
    expect(ahead).toMatch(/approval validity window/);
    expect(ahead).not.toMatch(/slot/);
    expect(workerClockSkewWarning(180_000)).toMatch(/^this machine's clock is 180 s behind/);
  });
});
