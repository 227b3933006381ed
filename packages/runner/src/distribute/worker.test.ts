import { loadConfig } from '@opsbook/schema';
import { grantRunnerRole, migrateStateStore, STATE_SCHEMA_VERSION } from '@opsbook/state';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { findFreePort } from '@opsbook/testkit/sshd';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installQueue, openQueue, startQueueWorker } from './queue.js';
import { shardTask } from './shards.js';
import { runWorker, type WorkerNotice } from './worker.js';

/*
 * A worker on a state store it cannot use refuses to start, as every other command does: it
 * never says it is ready on a database that is down, not migrated, or migrated by a newer opsbook.
 */

let pg: Postgres;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let databases = 0;

beforeAll(async () => {
  pg = await startPostgres();
  temp = await makeTempDir('opsbook-worker-');
});
afterAll(async () => {
  await temp?.remove();
  await pg?.dispose();
});

async function freshUrl(): Promise<string> {
  const name = `opsbook_worker_${process.pid}_${++databases}`;
  await pg.psql(`create database ${name}`);
  return `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${name}`;
}

/** Runs a worker for zone dc1 on `url`; stops it as soon as it says it is ready. */
async function startWorker(url: string): Promise<WorkerNotice[]> {
  const env = { OPSBOOK_DATABASE_URL: url };
  const config = await loadConfig({ cwd: temp.dir, env });
  const notices: WorkerNotice[] = [];
  const stop = new AbortController();
  await runWorker({
    config,
    env,
    signal: stop.signal,
    zones: ['dc1'],
    onNotice: (n) => {
      notices.push(n);
      if (n.type === 'ready') stop.abort();
    },
  });
  await connectionsClosed(new URL(url).pathname.slice(1));
  return notices;
}

/**
 * Waits (at most 10 s) until no session of the worker is left on `database`: the queue's pool
 * ends its connections after the worker returned, and a server stopped meanwhile (afterAll)
 * would end one of them under it.
 */
async function connectionsClosed(database: string): Promise<void> {
  for (const until = Date.now() + 10_000; Date.now() < until; ) {
    const open = await pg.psql(
      `select count(*) from pg_stat_activity where datname = '${database}' and pid <> pg_backend_pid()`,
    );
    if (Number(open.trim()) === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('opsbook worker on a state store it cannot use', () => {
  it('refuses a database opsbook db migrate has not brought to its schema with STATE_DB_NOT_MIGRATED', async () => {
    const url = await freshUrl();
    await expect(startWorker(url)).rejects.toMatchObject({ code: 'STATE_DB_NOT_MIGRATED' });
  });

  it('refuses a database a newer opsbook migrated with STATE_DB_TOO_NEW', async () => {
    const url = await freshUrl();
    await migrateStateStore(url);
    const name = new URL(url).pathname.slice(1);
    await pg.psql(
      `insert into opsbook_schema_migrations (version, name) values (${STATE_SCHEMA_VERSION + 1}, 'future')`,
      name,
    );
    await expect(startWorker(url)).rejects.toMatchObject({ code: 'STATE_DB_TOO_NEW' });
  });

  it('says STATE_DB_UNREACHABLE when the server is not there, and so do the queue and its runner', async () => {
    const port = await findFreePort('127.0.0.1');
    const url = `postgres://postgres@127.0.0.1:${port}/opsbook`;
    const unreachable = { code: 'STATE_DB_UNREACHABLE', kind: 'unreachable', details: { port } };
    await expect(startWorker(url)).rejects.toMatchObject(unreachable);
    await expect(openQueue(url)).rejects.toMatchObject(unreachable);
    await expect(
      startQueueWorker({ url, taskList: { noop: async () => undefined }, concurrency: 1 }),
    ).rejects.toMatchObject(unreachable);
  });

  it('starts on a migrated database', async () => {
    const url = await freshUrl();
    await migrateStateStore(url);
    expect((await startWorker(url)).map((n) => n.type)).toEqual(['ready']);
  });

  it('starts, and queues shards, as a runner role granted by opsbook db grant-runner', async () => {
    const adminUrl = await freshUrl();
    const database = new URL(adminUrl).pathname.slice(1);
    await migrateStateStore(adminUrl);
    await installQueue(adminUrl);
    const role = `opsbook_worker_role_${process.pid}_${databases}`;
    await pg.psql(`create role ${role} login password 'runner-pw'`);
    await grantRunnerRole(adminUrl, role);
    const url = `postgres://${role}:runner-pw@${pg.host}:${pg.port}/${database}`;
    expect((await startWorker(url)).map((n) => n.type)).toEqual(['ready']);
    const queue = await openQueue(url);
    try {
      await queue.add([
        { version: 1, runId: 'r1', shard: 1, zone: 'dc1', hosts: ['h1'], approval: '' },
      ]);
      expect((await queue.states('r1', [1])).get(1)).toEqual({ state: 'queued' });
      expect(await queue.withdraw('r1', [1], 'the submitter was interrupted')).toEqual([1]);
    } finally {
      await queue.close();
    }
  });
});

/*
 * graphile-worker writes a job's end (completeJob, failJob) without awaiting it: a shard that
 * ended while PostgreSQL was down made that write an unhandled rejection, which ended the worker
 * with a stack trace. Here the test's own server is stopped from inside a job, so that the job
 * ends while the database cannot be reached.
 */
describe("a job that ends while the queue's database is down", () => {
  /** A queue on a fresh database holding one job of zone dc1, of run `runId`. */
  async function queueWithJob(runId: string) {
    const url = await freshUrl();
    const queue = await openQueue(url);
    await queue.add([
      { version: 1, runId, shard: 0, zone: 'dc1', hosts: ['h1'], approval: 'eA==' },
    ]);
    return { url, queue };
  }

  /** Stops the server for `downMs` (resolves once it is up again), from inside a job. */
  function stopServer(downMs: number): { restarted: Promise<void>; stopped: Promise<void> } {
    const restarted = pg.restart({ downMs });
    const stopped = (async () => {
      while (
        await pg.psql('select 1').then(
          () => true,
          () => false,
        )
      )
        await new Promise((r) => setTimeout(r, 50));
    })();
    return { restarted, stopped };
  }

  async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
    for (const end = Date.now() + 60_000; Date.now() < end; ) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`gave up waiting for ${what}`);
  }

  it('waits for the server, says so once, records the end once it is back, and takes the next job', async () => {
    const { url, queue } = await queueWithJob('end-waits');
    const said: string[] = [];
    let restarted: Promise<void> | undefined;
    const ran: string[] = [];
    const worker = await startQueueWorker({
      url,
      concurrency: 1,
      taskList: {
        [shardTask('dc1')]: async (payload) => {
          const { runId } = payload as { runId: string };
          ran.push(runId);
          if (runId !== 'end-waits') return;
          const server = stopServer(3000);
          restarted = server.restarted;
          await server.stopped;
        },
      },
      onEndWaiting: (jobId, error) => said.push(`waiting ${jobId} ${error.code}`),
      onEndRecording: (jobId) => said.push(`recording ${jobId}`),
    });
    try {
      await until(() => restarted !== undefined, 'the job to stop the server');
      await restarted;
      await until(() => said.some((s) => s.startsWith('recording')), 'the end to be recorded');
      expect(said).toEqual([
        expect.stringMatching(/^waiting \d+ STATE_DB_UNREACHABLE$/),
        expect.stringMatching(/^recording \d+$/),
      ]);
      await until(
        async () => (await queue.states('end-waits', [0])).get(0)?.state === 'done',
        'the job to be done in the queue',
      );
      await queue.add([
        { version: 1, runId: 'after', shard: 0, zone: 'dc1', hosts: ['h1'], approval: 'eA==' },
      ]);
      await until(() => ran.includes('after'), 'the next job');
    } finally {
      await worker.stop();
      await queue.close();
    }
    await worker.promise;
  }, 120_000);

  it('stopped while the end waits: rejects with STATE_DB_UNREACHABLE naming the job, which stays taken', async () => {
    const { url, queue } = await queueWithJob('end-lost');
    let restarted: Promise<void> | undefined;
    let waiting: string | undefined;
    const worker = await startQueueWorker({
      url,
      concurrency: 1,
      taskList: {
        [shardTask('dc1')]: async () => {
          const server = stopServer(5000);
          restarted = server.restarted;
          await server.stopped;
        },
      },
      onEndWaiting: (jobId) => {
        waiting = jobId;
      },
    });
    try {
      await until(() => waiting !== undefined, 'the end to wait for the server');
      const ended = expect(worker.promise).rejects.toMatchObject({
        code: 'STATE_DB_UNREACHABLE',
        message: expect.stringContaining(`Job ${waiting} ended, but this worker was stopped`),
      });
      await worker.stop();
      await ended;
      await restarted;
      expect((await queue.states('end-lost', [0])).get(0)?.state).toBe('taken');
    } finally {
      await restarted;
      await queue.close();
    }
  }, 120_000);
});
