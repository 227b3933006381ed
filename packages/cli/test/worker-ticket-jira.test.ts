import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planApproval } from './approval-craft.js';
import { DistributedTeam } from './distributed-team.js';
import {
  exists,
  expectOk,
  type RunbookFixture,
  type RunningCli,
  type Site,
} from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { dirParam, header } from './runbook-fixtures.js';

/*
 * Workers check the run's Jira ticket themselves. Whoever submits a distributed run also writes
 * the queue: with the runner library's runDistributed and no ticket gate (the engineer's own
 * submitter, the database credentials `opsbook run --distribute` needs), a worker used to run a
 * shard after the senior had moved the ticket on, and of a run the ticket never recorded.
 */

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

/** The engineer's own submitter: runDistributed from the runner library, no TicketGate. */
const BYPASS = `
import { readFile } from 'node:fs/promises';
const [approvalFile, keyFile, runner, schema, approval] = process.argv.slice(2);
const { runDistributed } = await import(runner);
const { loadConfig } = await import(schema);
const { loadKeyFileSigner } = await import(approval);
const config = await loadConfig({ env: process.env });
const executorSigner = await loadKeyFileSigner(await readFile(keyFile), { file: keyFile });
const out = await runDistributed({
  config, approvalFile, executorSigner, env: process.env, signal: new AbortController().signal,
});
console.log(JSON.stringify({ status: out.status, hosts: out.result.hosts.map((h) => [h.host, h.status]) }));
process.exit(0);
`;
const dist = (pkg: string) => path.resolve(import.meta.dirname, `../../${pkg}/dist/index.js`);

let team: DistributedTeam;
let fake: JiraFake;
let env: NodeJS.ProcessEnv;
let bypassFile: string;
let dc1: RunningCli;

/** Every site's tracker is the Jira fake: the submitter's and each worker's. */
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
  fake = await startJiraFake({ flavour: 'cloud' });
  team = await DistributedTeam.start({ counted });
  await useJira([team.world, team.sites.dc1, team.sites.dc2]);
  await team.freshDatabase();
  team.dbEnv = { ...team.dbEnv, ...fake.env };
  env = team.dbEnv;
  dc1 = await team.startWorker('dc1');
  bypassFile = path.join(team.world.dir, 'bypass-submit.mjs');
  await writeFile(bypassFile, BYPASS);
}, 240_000);
afterAll(async () => {
  await team?.remove();
  await fake?.close();
});

/** An Approved Jira issue with a signed approval of counted on h1 (three runs), and its marker dir. */
async function approvedIssue(name: string): Promise<{ key: string; file: string; dir: string }> {
  const { world } = team;
  const dir = path.join(world.markerDir, name);
  await mkdir(dir);
  const issue = fake.seed({ summary: name, status: 'approved' });
  const file = await planApproval(world, 'counted', `${name}.json`, {
    ticket: issue.key,
    params: { dir },
    target: 'h1',
    extra: ['--max-runs', '3'],
    env,
  });
  await expectOk(
    world.opsbook(['approve', file, '--key', world.people.alice.keyFile], { env }),
    'approve',
  );
  return { key: issue.key, file, dir };
}

async function runsOn(dir: string): Promise<number> {
  const file = path.join(dir, 'h1.runs');
  return (await exists(file))
    ? (await readFile(file, 'utf8')).split('\n').filter(Boolean).length
    : 0;
}

/**
 * The engineer's own submitter, run as its own process. Asynchronously: the Jira fake answers
 * from this test's process, which a synchronous spawn would keep from answering.
 */
function bypass(file: string): Promise<{ stdout: string; stderr: string }> {
  const { world } = team;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        bypassFile,
        file,
        world.people.grace.keyFile,
        dist('runner'),
        dist('schema'),
        dist('approval'),
      ],
      { cwd: world.dir, env: { ...process.env, ...world.env, ...env }, timeout: 120_000 },
      (_error, stdout, stderr) => resolve({ stdout, stderr }),
    );
  });
}

describe('a worker checks the Jira ticket of each shard it is given', () => {
  it('runs a shard of a run submitted as opsbook does, and refuses one after the ticket moved on', async () => {
    const { key, file, dir } = await approvedIssue('moved-on');
    const first = await team.finished(team.submit(['run', file, '--distribute']));
    expect(first.code, first.stderr).toBe(0);
    expect(await runsOn(dir)).toBe(1);
    expect(fake.issue(key)?.status).toMatch(/review/i);

    const sneaked = await bypass(file);
    expect(sneaked.stderr).not.toMatch(stackTrace);
    expect(sneaked.stdout).not.toContain('"h1","ok"');
    expect(await runsOn(dir)).toBe(1);
    const worker = dc1.stderr();
    expect(worker).toMatch(/refused.*TICKET_NOT_APPROVED/);
    expect(worker).toContain('no host was touched');
  }, 180_000);

  it('refuses a run its ticket does not record, and then runs the same approval submitted as opsbook does', async () => {
    const { file, dir } = await approvedIssue('not-claimed');
    const sneaked = await bypass(file);
    expect(sneaked.stdout).not.toContain('"h1","ok"');
    expect(await runsOn(dir)).toBe(0);
    expect(dc1.stderr()).toMatch(/refused.*RUN_NOT_ON_TICKET/);

    const proper = await team.finished(team.submit(['run', file, '--distribute']));
    expect(proper.code, proper.stderr).toBe(0);
    expect(await runsOn(dir)).toBe(1);
  }, 180_000);
});
