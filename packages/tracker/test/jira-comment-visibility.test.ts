import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createJiraTracker, Outbox, textDoc } from '../src/index.js';
import { jiraFakeEachTest } from './jira-fake-each-test.js';

/**
 * `tracker.jira.commentVisibility` restricts every comment opsbook posts (run output, proposals)
 * to a role or group, so that Jira Service Management customers on the ticket do not see it.
 * The fake checks the `visibility` member against each flavour's spec (Visibility on Cloud,
 * VisibilityJsonBean on Data Center).
 */
describe.each(['cloud', 'datacenter'] as const)('comment visibility on Jira %s', (flavour) => {
  const startFake = jiraFakeEachTest();
  let stateDir: string | undefined;

  afterEach(async () => {
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    stateDir = undefined;
  });

  it('restricts every comment, direct or through the outbox, to the configured role', async () => {
    const fake = await startFake({ flavour });
    const jira = createJiraTracker(
      { project: 'OPS', flavour, commentVisibility: { type: 'role', value: 'Developers' } },
      fake.env,
    );
    await jira.create({ summary: 'disk' });
    await jira.comment('OPS-1', textDoc('run output'));
    stateDir = await mkdtemp(path.join(tmpdir(), 'opsbook-visibility-'));
    const outbox = new Outbox({ stateDir, tracker: jira });
    await outbox.send('OPS-1', { kind: 'comment', body: textDoc('run summary') });
    expect(fake.issue('OPS-1')?.comments.map((c) => c.visibility)).toEqual([
      { type: 'role', value: 'Developers' },
      { type: 'role', value: 'Developers' },
    ]);
  });

  it('says a comment refused for its visibility names tracker.jira.commentVisibility and opsbook doctor', async () => {
    const fake = await startFake({
      flavour,
      projectRoles: [{ id: 10004, name: 'Auditors', users: ['senior'], groups: [] }],
    });
    const jira = createJiraTracker(
      { project: 'OPS', flavour, commentVisibility: { type: 'role', value: 'Auditors' } },
      fake.env,
    );
    await jira.create({ summary: 'disk' });
    // The fake answers as Jira does a comment restricted to a role its author is not in.
    const error = await jira.comment('OPS-1', textDoc('run output')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TRACKER_REQUEST_REJECTED', kind: 'refused' });
    const message = (error as Error).message;
    expect(message).toContain('not a member of the project role: Auditors');
    expect(message).toContain('tracker.jira.commentVisibility restricts it to role Auditors');
    expect(message).toContain('opsbook doctor');
    expect(message).not.toContain('a field the project requires');
  });

  it("sends a group's identifier on Cloud only: Data Center's visibility has none", async () => {
    // The account is in the group (Jira refuses a comment restricted to one its author is not in).
    const groups = [{ name: 'ops-team', groupId: 'ab12-cd34', members: ['engineer'] }];
    const fake = await startFake({ flavour, groups });
    const jira = createJiraTracker(
      {
        project: 'OPS',
        flavour,
        commentVisibility: { type: 'group', value: 'ops-team', identifier: 'ab12-cd34' },
      },
      fake.env,
    );
    await jira.create({ summary: 'disk' });
    await jira.comment('OPS-1', textDoc('run output'));
    expect(fake.issue('OPS-1')?.comments[0]?.visibility).toEqual(
      flavour === 'cloud'
        ? { type: 'group', value: 'ops-team', identifier: 'ab12-cd34' }
        : { type: 'group', value: 'ops-team' },
    );
  });

  it('leaves comments visible to everyone by default (no visibility member)', async () => {
    const fake = await startFake({ flavour });
    const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
    await jira.create({ summary: 'disk' });
    await jira.comment('OPS-1', textDoc('run output'));
    expect(fake.issue('OPS-1')?.comments[0]).not.toHaveProperty('visibility');
  });
});
