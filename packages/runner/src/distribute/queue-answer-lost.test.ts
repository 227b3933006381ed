import {
  commitAnswerLost,
  type Postgres,
  startPostgres,
  synchronousStandby,
} from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueue, startQueueWorker } from './queue.js';
import type { ShardJob } from './shard-job.js';
import { shardTask } from './shards.js';

/*
 * The submitter of a distributed run queues its shards, and the server commits a job and the
 * connection breaks before its answer comes back (a restart, or its backend ended, at that
 * instant). The run is claimed and started by then: failing the queueing there ends the run with
 * every host not started, while the jobs committed stay queued. The instant is made real with
 * PostgreSQL itself: a synchronous standby that never answers holds the commit after it is
 * written locally, and the backend waiting there is terminated, as a restart ends it.
 */

let pg: Postgres;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await synchronousStandby(pg, '').catch(() => undefined);
  await pg?.dispose();
});

const job = (shard: number): ShardJob => ({
  version: 1,
  runId: 'lost-add',
  shard,
  zone: 'dc1',
  hosts: [`h${shard}`],
  approval: 'eA==',
});

let databases = 0;

async function freshDatabase(): Promise<{ name: string; url: string }> {
  const name = `opsbook_queue_lost_${process.pid}_${++databases}`;
  await pg.psql(`create database ${name}`);
  const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${name}`;
  return { name, url };
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (const end = Date.now() + 60_000; Date.now() < end; ) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe("a shard's job whose commit answer is lost", () => {
  it('is taken as queued once the server is back: every shard is queued, each once', async () => {
    const { name, url } = await freshDatabase();
    const queue = await openQueue(url);
    try {
      const added = await commitAnswerLost(pg, name, 'the queue', () =>
        queue.add([job(0), job(1)]),
      );
      expect(added).toStrictEqual({ value: undefined });
      const states = await queue.states('lost-add', [0, 1]);
      expect(Object.fromEntries(states)).toEqual({
        0: { state: 'queued' },
        1: { state: 'queued' },
      });
      const jobs = await pg.psql(
        `select key || ' ' || attempts from graphile_worker.jobs order by key`,
        name,
      );
      expect(jobs.trim().split('\n')).toEqual(['opsbook:lost-add:0 0', 'opsbook:lost-add:1 0']);
    } finally {
      await queue.close();
    }
  }, 60_000);
});

/*
 * A worker takes a job in one statement (graphile-worker's get_job update, committed at once). Its
 * answer lost, the job was locked by that worker and its one attempt counted, but the worker never
 * heard of it: the shard never ran, and its run waited until the submitter presumed the worker dead
 * and gave every host of it up as not-started.
 */
describe("a worker's claim whose commit answer is lost", () => {
  it('is run once, by a worker, once the server answers again', async () => {
    const { name, url } = await freshDatabase();
    const queue = await openQueue(url);
    const ran: string[] = [];
    const warnings: string[] = [];
    let worker: Awaited<ReturnType<typeof startQueueWorker>> | undefined;
    try {
      // Queued (and its task named in the queue) before commits wait: the claim is the first.
      await queue.add([job(0)]);
      const started = await commitAnswerLost(pg, name, "the worker's claim", () =>
        startQueueWorker({
          url,
          concurrency: 1,
          log: (level, message) => {
            if (level === 'warning') warnings.push(message);
          },
          taskList: {
            [shardTask('dc1')]: async (payload) => {
              ran.push(`${(payload as ShardJob).runId}:${(payload as ShardJob).shard}`);
            },
          },
        }),
      );
      if (!('value' in started)) throw started.error;
      worker = started.value;
      await until(
        async () => (await queue.states('lost-add', [0])).get(0)?.state === 'done',
        'the shard whose claim was lost to be run and done',
      );
      expect(ran).toEqual(['lost-add:0']);
      // The run came through the lost claim's return, not a claim that was answered.
      expect(warnings).toEqual([
        expect.stringMatching(
          /^job\(s\) \d+: taken by this worker, but the database's answer was lost/,
        ),
      ]);
      const left = await pg.psql('select count(*) from graphile_worker.jobs', name);
      expect(left.trim()).toBe('0');
    } finally {
      await worker?.stop();
      await queue.close();
    }
    await worker?.promise;
  }, 120_000);
});

describe("a worker's claim whose commit answer is lost, among two workers taking shards at once", () => {
  it('runs every shard once, the lost one too', async () => {
    const { name, url } = await freshDatabase();
    const queue = await openQueue(url);
    const ran: string[] = [];
    const warnings: string[] = [];
    const workers: Awaited<ReturnType<typeof startQueueWorker>>[] = [];
    const start = () =>
      startQueueWorker({
        url,
        concurrency: 2,
        log: (level, message) => {
          if (level === 'warning') warnings.push(message);
        },
        taskList: {
          [shardTask('dc1')]: async (payload) => {
            ran.push(`${(payload as ShardJob).runId}:${(payload as ShardJob).shard}`);
          },
        },
      });
    const shards = [0, 1, 2, 3];
    try {
      await queue.add(shards.map(job));
      const started = await commitAnswerLost(pg, name, "a worker's claim", async () => {
        const all = await Promise.allSettled([start(), start()]);
        for (const s of all) if (s.status === 'fulfilled') workers.push(s.value);
        for (const s of all) if (s.status === 'rejected') throw s.reason;
      });
      if (!('value' in started)) throw started.error;
      await until(
        async () =>
          [...(await queue.states('lost-add', shards)).values()].every((s) => s.state === 'done'),
        'every shard to be run and done',
      );
      expect(ran.sort()).toEqual(shards.map((s) => `lost-add:${s}`));
      expect(warnings).toEqual([
        expect.stringMatching(
          /^job\(s\) \d+: taken by this worker, but the database's answer was lost/,
        ),
      ]);
    } finally {
      for (const w of workers) await w.stop();
      await queue.close();
    }
    for (const w of workers) await w.promise;
  }, 120_000);
});
