import { describe, expect, it } from 'vitest';
import { parseRetentionPolicy, planRetention, type RetentionInput } from './retention.js';

const day = (iso: string, id = iso, verified = false, source = 'files:/etc'): RetentionInput => ({
  id,
  source,
  host: 'web-1',
  startedAt: `${iso}T02:00:00.000Z`,
  verified,
});

const kept = (decisions: ReturnType<typeof planRetention>) =>
  decisions.filter((d) => d.keep).map((d) => d.id);

describe('planRetention', () => {
  it('keeps the newest N with keepLast', () => {
    const backups = ['2025-01-01', '2025-01-02', '2025-01-03', '2025-01-04'].map((d) => day(d));
    expect(kept(planRetention(backups, { keepLast: 2 }))).toEqual(['2025-01-03', '2025-01-04']);
  });

  it('keeps the newest backup of each of the last N days, weeks and months like restic forget', () => {
    const backups = [
      day('2024-11-15'),
      day('2024-12-20'),
      day('2024-12-30'),
      day('2025-01-01', 'jan1-early'),
      { ...day('2025-01-01', 'jan1-late'), startedAt: '2025-01-01T23:00:00.000Z' },
      day('2025-01-05'),
      day('2025-01-06'),
    ];
    const decisions = planRetention(backups, { keepDaily: 2, keepWeekly: 2, keepMonthly: 3 });
    // 2024-12-30 falls in ISO week 2025-W01 with 01-01 and 01-05: weekly keeps 01-05 for it.
    expect(kept(decisions)).toEqual(['2024-11-15', '2024-12-30', '2025-01-05', '2025-01-06']);
    expect(decisions.find((d) => d.id === '2025-01-06')!.reasons).toEqual([
      'daily 2025-01-06',
      'weekly 2025-W02',
      'monthly 2025-01',
    ]);
    expect(decisions.find((d) => d.id === 'jan1-early')!.keep).toBe(false);
  });

  it('never removes the only verified backup of a source', () => {
    const backups = [day('2025-01-01', 'old-verified', true), day('2025-01-02'), day('2025-01-03')];
    const decisions = planRetention(backups, { keepLast: 1 });
    expect(kept(decisions)).toEqual(['old-verified', '2025-01-03']);
    expect(decisions.find((d) => d.id === 'old-verified')!.reasons).toEqual(['only verified copy']);
  });

  it('decides per host and source, never letting one source push out another', () => {
    const backups = [
      day('2025-01-01', 'etc-1'),
      day('2025-01-02', 'db-1', false, 'postgres:app'),
      day('2025-01-03', 'etc-2'),
    ];
    expect(kept(planRetention(backups, { keepLast: 1 }))).toEqual(['db-1', 'etc-2']);
  });

  it('keeps a pinned backup (the one this run made) even when it is older than the ones the rules keep', () => {
    const backups = [
      { ...day('2025-01-01', 'this-run'), pinned: 'made by this run' },
      day('2025-01-02'),
      day('2025-01-03'),
    ];
    const decisions = planRetention(backups, { keepDaily: 1 });
    expect(kept(decisions)).toEqual(['this-run', '2025-01-03']);
    expect(decisions.find((d) => d.id === 'this-run')!.reasons).toEqual(['made by this run']);
  });

  it('refuses a policy that would remove everything', () => {
    expect(() => planRetention([day('2025-01-01')], {})).toThrow(/at least one keep rule/);
    expect(() => planRetention([day('2025-01-01')], { keepLast: 0 })).toThrow(
      /at least one keep rule/,
    );
  });
});

describe('parseRetentionPolicy (backup prune --keep-*)', () => {
  it('reads each --keep-* option into its rule, leaving out the absent ones', () => {
    expect(
      parseRetentionPolicy({
        'keep-last': '3',
        'keep-weekly': '0',
        'keep-yearly': '10',
        host: 'x',
      }),
    ).toEqual({ keepLast: 3, keepWeekly: 0, keepYearly: 10 });
    expect(parseRetentionPolicy({})).toEqual({});
  });

  it('refuses a value that is not a whole number, naming the option', () => {
    for (const bad of ['-1', '1.5', 'seven', '', '99999999999999999999'])
      expect(() => parseRetentionPolicy({ 'keep-daily': bad })).toThrow(
        `--keep-daily must be a whole number ≥ 0, not '${bad}'`,
      );
  });
});
