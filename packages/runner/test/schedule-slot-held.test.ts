import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { Config } from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
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
let holder: ChildProcessWithoutNullStreams | undefined;
beforeAll(() => {
  ({ world, config, env } = scheduled);
});
afterAll(() => {
  if (holder && holder.exitCode === null) holder.kill('SIGKILL');
});

/** A psql session over TCP, as `application`, that takes `lock` and keeps it; its pid. */
async function holdLock(lock: string, application: string): Promise<number> {
  const session = spawn('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], {
    env: { ...process.env, ...scheduled.pg.env(DATABASE), PGAPPNAME: application },
  });
  holder = session;
  let out = '';
  session.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  session.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  session.stdin.write(
    `select pg_advisory_lock(('x' || left(md5('${lock}'), 16))::bit(64)::bigint);\n` +
      `select 'held by ' || pg_backend_pid();\n`,
  );
  for (let i = 0; i < 200 && !/held by \d+/.test(out); i++) {
    if (session.exitCode !== null) throw new Error(`psql exited ${session.exitCode}: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = /held by (\d+)/.exec(out)?.[1];
  if (!pid) throw new Error(`psql did not take the lock: ${out}`);
  return Number(pid);
}

describe('a slot whose lock a session took ahead of it', () => {
  it('runs nothing; the scheduler, and schedule list later, name the session holding its lock', async () => {
    const slot = new Date(Date.UTC(2026, 11, 7, 3, 0));
    const pid = await holdLock(`opsbook-schedule-slot:nightly:${slot.getTime()}`, 'ops-debug');
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
