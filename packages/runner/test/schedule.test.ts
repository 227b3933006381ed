import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Config, loadConfig } from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  readScheduleReport,
  runScheduledSlot,
  type Scheduler,
  type SlotRunOptions,
  startScheduler,
} from '../src/index.js';
import { useScheduleWorld } from './schedule-world.js';
import type { TicketWorld } from './ticket-world.js';

/*
 * Issue #16 item 6 against a real PostgreSQL and graphile-worker's real cron: a schedule's slot
 * runs its routine under the standing approval (the run is in the store's history), a slot
 * whose standing approval is missing is refused and reported as missed, and slots no
 * scheduler took are reported as missed. No real minute is waited for: the test moves
 * graphile-worker's record of the last slot it queued back, so that the scheduler's start
 * backfills the current minute at once, as it does after real downtime.
 */

const scheduled = useScheduleWorld(
  'schedules',
  `  diagnostics: {runbook: collect-diagnostics, cron: "* * * * *", backfill: 10m}
  inventory: {runbook: resource-inventory, cron: "* * * * *", backfill: 10m}
`,
);
let world: TicketWorld;
let config: Config;
let env: NodeJS.ProcessEnv;
const events = scheduled.events;
beforeAll(() => {
  ({ world, config, env } = scheduled);
});

function start(): Promise<Scheduler> {
  return startScheduler({
    config,
    executorSigner: world.eve,
    env,
    signal: new AbortController().signal,
    onEvent: (e) => events.push(e),
  });
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const sql = (text: string) => scheduled.sql(text);

function slotOptions(clock: () => Date): SlotRunOptions {
  return {
    config,
    executorSigner: world.eve,
    env,
    signal: new AbortController().signal,
    clock,
    onEvent: (e) => events.push(e),
  };
}

async function slotOf(schedule: string, slot: Date) {
  const slots = await stateStoreOf(config).schedules!.slotsSince(slot);
  return slots.find((s) => s.schedule === schedule && s.slot.getTime() === slot.getTime());
}

/**
 * The schedules run every minute: a minute that begins while the test runs is a slot the
 * scheduler takes as it comes, not a backfilled one (CI once saw the first scheduler take one,
 * so that the earliest slot was not the backfill). Waits until the clock is between seconds 2 and
 * 30 of a minute, so that the test's few seconds stay inside it.
 */
async function awayFromMinuteEdge(): Promise<void> {
  const now = new Date();
  const second = now.getUTCSeconds() + now.getUTCMilliseconds() / 1000;
  if (second >= 2 && second < 30) return;
  const wait = second < 2 ? 2 - second : 62 - second;
  await new Promise((r) => setTimeout(r, wait * 1000));
}

describe('opsbook schedule run', () => {
  it('runs a slot under the standing approval: the run is in the history; a missing approval is refused and nothing runs', async () => {
    await awayFromMinuteEdge();
    // First start: graphile-worker learns the schedules (no backfill for what it did not know).
    const first = await start();
    await waitFor(
      async () =>
        (await sql('select count(*) from graphile_worker._private_known_crontabs')).trim() === '2',
      'graphile-worker to register the schedules',
    );
    await first.stop();
    // The scheduler was down since the minute before this one: its next start backfills.
    await sql(`update graphile_worker._private_known_crontabs
      set known_since = now() - interval '1 hour',
          last_execution = date_trunc('minute', now()) - interval '1 minute'`);
    const second = await start();
    await waitFor(
      async () =>
        (
          await sql(
            "select count(*) from opsbook_schedule_slots where outcome is not null and schedule in ('diagnostics', 'inventory')",
          )
        ).trim() >= '2',
      'both schedules to take a slot',
    );
    await second.stop();

    const slots = await stateStoreOf(config).schedules!.slotsSince(new Date(0));
    const diagnostics = slots.filter((s) => s.schedule === 'diagnostics');
    const inventory = slots.filter((s) => s.schedule === 'inventory');
    expect(diagnostics.length).toBeGreaterThanOrEqual(1);
    expect(diagnostics[0]).toMatchObject({ outcome: 'ran', runStatus: 'ok', backfilled: true });
    const runs = await stateStoreOf(config).listRuns();
    for (const slot of diagnostics)
      expect(runs.find((r) => r.runId === slot.runId)).toMatchObject({
        runbook: 'collect-diagnostics',
        status: 'ok',
      });
    // Every run in the history is a diagnostics slot's: the refused schedule ran nothing.
    expect(runs.map((r) => r.runId).sort()).toEqual(diagnostics.map((s) => s.runId).sort());
    expect(inventory[0]).toMatchObject({
      outcome: 'refused',
      code: 'STANDING_APPROVAL_MISSING',
      message: expect.stringContaining('resource-inventory'),
    });
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'slot-end', schedule: 'inventory', outcome: 'refused' }),
    );

    const report = await readScheduleReport(config, {
      now: new Date(),
      since: new Date(Date.now() - 86_400_000),
    });
    expect(report.hasMissed).toBe(true);
    const byName = Object.fromEntries(report.schedules.map((s) => [s.name, s]));
    expect(byName.diagnostics).toMatchObject({
      last: { status: 'ok', runId: diagnostics.at(-1)?.runId, backfilled: true },
    });
    expect(byName.diagnostics?.missed.slots.filter((m) => m.reason !== 'no-run')).toEqual([]);
    expect(byName.inventory).toMatchObject({ state: 'missed', last: { status: 'refused' } });
    expect(byName.inventory?.missed.slots[0]).toMatchObject({
      reason: 'refused',
      code: 'STANDING_APPROVAL_MISSING',
    });
    // The standing approval is verified by the report itself, not taken from the rows.
    expect(byName.diagnostics?.approval).toMatchObject({ ok: true, selector: expect.any(String) });
    expect(byName.inventory?.approval).toEqual({
      ok: false,
      code: 'STANDING_APPROVAL_MISSING',
      message: expect.stringContaining('resource-inventory'),
    });
  }, 120_000);

  it("marks a schedule whose standing approval no senior signed, whatever the database's rows say", async () => {
    // The earlier test's slots of diagnostics are recorded as run ok; the standing file now
    // carries a signature that is not a senior's over its payload, so every slot is refused.
    const file = path.resolve(config.root, config.raw.standing!['collect-diagnostics']!);
    const envelope = JSON.parse(await readFile(file, 'utf8'));
    const sig = envelope.signatures[0].sshsig as string;
    const at = sig.length - 12;
    envelope.signatures[0].sshsig = `${sig.slice(0, at)}${sig[at] === 'A' ? 'B' : 'A'}${sig.slice(at + 1)}`;
    const forged = path.join(world.dir, 'forged-diagnostics.approval.json');
    await writeFile(forged, JSON.stringify(envelope));
    const tampered = {
      ...config,
      raw: { ...config.raw, standing: { ...config.raw.standing, 'collect-diagnostics': forged } },
    };
    const report = await readScheduleReport(tampered, {
      now: new Date(),
      since: new Date(Date.now() - 86_400_000),
    });
    const diagnostics = report.schedules.find((s) => s.name === 'diagnostics');
    expect(diagnostics?.approval).toMatchObject({ ok: false, code: 'SIGNATURE_INVALID' });
    expect(report.hasMissed).toBe(true);
  }, 60_000);

  it("does not take a slot row's word for its run: a run missing, or whose journal does not verify, is unverified", async () => {
    const since = new Date(Date.now() - 86_400_000);
    const real = (await stateStoreOf(config).schedules!.slotsSince(new Date(0))).find(
      (s) => s.schedule === 'diagnostics' && s.outcome === 'ran',
    )!.runId!;
    // The real run of the first test verifies: its row is taken.
    const before = await readScheduleReport(config, { now: new Date(), since });
    expect(before.schedules.find((s) => s.name === 'diagnostics')?.last).not.toHaveProperty(
      'unverified',
    );
    // A database writer records a later slot as run ok, naming a run that does not exist, or
    // a prefix of the real one.
    const forged = "date_trunc('minute', now()) + interval '1 minute'";
    for (const [runId, says] of [
      ['20261207-000000-forged', 'the state store has no run 20261207-000000-forged'],
      [real.slice(0, 10), `the state store has no run ${real.slice(0, 10)}`],
    ] as const) {
      await sql(`insert into opsbook_schedule_slots
        (schedule, slot, backfilled, started_at, ended_at, outcome, run_id, run_status)
        values ('diagnostics', ${forged}, false, now(), now(), 'ran', '${runId}', 'ok')`);
      const report = await readScheduleReport(config, { now: new Date(), since });
      expect(report.schedules.find((s) => s.name === 'diagnostics')?.last).toMatchObject({
        runId,
        status: 'ok',
        unverified: expect.stringContaining(says),
      });
      expect(report.hasMissed).toBe(true);
      await sql(
        `set session_replication_role = replica; delete from opsbook_schedule_slots where slot = ${forged}`,
      );
    }
    // The real run's journal, changed in the database: its row is no longer taken either.
    const line = (
      await sql(`select line from opsbook_journal_lines where run_id = '${real}' and seq = 1`)
    ).trim();
    // A superuser's session, past the journal's append-only triggers.
    await sql(`set session_replication_role = replica; update opsbook_journal_lines set line = replace(line, 'collect-diagnostics', 'collect-diagnostic2')
      where run_id = '${real}' and seq = 1`);
    try {
      await sql(`insert into opsbook_schedule_slots
        (schedule, slot, backfilled, started_at, ended_at, outcome, run_id, run_status)
        values ('diagnostics', ${forged}, false, now(), now(), 'ran', '${real}', 'ok')`);
      const report = await readScheduleReport(config, { now: new Date(), since });
      expect(report.schedules.find((s) => s.name === 'diagnostics')?.last).toMatchObject({
        runId: real,
        unverified: expect.stringContaining(`the journal of run ${real} does not verify`),
      });
    } finally {
      await sql(
        `set session_replication_role = replica; delete from opsbook_schedule_slots where slot = ${forged}`,
      );
      await sql(
        `set session_replication_role = replica; update opsbook_journal_lines set line = $l$${line}$l$ where run_id = '${real}' and seq = 1`,
      );
    }
  }, 60_000);

  it('reports the slots no scheduler took while it was down', async () => {
    // The scheduler first ran the schedules ten minutes ago, and has been down since then
    // but for the slots the first test took.
    await sql(
      "update opsbook_schedules set known_since = date_trunc('minute', now()) - interval '10 minutes'",
    );
    const report = await readScheduleReport(config, {
      now: new Date(),
      since: new Date(Date.now() - 86_400_000),
    });
    const diagnostics = report.schedules.find((s) => s.name === 'diagnostics');
    expect(diagnostics?.state).toBe('missed');
    const noRun = diagnostics?.missed.slots.filter((m) => m.reason === 'no-run') ?? [];
    // Ten minutes back, less the grace and the slots the scheduler did take.
    expect(noRun.length).toBeGreaterThanOrEqual(6);
    const taken = new Set(
      (await stateStoreOf(config).schedules!.slotsSince(new Date(0))).map((s) =>
        s.slot.toISOString(),
      ),
    );
    for (const m of noRun) expect(taken.has(m.slot)).toBe(false);
  });

  it('refuses a slot that comes up later than its backfill allows: nothing runs', async () => {
    const runsBefore = (await stateStoreOf(config).listRuns()).length;
    const slot = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 3 * 3_600_000);
    // Queued behind a stuck worker, the slot comes up 11 minutes late; backfill is 10m.
    await runScheduledSlot(
      slotOptions(() => new Date(slot.getTime() + 11 * 60_000)),
      {
        schedule: 'diagnostics',
        _cron: { ts: slot.toISOString() },
      },
    );
    expect(await slotOf('diagnostics', slot)).toMatchObject({
      outcome: 'refused',
      code: 'SCHEDULE_SLOT_LATE',
      message: expect.stringContaining('11 min late'),
    });
    expect((await stateStoreOf(config).listRuns()).length).toBe(runsBefore);
  });

  it('refuses a slot while a live scheduler runs an earlier slot of its schedule; a killed one holds nothing', async () => {
    const runsBefore = (await stateStoreOf(config).listRuns()).length;
    const log = stateStoreOf(config).schedules!;
    const earlier = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 2 * 3_600_000);
    const slot = new Date(earlier.getTime() + 60_000);
    // A live scheduler is in the middle of the earlier slot.
    const hold = await log.holdSlot({ schedule: 'diagnostics', slot: earlier });
    expect(await hold?.takeSchedule()).toBe(true);
    expect(await log.beginSlot({ schedule: 'diagnostics', slot: earlier, backfilled: false })).toBe(
      true,
    );
    await runScheduledSlot(
      slotOptions(() => new Date(slot.getTime() + 5_000)),
      {
        schedule: 'diagnostics',
        _cron: { ts: slot.toISOString() },
      },
    );
    expect(await slotOf('diagnostics', slot)).toMatchObject({
      outcome: 'refused',
      code: 'SCHEDULE_BUSY',
      message: expect.stringContaining('held, by a live scheduler while an earlier slot goes on'),
    });
    expect((await stateStoreOf(config).listRuns()).length).toBe(runsBefore);
    expect(await slotOf('diagnostics', earlier)).not.toHaveProperty('abandoned');

    // Its scheduler dies without recording the earlier slot's end: the slot is abandoned.
    await hold?.release();
    expect(await slotOf('diagnostics', earlier)).toMatchObject({ abandoned: true });
    const report = await readScheduleReport(config, {
      now: new Date(),
      since: new Date(earlier.getTime() - 60_000),
    });
    const diagnostics = report.schedules.find((s) => s.name === 'diagnostics');
    expect(diagnostics?.missed.slots).toContainEqual(
      expect.objectContaining({ slot: earlier.toISOString(), reason: 'abandoned' }),
    );
    expect(report.hasMissed).toBe(true);
  });

  it('refuses to start on the files store, naming what to set', async () => {
    const files = await loadConfig({
      file: path.join(world.dir, 'opsbook.yaml'),
      env: { OPSBOOK_TRUST_DIR: world.config.trustPinDir },
    });
    await expect(
      startScheduler({
        config: files,
        executorSigner: world.eve,
        env: world.env,
        signal: new AbortController().signal,
      }),
    ).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('OPSBOOK_DATABASE_URL'),
    });
  });
});
