import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Postgres } from '@opsbook/testkit/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { DistributedTeam } from './distributed-team.js';
import { exists, type RunningCli, type Site, type World, waitFor } from './opsbook-world.js';
import type { RunDoc } from './run-outcome.js';
import { dirParam, header } from './runbook-fixtures.js';

/*
 * A worker that dies holding a shard before it touched any host of it (SIGKILL, or its machine
 * lost): its job stays taken in graphile-worker's queue, and the run used to write the shard's
 * hosts off as not-started although nothing ran them. Each worker holds a lease of its own (a
 * session advisory lock named by its job queue pool) while it runs: the submitter finds the
 * taker gone, sees in the journal that no host of the shard started, and gives the job back to
 * the queue, where another worker of the zone runs it, once. A real PostgreSQL, real sshd hosts,
 * `opsbook worker` processes SIGKILLed by their pid.
 */

/** Appends a line per run to `<host>.runs`: a host that ran twice has two lines. */
const countedRunbook = {
  yaml: `${header('counted', 'change', 'P3', { title: 'Count the runs on each host' })}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: count
      name: Count this run
      run: echo ran >> {{ params.dir }}/{{ host.name }}.runs
`,
};

let team: DistributedTeam;
let pg: Postgres;
let world: World;
/** A second machine of zone dc1, for the worker that takes the shard given back. */
let dc1b: Site;

beforeAll(async () => {
  team = await DistributedTeam.start({ counted: countedRunbook });
  ({ pg, world } = team);
  dc1b = await world.createSite('worker-dc1-b');
});
afterAll(async () => {
  await team?.remove();
});
afterEach(async () => {
  await team?.stopAll();
});

async function markerDir(name: string): Promise<string> {
  const dir = path.join(world.markerDir, name);
  await mkdir(dir);
  return dir;
}

/** A fresh database, a marker folder `name`, and an approval of `counted` on h1 writing there. */
async function approvedOnH1(
  name: string,
): Promise<{ database: string; dir: string; file: string }> {
  const database = await team.freshDatabase();
  const dir = await markerDir(name);
  const file = await approvedFile(world, 'counted', `${name}.json`, [world.people.alice], {
    params: { dir },
    target: 'h1',
    env: team.dbEnv,
  });
  return { database, dir, file };
}

/** Whether a session of `database` waits for a lock on `table`. */
async function waitingOn(database: string, table: string): Promise<boolean> {
  const n = await pg.psql(
    `select count(*) from pg_locks where relation = '${table}'::regclass and not granted`,
    database,
  );
  return n.trim() !== '0';
}

async function runsOf(dir: string, host: string): Promise<number> {
  const file = path.join(dir, `${host}.runs`);
  if (!exists(file)) return 0;
  return (await readFile(file, 'utf8')).split('\n').filter(Boolean).length;
}

/** The key of the run's dc1 shard job, once it is queued. */
async function dc1ShardKey(database: string): Promise<string> {
  let key = '';
  await waitFor(async () => {
    // The queue's schema is made by the submitter when it opens the queue: until its migration
    // is done, the query fails.
    key = (
      await pg
        .psql(
          "select key from graphile_worker.jobs where task_identifier = 'opsbook.shard.dc1'",
          database,
        )
        .catch(() => '')
    ).trim();
    return key !== '';
  }, 'the dc1 shard to be queued');
  return key;
}

/** The job queue pool a worker said it is (its ready line). */
function poolOf(worker: RunningCli): string {
  const pool = /ready for zone\(s\) \S+ \(queue pool (\S+)\)/.exec(worker.stderr())?.[1];
  if (!pool) throw new Error(`the worker named no job queue pool:\n${worker.stderr()}`);
  return pool;
}

/**
 * A psql session holding `lock table TABLE in access exclusive mode` in an open transaction:
 * whoever reads the table waits until release() commits it.
 */
async function lockTable(database: string, table: string) {
  const session = spawn('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], {
    env: { ...process.env, ...pg.env(database) },
  });
  let out = '';
  session.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  session.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const ended = new Promise<void>((resolve) => session.once('exit', () => resolve()));
  session.stdin.write(`begin;\nlock table ${table} in access exclusive mode;\nselect 'locked';\n`);
  await waitFor(() => {
    if (session.exitCode !== null) throw new Error(`psql exited ${session.exitCode}: ${out}`);
    return out.includes('locked');
  }, `the lock on ${table}`);
  return {
    async release() {
      if (session.exitCode === null) {
        session.stdin.end('commit;\n');
        await ended;
      }
    },
  };
}

/** What every test of a given-back shard checks once its run ended: h1 ran once, and ok. */
async function expectRanOnceAfterGivingBack(
  r: { code: number | null; stdout: string; stderr: string },
  dir: string,
  database: string,
  shardKey: string,
) {
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout) as RunDoc;
  expect(doc.hosts).toEqual([expect.objectContaining({ host: 'h1', status: 'ok' })]);
  expect(r.stderr).toMatch(
    /shard 0 \(zone dc1, 1 host\(s\)\): the worker that took it \(pool-\w+\) is gone and no host of it had started: given back to the queue/,
  );
  // Never a shard run twice: h1 ran once, and the job is done (no copy of it left in the queue).
  expect(await runsOf(dir, 'h1')).toBe(1);
  expect(
    (
      await pg.psql(`select count(*) from graphile_worker.jobs where key = '${shardKey}'`, database)
    ).trim(),
  ).toBe('0');
  const show = await world.opsbook(['runs', 'show', doc.runId], { env: team.dbEnv });
  expect(show.code, show.stderr).toBe(0);
  expect(show.stdout).toMatch(
    /shard 0 returned to the queue .*: the worker that took shard 0 \(zone dc1\) is gone/,
  );
  const verify = await world.opsbook(['journal', 'verify', doc.runId], { env: team.dbEnv });
  expect(verify.code, verify.stdout).toBe(0);
}

describe('a worker that dies holding a shard before any host of it', () => {
  it('is found gone by its lease, and its shard is given back to the queue and run once by another worker', async () => {
    const { database, dir, file } = await approvedOnH1('killed-before-host');
    const run = team.submit(['run', file, '--distribute', '--json']);
    const shardKey = await dc1ShardKey(database);
    // The worker takes the job and waits there, before its first host: the run's row is locked.
    const lock = await lockTable(database, 'opsbook_runs');
    try {
      const dc1 = await team.startWorker('dc1');
      await waitFor(
        () => waitingOn(database, 'opsbook_runs'),
        'the dc1 worker to take the job and wait for the run',
      );
      expect(
        (
          await pg.psql(
            `select locked_by from graphile_worker.jobs where key = '${shardKey}'`,
            database,
          )
        ).trim(),
      ).toBe(poolOf(dc1));
      dc1.child.kill('SIGKILL');
      await dc1.done;
    } finally {
      await lock.release();
    }
    const dc1Again = await team.startWorker('dc1', { site: dc1b });
    const r = await team.finished(run);
    await expectRanOnceAfterGivingBack(r, dir, database, shardKey);
    expect(dc1Again.stderr()).toContain('job ');
  });

  it('gives back a claim whose commit answer was lost, its worker killed before it noticed', async () => {
    const { database, dir, file } = await approvedOnH1('claim-lost-then-killed');
    const dc1 = await team.startWorker('dc1');
    const pool = poolOf(dc1);
    // Held still (its sessions open), so that the claim below is the only one made of the job.
    process.kill(dc1.child.pid!, 'SIGSTOP');
    try {
      const run = team.submit(['run', file, '--distribute', '--json']);
      const shardKey = await dc1ShardKey(database);
      // The claim as graphile-worker's get_job commits it for this worker's pool, whose answer
      // never reached the worker (a restart, or its backend ended, at that instant).
      const claimed = await pg.psql(
        `update graphile_worker._private_jobs set locked_by = '${pool}', locked_at = now(), attempts = attempts + 1
         where key = '${shardKey}' and locked_by is null returning id`,
        database,
      );
      expect(claimed.trim()).not.toBe('');
      dc1.child.kill('SIGKILL');
      await dc1.done;
      await team.startWorker('dc1', { site: dc1b });
      const r = await team.finished(run);
      await expectRanOnceAfterGivingBack(r, dir, database, shardKey);
    } finally {
      if (dc1.child.exitCode === null && dc1.child.signalCode === null)
        process.kill(dc1.child.pid!, 'SIGKILL');
    }
  });

  it('a worker still alive whose job was given back (its session lost) refuses the shard, touching no host, and the shard runs once', async () => {
    const { database, dir, file } = await approvedOnH1('given-back-alive');
    const run = team.submit(['run', file, '--distribute', '--json']);
    const shardKey = await dc1ShardKey(database);
    const lock = await lockTable(database, 'opsbook_runs');
    let dc1: RunningCli;
    try {
      dc1 = await team.startWorker('dc1');
      await waitFor(
        () => waitingOn(database, 'opsbook_runs'),
        'the dc1 worker to take the job and wait for the run',
      );
      // What a submitter that found this worker's session gone does with the job: given back,
      // as the queue's giveBack makes it (here while the worker is held up on its way).
      const returned = await pg.psql(
        `update graphile_worker._private_jobs set attempts = greatest(0, attempts - 1), locked_by = null, locked_at = null,
           run_at = now() + interval '5 seconds'
         where key = '${shardKey}' and locked_by = '${poolOf(dc1)}' returning id`,
        database,
      );
      expect(returned.trim()).not.toBe('');
    } finally {
      await lock.release();
    }
    await waitFor(() => dc1.stderr().includes('SHARD_REFUSED'), 'the worker to refuse the shard');
    expect(dc1.stderr()).toMatch(
      /SHARD_REFUSED: shard 0 of run \S+ refused: its job is no longer this worker's: .*gave the shard back to the queue, for a worker of its zone to run once; no host was touched/,
    );
    const r = await team.finished(run);
    // The worker takes the job given back as a new one, and runs it: once.
    expect(r.code, r.stderr).toBe(0);
    expect(await runsOf(dir, 'h1')).toBe(1);
    expect(
      (
        await pg.psql(
          `select count(*) from graphile_worker.jobs where key = '${shardKey}'`,
          database,
        )
      ).trim(),
    ).toBe('0');
  });

  it('a worker cut off after checking its job and before its first host, its job given back meanwhile, is fenced out on taking the lease again (LEASE_LOST), touching no host, and the shard runs once', async () => {
    const { database, dir, file } = await approvedOnH1('given-back-after-check');
    const run = team.submit(['run', file, '--distribute', '--json']);
    const shardKey = await dc1ShardKey(database);
    // Held up past its check that the job is its own, on the shard's lease session (checkSubmitter).
    const submitters = await lockTable(database, 'opsbook_run_submitters');
    let migrations: Awaited<ReturnType<typeof lockTable>> | undefined;
    let dc1: RunningCli;
    try {
      dc1 = await team.startWorker('dc1');
      await waitFor(
        () => waitingOn(database, 'opsbook_run_submitters'),
        'the worker past its job check',
      );
      // Its session ends (a restart, as the worker sees it); taking it again waits on the
      // schema's version, so that the job is given back while the lease is free.
      migrations = await lockTable(database, 'opsbook_schema_migrations');
      await pg.psql(
        `select pg_terminate_backend(pid) from pg_locks
         where relation = 'opsbook_run_submitters'::regclass and not granted`,
        database,
      );
      await waitFor(
        () => waitingOn(database, 'opsbook_schema_migrations'),
        'the worker to connect again',
      );
      const returned = await pg.psql(
        `update graphile_worker._private_jobs set attempts = greatest(0, attempts - 1), locked_by = null, locked_at = null,
           run_at = now() + interval '15 seconds'
         where key = '${shardKey}' and locked_by = '${poolOf(dc1)}' returning id`,
        database,
      );
      expect(returned.trim()).not.toBe('');
    } finally {
      await submitters.release();
      await migrations?.release();
    }
    await waitFor(
      async () => dc1.stderr().includes('LEASE_LOST') || (await runsOf(dir, 'h1')) > 0,
      'the worker to be fenced out, or to run h1',
    );
    // Before, it took the free lease back unasked and ran h1 under the job given back.
    expect(await runsOf(dir, 'h1')).toBe(0);
    expect(dc1.stderr()).toMatch(/LEASE_LOST/);
    // This machine recorded h1 as its own (worker-runs/) before it was fenced out: the job given
    // back is for another machine's worker of the zone, which runs it once.
    dc1.child.kill('SIGKILL');
    await team.startWorker('dc1', { site: dc1b });
    const r = await team.finished(run);
    expect(r.code, r.stderr).toBe(0);
    expect(await runsOf(dir, 'h1')).toBe(1);
  });
});
