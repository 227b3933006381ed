import {
  commitAnswerLost,
  type Postgres,
  startPostgres,
  synchronousStandby,
} from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueue } from './queue.js';
import type { ShardJob } from './shard-job.js';

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

describe("a shard's job whose commit answer is lost", () => {
  it('is taken as queued once the server is back: every shard is queued, each once', async () => {
    const name = `opsbook_queue_lost_${process.pid}`;
    await pg.psql(`create database ${name}`);
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${name}`;
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
