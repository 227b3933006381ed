import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openQueue } from './queue.js';
import type { ShardJob } from './shard-job.js';

/*
 * Closing the queue (a submitter at the end of a distributed run) returned while its connections
 * were still closing, and with the pool's error listeners already removed: a server stopping or
 * restarting at that instant ended each of them with "terminating connection due to
 * administrator command", an uncaught 'error' that ended the process with a stack trace (CI saw
 * it when a test's server was stopped right after). close() returns once they are closed, and
 * the pool keeps its listeners to the end.
 */

let server: Postgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.dispose();
});

describe("the queue's close()", () => {
  it('stays quiet when the server ends its connections as it closes (nothing uncaught), and returns once they are closed', async () => {
    const name = `opsbook_queue_close_${process.pid}`;
    await server.psql(`create database ${name}`);
    const url = `postgres://${server.user}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${name}`;
    const look = new pg.Client({ connectionString: url });
    await look.connect();
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    let stopped: number[] = [];
    try {
      const queue = await openQueue(url);
      // Four at once: the pool keeps four connections open, idle.
      const job = (shard: number): ShardJob => ({
        version: 1,
        runId: 'closing',
        shard,
        zone: 'dc1',
        hosts: ['h1'],
        approval: 'eA==',
      });
      await Promise.all(
        [0, 1, 2, 3].map((s) => queue.states('closing', [s]).then(() => queue.add([job(s)]))),
      );
      const backends = async () =>
        (
          await look.query<{ pid: number }>(
            // Client sessions only: an autovacuum worker of the database may be listed too.
            "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'",
          )
        ).rows.map((r) => r.pid);
      // The queue's backends are held (SIGSTOP) so that its goodbye is not read before the
      // server ends them: the instant of a server stopping as the queue closes, made certain.
      stopped = await backends();
      expect(stopped.length).toBeGreaterThan(0);
      for (const pid of stopped) process.kill(pid, 'SIGSTOP');
      let isClosed = false;
      const closed = queue.close().then(() => {
        isClosed = true;
      });
      await new Promise((r) => setTimeout(r, 200));
      const closedEarly = isClosed;
      await look.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [stopped]);
      for (const pid of stopped) process.kill(pid, 'SIGCONT');
      stopped = [];
      await closed;
      // Gone from the server's view soon after (a loaded server may list a session it is still
      // ending for a moment after the client's side closed); one the queue left open never goes.
      await vi.waitFor(async () => expect(await backends()).toEqual([]), {
        timeout: 10_000,
        interval: 50,
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(uncaught).toEqual([]);
      expect(closedEarly).toBe(false);
    } finally {
      for (const pid of stopped) process.kill(pid, 'SIGCONT');
      process.off('uncaughtException', onUncaught);
      await look.end();
    }
  }, 60_000);
});
