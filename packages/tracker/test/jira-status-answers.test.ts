import type { JiraFakeOptions } from '@opsbook/testkit/jira';
import { describe, expect, it } from 'vitest';
import { createJiraTracker } from '../src/index.js';
import { jiraFakeEachTest } from './jira-fake-each-test.js';

/**
 * StatusDetails leaves every member optional in both specs (Cloud v3, Data Center 10.3): a
 * spec-faithful Jira may answer an issue's status without its `statusCategory`. The configured
 * status names (tracker.jira.statuses) then say which category opsbook's own statuses are in, so
 * a ticket closed as Done is still seen as closed (alerts stop adding to it).
 */
describe.each(['cloud', 'datacenter'] as const)(
  'Jira %s answers a status without its category',
  (flavour) => {
    const startFake = jiraFakeEachTest();

    const start = async (answersWithout: NonNullable<JiraFakeOptions['answersWithout']>) => {
      const fake = await startFake({ flavour, answersWithout, statuses: { done: 'Closed' } });
      return {
        fake,
        jira: createJiraTracker(
          { project: 'OPS', flavour, statuses: { done: 'Closed' } },
          fake.env,
          {
            effects: { sleep: async () => undefined },
            timeoutMs: 2000,
          },
        ),
      };
    };

    it('reads a ticket in the configured done status as closed, and one in review as in progress', async () => {
      const { fake, jira } = await start({ status: ['statusCategory'] });
      fake.seed({ summary: 'disk full', status: 'done' });
      fake.seed({ summary: 'disk full again', status: 'review' });
      fake.seed({ summary: 'disk full once more', status: 'awaitingApproval' });
      const [done, review, awaiting] = await Promise.all(
        ['OPS-1', 'OPS-2', 'OPS-3'].map((k) => jira.get(k)),
      );
      expect(done).toMatchObject({ status: 'Closed', statusCategory: 'done' });
      expect(review).toMatchObject({ status: 'In Review', statusCategory: 'indeterminate' });
      expect(awaiting).toMatchObject({ status: 'Awaiting Approval', statusCategory: 'new' });
      // Searched tickets carry it too (alerts look for their open tickets by JQL).
      const found = await jira.search('project = OPS ORDER BY key');
      expect(found.map((t) => t.statusCategory)).toEqual(['done', 'indeterminate', 'new']);
    });

    it('leaves the category out for a status opsbook does not name, rather than guess', async () => {
      const { fake } = await start({ status: ['statusCategory'] });
      const issue = fake.seed({ summary: 'disk full', status: 'done' });
      const other = createJiraTracker({ project: 'OPS', flavour }, fake.env, { timeoutMs: 2000 });
      // Configured with the default names, "Closed" is no status of opsbook's.
      expect(issue.key).toBe('OPS-1');
      const ticket = await other.get('OPS-1');
      expect(ticket.status).toBe('Closed');
      expect(ticket.statusCategory).toBeUndefined();
    });

    it("takes Jira's category over the configured names where Jira gives it", async () => {
      const { fake } = await start({});
      fake.seed({ summary: 'disk full', status: 'done' });
      const other = createJiraTracker({ project: 'OPS', flavour }, fake.env, { timeoutMs: 2000 });
      expect((await other.get('OPS-1')).statusCategory).toBe('done');
    });
  },
);

/**
 * StatusDetails' `name` is optional too: an issue may carry its status by id alone. The runner
 * lets a ticket run by its status's name (Approved, In Progress), so the name is read from
 * `GET /status/{id}`, and so is the name of the status a transition leads to.
 */
describe.each(['cloud', 'datacenter'] as const)(
  'Jira %s answers a status by id only',
  (flavour) => {
    const startFake = jiraFakeEachTest();

    it('names the status of a ticket by its id, once per status, and moves it by that name', async () => {
      const fake = await startFake({
        flavour,
        answersWithout: { status: ['name', 'statusCategory'] },
      });
      fake.seed({ summary: 'disk full', status: 'approved' });
      fake.seed({ summary: 'disk full again', status: 'approved' });
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env, { timeoutMs: 2000 });
      expect(await jira.get('OPS-1')).toMatchObject({
        status: 'Approved',
        statusCategory: 'indeterminate',
      });
      expect((await jira.get('OPS-2')).status).toBe('Approved');
      const lookups = () => fake!.requests().filter((r) => /\/status\/\d+$/.test(r.path));
      expect(lookups()).toHaveLength(1);
      await jira.transition('OPS-1', 'In Progress');
      expect(fake.issue('OPS-1')?.status).toBe('inProgress');
      expect((await jira.search('project = OPS ORDER BY key')).map((t) => t.status)).toEqual([
        'In Progress',
        'Approved',
      ]);
    });
  },
);
