import { describe, expect, it } from 'vitest';
import { createJiraTracker } from '../src/index.js';
import { jiraFakeEachTest } from './jira-fake-each-test.js';

/*
 * `opsbook doctor`'s Jira part: what opsbook.yaml names (account, project, issue type, the six
 * statuses) read against a Jira (the spec-validated fake) before any ticket needs them.
 */
describe.each([
  { flavour: 'cloud' as const, basePath: '/ex/jira/cloud-1234' },
  { flavour: 'datacenter' as const, basePath: '/jira' },
])('checkSetup on Jira $flavour', ({ flavour, basePath }) => {
  const startFake = jiraFakeEachTest();

  it('passes every check when the settings match the project', async () => {
    const fake = await startFake({ flavour, basePath });
    const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
    const checks = await jira.checkSetup();
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['account', true],
      ['project', true],
      ['issue type', true],
      ['status open', true],
      ['status awaitingApproval', true],
      ['status approved', true],
      ['status inProgress', true],
      ['status review', true],
      ['status done', true],
    ]);
    expect(checks[0]?.detail).toContain(fake.users[0]!.displayName);
  });

  it('names a status the workflow lacks, with what it has and the setting to change', async () => {
    const fake = await startFake({ flavour, basePath, statuses: { review: 'Code Review' } });
    const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
    const failed = (await jira.checkSetup()).filter((c) => !c.ok);
    expect(failed).toEqual([
      {
        name: 'status review',
        ok: false,
        detail: expect.stringMatching(
          /^'In Review' is not a status of OPS's Task workflow \(it has: Open, .*Code Review, Done\)$/,
        ),
        fix: expect.stringContaining('tracker.jira.statuses.review'),
      },
    ]);
  });

  it('names a configured status name matched case-insensitively as Jira does', async () => {
    const fake = await startFake({ flavour, basePath });
    const jira = createJiraTracker(
      { project: 'OPS', flavour, statuses: { done: 'DONE' } },
      fake.env,
    );
    expect((await jira.checkSetup()).every((c) => c.ok)).toBe(true);
  });

  it('stops at a project that does not exist, and at an issue type it lacks', async () => {
    const fake = await startFake({ flavour, basePath });
    const noProject = await createJiraTracker({ project: 'NOPE', flavour }, fake.env).checkSetup();
    expect(noProject.map((c) => [c.name, c.ok])).toEqual([
      ['account', true],
      ['project', false],
    ]);
    expect(noProject[1]?.fix).toContain('tracker.jira.project');
    const noType = await createJiraTracker(
      { project: 'OPS', flavour, issueType: 'Story' },
      fake.env,
    ).checkSetup();
    expect(noType.at(-1)).toMatchObject({
      name: 'issue type',
      ok: false,
      detail: "project OPS has no issue type 'Story' (it has: Task, Bug, Incident)",
      fix: expect.stringContaining('tracker.jira.issueType'),
    });
  });

  it('checks that each approver\u2019s Jira account can be assigned tickets in the project', async () => {
    const fake = await startFake({ flavour, basePath });
    const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
    const known = fake.users[1]!;
    const account = flavour === 'cloud' ? known.accountId : known.name;
    const checks = await jira.checkSetup([
      { id: 'sam', account },
      { id: 'val', account: 'no-such-account-42' },
    ]);
    expect(checks.slice(-2)).toEqual([
      { name: 'assignee sam', ok: true, detail: `${account} (${known.displayName})` },
      {
        name: 'assignee val',
        ok: false,
        detail: expect.stringContaining(
          'approvers.yaml gives val the Jira account no-such-account-42, which cannot be assigned tickets in OPS',
        ),
        fix: expect.stringContaining("set val's jira: in approvers.yaml"),
      },
    ]);
  });

  it('stops at credentials Jira refuses, with the message that names them', async () => {
    const fake = await startFake({ flavour, basePath });
    const wrong =
      flavour === 'cloud'
        ? { ...fake.env, JIRA_API_TOKEN: 'not-the-token' }
        : { ...fake.env, JIRA_PAT: 'not-the-pat' };
    const checks = await createJiraTracker({ project: 'OPS', flavour }, wrong).checkSetup();
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ name: 'account', ok: false });
    expect(checks[0]?.detail).toMatch(/401|credential|token/i);
  });
});

/*
 * Data Center's document declares one object where Jira answers an array (the project's
 * statuses, an assignable-user search): a server built from the document answers the object.
 */
describe('checkSetup on a Data Center that answers as its document declares', () => {
  const startFake = jiraFakeEachTest();

  it('reads the project statuses and an assignable user given as one object', async () => {
    const fake = await startFake({ flavour: 'datacenter', answersAsDeclared: true });
    const jira = createJiraTracker({ project: 'OPS', flavour: 'datacenter' }, fake.env);
    const known = fake.users[1]!;
    const checks = await jira.checkSetup([{ id: 'sam', account: known.name }]);
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['account', true],
      ['project', true],
      ['issue type', true],
      ['status open', true],
      ['status awaitingApproval', true],
      ['status approved', true],
      ['status inProgress', true],
      ['status review', true],
      ['status done', true],
      ['assignee sam', true],
    ]);
  });
});
