import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import { beforeAll, describe, expect, it } from 'vitest';
import { runScheduledSlot, type SlotRunOptions, startScheduler } from '../src/index.js';
import { useScheduleWorld } from './schedule-world.js';
import type { TicketWorld } from './ticket-world.js';

/*
 * The job queue is graphile-worker's tables in the team's database, which every engineer with
 * the database's credentials can write (`select graphile_worker.add_job('opsbook_schedule',
 * '{"schedule": …, "_cron": {"ts": …}}')`). A job so queued is handed to the scheduler exactly
 * as its cron's are: these tests give runScheduledSlot such payloads. A schedule's runs happen
 * at the minutes its cron names and nowhere else, and a slot still to come is not taken ahead
 * of its minute (which would leave nothing for the real slot).
 */

const scheduled = useScheduleWorld(
  'forged',
  '  nightly: {runbook: collect-diagnostics, cron: "0 3 * * *", backfill: 10m}\n',
);
let world: TicketWorld;
let config: Config;
let env: NodeJS.ProcessEnv;
const events = scheduled.events;
beforeAll(async () => {
  ({ world, config, env } = scheduled);
  await stateStoreOf(config).schedules!.register([
    { name: 'nightly', runbook: 'collect-diagnostics', cron: '0 3 * * *' },
  ]);
});

/** The scheduler's view of a slot, its clock at `now`. */
function at(now: Date): SlotRunOptions {
  return {
    config,
    executorSigner: world.eve,
    env,
    signal: new AbortController().signal,
    clock: () => now,
    onEvent: (e) => events.push(e),
  };
}

async function rowOf(slot: Date) {
  const slots = await stateStoreOf(config).schedules!.slotsSince(new Date(0));
  return slots.find((s) => s.schedule === 'nightly' && s.slot.getTime() === slot.getTime());
}

const runCount = async () => (await stateStoreOf(config).listRuns()).length;

const sql = (text: string) => scheduled.sql(text);

describe('a job in the queue for a minute its schedule does not fire', () => {
  it('runs nothing and takes no slot when the minute is not one of its cron (nightly at 03:00 UTC, queued for 10:17)', async () => {
    const before = await runCount();
    const forged = new Date('2026-11-02T10:17:00.000Z');
    await runScheduledSlot(at(new Date(forged.getTime() + 5_000)), {
      schedule: 'nightly',
      _cron: { ts: forged.toISOString() },
    });
    expect(await runCount()).toBe(before);
    expect(await rowOf(forged)).toBeUndefined();
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'slot-invalid',
        schedule: 'nightly',
        slot: forged.toISOString(),
        message: expect.stringContaining('0 3 * * *'),
      }),
    );
  });

  it('runs nothing ahead of its minute, and leaves the slot to come to its scheduler', async () => {
    const before = await runCount();
    const slot = new Date('2026-11-03T03:00:00.000Z');
    // Queued for tonight's 03:00 and handed over six hours early.
    await runScheduledSlot(at(new Date(slot.getTime() - 6 * 3_600_000)), {
      schedule: 'nightly',
      _cron: { ts: slot.toISOString() },
    });
    expect(await runCount()).toBe(before);
    expect(await rowOf(slot)).toBeUndefined();
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'slot-invalid', slot: slot.toISOString() }),
    );
    // The real slot, at its minute, runs.
    await runScheduledSlot(at(new Date(slot.getTime() + 5_000)), {
      schedule: 'nightly',
      _cron: { ts: slot.toISOString() },
    });
    expect(await rowOf(slot)).toMatchObject({ outcome: 'ran', runStatus: 'ok' });
    expect(await runCount()).toBe(before + 1);
  }, 60_000);
});

describe('a slot whose row was deleted from the database, queued again', () => {
  it('runs once: the second time it is refused (SCHEDULE_SLOT_RAN), as the ticket records its run', async () => {
    const slot = new Date('2026-11-04T03:00:00.000Z');
    const before = await runCount();
    await runScheduledSlot(at(new Date(slot.getTime() + 5_000)), {
      schedule: 'nightly',
      _cron: { ts: slot.toISOString() },
    });
    const first = await rowOf(slot);
    expect(first).toMatchObject({ outcome: 'ran', runStatus: 'ok' });
    expect(await runCount()).toBe(before + 1);
    // Whoever can write the database past its triggers (its owner, a superuser) forgets the
    // slot and queues it again, inside its grace.
    await sql(
      `set session_replication_role = replica; delete from opsbook_schedule_slots where schedule = 'nightly' and slot = '${slot.toISOString()}'`,
    );
    await runScheduledSlot(at(new Date(slot.getTime() + 60_000)), {
      schedule: 'nightly',
      _cron: { ts: slot.toISOString() },
    });
    expect(await runCount()).toBe(before + 1);
    expect(await rowOf(slot)).toMatchObject({
      outcome: 'refused',
      code: 'SCHEDULE_SLOT_RAN',
      message: expect.stringContaining(first!.runId!),
    });
  }, 60_000);
});

describe('a job added to the queue by hand, with a scheduler running', () => {
  it('runs nothing when its minute is not one of the cron', async () => {
    // graphile-worker hands the job over as soon as it is added (LISTEN/NOTIFY).
    const scheduler = await startScheduler({
      config,
      executorSigner: world.eve,
      env,
      signal: new AbortController().signal,
      onEvent: (e) => events.push(e),
    });
    try {
      const before = await runCount();
      const now = new Date();
      // This minute, or the one before when this one is 03:00: not late, and not nightly's.
      let forged = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
      if (forged.getUTCHours() === 3 && forged.getUTCMinutes() === 0)
        forged = new Date(forged.getTime() - 60_000);
      await sql(
        `select graphile_worker.add_job('opsbook_schedule', json_build_object('schedule', 'nightly', '_cron', json_build_object('ts', '${forged.toISOString()}')))`,
      );
      for (let i = 0; i < 600; i++) {
        const left = await sql(
          "select count(*) from graphile_worker.jobs where task_identifier = 'opsbook_schedule'",
        );
        if (left.trim() === '0') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(
        (
          await sql(
            "select count(*) from graphile_worker.jobs where task_identifier = 'opsbook_schedule'",
          )
        ).trim(),
      ).toBe('0');
      expect(await runCount()).toBe(before);
      expect(await rowOf(forged)).toBeUndefined();
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'slot-invalid', slot: forged.toISOString() }),
      );
    } finally {
      await scheduler.stop();
    }
  }, 60_000);
});

describe('a job for a schedule added to opsbook.yaml after the scheduler started', () => {
  it('is held to the cron opsbook.yaml now gives it: off its cron, nothing runs', async () => {
    // The scheduler's own config (loaded at its start) has no "weekly"; a scheduler started
    // later, with this opsbook.yaml, would queue weekly's slots, so its jobs are not refused as
    // unknown, but they are held to weekly's cron all the same.
    await appendFile(
      path.join(world.dir, 'opsbook.yaml'),
      '  weekly: {runbook: collect-diagnostics, cron: "30 4 * * 1"}\n',
    );
    const before = await runCount();
    const forged = new Date('2026-11-05T11:11:00.000Z'); // a Thursday, not 04:30 on a Monday
    await runScheduledSlot(at(new Date(forged.getTime() + 5_000)), {
      schedule: 'weekly',
      _cron: { ts: forged.toISOString() },
    });
    expect(await runCount()).toBe(before);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'slot-invalid',
        schedule: 'weekly',
        message: expect.stringContaining('30 4 * * 1'),
      }),
    );
  }, 60_000);
});
