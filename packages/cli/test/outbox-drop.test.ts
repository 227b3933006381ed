import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { makeTempDir } from '@opsbook/testkit/temp';
import { createJiraTracker, Outbox, textDoc } from '@opsbook/tracker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, stackTrace } from './run-cli.js';

/*
 * A write Jira refuses for good (a journal over the site's attachment limit: 413) holds the
 * ticket's later writes (the post-checks comment, the move to review) behind it. `opsbook outbox
 * drop` lets a person go on without it, and only it: a write still to be delivered is not dropped.
 */
describe('opsbook outbox drop on Jira Cloud', () => {
  let fake: JiraFake;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let outbox: Outbox;

  beforeEach(async () => {
    fake = await startJiraFake({ flavour: 'cloud', maxAttachmentBytes: 16 });
    tmp = await makeTempDir('opsbook-outbox-drop-');
    await writeFile(
      path.join(tmp.dir, 'opsbook.yaml'),
      'apiVersion: opsbook/v1\nkind: Config\nstateDir: state\ntracker: {kind: jira, jira: {project: OPS, flavour: cloud}}\n',
    );
    const jira = createJiraTracker({ project: 'OPS', flavour: 'cloud' }, fake.env);
    outbox = new Outbox({ stateDir: path.join(tmp.dir, 'state'), tracker: jira });
    await jira.create({ summary: 'disk 91% on db-3' });
  });

  afterEach(async () => {
    await tmp.remove();
    await fake.closeExpectingNone();
  });

  const opsbook = (args: string[]) =>
    runCli(args, { cwd: tmp.dir, env: { HOME: tmp.dir, ...fake.env } });

  it('drops a write Jira refused for good, and the writes behind it then go out', async () => {
    const journal = new TextEncoder().encode('{"event":"run-started"}\n'.repeat(4));
    const big = await outbox.send(
      'OPS-1',
      { kind: 'attach', filename: 'r1.journal.jsonl' },
      journal,
    );
    expect(big.delivered).toBe(false);
    await outbox.enqueue('OPS-1', { kind: 'comment', body: textDoc('post-checks: 1 passed') });
    const refused = await opsbook(['outbox', 'flush']);
    expect(refused.code, refused.stdout).toBe(3);
    expect(refused.stderr).toMatch(/too large \(413\)/);
    expect(refused.stderr).toContain('opsbook outbox drop');

    const id = (await outbox.list())[0]!.id;
    const dropped = await opsbook(['outbox', 'drop', id.slice(0, 8)]);
    expect(dropped.stderr).not.toMatch(stackTrace);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(dropped.stdout).toContain(`dropped ${id}: attach r1.journal.jsonl to OPS-1`);
    const sent = await opsbook(['outbox', 'flush']);
    expect(sent.code, sent.stdout + sent.stderr).toBe(0);
    expect(fake.issue('OPS-1')!.comments).toHaveLength(1);
    expect(fake.issue('OPS-1')!.attachments).toHaveLength(0);
    expect(await outbox.list()).toEqual([]);
  });

  it('refuses to drop a write still to be delivered, or one it cannot tell from another', async () => {
    await fake.down();
    await outbox.send('OPS-1', { kind: 'comment', body: textDoc('run finished') });
    await fake.up();
    const [entry] = await outbox.list();
    const pending = await opsbook(['outbox', 'drop', entry!.id]);
    expect(pending.stderr).not.toMatch(stackTrace);
    expect(pending.code).toBe(3);
    expect(pending.stderr).toMatch(/not refused by the tracker.*opsbook outbox flush delivers it/);
    expect(await outbox.list()).toHaveLength(1);
    const unknown = await opsbook(['outbox', 'drop', 'deadbeef']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no outbox entry deadbeef/);
  });
});
