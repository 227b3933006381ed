import path from 'node:path';
import { loadConfig } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { runSlotAt, slotRowAt, useScheduleWorld } from './schedule-world.js';

/*
 * A slot whose run the database itself refuses (here a real refusal: the scheduler's role may
 * write the schedule's tables but was granted only reading on the runs', as a DBA granting table
 * by table leaves it) is recorded in opsbook's words and code, saying what to do, never as
 * INTERNAL with the driver's text alone. The slot's time is the test's, not a real minute.
 */

const scheduled = useScheduleWorld(
  'database_refusal',
  '  nightly: {runbook: collect-diagnostics, cron: "0 3 * * *", backfill: 10m}\n',
);

describe('a scheduled slot whose run the database refuses', () => {
  it("is recorded with opsbook's code and what to do, not INTERNAL", async () => {
    const { pg, world } = scheduled;
    const role = 'slot_writer';
    const password = 'slot-writer-pw';
    await scheduled.sql(`create role ${role} login password '${password}';
      grant select on all tables in schema public to ${role};
      grant insert, update on opsbook_schedules, opsbook_schedule_slots to ${role};`);
    const url = `postgres://${role}:${password}@${pg.host}:${pg.port}/database_refusal`;
    const env = { ...scheduled.env, OPSBOOK_DATABASE_URL: url };
    const config = await loadConfig({ file: path.join(world.dir, 'opsbook.yaml'), env });
    const slot = new Date(Date.UTC(2026, 11, 7, 3, 0));
    expect(await runSlotAt({ config, env, world }, slot)).toBeUndefined();
    const row = await slotRowAt(config, slot);
    expect(row).toMatchObject({
      outcome: 'error',
      code: 'STATE_DB_REFUSED',
      message: expect.stringContaining(`user ${role}`),
    });
    expect(row?.message).toMatch(/permission denied for table opsbook_runs \(SQLSTATE 42501\)/);
    expect(row?.message).toMatch(/grant/);
    expect(row?.message).not.toContain(password);
    // Nothing ran: no run was claimed under the standing approval.
    expect(await scheduled.sql('select count(*) from opsbook_runs')).toMatch(/^0\s*$/);
  }, 60_000);
});
