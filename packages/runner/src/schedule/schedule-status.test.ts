import type { Config } from '@opsbook/schema';
import type { KnownSchedule, ScheduleSlot } from '@opsbook/state';
import { describe, expect, it } from 'vitest';
import { nextSlot, scheduleStatus, slotsBetween } from './schedule-status.js';
import { parseScheduleCron } from './schedules.js';

const config = (cron: string) =>
  ({
    file: '/repo/opsbook.yaml',
    raw: { schedules: { daily: { runbook: 'daily-inspection', cron } } },
  }) as unknown as Pick<Config, 'raw' | 'file'>;

async function matcherOf(cron: string) {
  const [parsed] = await parseScheduleCron(config(cron));
  return parsed!;
}

const at = (iso: string) => new Date(iso);
const known = (since: string, cron = '0 6 * * *'): KnownSchedule => ({
  name: 'daily',
  runbook: 'daily-inspection',
  cron,
  knownSince: at(since),
});
/** A slot that ran ok; `extra` overrides fields, and a field given as undefined is left out. */
const ran = (
  slot: string,
  extra: { [K in keyof ScheduleSlot]?: ScheduleSlot[K] | undefined } = {},
): ScheduleSlot => {
  const merged: Record<string, unknown> = {
    schedule: 'daily',
    slot: at(slot),
    backfilled: false,
    startedAt: at(slot),
    endedAt: at(slot),
    outcome: 'ran',
    runId: `run-${slot}`,
    runStatus: 'ok',
    ...extra,
  };
  return Object.fromEntries(
    Object.entries(merged).filter(([, v]) => v !== undefined),
  ) as unknown as ScheduleSlot;
};

describe('scheduleStatus', () => {
  it('gives the next slot in UTC and the last run, and nothing missed when every slot ran', async () => {
    const { schedule, matches } = await matcherOf('0 6 * * *');
    const status = scheduleStatus({
      schedule,
      matches,
      known: known('2025-03-01T00:00:00Z'),
      slots: [ran('2025-03-01T06:00:00Z'), ran('2025-03-02T06:00:00Z')],
      now: at('2025-03-02T07:30:00Z'),
      since: at('2025-02-23T07:30:00Z'),
    });
    expect(status).toMatchObject({
      state: 'ok',
      next: '2025-03-03T06:00:00.000Z',
      last: { slot: '2025-03-02T06:00:00.000Z', status: 'ok', runId: 'run-2025-03-02T06:00:00Z' },
      missed: { count: 0, slots: [] },
    });
  });

  it('reports a slot no scheduler took as missed (no-run), newest first', async () => {
    const { schedule, matches } = await matcherOf('0 6 * * *');
    const status = scheduleStatus({
      schedule,
      matches,
      known: known('2025-03-01T00:00:00Z'),
      slots: [ran('2025-03-01T06:00:00Z')],
      now: at('2025-03-03T12:00:00Z'),
      since: at('2025-02-24T00:00:00Z'),
    });
    expect(status.state).toBe('missed');
    expect(status.missed.slots).toEqual([
      { slot: '2025-03-03T06:00:00.000Z', reason: 'no-run' },
      { slot: '2025-03-02T06:00:00.000Z', reason: 'no-run' },
    ]);
  });

  it('counts a refused or failed-to-start slot as missed, with its code', async () => {
    const { schedule, matches } = await matcherOf('0 6 * * *');
    const status = scheduleStatus({
      schedule,
      matches,
      known: known('2025-03-01T00:00:00Z'),
      slots: [
        ran('2025-03-01T06:00:00Z', {
          outcome: 'refused',
          code: 'EXPIRED',
          message: 'expired',
          runId: undefined,
          runStatus: undefined,
        }),
      ],
      now: at('2025-03-01T07:00:00Z'),
      since: at('2025-02-24T00:00:00Z'),
    });
    expect(status.missed.slots).toEqual([
      { slot: '2025-03-01T06:00:00.000Z', reason: 'refused', code: 'EXPIRED', message: 'expired' },
    ]);
    expect(status.last).toMatchObject({ status: 'refused', code: 'EXPIRED' });
  });

  it('does not count a slot missed within the grace period, nor before the schedule was known', async () => {
    const { schedule, matches } = await matcherOf('* * * * *');
    const status = scheduleStatus({
      schedule,
      matches,
      known: known('2025-03-01T06:00:30Z', '* * * * *'),
      slots: [],
      now: at('2025-03-01T06:03:30Z'),
      since: at('2025-03-01T00:00:00Z'),
    });
    // 06:01 is missed; 06:00 came before the schedule was known; 06:02 and 06:03 are in the grace.
    expect(status.missed.slots.map((s) => s.slot)).toEqual(['2025-03-01T06:01:00.000Z']);
  });

  it('reports a slot whose scheduler died before its end as abandoned and missed; a held one as running', async () => {
    const { schedule, matches } = await matcherOf('0 6 * * *');
    const going = {
      endedAt: undefined,
      outcome: undefined,
      runId: undefined,
      runStatus: undefined,
    };
    const status = scheduleStatus({
      schedule,
      matches,
      known: known('2025-03-01T00:00:00Z'),
      slots: [
        ran('2025-03-01T06:00:00Z', { ...going, abandoned: true }),
        ran('2025-03-02T06:00:00Z', going),
      ],
      now: at('2025-03-02T07:30:00Z'),
      since: at('2025-02-23T07:30:00Z'),
    });
    expect(status.state).toBe('missed');
    expect(status.last).toMatchObject({ slot: '2025-03-02T06:00:00.000Z', status: 'running' });
    expect(status.missed.slots).toEqual([
      {
        slot: '2025-03-01T06:00:00.000Z',
        reason: 'abandoned',
        message: expect.stringContaining('never recorded its end'),
      },
    ]);
    const alone = scheduleStatus({
      schedule,
      matches,
      known: known('2025-03-01T00:00:00Z'),
      slots: [ran('2025-03-01T06:00:00Z', { ...going, abandoned: true })],
      now: at('2025-03-01T07:30:00Z'),
      since: at('2025-02-23T07:30:00Z'),
    });
    expect(alone.last).toMatchObject({ status: 'abandoned', message: expect.any(String) });
  });

  it('calls a schedule no scheduler has registered unscheduled', async () => {
    const { schedule, matches } = await matcherOf('0 6 * * *');
    const status = scheduleStatus({
      schedule,
      matches,
      known: undefined,
      slots: [],
      now: at('2025-03-01T07:00:00Z'),
      since: at('2025-02-24T00:00:00Z'),
    });
    expect(status).toMatchObject({ state: 'unscheduled', knownSince: null, last: null });
  });
});

describe('slots', () => {
  it('follows cron: both day fields restrict as either, */n steps, 7 is Sunday', async () => {
    const weekly = await matcherOf('30 4 * * 7');
    expect(nextSlot(weekly.matches, at('2025-03-01T00:00:00Z'))?.toISOString()).toBe(
      '2025-03-02T04:30:00.000Z', // a Sunday
    );
    const quarter = await matcherOf('*/15 0 * * *');
    expect(
      slotsBetween(quarter.matches, at('2025-03-01T00:00:00Z'), at('2025-03-01T01:00:00Z')).map(
        (d) => d.toISOString().slice(11, 16),
      ),
    ).toEqual(['00:00', '00:15', '00:30', '00:45']);
  });

  it('refuses a cron graphile-worker refuses, naming the schedule and the file', async () => {
    await expect(parseScheduleCron(config('5-3 * * * *'))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('schedules.daily.cron "5-3 * * * *"'),
    });
  });
});
