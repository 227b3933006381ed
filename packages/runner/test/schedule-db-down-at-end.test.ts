import { setTimeout as sleep } from 'node:timers/promises';
import { blockUntilExited } from '@opsbook/testkit/postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { type Scheduler, startScheduler } from '../src/index.js';
import { useScheduleWorld } from './schedule-world.js';

/*
 * graphile-worker writes a job's end (completeJob) right after its task returns, and awaits no
 * write: when PostgreSQL stops just as a slot ends, the write fails where nothing handles it
 * (ECONNREFUSED is not one of the errors it retries), and Node ends `opsbook schedule run` with
 * an unhandled rejection and a stack trace. The slot's end waits for the database instead (as a
 * worker's shard end does), and is recorded once the server is back.
 */

const scheduled = useScheduleWorld(
  'db_down_at_end',
  '  nightly: {runbook: collect-diagnostics, cron: "0 3 * * *"}\n',
);

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`gave up waiting for ${what}`);
}

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

describe('a slot that ends as PostgreSQL stops', () => {
  it('keeps the scheduler running (nothing unhandled), and its end is recorded once the server is back', async () => {
    const { world, config, env, pg } = scheduled;
    process.on('unhandledRejection', onUnhandled);
    let restarted: Promise<void> | undefined;
    const ended: string[] = [];
    const said: string[] = [];
    const scheduler: Scheduler = await startScheduler({
      config,
      executorSigner: world.eve,
      env,
      signal: new AbortController().signal,
      onEvent: (e) => {
        if (e.type === 'queue') said.push(e.message);
        if (e.type !== 'slot-end') return;
        ended.push(e.slot);
        if (restarted) return;
        // The server is gone before the task returns (immediate shutdown, waited for here): the
        // end is written to no server.
        process.kill(pg.pid, 'SIGQUIT');
        blockUntilExited(pg.pid);
        restarted = pg.restart({ downMs: 4000 });
      },
    });
    let settled: string | undefined;
    void scheduler.done.then(
      () => {
        settled = 'resolved';
      },
      (e: unknown) => {
        settled = `rejected: ${String(e)}`;
      },
    );
    try {
      // The schedule's last slot, queued as graphile-worker's cron queues it (a slot this late
      // is refused rather than run: an end as any other).
      const day = 86_400_000;
      const today = Math.floor(Date.now() / day) * day + 3 * 3_600_000;
      const slot = new Date(today <= Date.now() ? today : today - day).toISOString();
      await scheduled.sql(
        `select graphile_worker.add_job('opsbook_schedule', json_build_object('schedule', 'nightly', '_cron', json_build_object('ts', '${slot}')))`,
      );
      await until(async () => restarted !== undefined, 'the slot to end');
      await restarted;
      const jobsLeft = async () =>
        (
          await scheduled.sql(
            "select count(*) from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id where t.identifier = 'opsbook_schedule'",
          )
        ).trim();
      await until(
        async () => unhandled.length > 0 || (await jobsLeft()) === '0',
        "the slot's job to be recorded as done",
      );
      expect(unhandled).toEqual([]);
      expect(await jobsLeft()).toBe('0');
      expect(settled).toBeUndefined();
      expect(ended).toEqual([slot]);
      expect(said).toContainEqual(
        expect.stringMatching(/^the end of job \d+ waits for the database to record it: /),
      );
    } finally {
      await restarted;
      await scheduler.stop();
    }
    expect(unhandled).toEqual([]);
  }, 120_000);
});
