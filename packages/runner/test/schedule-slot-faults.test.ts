import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSlotAt, slotRowAt, useScheduleWorld } from './schedule-world.js';

/*
 * What keeps a slot's routine from running is recorded with a code that says what it is, and a
 * message that says what to do: a runbook that no longer loads, a plan that no longer verifies
 * against the standing approval, a table of opsbook's missing from the database. Never INTERNAL
 * with the driver's words alone. The slot's time is the test's (a nightly cron, its clock
 * given), not a real minute: each test takes its own night.
 */

const scheduled = useScheduleWorld(
  'slot_faults',
  '  nightly: {runbook: collect-diagnostics, cron: "0 3 * * *", backfill: 10m}\n',
);

const night = (n: number) => new Date(Date.UTC(2026, 11, 7 + n, 3, 0));

/** Runs the slot of night `n` with runbook.yaml given `edit`, put back after. */
async function slotWithRunbook(n: number, edit: (yaml: string) => string) {
  const { world, config, env } = scheduled;
  const file = path.join(world.dir, 'runbooks/collect-diagnostics/runbook.yaml');
  const yaml = await readFile(file, 'utf8');
  await writeFile(file, edit(yaml));
  try {
    expect(await runSlotAt({ config, env, world }, night(n))).toBeUndefined();
    return await slotRowAt(config, night(n));
  } finally {
    await writeFile(file, yaml);
  }
}

describe('a scheduled slot whose routine cannot run', () => {
  it('records a runbook that no longer loads as INVALID_INPUT at its file:line', async () => {
    const row = await slotWithRunbook(1, (yaml) => `${yaml}\n  : [`);
    expect(row).toMatchObject({
      outcome: 'error',
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/runbook\.yaml:\d+:\d+: .*never closed/),
    });
  }, 60_000);

  it('records a plan that no longer verifies (the runbook edited) as refused, DIGEST_MISMATCH', async () => {
    const row = await slotWithRunbook(2, (yaml) => `${yaml}\n# edited\n`);
    expect(row).toMatchObject({
      outcome: 'refused',
      code: 'DIGEST_MISMATCH',
      message: expect.stringContaining('ask a senior to re-approve'),
    });
  }, 60_000);

  it("records a table of opsbook's missing from the database as STATE_DB_REFUSED, saying what to do", async () => {
    const { world, config, env } = scheduled;
    await scheduled.sql('drop table opsbook_runs cascade');
    expect(await runSlotAt({ config, env, world }, night(3))).toBeUndefined();
    const row = await slotRowAt(config, night(3));
    expect(row).toMatchObject({ outcome: 'error', code: 'STATE_DB_REFUSED' });
    expect(row?.message).toMatch(
      /relation "opsbook_runs" does not exist \(SQLSTATE 42P01\); the database lacks a table, column or function opsbook db migrate made/,
    );
    expect(row?.message).toMatch(/restore/);
  }, 60_000);
});
