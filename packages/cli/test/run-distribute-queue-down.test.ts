import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { DistributedTeam } from './distributed-team.js';
import { type RunbookFixture, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { dirParam, header } from './runbook-fixtures.js';

/*
 * Team mode: PostgreSQL goes down while `opsbook run --distribute` queues its shards, for longer
 * than the submitter retries (30 s). The run is claimed and started by then. The instant is made
 * certain with PostgreSQL itself: a session holding the queue's job table locked keeps the
 * submitter's first add_job waiting, and the server is stopped (for 45 s) while it waits.
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

let team: DistributedTeam;
beforeAll(async () => {
  team = await DistributedTeam.start({ touch: touchRunbook });
});
afterAll(async () => {
  await team?.remove();
});

/** A psql session that holds graphile-worker's job table locked until the server stops. */
async function lockJobTable(database: string): Promise<() => void> {
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
  session.stdin.write(
    "begin; lock table graphile_worker._private_jobs in access exclusive mode; select 'locked';\n",
  );
  await waitFor(() => {
    if (session.exitCode !== null) throw new Error(`psql exited ${session.exitCode}: ${out}`);
    return out.includes('locked');
  }, 'the job table to be locked');
  return () => {
    if (session.exitCode === null) session.kill('SIGKILL');
  };
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
});
