import { type JiraFake, type JiraFakeOptions, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach } from 'vitest';

/**
 * A Jira fake started by the test that needs it, with the options it needs, and closed after
 * that test expecting every request it was sent to have been answered (the fake's spec check).
 * Call it at a describe's top; each test calls the function it returns (once or more).
 */
export function jiraFakeEachTest(): (options: JiraFakeOptions) => Promise<JiraFake> {
  const started: JiraFake[] = [];
  afterEach(async () => {
    const closing = started.splice(0).map((fake) => fake.closeExpectingNone());
    // Every fake is closed; the first that had a request left unanswered fails the test.
    const failed = (await Promise.allSettled(closing)).find((c) => c.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  });
  return async (options) => {
    const fake = await startJiraFake(options);
    started.push(fake);
    return fake;
  };
}
