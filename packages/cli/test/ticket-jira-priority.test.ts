import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { approversYaml, makeSshKeyPair } from '@opsbook/testkit/approvers';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, stackTrace } from './run-cli.js';

/*
 * opsbook ticket open --grade into a Jira project whose priority scheme lacks the grade's
 * priority (Critical, Major, Minor; tracker.jira.priorities maps only P1): the ticket is opened
 * all the same, without a priority, and the output says which key to set — at once, or when the
 * outbox delivers the create later.
 */

describe.each([['cloud'], ['datacenter']] as const)('ticket open --grade on %s Jira', (flavour) => {
  let fake: JiraFake;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let keyFile = '';

  beforeEach(async () => {
    fake = await startJiraFake({ flavour, priorities: ['Critical', 'Major', 'Minor'] });
    tmp = await makeTempDir('opsbook-jira-priority-');
    const [grace, sam, val] = await Promise.all(
      ['grace', 'sam', 'val'].map((id) => makeSshKeyPair(tmp.dir, id)),
    );
    keyFile = grace!.keyFile;
    await writeFile(
      path.join(tmp.dir, 'approvers.yaml'),
      approversYaml([
        { id: 'grace', name: 'Grace Engineer', roles: ['engineer'], keys: [grace!.publicLine] },
        { id: 'sam', name: 'Sam Senior', roles: ['senior'], keys: [sam!.publicLine] },
        { id: 'val', name: 'Val Verifier', roles: ['senior'], keys: [val!.publicLine] },
      ]),
    );
    await writeFile(
      path.join(tmp.dir, 'opsbook.yaml'),
      `apiVersion: opsbook/v1\nkind: Config\nstateDir: state\ntrustStore: approvers.yaml\ntracker: {kind: jira, jira: {project: OPS, flavour: ${flavour}, priorities: {P1: Critical}}}\n`,
    );
  });

  afterEach(async () => {
    await tmp.remove();
    await fake.closeExpectingNone();
  });

  const opsbook = (args: string[]) =>
    runCli(args, { cwd: tmp.dir, env: { HOME: tmp.dir, ...fake.env } });
  const open = (grade: string) => [
    'ticket',
    'open',
    '--summary',
    'db-3: disk 91%',
    '--grade',
    grade,
    '--no-evidence',
    '--key',
    keyFile,
  ];
  const refusal = (grade: string, priority: string) =>
    `was created without a priority: Jira at ${fake.baseUrl}/rest/api/${flavour === 'cloud' ? 3 : 2}/issue refused the priority "${priority}" for ${grade} when trying to create a ticket in project OPS (400)`;

  it('opens the ticket without the priority the scheme lacks and warns naming tracker.jira.priorities.P2; a mapped grade gets its priority', async () => {
    const r = await opsbook(open('P2'));
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('opened OPS-1;');
    expect(r.stdout).toContain(`warning: OPS-1 ${refusal('P2', 'High')}`);
    expect(r.stdout).toContain('set tracker.jira.priorities.P2 in opsbook.yaml');
    expect(fake.issues()).toHaveLength(1);
    expect(fake.issue('OPS-1')?.priority).toBeUndefined();
    const mapped = await opsbook([...open('P1'), '--json']);
    expect(mapped.code, mapped.stderr).toBe(0);
    const { key, report } = JSON.parse(mapped.stdout) as { key: string; report: object };
    expect(report).not.toHaveProperty('warnings');
    expect(fake.issue(key)?.priority).toBe('Critical');
  });

  it('warns when the outbox delivers a queued create later, and opens it once', async () => {
    await fake.down();
    const queued = await opsbook(open('P3'));
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout).toContain('the ticket waits in the outbox');
    await fake.up();
    const flush = await opsbook(['outbox', 'flush']);
    expect(flush.stderr).not.toMatch(stackTrace);
    expect(flush.code, flush.stderr).toBe(0);
    expect(flush.stderr).toContain(`warning: OPS-1 ${refusal('P3', 'Medium')}`);
    expect(fake.issues()).toHaveLength(1);
    expect((await opsbook(['outbox', 'flush'])).code).toBe(0);
    expect(fake.issues()).toHaveLength(1);
  });
});
