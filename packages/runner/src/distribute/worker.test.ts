import { loadConfig } from '@opsbook/schema';
import { migrateStateStore, STATE_SCHEMA_VERSION } from '@opsbook/state';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { findFreePort } from '@opsbook/testkit/sshd';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueue, startQueueWorker } from './queue.js';
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
});
