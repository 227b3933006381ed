import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { DistributedTeam } from './distributed-team.js';
import { exists, type RunbookFixture, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { dirParam, header } from './runbook-fixtures.js';

/*
 * Team mode: PostgreSQL goes down while `opsbook run --distribute` queues its shards, for longer
 * than the submitter retries (30 s). The run is claimed and started by then. The instant is made
 * certain with PostgreSQL itself: a session holding the queue's job table locked keeps the
 * submitter's first add_job waiting, and the server is stopped (for 45 s) while it waits. When a
 * shard queued before (taken and run by a worker) may have run a host, the run is not ended as
 * failed: it stays incomplete, and says so; the second shard's add is made to wait by a trigger on
 * the job table that takes a lock this test holds.
 */

const touchRunbook: RunbookFixture = {
  yaml: `${header('touch', 'change', 'P3')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: touch
      name: Touch a file
      run: touch {{ params.dir }}/{{ host.name }}.ran
`,
};

/** Appends a line per run to `<host>.runs`: a host that ran twice has two lines. */
const countedRunbook: RunbookFixture = {
  yaml: `${header('counted', 'change', 'P3')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: count
      name: Count this run
      run: echo ran >> {{ params.dir }}/{{ host.name }}.runs
`,
};

let team: DistributedTeam;
beforeAll(async () => {
  team = await DistributedTeam.start({ touch: touchRunbook, counted: countedRunbook });
});
afterAll(async () => {
  await team?.remove();
});

/** A psql session that holds graphile-worker's job table locked until the server stops. */
function lockJobTable(database: string): Promise<() => void> {
  return holdLock(
    database,
    'begin; lock table graphile_worker._private_jobs in access exclusive mode',
  );
}

/** A psql session that runs `sql` (taking a lock) and keeps it until the server stops. */
async function holdLock(database: string, sql: string): Promise<() => void> {
  const session = spawn('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], {
    env: { ...process.env, ...team.pg.env(database) },
  });
  let out = '';
  session.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  session.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  session.stdin.write(`${sql}; select 'locked';\n`);
  await waitFor(() => {
    if (session.exitCode !== null) throw new Error(`psql exited ${session.exitCode}: ${out}`);
    return out.includes('locked');
  }, 'the lock to be taken');
  return () => {
    if (session.exitCode === null) session.kill('SIGKILL');
  };
}

async function runsOf(dir: string, host: string): Promise<number> {
  const file = path.join(dir, `${host}.runs`);
  if (!exists(file)) return 0;
  return (await readFile(file, 'utf8')).split('\n').filter(Boolean).length;
}

describe('opsbook run --distribute while PostgreSQL is down as it queues the shards', () => {
  it('exits 4 saying no host ran and the run is recorded failed; no shard is left to be taken', async () => {
    const database = await team.freshDatabase();
    const { world } = team;
    const dir = path.join(world.markerDir, 'queue-down');
    const file = await approvedFile(world, 'touch', 'queue-down.json', [world.people.alice], {
      params: { dir },
      target: 'all',
      env: team.dbEnv,
    });
    const { ticket } = statementOf(await readEnvelope(file));
    // A worker brings the queue's schema in, and is stopped: no shard may run in this test.
    const worker = await team.startWorker('dc1');
    worker.child.kill('SIGTERM');
    await worker.done;
    const unlock = await lockJobTable(database);
    let restarting: Promise<void> | undefined;
    try {
      const run = team.submit(['run', file, '--distribute']);
      await waitFor(
        async () =>
          (
            await team.pg.psql(
              `select count(*) from pg_stat_activity where datname = '${database}' and wait_event_type = 'Lock'`,
            )
          ).trim() !== '0',
        'the submitter to wait to queue its first shard',
      );
      restarting = team.pg.restart({ downMs: 45_000 });
      const r = await team.finished(run);
      expect(r.stderr).not.toMatch(stackTrace);
      const runId = /^run (\S+):/m.exec(r.stderr)?.[1];
      expect(runId).toBeDefined();
      expect(r.stderr).toMatch(
        new RegExp(
          `^error \\(STATE_DB_UNREACHABLE\\): cannot reach the PostgreSQL state store at .*\\. Run ${runId} was started, but its shards could not be queued: no host was run, and the run is recorded as failed \\(every host not-started\\), which does not use its approval\\. Once the server is back, run it again: opsbook run \\S+queue-down\\.json --distribute\\. Its ticket ${ticket} was told\\.$`,
          'm',
        ),
      );
      expect(r.code).toBe(4);
      await restarting;
      const list = await world.opsbook(['runs', 'list'], { env: team.dbEnv });
      expect(list.stdout).toMatch(new RegExp(`^${runId}\\s+failed\\s`, 'm'));
      const left = await team.pg.psql(
        'select count(*) from graphile_worker.jobs where attempts < max_attempts',
        database,
      );
      expect(left.trim()).toBe('0');
    } finally {
      unlock();
      await restarting;
    }
  }, 300_000);

  it('exits 4 saying the run stays incomplete when a worker took a shard queued before the server went down; no shard runs twice', async () => {
    const database = await team.freshDatabase();
    const { world, pg } = team;
    const dir = path.join(world.markerDir, 'queue-down-taken');
    await mkdir(dir);
    const file = await approvedFile(
      world,
      'counted',
      'queue-down-taken.json',
      [world.people.alice],
      {
        params: { dir },
        target: 'h1:h2',
        env: team.dbEnv,
      },
    );
    const { ticket } = statementOf(await readEnvelope(file));
    const worker = await team.startWorker('dc1');
    // The second shard's add waits for a lock this test holds: the first one is queued, taken
    // and run meanwhile, then the server stops (for 45 s) while the second one waits.
    const block = "('x' || left(md5('queue-down-taken: shard 1'), 16))::bit(64)::bigint";
    await pg.psql(
      `create function opsbook_test_wait() returns trigger language plpgsql as $$
       begin
         if new.key like 'opsbook:%:1' then perform pg_advisory_xact_lock(${block}); end if;
         return new;
       end $$;
       create trigger opsbook_test_wait before insert on graphile_worker._private_jobs
         for each row execute function opsbook_test_wait();`,
      database,
    );
    const unlock = await holdLock(database, `select pg_advisory_lock(${block})`);
    let restarting: Promise<void> | undefined;
    try {
      const run = team.submit(['run', file, '--distribute', '--shard-size', '1']);
      await waitFor(async () => (await runsOf(dir, 'h1')) === 1, 'the worker to run h1 (shard 0)');
      await waitFor(
        async () =>
          (
            await pg.psql(
              `select count(*) from pg_stat_activity where datname = '${database}' and wait_event_type = 'Lock'`,
            )
          ).trim() !== '0',
        'the submitter to wait to queue its second shard',
      );
      restarting = pg.restart({ downMs: 45_000 });
      const r = await team.finished(run);
      expect(r.stderr).not.toMatch(stackTrace);
      const runId = /^run (\S+):/m.exec(r.stderr)?.[1];
      expect(runId).toBeDefined();
      expect(r.stderr).toMatch(
        new RegExp(
          `^error \\(STATE_DB_UNREACHABLE\\): cannot reach the PostgreSQL state store at .*\\. Run ${runId} was started, but its shards could not all be queued, and it stays incomplete: its end could not be recorded, or a worker may have taken one of its shards\\. A worker refuses the shards of a run nobody follows, so nothing more of it starts; once the server is back, opsbook runs show ${runId} says what ran on each host, and opsbook ticket report ${ticket} names the way out\\.$`,
          'm',
        ),
      );
      expect(r.code).toBe(4);
      await restarting;
      await pg.psql('drop trigger opsbook_test_wait on graphile_worker._private_jobs', database);
      const list = await world.opsbook(['runs', 'list'], { env: team.dbEnv });
      expect(list.stdout).toMatch(new RegExp(`^${runId}\\s+incomplete\\s`, 'm'));
      const show = await world.opsbook(['runs', 'show', runId!], { env: team.dbEnv });
      expect(show.stdout).toMatch(/host h1\n\s+\S+\/count\s+ok/);
      // Nothing is left to be taken, and the worker, still running, ran nothing more: h1 once,
      // h2 (never queued) not at all.
      const left = await pg.psql(
        'select count(*) from graphile_worker.jobs where attempts < max_attempts',
        database,
      );
      expect(left.trim()).toBe('0');
      await new Promise((res) => setTimeout(res, 2000));
      expect(worker.child.exitCode).toBeNull();
      expect(await runsOf(dir, 'h1')).toBe(1);
      expect(await runsOf(dir, 'h2')).toBe(0);
    } finally {
      unlock();
      await restarting;
      await team.stopAll();
    }
  }, 300_000);
});
