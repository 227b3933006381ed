import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJiraTracker, type Doc, type JiraTracker, Outbox, textDoc } from '../src/index.js';

/** Documents with no text: Jira answers 400 to a comment whose body is empty or blank. */
const EMPTY: [string, Doc][] = [
  ['no blocks', { blocks: [] }],
  ['blank text', textDoc('  \n\n \t')],
  [
    'an empty paragraph',
    { blocks: [{ type: 'paragraph', content: [{ type: 'text', text: '' }] }] },
  ],
];

describe.each(['cloud', 'datacenter'] as const)('an empty comment on Jira %s', (flavour) => {
  let fake: JiraFake;
  let jira: JiraTracker;
  let stateDir: string | undefined;

  beforeEach(async () => {
    fake = await startJiraFake({ flavour });
    jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
    await jira.create({ summary: 'disk' });
  });

  afterEach(async () => {
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    stateDir = undefined;
    await fake.closeExpectingNone();
  });

  it.each(EMPTY)('is refused before it is sent (%s), naming the ticket', async (_, body) => {
    await expect(jira.comment('OPS-1', body)).rejects.toMatchObject({
      code: 'TRACKER_COMMENT_EMPTY',
      kind: 'invalid',
      message: expect.stringContaining('OPS-1'),
    });
    expect(fake.requests().filter((r) => r.path.endsWith('/comment'))).toEqual([]);
    expect(fake.issue('OPS-1')?.comments).toEqual([]);
  });

  it('is not queued in the outbox, where it would block the ticket\u2019s later writes', async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), 'opsbook-empty-comment-'));
    const outbox = new Outbox({ stateDir, tracker: jira });
    await expect(
      outbox.send('OPS-1', { kind: 'comment', body: textDoc(' ') }),
    ).rejects.toMatchObject({ code: 'TRACKER_COMMENT_EMPTY' });
    expect(await outbox.list()).toEqual([]);
    const next = await outbox.send('OPS-1', { kind: 'transition', status: 'Awaiting Approval' });
    expect(next).toMatchObject({ delivered: true });
  });
});
