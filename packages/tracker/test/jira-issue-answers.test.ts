import { describe, expect, it } from 'vitest';
import { createJiraTracker } from '../src/index.js';
import { jiraFakeEachTest } from './jira-fake-each-test.js';

/**
 * IssueBean leaves `key` optional in both specs. A ticket read by its key is that key; one found
 * by a search is named by its `id`, which Jira takes wherever it takes a key, so it can still be
 * read, commented on and probed (the outbox's look for an earlier create).
 */
describe.each(['cloud', 'datacenter'] as const)(
  'Jira %s answers issues without their key',
  (flavour) => {
    const startFake = jiraFakeEachTest();

    it('keeps the key it asked for, and names a searched issue by its id', async () => {
      const fake = await startFake({ flavour, answersWithout: { issue: ['key'] } });
      const seeded = fake.seed({ summary: 'disk full' });
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env, { timeoutMs: 2000 });
      expect((await jira.get('OPS-1')).key).toBe('OPS-1');
      const [found] = await jira.search('project = OPS');
      expect(found?.key).toBe(seeded.id);
      expect((await jira.get(found!.key)).summary).toBe('disk full');
    });

    it('finds an earlier create by its delivery id where search answers without keys', async () => {
      const fake = await startFake({ flavour, answersWithout: { issue: ['key'] } });
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env, { timeoutMs: 2000 });
      await jira.create({ summary: 'disk full on web-01' }, { deliveryId: 'd-1' });
      const found = await jira.findDelivered({
        kind: 'create',
        deliveryId: 'd-1',
        summary: 'disk full on web-01',
      });
      expect(found).toBe(fake.issue('OPS-1')?.id);
    });
  },
);

/**
 * Jira refuses a summary holding a line break (400, "The summary is invalid because it contains
 * newline characters."), on a create and on an edit alike: a ticket opened from an alert whose
 * summary spans lines would not be created at all.
 */
describe.each(['cloud', 'datacenter'] as const)(
  'a summary with line breaks on Jira %s',
  (flavour) => {
    const startFake = jiraFakeEachTest();

    it('creates the ticket and edits its summary with each line break as a space', async () => {
      const fake = await startFake({ flavour });
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env, { timeoutMs: 2000 });
      const ref = await jira.create({ summary: 'disk 91% on db-3\r\nand on db-4\n' });
      expect(fake.issue(ref.key)?.summary).toBe('disk 91% on db-3 and on db-4');
      await jira.setPriority(ref.key, 'P2', { summary: 'disk 95%\non db-3' });
      expect(fake.issue(ref.key)?.summary).toBe('disk 95% on db-3');
    });
  },
);
