import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { DistributedTeam } from './distributed-team.js';
import { type RunbookFixture, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { dirParam, header } from './runbook-fixtures.js';

/*
 * Team mode: PostgreSQL (the state store and the job queue) stopped for longer than the
 * submitter's retries while two workers run their shards, through the real binaries. The
 * submitter cannot record the run's end: it exits 4 (STATE_DB_UNREACHABLE) and says what became
 * of the run and how to find out once the server is back, not only which server it could not
 * reach.
 */

const sleepyRunbook: RunbookFixture = {
  yaml: `${header('sleepy', 'change', 'P3')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: sleep
      name: Take a while
      run: touch {{ params.dir }}/{{ host.name }}.started && sleep 3
    - id: after
      name: After the wait
      run: touch {{ params.dir }}/{{ host.name }}.after
`,
};

let team: DistributedTeam;
beforeAll(async () => {
  team = await DistributedTeam.start({ sleepy: sleepyRunbook });
});
afterAll(async () => {
  await team?.remove();
});

describe('opsbook run --distribute while PostgreSQL is down for long', () => {
  it('exits 4 saying the run stays incomplete and how to find out what ran', async () => {
    await team.freshDatabase();
    await team.startWorker('dc1');
    await team.startWorker('dc2');
    const { world } = team;
    const dir = path.join(world.markerDir, 'db-lost');
    await mkdir(dir);
    const file = await approvedFile(world, 'sleepy', 'db-lost.json', [world.people.alice], {
      params: { dir },
      target: 'all',
      env: team.dbEnv,
    });
    const { ticket } = statementOf(await readEnvelope(file));
    const run = team.submit(['run', file, '--distribute']);
    await waitFor(
      async () => (await readdir(dir)).filter((f) => f.endsWith('.started')).length === 4,
      'every host to start',
    );
    // Down for longer than the submitter retries (30 s).
    const restarting = team.pg.restart({ downMs: 60_000 });
    const r = await team.finished(run);
    expect(r.stderr).not.toMatch(stackTrace);
    const runId = /^run (\S+):/m.exec(r.stderr)?.[1];
    expect(runId).toBeDefined();
    expect(r.stderr).toMatch(
      new RegExp(
        `^error \\(STATE_DB_UNREACHABLE\\): cannot reach the PostgreSQL state store at .*\\. Run ${runId} was handed to the workers of its zones, who may have started steps on its hosts, and stays incomplete: its end could not be recorded, nor its ticket ${ticket} told\\. Once the server is back, opsbook runs show ${runId} says what ran on each host, and opsbook ticket report ${ticket} names the way out\\.$`,
        'm',
      ),
    );
    expect(r.code).toBe(4);
    await restarting;
    const list = await world.opsbook(['runs', 'list'], { env: team.dbEnv });
    expect(list.stdout).toMatch(new RegExp(`^${runId}\\s+incomplete\\s`, 'm'));
    const shown = await world.opsbook(['runs', 'show', runId!], { env: team.dbEnv });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('steps/sleep');
  }, 300_000);
});
