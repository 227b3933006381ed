import { type JiraFake, type JiraFakeOptions, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, describe, expect, it } from 'vitest';
import { createJiraTracker, type JiraTracker } from '../src/index.js';
import { jiraFakeEachTest } from './jira-fake-each-test.js';

/**
 * Reading a ticket's comments follows `startAt`, `maxResults` and `total` as both specs page
 * them (PageOfComments), without assuming `total` is there, and says when it did not read them
 * all: opsbook reads the newest 5,000 (Cloud's limit per issue; Data Center has none).
 */
describe.each(['cloud', 'datacenter'] as const)('comment pages on Jira %s', (flavour) => {
  const startFake = jiraFakeEachTest();

  /** A fake holding OPS-1 with `count` comments c0…, put in place directly (no HTTP). */
  const withComments = async (
    count: number,
    options: Omit<JiraFakeOptions, 'flavour'> = {},
  ): Promise<JiraTracker> => {
    const fake = await startFake({ flavour, ...options });
    const issue = fake.seed({ summary: 'busy ticket' });
    fake.seedComments(issue.key, count, { from: new Date('2026-01-01T00:00:00Z'), firstId: 20000 });
    return createJiraTracker({ project: 'OPS', flavour }, fake.env);
  };

  it('reads every comment where Jira pages them 20 at a time, past 50 pages', async () => {
    const jira = await withComments(1200, { commentsPageSize: 20 });
    const said: (number | undefined)[] = [];
    const comments = await jira.comments('OPS-1', { onLeftOut: (n) => said.push(n) });
    expect(comments).toHaveLength(1200);
    expect(comments.at(-1)?.text).toBe('c1199');
    expect(said).toEqual([]);
  });

  it('reads the newest 5,000 of a ticket that holds more, and says how many older ones it left out', async () => {
    const jira = await withComments(5150);
    const said: (number | undefined)[] = [];
    const comments = await jira.comments('OPS-1', { onLeftOut: (n) => said.push(n) });
    expect(comments).toHaveLength(5000);
    expect(comments[0]?.text).toBe('c150');
    expect(comments.at(-1)?.text).toBe('c5149');
    expect(said).toEqual([150]);
  });

  it('reads the newest 5,000 where Jira answers without total, paging until a page comes back empty', async () => {
    const jira = await withComments(5150, { omitsTotal: true, commentsPageSize: 1000 });
    const said: (number | undefined)[] = [];
    const comments = await jira.comments('OPS-1', { onLeftOut: (n) => said.push(n) });
    expect(comments).toHaveLength(5000);
    expect(comments.at(-1)?.text).toBe('c5149');
    expect(said).toEqual([150]);
  });
});

/**
 * The delivery check (was a comment the outbox sent before already posted?) reads the same
 * newest 5,000: where older comments were left out and the write may be among them, it says it
 * cannot be sure rather than answering "absent" (which would post the comment twice).
 */
describe.each(['cloud', 'datacenter'] as const)(
  'delivery check on a busy Jira %s ticket',
  (flavour) => {
    let fake: JiraFake | undefined;

    afterEach(async () => {
      await fake?.close();
      fake = undefined;
    });

    const at = (i: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + i * 1000);

    /** OPS-1 with `count` comments, the one at `marked` carrying delivery id `d-marked`. */
    const busyTicket = async (count: number, marked: number): Promise<JiraTracker> => {
      fake = await startJiraFake({ flavour });
      const issue = fake.seed({ summary: 'busy ticket' });
      // Data Center's EntityPropertyBean value is a string (JSON text), Cloud's any JSON.
      const mark = { id: 'd-marked' };
      const value = flavour === 'cloud' ? mark : JSON.stringify(mark);
      fake.seedComments(issue.key, count, {
        from: at(0),
        firstId: 20000,
        properties: (i) => (i === marked ? [{ key: 'opsbook.delivery', value }] : []),
      });
      return createJiraTracker({ project: 'OPS', flavour }, fake.env);
    };

    it('says it cannot be sure where the comment may be among the older ones it did not read', async () => {
      const jira = await busyTicket(5150, 10);
      const probe = { kind: 'comment', deliveryId: 'd-marked', key: 'OPS-1' } as const;
      await expect(jira.findDelivered(probe)).rejects.toMatchObject({
        code: 'TRACKER_DELIVERY_UNCERTAIN',
        kind: 'refused',
        message: expect.stringContaining('5,000'),
      });
      // Queued before the oldest comment read (less the clock's leeway): the same.
      await expect(
        jira.findDelivered({ ...probe, since: at(150).toISOString() }),
      ).rejects.toMatchObject({ code: 'TRACKER_DELIVERY_UNCERTAIN' });
    });

    it('is sure it is absent where every comment made since the write was queued was read', async () => {
      const jira = await busyTicket(5150, 10);
      const since = at(5100).toISOString();
      expect(
        await jira.findDelivered({ kind: 'comment', deliveryId: 'd-new', key: 'OPS-1', since }),
      ).toBeUndefined();
    });

    it('finds the comment among the newest 5,000 of a busy ticket', async () => {
      const jira = await busyTicket(5150, 5000);
      expect(
        await jira.findDelivered({ kind: 'comment', deliveryId: 'd-marked', key: 'OPS-1' }),
      ).toBe('25000');
    });
  },
);
