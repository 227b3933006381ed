import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { DistributedTeam } from './distributed-team.js';
import { type RunbookFixture, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { dirParam, header } from './runbook-fixtures.js';

/*
 * Team mode: PostgreSQL (the state store and the job queue) stopped while two workers run their
 * shards, for longer than the shards' journal retries (30 s), so that each shard ends while the
 * database cannot be reached: graphile-worker then cannot record the job's end. Each worker used
 * to die of it with Node's stack trace (exit 1); it must say so in one line and wait for the
 * server, record the end once it is back and go on, or, stopped meanwhile, exit 4
 * (STATE_DB_UNREACHABLE) for its supervisor to restart it.
 */

const sleepyRunbook: RunbookFixture = {
  yaml: `${header('sleepy', 'change', 'P3')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: sleep
      name: Take a while
      run: touch {{ params.dir }}/{{ host.name }}.started && sleep 3
`,
};

let team: DistributedTeam;
beforeAll(async () => {
  team = await DistributedTeam.start({ sleepy: sleepyRunbook });
});
afterAll(async () => {
  await team?.remove();
});

describe('opsbook worker whose shard ends while PostgreSQL is down', () => {
  it('says it cannot record the job’s end, waits for the server and records it; stopped meanwhile, it exits 4', async () => {
    const database = await team.freshDatabase();
    const dc1 = await team.startWorker('dc1');
    const dc2 = await team.startWorker('dc2');
    const { world } = team;
    const dir = path.join(world.markerDir, 'worker-db-lost');
    await mkdir(dir);
    const file = await approvedFile(world, 'sleepy', 'worker-db-lost.json', [world.people.alice], {
      params: { dir },
      target: 'all',
      env: team.dbEnv,
    });
    const run = team.submit(['run', file, '--distribute']);
    await waitFor(
      async () => (await readdir(dir)).filter((f) => f.endsWith('.started')).length === 4,
      'every host to start',
    );
    // Longer than the journal's retries (30 s): each shard ends while the server is down.
    const restarting = team.pg.restart({ downMs: 50_000 });
    const waiting =
      /^job \d+: could not record its end in the database; retrying until it answers: cannot reach the PostgreSQL state store at 127\.0\.0\.1:\d+\/\w+ \(ECONNREFUSED\): check that the server runs/m;
    for (const [zone, worker] of [
      ['dc1', dc1],
      ['dc2', dc2],
    ] as const)
      await waitFor(() => {
        if (worker.child.exitCode !== null)
          throw new Error(
            `the ${zone} worker exited ${worker.child.exitCode}:\n${worker.stderr()}`,
          );
        return waiting.test(worker.stderr());
      }, `the ${zone} worker to say that its job's end waits`);

    // Stopped while its job's end waits: the end is lost, and the worker says so with exit 4.
    dc2.child.kill('SIGTERM');
    const stopped = await dc2.done;
    expect(stopped.stderr).not.toMatch(stackTrace);
    expect(stopped.stderr).toMatch(
      /^error \(STATE_DB_UNREACHABLE\): cannot reach the PostgreSQL state store at 127\.0\.0\.1:\d+\/\w+ \(ECONNREFUSED\).*\. Job \d+ ended, but this worker was stopped before the database answered again: /m,
    );
    expect(stopped.code).toBe(4);

    await restarting;
    await waitFor(
      () => /^job \d+: the database answers again: recording its end$/m.test(dc1.stderr()),
      'the dc1 worker to record its end',
    );
    const taken = async (zone: string) =>
      (
        await team.pg.psql(
          `select count(*) from graphile_worker.jobs where task_identifier = 'opsbook.shard.${zone}' and locked_at is not null`,
          database,
        )
      ).trim();
    await waitFor(async () => (await taken('dc1')) === '0', "the dc1 job's end in the queue");
    expect(await taken('dc2')).toBe('1');
    expect(dc1.child.exitCode).toBeNull();
    await team.finished(run);

    dc1.child.kill('SIGTERM');
    const ended = await dc1.done;
    expect(ended.stderr).not.toMatch(stackTrace);
    expect(ended.code, ended.stderr).toBe(0);
  }, 300_000);
});
