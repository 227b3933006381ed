import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { Logger, makeWorkerUtils, run, type WorkerEvents } from 'graphile-worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pooled } from './queue.js';
import { UnheardClaims } from './unheard-claims.js';

/*
 * A long-lived worker hears every claim it makes: the set of claims heard grew with each job it
 * ever took. It is cut down to the claims its pool still holds once it passes its bound, with a
 * real graphile-worker runner taking real jobs from a real PostgreSQL.
 */

let server: Postgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.dispose();
});

describe('the claims a worker heard', () => {
  it('stay bounded in a worker that takes many jobs, the job it runs among them', async () => {
    const name = `opsbook_unheard_${process.pid}`;
    await server.psql(`create database ${name}`);
    const url = `postgres://${server.user}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${name}`;
    const { pool, end } = pooled(new pg.Pool({ connectionString: url }));
    const logger = new Logger(() => () => undefined);
    const utils = await makeWorkerUtils({ pgPool: pool, logger });
    try {
      await utils.migrate();
      const jobs = 60;
      for (let i = 0; i < jobs; i++) await utils.addJob('count', { i }, { maxAttempts: 1 });
      const events: WorkerEvents = new EventEmitter();
      const errors: unknown[] = [];
      const claims = new UnheardClaims(pool, { maxHeard: 10, onError: (e) => errors.push(e) });
      claims.listen(events);
      const done = new Set<string>();
      let most = 0;
      let isRunningOneHeard = true;
      const runner = await run({
        pgPool: pool,
        events,
        logger,
        concurrency: 1,
        pollInterval: 1000,
        noHandleSignals: true,
        taskList: {
          async count(_payload, helpers) {
            most = Math.max(most, claims.heardCount);
            // A claim heard and still held is never forgotten (it would look unheard).
            if (!claims.hasHeard(helpers.job.id)) isRunningOneHeard = false;
            await sleep(20);
            done.add(helpers.job.id);
          },
        },
      });
      for (let i = 0; i < 600 && done.size < jobs; i++) await sleep(50);
      await runner.stop();
      expect(done.size).toBe(jobs);
      expect(errors).toEqual([]);
      expect(isRunningOneHeard).toBe(true);
      // Past 10, the ended claims are forgotten: a few more may be heard while they are read.
      expect(most).toBeLessThanOrEqual(13);
      expect(claims.heardCount).toBeLessThanOrEqual(13);
    } finally {
      await utils.release();
      await end();
    }
  }, 60_000);
});
