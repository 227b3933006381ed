import type { Config } from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import { type HeldAdvisoryLock, holdAdvisoryLock } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readScheduleReport, runScheduledSlot, type ScheduleEvent } from '../src/index.js';
import { useScheduleWorld } from './schedule-world.js';
import type { TicketWorld } from './ticket-world.js';

/*
 * Any role of the team's database may take a slot's advisory lock
 * (`opsbook-schedule-slot:<name>:<ms>`) ahead of the slot and keep it: the scheduler then cannot
 * take the slot, which runs nothing. The scheduler must name the session that holds the lock (as
 * SCHEDULE_BUSY names the holder of a schedule's lock), not only say "taken by another
 * scheduler". The slot is the test's (a nightly cron, the scheduler's clock given), so no real
 * minute is waited for.
 */

const DATABASE = 'slot_held';
const scheduled = useScheduleWorld(
  DATABASE,
  '  nightly: {runbook: collect-diagnostics, cron: "0 3 * * *", backfill: 10m}\n',
);
let world: TicketWorld;
let config: Config;
let env: NodeJS.ProcessEnv;
let holder: HeldAdvisoryLock | undefined;
beforeAll(() => {
  ({ world, config, env } = scheduled);
});
afterAll(() => {
  holder?.kill();
});

describe('a slot whose lock a session took ahead of it', () => {
  it('runs nothing; the scheduler, and schedule list later, name the session holding its lock', async () => {
    const slot = new Date(Date.UTC(2026, 11, 7, 3, 0));
    holder = await holdAdvisoryLock(
      scheduled.pg.env(DATABASE),
      `opsbook-schedule-slot:nightly:${slot.getTime()}`,
      'ops-debug',
    );
    const { pid } = holder;
    const events: ScheduleEvent[] = [];
    await runScheduledSlot(
      {
        config,
        executorSigner: world.eve,
        env,
        signal: new AbortController().signal,
        clock: () => new Date(slot.getTime() + 5_000),
        onEvent: (e) => events.push(e),
      },
      { schedule: 'nightly', _cron: { ts: slot.toISOString() } },
    );
    expect(events).toEqual([
      {
        type: 'slot-taken',
        schedule: 'nightly',
        slot: slot.toISOString(),
        holders: [expect.stringMatching(new RegExp(`pid ${pid}\\b.*ops-debug`))],
      },
    ]);
    const slots = await stateStoreOf(config).schedules!.slotsSince(new Date(0));
    expect(slots.filter((s) => s.schedule === 'nightly')).toEqual([]);
    expect((await stateStoreOf(config).listRuns()).length).toBe(0);

    // schedule list, later: the slot no scheduler took names the session still holding its lock.
    await stateStoreOf(config).schedules!.register([
      { name: 'nightly', runbook: 'collect-diagnostics', cron: '0 3 * * *' },
    ]);
    await scheduled.sql(
      `update opsbook_schedules set known_since = '${new Date(slot.getTime() - 60_000).toISOString()}'`,
    );
    const report = await readScheduleReport(config, {
      now: new Date(slot.getTime() + 10 * 60_000),
      since: new Date(slot.getTime() - 60_000),
    });
    const nightly = report.schedules.find((s) => s.name === 'nightly');
    expect(nightly?.missed.slots).toEqual([
      {
        slot: slot.toISOString(),
        reason: 'no-run',
        heldBy: [expect.objectContaining({ pid, isGranted: true, application: 'ops-debug' })],
      },
    ]);
    expect(report.hasMissed).toBe(true);
  }, 60_000);
});
