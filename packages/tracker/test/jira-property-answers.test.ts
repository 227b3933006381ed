import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, describe, expect, it } from 'vitest';
import { createJiraTracker } from '../src/index.js';

/**
 * EntityProperty leaves `value` optional in both specs. A property Jira has (200) but answers
 * without its value is not a property that is absent: a run record read as absent would not be
 * counted against the approval's maxRuns on another machine.
 */
describe.each(['cloud', 'datacenter'] as const)(
  'Jira %s answers a property without its value',
  (flavour) => {
    let fake: JiraFake | undefined;

    afterEach(async () => {
      try {
        await fake?.closeExpectingNone();
      } finally {
        fake = undefined;
      }
    });

    it('refuses to read it as absent, naming the property and the ticket', async () => {
      fake = await startJiraFake({ flavour, answersWithout: { property: ['value'] } });
      fake.seed({ summary: 'disk full' });
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env, { timeoutMs: 2000 });
      await jira.setProperty('OPS-1', 'opsbook.run.r-1', { runId: 'r-1' });
      const error = await jira.getProperty('OPS-1', 'opsbook.run.r-1').catch((e: unknown) => e);
      expect(error).toMatchObject({
        kind: 'refused',
        code: 'TRACKER_PROPERTY_INCOMPLETE',
        details: { ticket: 'OPS-1', property: 'opsbook.run.r-1' },
      });
      expect((error as Error).message).toMatch(
        /^Jira answered property opsbook\.run\.r-1 of OPS-1 without its value/,
      );
      // A property Jira does not have is still absent.
      expect(await jira.getProperty('OPS-1', 'opsbook.run.r-2')).toBeUndefined();
    });
  },
);
