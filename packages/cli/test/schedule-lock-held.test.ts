import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { type HeldAdvisoryLock, holdAdvisoryLock, type Postgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './opsbook-world.js';
import { binPath, runCli, stackTrace, userEnv } from './run-cli.js';
import { scheduleSite } from './schedule-site.js';

/*
 * Any role of the team's database may take the advisory lock a scheduler holds while a slot of a
 * schedule goes on (`opsbook-schedule:<name>`), and keep it: every slot of the schedule is then
 * refused (SCHEDULE_BUSY), for ever. Through the real binary on a real PostgreSQL, the refused
 * slot and `opsbook schedule list` must name the session that holds it and how to end it, and
 * the list must exit 1 so that a monitoring check alerts.
 */

const DATABASE = 'cli_schedule_lock';
let pg: Postgres;
let dir: string;
let env: NodeJS.ProcessEnv;
let holder: HeldAdvisoryLock | undefined;

beforeAll(async () => {
  ({ pg, dir, env } = await scheduleSite(DATABASE, 'opsbook-schedule-lock-'));
});

afterAll(async () => {
  holder?.kill();
  await pg?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sql = (text: string) => pg.psql(text, DATABASE);

/** A psql session over TCP, as `application`, that takes `lock` and keeps it; its pid. */
async function holdLock(lock: string, application: string): Promise<number> {
  holder = await holdAdvisoryLock(pg.env(DATABASE), lock, application);
  return holder.pid;
}

/** `opsbook schedule run` until a slot has ended, then SIGTERM; its exit code and output. */
async function runSchedulerForOneSlot() {
  const child = spawn(process.execPath, [binPath, 'schedule', 'run'], {
    cwd: dir,
    env: userEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`the scheduler exited: ${stderr}`);
      return (
        (
          await sql('select count(*) from opsbook_schedule_slots where outcome is not null').catch(
            () => '0',
          )
        ).trim() !== '0'
      );
    }, 'a slot to end');
  } finally {
    child.kill('SIGTERM');
  }
  return { code: await exited, stdout, stderr };
}

describe('a schedule whose lock another session of the database keeps', () => {
  it('refuses its slot naming that session, and schedule list names it, says how to end it, and exits 1', async () => {
    const pid = await holdLock('opsbook-schedule:inventory', 'nightly-audit');
    // A first start registers the schedule; then the scheduler seems down since the minute
    // before this one, so that the next start backfills the current minute at once.
    const first = spawn(process.execPath, [binPath, 'schedule', 'run'], {
      cwd: dir,
      env: userEnv(env),
      stdio: 'ignore',
    });
    await waitFor(
      async () =>
        (
          await sql('select count(*) from graphile_worker._private_known_crontabs').catch(() => '')
        ).trim() === '1',
      'the first scheduler to register its cron',
    );
    first.kill('SIGTERM');
    await new Promise((r) => first.once('close', r));
    await sql(`update graphile_worker._private_known_crontabs
      set known_since = now() - interval '1 hour',
          last_execution = date_trunc('minute', now()) - interval '1 minute'`);
    const scheduler = await runSchedulerForOneSlot();
    expect(scheduler.code, scheduler.stderr).toBe(0);
    expect(scheduler.stdout).toMatch(
      new RegExp(
        `inventory: refused \\(SCHEDULE_BUSY\\): the lock of inventory is held, .*\\(pid ${pid}, user \\S+, application 'nightly-audit'`,
      ),
    );

    const list = await runCli(['schedule', 'list'], { cwd: dir, env });
    expect(list.stderr).not.toMatch(stackTrace);
    expect(list.code, list.stdout).toBe(1);
    const line = list.stdout.split('\n').find((l) => l.startsWith('inventory: the lock'));
    expect(line, list.stdout).toMatch(
      new RegExp(
        `^inventory: the lock opsbook-schedule:inventory is held while no slot of it goes on, so not by a scheduler at work \\(pid ${pid}, user \\S+, application 'nightly-audit', client 127\\.0\\.0\\.1:\\d+, connected since \\S+\\): every slot is refused \\(SCHEDULE_BUSY\\) while it is held; if that session should not hold it, look at it \\(select \\* from pg_stat_activity where pid = ${pid}\\) and end it \\(select pg_terminate_backend\\(${pid}\\)\\)$`,
      ),
    );
    const json = JSON.parse(
      (await runCli(['schedule', 'list', '--json'], { cwd: dir, env })).stdout,
    );
    expect(json.schedules[0].lockHeldBy).toEqual([
      expect.objectContaining({ pid, application: 'nightly-audit', isGranted: true }),
    ]);

    // Once that session is ended as the line says, nothing is said of the lock.
    await sql(`select pg_terminate_backend(${pid})`);
    await holder?.release();
    const after = await runCli(['schedule', 'list', '--json'], { cwd: dir, env });
    expect(JSON.parse(after.stdout).schedules[0]).not.toHaveProperty('lockHeldBy');
  }, 120_000);

  it("names the session holding a slot's own lock when schedule list reports the slot no scheduler took", async () => {
    // A session took the lock of a slot (opsbook-schedule-slot:inventory:<ms>) and keeps it: no
    // scheduler could take that slot. The slots after it up to a few minutes ahead are recorded
    // (refused), so that it is the newest slot no scheduler took whatever the minute is.
    const slot = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    const pid = await holdLock(`opsbook-schedule-slot:inventory:${slot}`, 'slot-squatter');
    await sql(`update opsbook_schedules set known_since = to_timestamp(${(slot - 60_000) / 1000})`);
    await sql(`insert into opsbook_schedule_slots
      (schedule, slot, backfilled, started_at, ended_at, outcome, code, message)
      select 'inventory', s, false, s, s, 'refused', 'SCHEDULE_BUSY', 'held'
      from generate_series(to_timestamp(${(slot + 60_000) / 1000}),
                           to_timestamp(${(slot + 15 * 60_000) / 1000}), interval '1 minute') s
      on conflict do nothing`);
    const list = await runCli(['schedule', 'list'], { cwd: dir, env });
    expect(list.stderr).not.toMatch(stackTrace);
    expect(list.code, list.stdout).toBe(1);
    expect(list.stdout).toMatch(
      new RegExp(
        `^inventory missed ${new Date(slot).toISOString()}: no scheduler took it: its lock opsbook-schedule-slot:inventory:${slot} is held by a session that is not a scheduler at work \\(pid ${pid}, user \\S+, application 'slot-squatter', .*\\), which kept every scheduler from it; if that session should not hold it, look at it \\(select \\* from pg_stat_activity where pid = ${pid}\\) and end it \\(select pg_terminate_backend\\(${pid}\\)\\)$`,
        'm',
      ),
    );
    const json = JSON.parse(
      (await runCli(['schedule', 'list', '--json'], { cwd: dir, env })).stdout,
    );
    expect(
      json.schedules[0].missed.slots.find(
        (m: { slot: string }) => m.slot === new Date(slot).toISOString(),
      ),
    ).toEqual({
      slot: new Date(slot).toISOString(),
      reason: 'no-run',
      heldBy: [expect.objectContaining({ pid, application: 'slot-squatter', isGranted: true })],
    });
  }, 60_000);
});
