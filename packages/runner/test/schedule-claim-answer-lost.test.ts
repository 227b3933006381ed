import { commitAnswerLost } from '@opsbook/testkit/postgres';
import { describe, expect, it } from 'vitest';
import { type ScheduleEvent, type Scheduler, startScheduler } from '../src/index.js';
import { slotRowAt, useScheduleWorld } from './schedule-world.js';

/*
 * The scheduler takes a slot's job as a worker takes a shard's (graphile-worker's get_job,
 * committed at once). Its answer lost (a restart, or the connection dropped, just after the
 * commit), the job stayed taken by a scheduler that never heard of it, and the slot never ran
 * (its one attempt counted). The instant is made real with PostgreSQL: a synchronous standby that
 * never answers holds the claim's commit, and the backend waiting there is ended. The slot's job
 * is queued by the test for a minute of the cron (its clock is the test's), a few seconds ahead,
 * so that the scheduler's claim of it is the commit held.
 */

const scheduled = useScheduleWorld(
  'claim_answer_lost',
  '  nightly: {runbook: collect-diagnostics, cron: "0 3 * * *", backfill: 10m}\n',
);

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe("a scheduler's claim of a slot whose commit answer is lost", () => {
  it('runs the slot once, once the server answers again', async () => {
    const { world, config, env, pg } = scheduled;
    const slot = new Date(Date.UTC(2026, 11, 7, 3, 0));
    const events: ScheduleEvent[] = [];
    let scheduler: Scheduler | undefined;
    try {
      scheduler = await startScheduler({
        config,
        executorSigner: world.eve,
        env,
        signal: new AbortController().signal,
        clock: () => new Date(slot.getTime() + 5_000),
        onEvent: (e) => events.push(e),
      });
      await until(
        async () =>
          (
            await scheduled.sql('select count(*) from graphile_worker._private_known_crontabs')
          ).trim() === '1',
        'graphile-worker to register the schedule',
      );
      await scheduled.sql(
        `select graphile_worker.add_job('opsbook_schedule', json_build_object('schedule', 'nightly', '_cron', json_build_object('ts', '${slot.toISOString()}')), run_at => now() + interval '3 seconds', max_attempts => 1)`,
      );
      const lost = await commitAnswerLost(pg, 'claim_answer_lost', "the scheduler's claim", () =>
        until(
          async () =>
            (
              await scheduled.sql(
                'select count(*) from graphile_worker._private_jobs where locked_by is not null or attempts > 0',
              )
            ).trim() === '1',
          'the scheduler to claim the slot',
        ),
      );
      expect(lost).toStrictEqual({ value: undefined });
      await until(
        async () => (await slotRowAt(config, slot))?.outcome !== undefined,
        'the slot to end',
      );
      expect(await slotRowAt(config, slot)).toMatchObject({ outcome: 'ran', runStatus: 'ok' });
      expect(events.filter((e) => e.type === 'slot-start')).toHaveLength(1);
      expect(events).toContainEqual(
        expect.objectContaining({
          type: 'queue',
          level: 'warning',
          message: expect.stringContaining("the database's answer was lost"),
        }),
      );
      expect(await scheduled.sql('select count(*) from opsbook_runs')).toMatch(/^1\s*$/);
    } finally {
      await scheduler?.stop();
    }
  }, 120_000);
});
