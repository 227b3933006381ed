import type { JiraFakeOptions } from '@opsbook/testkit/jira';
import { describe, expect, it } from 'vitest';
import { createJiraTracker } from '../src/index.js';
import { jiraFakeEachTest } from './jira-fake-each-test.js';

/**
 * A transition screen's field metadata (Cloud FieldMetadata, Data Center FieldMetaBean) leaves
 * `hasDefaultValue` optional. Where Jira does not say, a required field may well have a default
 * (a Resolution set to Done), so the move is sent and Jira names the field if it lacks one.
 */
describe.each(['cloud', 'datacenter'] as const)(
  'Jira %s field metadata without hasDefaultValue',
  (flavour) => {
    const startFake = jiraFakeEachTest();

    const start = async (options: Partial<JiraFakeOptions>) => {
      const fake = await startFake({
        flavour,
        transitionRequires: { done: ['resolution'] },
        answersWithout: { fieldMetadata: ['hasDefaultValue'] },
        ...options,
      });
      fake.seed({ summary: 'disk full', status: 'review' });
      return {
        fake,
        jira: createJiraTracker({ project: 'OPS', flavour }, fake.env, {
          effects: { sleep: async () => undefined },
          timeoutMs: 2000,
        }),
      };
    };

    it('moves the ticket where the required field has a default Jira did not mention', async () => {
      const { fake, jira } = await start({ transitionDefaults: { done: ['resolution'] } });
      await jira.transition('OPS-1', 'Done');
      expect(fake.issue('OPS-1')?.status).toBe('done');
    });

    it("says which field to configure where Jira's refusal names it, and moves nothing", async () => {
      const { fake, jira } = await start({});
      const error = await jira.transition('OPS-1', 'Done').catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'refused', details: { ticket: 'OPS-1' } });
      expect((error as Error).message).toMatch(
        /the move needs resolution on the transition's screen: set it in opsbook\.yaml under tracker\.jira\.transitionFields\.done \(e\.g\. resolution: \{name: Done\}\)/,
      );
      expect(fake.issue('OPS-1')?.status).toBe('review');
    });
  },
);

/** IssueTransition (Cloud) and TransitionBean (Data Center) leave a transition's `name` optional. */
describe.each(['cloud', 'datacenter'] as const)('Jira %s transitions without a name', (flavour) => {
  const startFake = jiraFakeEachTest();

  it('moves by where a transition leads, and names an unnamed one by its id, not "undefined"', async () => {
    const fake = await startFake({
      flavour,
      transitionRequires: { done: ['resolution'] },
      answersWithout: { transition: ['name'] },
    });
    fake.seed({ summary: 'disk full', status: 'approved' });
    const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env, { timeoutMs: 2000 });
    await jira.transition('OPS-1', 'In Progress');
    await jira.transition('OPS-1', 'In Review');
    expect(fake.issue('OPS-1')?.status).toBe('review');
    expect((await jira.transitions('OPS-1')).map((t) => t.name)).not.toContain('undefined');
    const error = await jira.transition('OPS-1', 'Done').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /: the transition id \d+ that moves OPS-1 to "Done" requires Resolution \(resolution\) on its screen/,
    );
  });
});
