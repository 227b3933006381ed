import { describe, expect, it } from 'vitest';
import { createJiraTracker } from '../src/index.js';
import { jiraFakeEachTest } from './jira-fake-each-test.js';

/**
 * EntityProperty leaves `value` optional in both specs. A property Jira has (200) but answers
 * without its value is not a property that is absent: a run record read as absent would not be
 * counted against the approval's maxRuns on another machine.
 */
describe.each(['cloud', 'datacenter'] as const)(
  'Jira %s answers a property without its value',
  (flavour) => {
    const startFake = jiraFakeEachTest();

    it('refuses to read it as absent, naming the property and the ticket', async () => {
      const fake = await startFake({ flavour, answersWithout: { property: ['value'] } });
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

/**
 * PropertyKeys (Cloud) and EntityPropertiesKeysBean (Data Center) leave `keys`, and each key's
 * `key`, optional. A list answered without them says nothing of what the ticket holds: read as
 * "no properties", the runs recorded on the ticket (`opsbook.run.<id>`) would not count against
 * the approval's maxRuns.
 */
describe.each(['cloud', 'datacenter'] as const)(
  'Jira %s answers the list of properties without their keys',
  (flavour) => {
    const startFake = jiraFakeEachTest();

    it.each([
      ['without `keys`', 'keys'],
      ['listing a property without its `key`', 'key'],
    ] as const)('refuses to read a list %s as no properties', async (_, left) => {
      const fake = await startFake({ flavour, answersWithout: { propertyList: [left] } });
      fake.seed({ summary: 'disk full' });
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env, { timeoutMs: 2000 });
      await jira.setProperty('OPS-1', 'opsbook.run.r-1', { runId: 'r-1' });
      const error = await jira.propertyKeys('OPS-1').catch((e: unknown) => e);
      expect(error).toMatchObject({
        kind: 'refused',
        code: 'TRACKER_PROPERTY_INCOMPLETE',
        details: { ticket: 'OPS-1' },
      });
      expect((error as Error).message).toMatch(
        /^Jira answered the list of properties of OPS-1 without (their keys|the key of one of them)/,
      );
    });

    it('reads a ticket with no properties as none, and one with some as those', async () => {
      const fake = await startFake({ flavour });
      fake.seed({ summary: 'disk full' });
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env, { timeoutMs: 2000 });
      expect(await jira.propertyKeys('OPS-1')).toEqual([]);
      await jira.setProperty('OPS-1', 'opsbook.run.r-1', { runId: 'r-1' });
      expect(await jira.propertyKeys('OPS-1')).toEqual(['opsbook.run.r-1']);
    });
  },
);
