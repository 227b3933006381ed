import { describe, expect, it } from 'vitest';
import { createJiraTracker, textDoc } from '../src/index.js';
import { jiraFakeEachTest } from './jira-fake-each-test.js';

/**
 * A description and a comment body come as an ADF document from Cloud (v3) and as wiki markup
 * from Data Center (v2), but neither spec promises that form: Data Center's document types every
 * issue field as an object, Cloud's leaves the comment body untyped. Each is read in either form,
 * on either flavour: the proposal comment a senior reviewed is found by its words.
 */
describe.each([
  ['datacenter', 'adf'],
  ['cloud', 'wiki'],
] as const)('Jira %s answering bodies as %s', (flavour, bodiesAs) => {
  const startFake = jiraFakeEachTest();

  it('reads the description and the comments as their words', async () => {
    const fake = await startFake({ flavour, bodiesAs });
    const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env, { timeoutMs: 2000 });
    await jira.create({ summary: 'disk', description: textDoc('Run 42 finished: 3/3 hosts ok') });
    await jira.comment('OPS-1', textDoc('Proposed plan: plan digest sha256:52dd'));
    const description = fake.issue('OPS-1')?.description;
    // The fake keeps what was sent, in the flavour's form; it answers in the other.
    expect(typeof description).toBe(flavour === 'cloud' ? 'object' : 'string');
    expect(await jira.description('OPS-1')).toBe('Run 42 finished: 3/3 hosts ok');
    const comments = await jira.comments('OPS-1');
    expect(comments.map((c) => c.text)).toEqual(['Proposed plan: plan digest sha256:52dd']);
  });
});
