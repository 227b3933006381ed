import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { JiraFakeOptions } from '@opsbook/testkit/jira';
import { afterEach, describe, expect, it } from 'vitest';
import { createJiraTracker, Outbox, textDoc } from '../src/index.js';
import { jiraFakeEachTest } from './jira-fake-each-test.js';

/**
 * A create's 201 (CreatedIssue / IssueCreateResponse) and a comment's 201 (Comment /
 * CommentJsonBean) leave every member optional in both specs; Jira always sends them, a
 * spec-faithful server need not.
 */
describe.each(['cloud', 'datacenter'] as const)('Jira %s answers without ids', (flavour) => {
  const startFake = jiraFakeEachTest();
  let stateDir: string | undefined;

  const start = async (answersWithout: NonNullable<JiraFakeOptions['answersWithout']>) => {
    const fake = await startFake({ flavour, answersWithout });
    return {
      fake,
      jira: createJiraTracker({ project: 'OPS', flavour }, fake.env, {
        effects: { sleep: async () => undefined },
        timeoutMs: 2000,
      }),
    };
  };

  afterEach(async () => {
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    stateDir = undefined;
  });

  it('counts a comment answered 201 without its id as posted, its id read from self', async () => {
    const { fake, jira } = await start({ comment: ['id'] });
    await jira.create({ summary: 'disk' });
    const { id } = await jira.comment('OPS-1', textDoc('run output'));
    expect(id).toBe(fake.issue('OPS-1')?.comments[0]?.id);
  });

  it('counts a comment answered 201 without id or self as posted, once, with no id', async () => {
    const { fake, jira } = await start({ comment: ['id', 'self'] });
    await jira.create({ summary: 'disk' });
    expect(await jira.comment('OPS-1', textDoc('run output'))).toEqual({ id: undefined });
    expect(fake.issue('OPS-1')?.comments).toHaveLength(1);
  });

  it('delivers an outbox comment answered without an id once, not as a failure', async () => {
    const { fake, jira } = await start({ comment: ['id', 'self'] });
    await jira.create({ summary: 'disk' });
    stateDir = await mkdtemp(path.join(tmpdir(), 'opsbook-answers-'));
    const outbox = new Outbox({ stateDir, tracker: jira });
    const sent = await outbox.send('OPS-1', { kind: 'comment', body: textDoc('run output') });
    expect(sent).toMatchObject({ delivered: true, key: 'OPS-1' });
    expect(await outbox.list()).toEqual([]);
    expect(fake.issue('OPS-1')?.comments).toHaveLength(1);
  });

  it('learns the key of a ticket created without a key in the answer by reading it by id', async () => {
    const { fake, jira } = await start({ create: ['key', 'self'] });
    const ref = await jira.create({ summary: 'disk 91% on db-3' });
    expect(ref.key).toBe('OPS-1');
    expect(ref.url).toBe(`${fake.siteUrl}/browse/OPS-1`);
    expect(fake.issues()).toHaveLength(1);
    const read = fake.requests().filter((r) => r.method === 'get');
    expect(read.map((r) => r.path)).toEqual([
      `/rest/api/${flavour === 'cloud' ? 3 : 2}/issue/${fake.issue('OPS-1')?.id}`,
    ]);
  });

  it('says a create answered without key or id may have made the ticket, and how to find it', async () => {
    const { fake, jira } = await start({ create: ['id', 'key', 'self'] });
    const failure = await jira.create({ summary: 'disk 91% on db-3' }).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string; details: Record<string, unknown> },
    );
    expect(failure?.code).toBe('TRACKER_CREATE_UNCONFIRMED');
    expect(failure?.message).toMatch(/may have been created/);
    expect(failure?.message).toContain('project OPS');
    expect(failure?.message).toContain('disk 91% on db-3');
    expect(failure?.details.retryable).toBe(false);
    expect(fake.issues()).toHaveLength(1);
  });

  it('never creates twice in the outbox: a create answered without key or id fails, and its retry finds the ticket by its delivery id', async () => {
    const { fake, jira } = await start({ create: ['id', 'key', 'self'] });
    stateDir = await mkdtemp(path.join(tmpdir(), 'opsbook-answers-'));
    const outbox = new Outbox({ stateDir, tracker: jira });
    const sent = await outbox.send('', { kind: 'create', ticket: { summary: 'disk on db-4' } });
    expect(sent).toMatchObject({
      delivered: false,
      error: { code: 'TRACKER_CREATE_UNCONFIRMED' },
    });
    expect((await outbox.list()).map((e) => e.state)).toEqual(['failed']);
    // A plain flush leaves a failed write alone; a retry looks for the ticket before creating.
    const retried = await outbox.flush({ retryFailed: true });
    expect(retried.delivered.map((d) => d.key)).toEqual(['OPS-1']);
    expect(fake.issues()).toHaveLength(1);
    expect(await outbox.list()).toEqual([]);
  });
});
