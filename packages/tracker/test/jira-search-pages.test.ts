import { describe, expect, it } from 'vitest';
import { createJiraTracker } from '../src/index.js';
import { jiraFakeEachTest } from './jira-fake-each-test.js';

/**
 * Jira Cloud's `POST /search/jql` (SearchAndReconcileResults) cuts a page, then leaves out the
 * issues the caller may not browse: a page may hold fewer than `maxResults`, or none, and still
 * carry a `nextPageToken`. Only `isLast` or a page without a token ends the results.
 */
describe('Jira Cloud search pages', () => {
  const startFake = jiraFakeEachTest();

  it('reads on past a page that comes back empty with a nextPageToken', async () => {
    const fake = await startFake({
      flavour: 'cloud',
      searchPageSize: 2,
      searchHides: ['OPS-1', 'OPS-2', 'OPS-4'],
    });
    for (let i = 1; i <= 5; i++) fake.seed({ summary: `disk full ${i}` });
    const jira = createJiraTracker({ project: 'OPS', flavour: 'cloud' }, fake.env, {
      timeoutMs: 2000,
    });
    const found = await jira.search('project = OPS ORDER BY key');
    expect(found.map((t) => t.key)).toEqual(['OPS-3', 'OPS-5']);
    // Three pages: [hidden, hidden], [OPS-3, hidden], [OPS-5] (isLast).
    expect(fake.requests().filter((r) => r.path.endsWith('/search/jql'))).toHaveLength(3);
  });
});
