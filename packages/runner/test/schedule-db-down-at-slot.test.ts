import { stateStoreOf } from '@opsbook/state';
import { commitAnswerLost } from '@opsbook/testkit/postgres';
import { describe, expect, it } from 'vitest';
import type { ScheduleEvent } from '../src/index.js';
import { runSlotAt, slotRowAt, useScheduleWorld } from './schedule-world.js';

/*
 * PostgreSQL restarts (a real server, stopped and started again on its data dir) just as a slot
 * comes up: graphile-worker hands the slot over once (a slot is never retried), so the slot
 * must wait for the database for the few seconds a restart takes, not be lost. It runs once.
 * (The first two held before they were written down: they keep it so.)
 */

const scheduled = useScheduleWorld(
  'db_down_at_slot',
  '  nightly: {runbook: collect-diagnostics, cron: "0 3 * * *", backfill: 10m}\n',
);

async function serverDown(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const up = await scheduled.sql('select 1').then(
      () => true,
      () => false,
    );
    if (!up) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('PostgreSQL did not stop within 2 s');
}

describe('a slot that comes up while PostgreSQL restarts', () => {
  it('waits for the database and runs once, recorded', async () => {
    const { world, config, env, pg } = scheduled;
    const slot = new Date(Date.UTC(2026, 11, 7, 3, 0));
    const restarted = pg.restart({ downMs: 3000 });
    await serverDown();
    const events: ScheduleEvent[] = [];
    const thrown = await runSlotAt({ config, env, world }, slot, (e) => events.push(e));
    await restarted;
    expect(thrown).toBeUndefined();
    const row = await slotRowAt(config, slot);
    expect(row).toMatchObject({ outcome: 'ran', runStatus: 'ok' });
    expect(events.map((e) => e.type)).toEqual(['slot-start', 'slot-end']);
    expect(await scheduled.sql('select count(*) from opsbook_runs')).toMatch(/^1\s*$/);
  }, 60_000);

  it('killed (immediate shutdown, crash recovery) as the slot starts: the slot runs once, recorded', async () => {
    const { world, config, env, pg } = scheduled;
    const slot = new Date(Date.UTC(2026, 11, 7, 3, 0) + 86_400_000);
    let restarted: Promise<void> | undefined;
    const events: ScheduleEvent[] = [];
    const thrown = await runSlotAt({ config, env, world }, slot, (e) => {
      events.push(e);
      if (e.type !== 'slot-start') return;
      // SIGQUIT is PostgreSQL's immediate shutdown: no checkpoint, every session cut.
      process.kill(pg.pid, 'SIGQUIT');
      restarted = pg.restart({ downMs: 2000 });
    });
    await restarted;
    expect(thrown).toBeUndefined();
    const row = await slotRowAt(config, slot);
    expect(row).toMatchObject({ outcome: 'ran', runStatus: 'ok' });
    expect(events.map((e) => e.type)).toEqual(['slot-start', 'slot-end']);
    // This slot's run and the first test's: one each.
    expect(await scheduled.sql('select count(*) from opsbook_runs')).toMatch(/^2\s*$/);
    expect((await stateStoreOf(config).readRun(row!.runId!)).verification.ok).toBe(true);
  }, 60_000);

  it("takes the slot whose row was written when the answer was lost (the row's commit cut off): it runs once", async () => {
    const { world, config, env, pg } = scheduled;
    const slot = new Date(Date.UTC(2026, 11, 7, 3, 0) + 2 * 86_400_000);
    // A synchronous standby that never answers holds the row's commit once written locally;
    // the backend waiting there is ended, as a restart would end it.
    const events: ScheduleEvent[] = [];
    const ran = await commitAnswerLost(pg, undefined, "the slot's row", () =>
      runSlotAt({ config, env, world }, slot, (e) => events.push(e)),
    );
    expect(ran).toStrictEqual({ value: undefined });
    const row = await slotRowAt(config, slot);
    expect(row).toMatchObject({ outcome: 'ran', runStatus: 'ok' });
    expect(events.map((e) => e.type)).toEqual(['slot-start', 'slot-end']);
    expect(await scheduled.sql('select count(*) from opsbook_runs')).toMatch(/^3\s*$/);
  }, 60_000);
});
