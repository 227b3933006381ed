import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type JiraFake, type JiraFakeOptions, startJiraFake } from '@opsbook/testkit/jira';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planApproval } from './approval-craft.js';
import { DistributedTeam } from './distributed-team.js';
import { exists, expectOk, type RunbookFixture, type Site, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { dirParam, header } from './runbook-fixtures.js';

/*
 * A worker judges an approval's validity window by its own machine's clock and, like `run` and
 * `schedule run`, by the tracker's: a shard can wait in the queue (no worker of its zone up, or
 * all busy) until after the approval expired, and a worker machine's clock can be wrong (set
 * back, or never synchronised). Jira dates every answer. Here the shard is queued while every
 * clock agrees; then, before the zone's worker takes it, Jira's clock moves (this machine's
 * cannot be, other tests share it): real PostgreSQL, real job queue, real sshd, the real binary.
 */

const DAY = 24 * 3600_000;

const counted: RunbookFixture = {
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
let fake: JiraFake;
// The fake reads clockOffsetMs from its options at every answer: moved by a test, not restarted.
const fakeOptions: JiraFakeOptions = { flavour: 'cloud', clockOffsetMs: 0 };

async function useJira(sites: Site[]): Promise<void> {
  for (const site of sites) {
    const file = path.join(site.dir, 'opsbook.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(
      file,
      text.replace(/^tracker: .*$/m, 'tracker: {kind: jira, jira: {project: OPS, flavour: cloud}}'),
    );
  }
}

beforeAll(async () => {
  fake = await startJiraFake(fakeOptions);
  team = await DistributedTeam.start({ counted });
  await useJira([team.world, team.sites.dc1, team.sites.dc2]);
}, 240_000);
afterAll(async () => {
  await team?.remove();
  await fake?.close();
});

/** An Approved Jira issue with a signed approval (valid 24 h from now) of counted on h1. */
async function approvedIssue(name: string): Promise<{ file: string; dir: string }> {
  const { world } = team;
  const dir = path.join(world.markerDir, name);
  await mkdir(dir);
  const issue = fake.seed({ summary: name, status: 'approved' });
  const env = team.dbEnv;
  const file = await planApproval(world, 'counted', `${name}.json`, {
    ticket: issue.key,
    params: { dir },
    target: 'h1',
    env,
  });
  await expectOk(
    world.opsbook(['approve', file, '--key', world.people.alice.keyFile], { env }),
    'approve',
  );
  return { file, dir };
}

/** Whether h1 ran the step. */
const ranOnH1 = async (dir: string) => exists(path.join(dir, 'h1.runs'));

/**
 * Submits the run while Jira's clock agrees with this machine's, waits for its dc1 shard in the
 * queue, moves Jira's clock by `offsetMs`, and only then starts the dc1 worker.
 */
async function shardTakenWithJiraClock(name: string, offsetMs: number) {
  fakeOptions.clockOffsetMs = 0;
  const database = await team.freshDatabase();
  team.dbEnv = { ...team.dbEnv, ...fake.env };
  const { file, dir } = await approvedIssue(name);
  const run = team.submit(['run', file, '--distribute']);
  // The submitter creates the queue's schema when it queues its first shard: missing till then.
  const queued = () =>
    team.pg.psql(
      "select count(*) from graphile_worker.jobs where task_identifier = 'opsbook.shard.dc1'",
      database,
    );
  await waitFor(
    async () => (await queued().catch(() => '0')).trim() === '1',
    'the dc1 shard to be queued',
  );
  fakeOptions.clockOffsetMs = offsetMs;
  const dc1 = await team.startWorker('dc1');
  const result = await team.finished(run);
  dc1.child.kill('SIGTERM');
  await dc1.done;
  return { result, worker: dc1.stderr(), dir };
}

describe("a worker checks the approval's validity window by the tracker's clock", () => {
  it("refuses a shard whose approval expired by Jira's clock, though the worker machine's says it is valid, touching no host", async () => {
    const { result, worker, dir } = await shardTakenWithJiraClock('expired-by-jira', 2 * DAY);
    expect(worker).toMatch(
      /job \S+ refused: SHARD_REFUSED: shard 0 of run \S+ refused: the tracker's clock does not allow it \(EXPIRED: .*by the tracker's clock/,
    );
    expect(worker).toContain('no host was touched');
    expect(worker).not.toMatch(stackTrace);
    expect(await ranOnH1(dir)).toBe(false);
    expect(result.code, result.stderr).not.toBe(0);
  }, 180_000);

  it("refuses a shard whose approval is not valid yet by Jira's clock (the worker machine's set forward)", async () => {
    const { result, worker, dir } = await shardTakenWithJiraClock('not-yet-by-jira', -2 * DAY);
    expect(worker).toMatch(
      /job \S+ refused: SHARD_REFUSED: shard 0 of run \S+ refused: the tracker's clock does not allow it \(NOT_YET_VALID: .*not yet by the tracker's clock/,
    );
    expect(await ranOnH1(dir)).toBe(false);
    expect(result.code, result.stderr).not.toBe(0);
  }, 180_000);

  it('runs the shard when the clocks agree within minutes', async () => {
    const { result, dir } = await shardTakenWithJiraClock('clocks-agree', -60_000);
    expect(result.code, result.stderr).toBe(0);
    expect(await ranOnH1(dir)).toBe(true);
  }, 180_000);
});
