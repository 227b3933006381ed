import { type JiraFake, type JiraFakeOptions, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, describe, expect, it } from 'vitest';
import { type CommentVisibility, createJiraTracker } from '../src/index.js';

/*
 * `opsbook doctor` checks that the account opsbook signs in as may post the comments
 * `tracker.jira.commentVisibility` restricts: Jira refuses a comment restricted to a role or group
 * its author is not in, which would otherwise fail only at the first proposal or run report.
 */
describe.each([
  { flavour: 'cloud' as const, basePath: '/ex/jira/cloud-1234' },
  { flavour: 'datacenter' as const, basePath: '/jira' },
])('checkSetup of commentVisibility on Jira $flavour', ({ flavour, basePath }) => {
  let fake: JiraFake | undefined;
  afterEach(async () => {
    try {
      await fake?.closeExpectingNone();
    } finally {
      fake = undefined;
    }
  });

  const check = async (
    commentVisibility: CommentVisibility,
    options: Omit<JiraFakeOptions, 'flavour'> = {},
  ) => {
    fake = await startJiraFake({ flavour, basePath, ...options });
    const jira = createJiraTracker({ project: 'OPS', flavour, commentVisibility }, fake.env);
    return (await jira.checkSetup()).filter((c) => c.name === 'comment visibility');
  };

  /** The caller (`engineer`) acts in `Operators` itself, not through a group. */
  const operators = {
    projectRoles: [
      { id: 10001, name: 'Developers', users: [], groups: ['jira-software-users'] },
      { id: 10003, name: 'Operators', users: ['engineer'], groups: [] },
      { id: 10004, name: 'Auditors', users: ['senior'], groups: [] },
    ],
  };

  it('passes a role the account acts in by name', async () => {
    expect(await check({ type: 'role', value: 'operators' }, operators)).toEqual([
      {
        name: 'comment visibility',
        ok: true,
        detail: expect.stringMatching(/role Operators/),
      },
    ]);
  });

  it('fails a role the account does not act in, naming the account and what to change', async () => {
    expect(await check({ type: 'role', value: 'Auditors' }, operators)).toEqual([
      {
        name: 'comment visibility',
        ok: false,
        detail: expect.stringMatching(
          /Eve Engineer .* is not in project role Auditors of OPS: Jira refuses the comments opsbook posts restricted to it/,
        ),
        fix: expect.stringContaining('tracker.jira.commentVisibility'),
      },
    ]);
  });

  it('fails a role the project does not have, listing the ones it has', async () => {
    const [c] = await check({ type: 'role', value: 'Support' }, operators);
    expect(c).toMatchObject({ ok: false, fix: expect.stringContaining('commentVisibility.value') });
    expect(c?.detail).toMatch(
      /OPS has no project role 'Support' \(it has: Developers, Operators, Auditors\)/,
    );
  });

  it('fails a group the account is not in (Cloud), or says it cannot tell (Data Center)', async () => {
    const groups = [
      { name: 'jira-software-users', groupId: 'g-1', members: ['engineer', 'senior'] },
      { name: 'ops-admins', groupId: 'g-2', members: ['senior'] },
    ];
    const [c] = await check({ type: 'group', value: 'ops-admins' }, { groups });
    if (flavour === 'cloud') {
      expect(c).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/is not in group ops-admins/),
        fix: expect.stringContaining('tracker.jira.commentVisibility'),
      });
    } else {
      expect(c).toMatchObject({
        ok: false,
        unknown: true,
        detail: expect.stringMatching(/cannot tell whether .* is in group ops-admins/),
      });
    }
  });

  it('passes a group the account is in (Cloud: by name, or by its id where one is given)', async () => {
    const groups = [{ name: 'ops-team', groupId: 'g-9', members: ['engineer'] }];
    const [byName] = await check({ type: 'group', value: 'OPS-TEAM' }, { groups });
    if (flavour === 'cloud') {
      expect(byName).toMatchObject({ ok: true, detail: expect.stringMatching(/group ops-team/) });
      await fake?.closeExpectingNone();
      const [byId] = await check(
        { type: 'group', value: 'renamed-team', identifier: 'g-9' },
        { groups },
      );
      expect(byId).toMatchObject({ ok: true });
    } else {
      expect(byName).toMatchObject({ ok: false, unknown: true });
    }
  });

  it('passes a role the account acts in through a group (Cloud), or says it cannot tell (Data Center)', async () => {
    const [c] = await check({ type: 'role', value: 'Developers' });
    if (flavour === 'cloud')
      expect(c).toMatchObject({
        ok: true,
        detail: expect.stringMatching(/role Developers .*through group jira-software-users/),
      });
    else
      expect(c).toMatchObject({
        ok: false,
        unknown: true,
        detail: expect.stringMatching(/group jira-software-users/),
      });
  });

  it('checks nothing more where comments are not restricted', async () => {
    expect(await check(undefined as unknown as CommentVisibility)).toEqual([]);
  });
});

it('reads the role actors of a Data Center that sends only their names (RoleActorBean)', async () => {
  const fake = await startJiraFake({
    flavour: 'datacenter',
    roleActorsUntyped: true,
    projectRoles: [{ id: 10003, name: 'Operators', users: ['engineer'], groups: ['ops'] }],
  });
  try {
    const jira = createJiraTracker(
      {
        project: 'OPS',
        flavour: 'datacenter',
        commentVisibility: { type: 'role', value: 'Operators' },
      },
      fake.env,
    );
    const [c] = (await jira.checkSetup()).filter((x) => x.name === 'comment visibility');
    expect(c).toMatchObject({ ok: true, detail: expect.stringMatching(/role Operators/) });
  } finally {
    await fake.closeExpectingNone();
  }
});
