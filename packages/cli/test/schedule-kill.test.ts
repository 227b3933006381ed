import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import type { Postgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from './opsbook-world.js';
import { runCli } from './run-cli.js';
import { scheduleSite } from './schedule-site.js';

/*
 * `opsbook schedule run` killed (SIGKILL) in the middle of a slot, through the real binary on a
 * real PostgreSQL: the slot it held is reported as abandoned (exit 1), and a scheduler started
 * after it takes the next slot at once instead of waiting hours for graphile-worker to expire the
 * dead worker's locks. The slot is held open by a trigger that sleeps on its end's UPDATE; no
 * real minute is waited for: graphile-worker's record of its last slot is moved back, so that
 * each start backfills a slot at once, as it does after real downtime.
 */

let pg: Postgres;
let dir: string;
let env: NodeJS.ProcessEnv;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  ({ pg, dir, env } = await scheduleSite('cli_schedule_kill', 'opsbook-schedule-kill-'));
  // While hold_slot_ends has a row, a slot's end waits in its UPDATE: the slot stays open.
  await sql(`create table hold_slot_ends (held boolean primary key);
    create function hold_slot_end() returns trigger language plpgsql as $$
    begin
      if new.ended_at is not null and exists (select 1 from hold_slot_ends) then
        perform pg_sleep(600);
      end if;
      return new;
    end $$;
    create trigger hold_slot_end before update on opsbook_schedule_slots
      for each row execute function hold_slot_end();`);
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await pg?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sql = (text: string) => pg.psql(text, 'cli_schedule_kill');

interface SchedulerProcess {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

function startScheduler(): SchedulerProcess {
  const run = spawnCli(['schedule', 'run'], dir, env);
  children.add(run.child);
  const exited = run.done.then(({ code }) => {
    children.delete(run.child);
    return code;
  });
  return {
    child: run.child,
    output: () => ({ stdout: run.stdout(), stderr: run.stderr() }),
    exited,
  };
}

/** Polls `check` every 50 ms for at most `ms`; whether it held. */
async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * Waits until the clock is between seconds 2 and 30 of a minute, so that the test's seconds
 * stay inside one minute (a minute that begins would be a slot taken as it comes).
 */
async function awayFromMinuteEdge(): Promise<void> {
  const now = new Date();
  const second = now.getUTCSeconds() + now.getUTCMilliseconds() / 1000;
  if (second >= 2 && second < 30) return;
  const wait = second < 2 ? 2 - second : 62 - second;
  await new Promise((r) => setTimeout(r, wait * 1000));
}

describe('opsbook schedule run killed mid-slot', () => {
  it('reports the killed slot as abandoned, and the next scheduler takes the next slot at once', async () => {
    await awayFromMinuteEdge();
    // First start: graphile-worker learns the schedule (no backfill for what it did not know).
    const first = startScheduler();
    const known = await waitFor(
      async () =>
        (
          await sql('select count(*) from graphile_worker._private_known_crontabs').catch(() => '')
        ).trim() === '1',
      30_000,
    );
    first.child.kill('SIGTERM');
    expect(await first.exited, first.output().stderr).toBe(0);
    expect(known).toBe(true);

    // Down since the minute before this one: the next start backfills this minute's slot,
    // whose end is held open; the scheduler is killed in the middle of it.
    await sql(`insert into hold_slot_ends values (true);
      update graphile_worker._private_known_crontabs
      set known_since = now() - interval '1 hour',
          last_execution = date_trunc('minute', now()) - interval '1 minute'`);
    const killed = startScheduler();
    const inSlot = await waitFor(
      async () =>
        (await sql("select count(*) from pg_stat_activity where wait_event = 'PgSleep'")).trim() ===
        '1',
      30_000,
    );
    expect(inSlot, killed.output().stderr).toBe(true);
    const slotMs = Number(
      await sql(
        'select (extract(epoch from slot) * 1000)::bigint from opsbook_schedule_slots where ended_at is null',
      ),
    );
    killed.child.kill('SIGKILL');
    await killed.exited;
    // The dead process's session would sleep on in its UPDATE: end it, as the server does
    // when it finds its client gone, so that the end it held is never recorded.
    await sql(`delete from hold_slot_ends;
      select pg_terminate_backend(pid) from pg_stat_activity where wait_event = 'PgSleep'`);

    const list = await runCli(['schedule', 'list', '--json'], { cwd: dir, env });
    expect(list.code, list.stderr).toBe(1);
    const [inventory] = JSON.parse(list.stdout).schedules;
    expect(inventory).toMatchObject({
      state: 'missed',
      last: { status: 'abandoned', backfilled: true },
    });
    expect(new Date(inventory.last.slot).getTime()).toBe(slotMs);
    expect(inventory.missed.slots).toContainEqual(
      expect.objectContaining({ slot: inventory.last.slot, reason: 'abandoned' }),
    );
    const text = await runCli(['schedule', 'list'], { cwd: dir, env });
    expect(text.stdout).toMatch(/inventory missed \S+: abandoned: /);

    // Down for two minutes: the next start backfills the minute before the killed slot, and
    // takes it at once: nothing of the dead scheduler holds the schedule.
    await sql(`update graphile_worker._private_known_crontabs
      set last_execution = date_trunc('minute', now()) - interval '2 minutes'`);
    const next = startScheduler();
    const tookNext = await waitFor(
      async () =>
        (
          await sql(
            `select count(*) from opsbook_schedule_slots
             where slot <> '${inventory.last.slot}' and outcome is not null`,
          )
        ).trim() !== '0',
      20_000,
    );
    next.child.kill('SIGTERM');
    expect(await next.exited, next.output().stderr).toBe(0);
    expect(tookNext, next.output().stdout).toBe(true);
    expect(next.output().stdout).toMatch(/inventory: refused \(STANDING_APPROVAL_MISSING\)/);
    // The killed slot stays as the dead scheduler left it: no end, never run again.
    expect(
      (
        await sql(
          `select count(*) from opsbook_schedule_slots
           where slot = '${inventory.last.slot}' and ended_at is null`,
        )
      ).trim(),
    ).toBe('1');
  }, 150_000);
});
