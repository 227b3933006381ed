import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { JiraFakeOptions } from '@opsbook/testkit/jira';
import { afterEach, describe, expect, it } from 'vitest';
import { createJiraTracker, Outbox, textDoc } from '../src/index.js';
import { jiraFakeEachTest } from './jira-fake-each-test.js';

/**
 * A page of comments (PageOfComments / CommentsWithPaginationJsonBean) and a page of search
 * results (SearchAndReconcileResults / SearchResultsBean) leave every member optional in both
 * specs, the list itself included. An answer without the list says nothing of what Jira holds:
 * read as an empty list, the outbox took a comment or a create whose answer was lost for not
 * delivered, and sent it a second time.
 */
describe.each(['cloud', 'datacenter'] as const)(
  'Jira %s answers a page without its list',
  (flavour) => {
    const startFake = jiraFakeEachTest();
    let stateDir: string | undefined;
    let answersWithout: NonNullable<JiraFakeOptions['answersWithout']>;

    const start = async (initially: typeof answersWithout = {}) => {
      answersWithout = initially;
      const fake = await startFake({ flavour, answersWithout });
      stateDir = await mkdtemp(path.join(tmpdir(), 'opsbook-lists-'));
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env, {
        effects: { sleep: async () => undefined },
        timeoutMs: 2000,
      });
      return { fake, jira, outbox: new Outbox({ stateDir, tracker: jira }) };
    };

    afterEach(async () => {
      if (stateDir) await rm(stateDir, { recursive: true, force: true });
      stateDir = undefined;
    });

    it('does not post a comment whose answer was lost a second time where the comments come back without their list', async () => {
      const { fake, jira, outbox } = await start();
      await jira.create({ summary: 'disk' });
      // Jira takes the comment, and the connection drops before its answer.
      fake.inject({
        method: 'post',
        path: '/comment',
        fault: { kind: 'reset' },
        afterHandling: true,
      });
      const sent = await outbox.send('OPS-1', { kind: 'comment', body: textDoc('run output') });
      expect(sent).toMatchObject({ delivered: false });
      expect(fake.issue('OPS-1')?.comments).toHaveLength(1);
      answersWithout.commentPage = ['comments'];
      const flushed = await outbox.flush();
      expect(fake.issue('OPS-1')?.comments).toHaveLength(1);
      expect(flushed.delivered).toEqual([]);
      // Kept to be sent once Jira answers whole: nothing lost, nothing sent twice.
      expect(flushed.pending.map((e) => e.lastError?.code)).toEqual(['TRACKER_ANSWER_INCOMPLETE']);
      expect(flushed.pending[0]?.lastError?.message).toMatch(
        /^Jira answered the comments of OPS-1 without the list of comments/,
      );
      // Answering whole again, the flush finds the comment posted, and posts nothing.
      answersWithout.commentPage = [];
      const again = await outbox.flush();
      expect(again.delivered).toHaveLength(1);
      expect(fake.issue('OPS-1')?.comments).toHaveLength(1);
    });

    it('does not create a ticket whose answer was lost a second time where search comes back without its list', async () => {
      const { fake, outbox } = await start();
      fake.inject({
        method: 'post',
        path: '/issue',
        fault: { kind: 'reset' },
        afterHandling: true,
      });
      const sent = await outbox.send('', { kind: 'create', ticket: { summary: 'disk on db-4' } });
      expect(sent).toMatchObject({ delivered: false });
      expect(fake.issues()).toHaveLength(1);
      answersWithout.searchPage = ['issues'];
      const flushed = await outbox.flush();
      expect(fake.issues()).toHaveLength(1);
      expect(flushed.pending.map((e) => e.lastError?.code)).toEqual(['TRACKER_ANSWER_INCOMPLETE']);
      expect(flushed.pending[0]?.lastError?.message).toMatch(
        /^Jira answered the search .* without the list of issues/,
      );
    });

    it('does not attach a file whose answer was lost a second time where the ticket comes back without its attachment field', async () => {
      // Issue beans' fields are fixed at the fake's start: the attach itself reads none of them.
      const { fake, jira, outbox } = await start({ issueFields: ['attachment'] });
      await jira.create({ summary: 'disk' });
      fake.inject({
        method: 'post',
        path: '/attachments',
        fault: { kind: 'reset' },
        afterHandling: true,
      });
      const bytes = new TextEncoder().encode('{"plan":1}');
      const sent = await outbox.send('OPS-1', { kind: 'attach', filename: 'plan.json' }, bytes);
      expect(sent).toMatchObject({ delivered: false });
      expect(fake.issue('OPS-1')?.attachments).toHaveLength(1);
      const flushed = await outbox.flush();
      expect(fake.issue('OPS-1')?.attachments).toHaveLength(1);
      expect(flushed.pending.map((e) => e.lastError?.code)).toEqual(['TRACKER_ANSWER_INCOMPLETE']);
      expect(flushed.pending[0]?.lastError?.message).toMatch(
        /^Jira answered OPS-1 without its attachment field/,
      );
    });

    it('reads the comments and the search results of a ticket with none as none', async () => {
      const { jira } = await start();
      await jira.create({ summary: 'disk' });
      expect(await jira.comments('OPS-1')).toEqual([]);
      expect(await jira.search('project = OPS AND labels = "none-such"')).toEqual([]);
    });
  },
);
